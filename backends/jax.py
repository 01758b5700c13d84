"""JAX (``jax.numpy``, which implements the array API standard), on its CPU device here and
on GPU / TPU through JAX's own device placement where those are present.

xmlp turns on ``jax_enable_x64`` when the backend is resolved, so float64 means float64."""

import importlib.util

NAME = "jax"
REQUIREMENTS = ["jax==0.10.2", "jaxlib==0.10.2"]


def available() -> tuple[bool, str]:
    ok = importlib.util.find_spec("jax") is not None
    return ok, "jax is not installed (pip install 'xmlp[jax]')"


def devices() -> list:
    import jax

    return list(jax.devices())


def sync(device=None) -> None:
    """JAX dispatches asynchronously: wait for everything queued."""
    import jax

    jax.effects_barrier()


def to_numpy(x):
    import numpy as np

    return np.array(x, copy=True)
