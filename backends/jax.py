"""JAX (``jax.numpy``, which implements the array API standard), on its CPU device and, where
JAX's CUDA wheels are installed (``pip install 'xmlp[jax-cuda]'``), on its GPU devices.

xmlp turns on ``jax_enable_x64`` when the backend is resolved, so float64 means float64."""

import importlib.util

NAME = "jax"
REQUIREMENTS = ["jax==0.10.2", "jaxlib==0.10.2"]


def available() -> tuple[bool, str]:
    ok = importlib.util.find_spec("jax") is not None
    return ok, "jax is not installed (pip install 'xmlp[jax]')"


def _platform(name: str) -> list:
    import jax

    try:
        return list(jax.devices(name))
    except RuntimeError:  # JAX has no such platform here (e.g. no CUDA plugin)
        return []


def devices() -> list:
    """JAX's CPU devices, then its GPU devices (``jax.devices()`` alone lists only the
    default platform's: on a GPU machine, no CPU device)."""
    return _platform("cpu") + _platform("gpu")


def sync(device=None) -> None:
    """JAX dispatches asynchronously: wait for everything queued."""
    import jax

    jax.effects_barrier()


def to_numpy(x):
    import numpy as np

    return np.array(x, copy=True)
