"""Where arrays live: the input's namespace and device (results go back there), dtypes on
the way in, and pickling of device arrays by backend and device name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np
import sklearn

from .._compat import LegacyState
from ..backend import device_name, namespace_name, parse_device, resolve, same_device, to_numpy
from ._solver import _Solver


# ----------------------------------------------------------------------------- arrays
def _is_numpy(x: Any) -> bool:
    return isinstance(x, np.ndarray) or not array_api_compat.is_array_api_obj(x)


def _host(x: Any) -> Any:
    """A NumPy view of labels / weights that may be arrays of another library."""
    if x is None or _is_numpy(x):
        return x
    return to_numpy(x)


def _dispatch() -> bool:
    return bool(sklearn.get_config().get("array_api_dispatch", False))


@dataclass(frozen=True, eq=False)
class _Place:
    """Where results go: the namespace and device of the arrays a method was given."""

    xp: Any  # None: NumPy
    device: Any = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Place):
            return NotImplemented
        return self.xp is other.xp and (self.xp is None or same_device(self.device,
                                                                        other.device))

    def __hash__(self) -> int:
        return hash(id(self.xp))

    @classmethod
    def of(cls, X: Any) -> _Place:
        if _is_numpy(X):
            return cls(None)
        return cls(array_api_compat.array_namespace(X), array_api_compat.device(X))

    def put(self, a: Any) -> Any:
        """``a`` (any supported array) as an array of this place."""
        if self.xp is None:
            return to_numpy(a)
        if not _is_numpy(a) and array_api_compat.array_namespace(a) is self.xp \
                and same_device(array_api_compat.device(a), self.device):
            return a
        return self.xp.asarray(to_numpy(a), device=self.device)

    def __str__(self) -> str:
        if self.xp is None:
            return "NumPy arrays"
        return f"{resolve(self.xp).name} arrays on {device_name(self.device)}"

    def __reduce__(self):
        """Pickled by name (modules do not pickle): the backend and device names."""
        if self.xp is None:
            return (_Place, (None,))
        backend = resolve(self.xp)
        return (_place_named, (backend.name, device_name(self.device)))


def _place_named(name: str, device: str) -> _Place:
    backend = resolve(name)  # BackendUnavailable, with the install command, if missing
    return _Place(backend.xp, parse_device(backend, device))


@dataclass
class _Portable:
    """A device array on its way through pickle: host copy + backend and device names."""

    array: np.ndarray
    backend: str
    device: str

    @classmethod
    def of(cls, a: Any) -> _Portable:
        return cls(to_numpy(a), namespace_name(a), device_name(array_api_compat.device(a)))

    def restore(self) -> Any:
        b = resolve(self.backend)  # BackendUnavailable, with the install command, if missing
        device = parse_device(b, self.device)
        return b.xp.asarray(self.array, device=device)


def _portable(obj: Any) -> Any:
    """Replace every non-NumPy array in obj (dicts, lists, tuples, parameters, rule states,
    the solver) by _Portable."""
    return _each(obj, _portable, lambda a: a if _is_numpy(a) else _Portable.of(a))


def _restored(obj: Any) -> Any:
    """Undo :func:`_portable`; turn the solver state of earlier versions into a typed one."""
    if isinstance(obj, _Solver) and isinstance(obj.state, LegacyState):
        obj = _Solver(obj.rule, obj.state.typed(), obj.learning_rate, obj.state.t)
    return _each(obj, _restored, lambda a: a.restore() if isinstance(a, _Portable) else a)


def _each(obj: Any, again: Any, leaf: Any) -> Any:
    """``obj`` with ``again`` applied inside its containers and ``leaf`` to the rest."""
    if isinstance(obj, dict):
        return {k: again(v) for k, v in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # Params, the rules' states
        return type(obj)(*(again(v) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(again(v) for v in obj)
    if isinstance(obj, _Solver):
        return _Solver(obj.rule, again(obj.state), obj.learning_rate, obj.t)
    return leaf(obj)


def _float_dtypes(X: Any) -> tuple:
    """float64 / float32 in the namespace scikit-learn validates X in (float32 is kept,
    anything else becomes float64)."""
    if _dispatch() and not _is_numpy(X):
        xp = array_api_compat.array_namespace(X)
        return (xp.float64, xp.float32)
    return (np.float64, np.float32)


def _is_float32(X: Any) -> bool:
    return str(X.dtype).endswith("float32")

