"""Input checks shared by the public entry points.

Each check runs once per call (never inside the mini-batch loop) and raises ``ValueError``
or ``TypeError`` naming the argument, what was expected and what was given.
"""

from __future__ import annotations

import math
import numbers
import os
from typing import Any

import array_api_compat
import numpy as np

from .backend import Backend, to_backend

__all__ = ["features", "targets", "positive_int", "positive_float", "fraction", "non_negative",
           "limit"]


def limit(variable: str, default: int, given: Any = None) -> int:
    """A reader's size limit: ``given`` (an argument) if not None, else the environment
    variable ``variable`` (e.g. ``XMLP_MAX_PARAMETERS=5e8``), else ``default``.  Limits are
    raised on purpose, never silently: a value that is not a positive whole number is a
    ``ValueError`` naming where it came from."""
    where, value = (f"{variable}", os.environ.get(variable)) if given is None else \
        ("the limit", given)
    if value is None or value == "":
        return default
    number = math.nan
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            pass
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
    if not (math.isfinite(number) and number >= 1 and number == int(number)):
        raise ValueError(f"{where} must be a positive whole number (e.g. 1e8), got {value!r}")
    return int(number)


def positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def positive_float(value: Any, name: str) -> float:
    v = _real(value, name)
    if not v > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return v


def non_negative(value: Any, name: str) -> float:
    v = _real(value, name)
    if not v >= 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return v


def fraction(value: Any, name: str) -> float:
    """A probability in [0, 1) (dropout rate, momentum)."""
    v = _real(value, name)
    if not 0 <= v < 1:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return v


def _real(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


def _host_or_native(x: Any, backend: Backend, what: str) -> tuple[Any, Any]:
    """(array, namespace): NumPy for host inputs, the backend's namespace otherwise."""
    if isinstance(x, (list, tuple)) or np.isscalar(x):
        x = np.asarray(x)
    if isinstance(x, np.ndarray):
        return x, np
    if not array_api_compat.is_array_api_obj(x):
        raise TypeError(f"{what} must be an array, got {type(x).__name__}")
    return x, array_api_compat.array_namespace(x)


def _kind(x: Any, xp: Any) -> str:
    """'f', 'i' (signed or unsigned integer), 'b' or '?' for any other dtype."""
    if xp is np:
        return {"f": "f", "i": "i", "u": "i", "b": "b"}.get(x.dtype.kind, "?")
    for kind, spec in (("f", "real floating"), ("i", "integral"), ("b", "bool")):
        if array_api_compat.array_namespace(x).isdtype(x.dtype, spec):
            return kind
    return "?"


def features(X: Any, backend: Backend, dtype: Any, n_features: int, what: str = "X") -> Any:
    """Validate a feature matrix of shape (n, n_features) and move it to the backend."""
    X, xp = _host_or_native(X, backend, what)
    if _kind(X, xp) not in ("f", "i"):
        raise TypeError(f"{what} must hold numbers (float or int), got dtype {X.dtype}")
    if X.ndim != 2:
        hint = f" (one example? use {what}.reshape(1, -1))" if X.ndim == 1 else ""
        raise ValueError(f"{what} must be 2-D (n_samples, {n_features}), got shape "
                         f"{tuple(X.shape)}{hint}")
    if X.shape[0] == 0:
        raise ValueError(f"{what} is empty (0 samples)")
    if X.shape[1] != n_features:
        raise ValueError(f"{what} has {X.shape[1]} features per sample but the network's "
                         f"input layer has {n_features}")
    if xp is np:  # host data is checked on the host, before it moves
        if X.dtype.kind == "f" and not np.isfinite(X).all():
            raise ValueError(f"{what} contains NaN or infinite values")
        return to_backend(X, backend, dtype, what)
    out = to_backend(X, backend, dtype, what)
    bx = backend.xp
    if not bool(bx.all(bx.isfinite(out))):
        raise ValueError(f"{what} contains NaN or infinite values")
    return out


def targets(y: Any, backend: Backend, dtype: Any, n: int, n_classes: int,
            regression: bool = False, what: str = "y") -> tuple[Any, Any]:
    """Validate targets and return (labels, Y) on the backend.

    ``y`` is either class indices of shape (n,) with values in 0..n_classes-1, or a target
    matrix of shape (n, n_classes) -- one-hot rows for classification, any finite values
    when the output is linear (``regression``).  ``labels`` are int64 class indices
    (argmax of one-hot rows), ``Y`` the float target matrix the cost is evaluated on.
    """
    y, xp = _host_or_native(y, backend, what)
    kind = _kind(y, xp)
    if y.ndim == 1:
        return _labels(y, xp, kind, backend, dtype, n, n_classes, what)
    if y.ndim != 2 or kind not in ("f", "i", "b"):
        raise ValueError(f"{what} must be class indices of shape ({n},) or targets of shape "
                         f"({n}, {n_classes}), got shape {tuple(y.shape)} dtype {y.dtype}")
    if tuple(y.shape) != (n, n_classes):
        raise ValueError(f"{what} has shape {tuple(y.shape)}; expected ({n}, {n_classes}) "
                         f"to match X's {n} samples and the network's {n_classes} outputs")
    Y = to_backend(y, backend, dtype, what)
    bx = backend.xp
    if not bool(bx.all(bx.isfinite(Y))):
        raise ValueError(f"{what} contains NaN or infinite values")
    if not regression:
        rows = bx.sum(Y, axis=1)
        if not bool(bx.all(bx.abs(rows - 1.0) <= 1e-6) & bx.all(Y >= 0.0)):
            raise ValueError(f"{what} rows must be one-hot (non-negative, summing to 1); "
                             "pass class indices of shape (n,) instead")
    return bx.argmax(Y, axis=1), Y


def _labels(y, xp, kind, backend, dtype, n, n_classes, what):
    if y.shape[0] != n:
        raise ValueError(f"{what} has {y.shape[0]} labels but X has {n} samples")
    if kind == "f":
        if not bool(xp.all(xp.floor(y) == y)):
            raise ValueError(f"{what} class labels must be integers, got non-integral floats")
    elif kind != "i":
        raise TypeError(f"{what} class labels must be integers, got dtype {y.dtype}")
    if not bool(xp.all((y >= 0) & (y < n_classes))):
        raise ValueError(f"{what} labels must be in 0..{n_classes - 1} (the network has "
                         f"{n_classes} outputs); got values outside that range")
    bx = backend.xp
    labels = to_backend(y, backend, bx.int64, what)
    classes = bx.arange(n_classes, dtype=bx.int64, device=backend.device)
    Y = bx.astype(labels[:, None] == classes, dtype)
    return labels, Y
