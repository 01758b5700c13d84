"""The backend flag: a name (or namespace module) -> an array-API namespace and a device.

This is the only place where a backend library is imported by name, and it does so
lazily: ``import xmlp`` imports neither CuPy nor PyTorch nor array-api-strict.

Conversion policy (the only places arrays cross namespaces):

* ``to_backend`` turns NumPy arrays, Python sequences and arrays already in the target
  namespace into arrays of the target namespace, dtype and device.  Arrays from any
  *other* array library are refused with a ``TypeError`` -- mixing, say, a torch tensor
  into a CuPy network is almost always a mistake, and the fix (``xmlp.to_numpy`` first)
  is one call.
* ``to_numpy`` brings any supported array back to the host, at the edges only
  (metrics once per epoch, saving, printing).
"""

from __future__ import annotations

import importlib
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np

__all__ = [
    "Backend",
    "BackendUnavailable",
    "DeviceOutOfMemory",
    "out_of_memory",
    "BACKENDS",
    "resolve",
    "resolve_dtype",
    "to_backend",
    "to_numpy",
    "dtype_name",
    "device_name",
    "parse_device",
]

DTYPES = ("float32", "float64")


class BackendUnavailable(ImportError):
    """A backend was asked for that cannot run here (not installed, or no GPU)."""


class DeviceOutOfMemory(MemoryError):
    """The backend could not allocate an array; the message says what and how to avoid it."""


@contextmanager
def out_of_memory(device: Any, what: str, hint: str) -> Iterator[None]:
    """Turn NumPy's, CuPy's and torch's out-of-memory errors into one clear
    :class:`DeviceOutOfMemory` naming the device, the task, the failed request and a fix."""
    try:
        yield
    except DeviceOutOfMemory:
        raise
    except MemoryError as exc:  # NumPy's _ArrayMemoryError, CuPy's OutOfMemoryError
        raise DeviceOutOfMemory(f"out of memory on {device} while {what}: {exc}; {hint}") \
            from exc
    except RuntimeError as exc:  # torch.OutOfMemoryError and older "CUDA out of memory"
        if "out of memory" not in str(exc).lower():
            raise
        first = str(exc).splitlines()[0]
        raise DeviceOutOfMemory(f"out of memory on {device} while {what}: {first}; {hint}") \
            from exc


@dataclass(frozen=True)
class _Spec:
    """How to import one named backend and which pip extra provides it."""

    compat_module: str  # array-API namespace to import
    extra: str  # ``pip install 'xmlp[extra]'``
    package: str  # the distribution the extra pulls in


BACKENDS = {
    "numpy": _Spec("array_api_compat.numpy", "", "numpy"),
    "torch": _Spec("array_api_compat.torch", "torch", "torch"),
    "cupy": _Spec("array_api_compat.cupy", "cupy", "cupy-cuda12x"),
    "array_api_strict": _Spec("array_api_strict", "strict", "array-api-strict"),
    "jax": _Spec("jax.numpy", "jax", "jax"),
}
_ALIASES = {"np": "numpy", "pytorch": "torch", "strict": "array_api_strict",
            "array-api-strict": "array_api_strict"}


@dataclass(frozen=True)
class Backend:
    """A resolved backend: the array-API namespace ``xp``, its name and the device."""

    name: str
    xp: types.ModuleType
    device: Any

    def __repr__(self) -> str:
        return f"Backend({self.name!r}, device={self.device!r})"


def _import_named(name: str) -> types.ModuleType:
    spec = BACKENDS[name]
    try:
        xp = importlib.import_module(spec.compat_module)
    except ImportError as exc:
        extra = f"pip install 'xmlp[{spec.extra}]'" if spec.extra else f"pip install {spec.package}"
        raise BackendUnavailable(
            f"backend {name!r} is not installed ({exc}); install it with: {extra}"
        ) from exc
    if name == "cupy":
        _check_cuda(xp)
    if name == "jax":
        _enable_x64()
    return xp


