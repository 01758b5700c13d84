"""Backend plumbing for the noxfile, the tests and the benchmarks (not installed).

One module per backend, each defining

* ``NAME``         the xmlp backend flag;
* ``REQUIREMENTS`` what a nox session installs for it (pip requirement strings);
* ``available()``  ``(True, "")`` or ``(False, reason)`` -- a cheap probe, no install;
* ``devices()``    the devices tests run on;
* ``sync(device)`` block until queued work on ``device`` is done (for timing);
* ``to_numpy(x)``  an independent host copy, used by tests as the oracle's side.
"""

from __future__ import annotations

import importlib
from types import ModuleType

NAMES = ("numpy", "array_api_strict", "torch", "jax", "cupy")


def get(name: str) -> ModuleType:
    if name not in NAMES:
        raise ValueError(f"unknown backend {name!r}; known: {', '.join(NAMES)}")
    return importlib.import_module(f"backends.{name}")
