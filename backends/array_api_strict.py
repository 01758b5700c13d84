"""array-api-strict: the standard and nothing else; its second device catches any array
created without ``device=``."""

import importlib.util

NAME = "array_api_strict"
REQUIREMENTS = ["array-api-strict>=2.4"]


def available() -> tuple[bool, str]:
    ok = importlib.util.find_spec("array_api_strict") is not None
    return ok, "array-api-strict is not installed (pip install 'xmlp[strict]')"


def devices() -> list:
    import array_api_strict as xp

    return [xp.Device("CPU_DEVICE"), xp.Device("device1")]


def sync(device=None) -> None:
    """Eager, on the host: nothing to wait for."""


def to_numpy(x):
    import array_api_strict as xp
    import numpy as np

    return np.array(x.to_device(xp.Device("CPU_DEVICE")), copy=True)