def _enable_x64() -> None:
    """JAX computes in 32 bits unless ``jax_enable_x64`` is on, silently truncating float64
    and int64 requests.  The core always names its dtypes, so turning it on (a process-wide
    JAX setting) makes float64 mean float64 and index arrays int64, as on every backend."""
    import jax

    if not jax.config.read("jax_enable_x64"):
        jax.config.update("jax_enable_x64", True)


def _check_cuda(xp: types.ModuleType) -> None:
    """Turn CuPy's CUDA tracebacks into one clear sentence."""
    try:
        import cupy

        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDARuntimeError, missing driver, missing libcudart ...
        raise BackendUnavailable(
            f"backend 'cupy' needs a usable NVIDIA GPU and CUDA driver: {exc}. "
            "Use backend='numpy' (CPU) or backend='torch' instead."
        ) from exc
    if n < 1:
        raise BackendUnavailable(
            "backend 'cupy' found no CUDA device. Use backend='numpy' (CPU) instead."
        )


def _namespace_of_module(module: types.ModuleType) -> tuple[str, types.ModuleType]:
    """Map a user-given module (numpy, torch, cupy, a compat wrapper, ...) to a namespace."""
    modname = module.__name__
    root = modname.split(".")[0]
    if root == "array_api_compat":  # array_api_compat.numpy etc.
        return modname.split(".")[1], module
    for name in BACKENDS:
        if root == name:
            return name, _import_named(name)
    if hasattr(module, "__array_api_version__"):
        return modname, module  # any other array-API namespace, used as it is
    raise ValueError(
        f"backend module {modname!r} is not an array-API namespace; pass one of "
        f"{sorted(BACKENDS)} or a module with __array_api_version__"
    )


def resolve(backend: str | types.ModuleType = "numpy", device: Any = None) -> Backend:
    """Resolve the backend flag.

    ``backend`` is "numpy", "cupy", "torch", "array_api_strict" or an array-API namespace
    module. ``device`` is passed through to array creation (``None``: the namespace's
    default device, e.g. the current CUDA device for CuPy, ``"cpu"`` for torch).
    """
    if isinstance(backend, types.ModuleType):
        name, xp = _namespace_of_module(backend)
    elif isinstance(backend, str):
        name = _ALIASES.get(backend.lower(), backend.lower())
        if name not in BACKENDS:
            raise ValueError(
                f"unknown backend {backend!r}; choose one of {sorted(BACKENDS)} "
                "or pass an array-API namespace module"
            )
        xp = _import_named(name)
    else:
        raise TypeError(
            f"backend must be a name or a module, got {type(backend).__name__}"
        )
    if device is None:
        device = _default_device(name, xp)
    elif isinstance(device, str) and name == "torch":
        import torch

        device = torch.device(device)
    return Backend(name, xp, device)


def _default_device(name: str, xp: types.ModuleType) -> Any:
    if name == "torch":
        import torch

        return torch.device("cpu")
    return array_api_compat.device(xp.empty(0))


def resolve_dtype(xp: types.ModuleType, dtype: Any) -> Any:
    """'float32' / 'float64' (or the namespace's dtype objects) -> the namespace's dtype."""
    for name in DTYPES:
        if dtype == name or dtype is getattr(xp, name) or _is_numpy_dtype(dtype, name):
            return getattr(xp, name)
    raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")


def dtype_name(dtype: Any) -> str:
    """'float32' or 'float64' for a namespace's floating dtype (names travel, objects don't)."""
    return "float64" if "64" in str(dtype) else "float32"


def device_name(device: Any) -> str:
    """A device as text that :func:`parse_device` reads back: cpu, cuda:0, device1, 0."""
    text = str(device)
    if text.startswith("array_api_strict.Device('"):  # -> device1
        return text.split("'")[1]
    if text.startswith("<CUDA Device "):  # cupy.cuda.Device -> its index
        return text.removeprefix("<CUDA Device ").rstrip(">")
    return text  # cpu, cuda:0


