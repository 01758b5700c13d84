"""NumPy on the CPU: the reference backend."""

import importlib.util

NAME = "numpy"
REQUIREMENTS: list[str] = []  # a core dependency of xmlp


def available() -> tuple[bool, str]:
    return (importlib.util.find_spec("numpy") is not None, "numpy is not installed")


def devices() -> list:
    return ["cpu"]


def sync(device=None) -> None:
    """NumPy computes eagerly: nothing to wait for."""


def to_numpy(x):
    import numpy as np

    return np.array(x, copy=True)