def parse_device(backend: Backend | str, text: str | None) -> Any:
    """A device given as text (command line, pickles) -> the backend's device object."""
    if text is None:
        return None
    b = backend if isinstance(backend, Backend) else resolve(backend)
    if b.name == "torch":
        import torch

        try:
            return torch.device(text)
        except RuntimeError:
            raise ValueError(f"unknown torch device {text!r}; use cpu, cuda or cuda:N") from None
    if b.name == "cupy":
        import cupy

        index = text.lower().removeprefix("cuda").removeprefix("gpu").lstrip(":") or "0"
        if not index.isdigit():
            raise ValueError(f"unknown cupy device {text!r}; use a GPU index such as 0 or cuda:1")
        return cupy.cuda.Device(int(index))
    try:
        devices = list(b.xp.__array_namespace_info__().devices())
    except AttributeError:
        devices = [b.device]
    for d in devices:
        if text in (str(d), repr(d), device_name(d), getattr(d, "name", None)):
            return d
    names = ", ".join(device_name(d) for d in devices)
    raise ValueError(f"unknown device {text!r} for backend {b.name!r}; choose one of {names}")


def _is_numpy_dtype(dtype: Any, name: str) -> bool:
    try:
        return np.dtype(dtype) == np.dtype(name)
    except TypeError:
        return False


def to_numpy(x: Any) -> np.ndarray:
    """Copy any supported array (NumPy, CuPy, torch, array-api-strict) to a NumPy array."""
    if isinstance(x, (np.ndarray, np.generic)) or not array_api_compat.is_array_api_obj(x):
        return np.asarray(x)  # NumPy scalars (from reductions), Python numbers and lists
    if array_api_compat.is_torch_array(x):
        return x.detach().cpu().numpy()
    if array_api_compat.is_cupy_array(x):
        return x.get()
    if array_api_compat.is_jax_array(x):
        return np.array(x)  # a writable copy: JAX buffers are read-only
    if array_api_compat.is_array_api_strict_namespace(array_api_compat.array_namespace(x)):
        import array_api_strict

        return np.asarray(x.to_device(array_api_strict.Device("CPU_DEVICE")))
    return np.from_dlpack(x)


def namespace_name(x: Any) -> str:
    """A short name for the library an array belongs to (for error messages)."""
    if isinstance(x, np.ndarray):
        return "numpy"
    if array_api_compat.is_torch_array(x):
        return "torch"
    if array_api_compat.is_cupy_array(x):
        return "cupy"
    if array_api_compat.is_jax_array(x):
        return "jax"
    return type(x).__module__.split(".")[0]


def to_backend(x: Any, backend: Backend, dtype: Any, what: str = "array") -> Any:
    """Bring ``x`` into ``backend``'s namespace on its device with ``dtype``.

    Accepts arrays of the backend's own namespace (which must already be on the
    backend's device), NumPy arrays and Python sequences. Anything else is a
    ``TypeError``: convert explicitly with ``xmlp.to_numpy`` first.
    """
    xp = backend.xp
    if isinstance(x, (np.ndarray, list, tuple, int, float)):
        return xp.asarray(np.asarray(x), dtype=dtype, device=backend.device)
    if not array_api_compat.is_array_api_obj(x):
        raise TypeError(f"{what} must be an array, got {type(x).__name__}")
    if array_api_compat.array_namespace(x) is not xp:
        raise TypeError(
            f"{what} is a {namespace_name(x)} array but this network runs on "
            f"backend {backend.name!r}; convert it explicitly with xmlp.to_numpy({what}) "
            f"or build the network with backend={namespace_name(x)!r}"
        )
    if array_api_compat.device(x) != backend.device:
        raise ValueError(
            f"{what} is on device {array_api_compat.device(x)!r} but the network is on "
            f"{backend.device!r}; move it first (e.g. x.to_device(net.device))"
        )
    return x if x.dtype == dtype else xp.astype(x, dtype)
