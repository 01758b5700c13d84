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

Devices -- naming, comparing and listing them, and the errors of a missing GPU or of full
device memory -- are :mod:`xmlp.devices`; its public names are re-exported here.
"""

from __future__ import annotations

import importlib
import types
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np

# The device half of the backend flag; its public names are part of this module's.
from .devices import (
    CUPY_HINT,
    BackendUnavailable,
    DeviceOutOfMemory,
    canonical,
    default_device,
    device_name,
    out_of_memory,
    same_device,
)
from .devices import list_devices as _list_devices

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
    "same_device",
    "list_devices",
    "install_hint",
    "wait",
]

DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class _Library:
    """How to import one named backend and which pip extra provides it."""

    compat_module: str  # array-API namespace to import
    extra: str  # ``pip install 'xmlp[extra]'``
    package: str  # the distribution the extra pulls in


BACKENDS = {
    "numpy": _Library("array_api_compat.numpy", "", "numpy"),
    "torch": _Library("array_api_compat.torch", "torch", "torch"),
    "cupy": _Library("array_api_compat.cupy", "cupy", "cupy-cuda12x"),
    "array_api_strict": _Library("array_api_strict", "strict", "array-api-strict"),
    "jax": _Library("jax.numpy", "jax", "jax"),
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


def install_hint(name: str) -> str:
    """The command that installs backend ``name`` (for a GPU: its CUDA build)."""
    if name == "cupy":
        return CUPY_HINT
    spec = BACKENDS[name]
    return f"pip install 'xmlp[{spec.extra}]'" if spec.extra else f"pip install {spec.package}"


def _import_named(name: str) -> types.ModuleType:
    spec = BACKENDS[name]
    try:
        xp = importlib.import_module(spec.compat_module)
    except ImportError as exc:
        raise BackendUnavailable(
            f"backend {name!r} is not installed ({exc}); install it with: {install_hint(name)}"
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
            f"Install the CuPy build for the driver's CUDA: {CUPY_HINT}; or use "
            "backend='numpy' (CPU) or backend='torch' instead."
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
    device = default_device(name, xp) if device is None else canonical(name, xp, device)
    return Backend(name, xp, device)


def resolve_dtype(xp: types.ModuleType, dtype: Any) -> Any:
    """'float32' / 'float64' (or the namespace's dtype objects) -> the namespace's dtype."""
    for name in DTYPES:
        if dtype == name or dtype is getattr(xp, name) or _is_numpy_dtype(dtype, name):
            return getattr(xp, name)
    raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")


def dtype_name(dtype: Any) -> str:
    """'float32' or 'float64' for a namespace's floating dtype (names travel, objects don't)."""
    return "float64" if "64" in str(dtype) else "float32"


def parse_device(backend: Backend | str, text: str | None) -> Any:
    """A device given as text (command line, pickles) -> the backend's device object.

    ``cuda`` / ``gpu`` without an index mean the current GPU and are resolved to it
    (torch: ``cuda`` -> ``cuda:<current>``; JAX: ``gpu`` -> ``jax.devices("gpu")[i]``;
    CuPy: the current ``cupy.cuda.Device``); ``cpu`` / ``cpu:N`` pick a CPU device.
    Asking for a GPU that is not there raises :class:`BackendUnavailable` saying what to
    install.
    """
    if text is None:
        return None
    b = backend if isinstance(backend, Backend) else resolve(backend)
    return canonical(b.name, b.xp, text)


def list_devices(backend: Backend | str, xp: types.ModuleType | None = None) -> list:
    """Every device of a backend that xmlp can use here, CPUs first (GPUs of torch, CuPy
    and JAX included, whatever the backend's default device)."""
    if isinstance(backend, Backend):
        name, xp = backend.name, backend.xp
    else:
        name = backend
        if xp is None and name not in ("torch", "cupy", "jax"):
            xp = resolve(name).xp
    return _list_devices(name, xp)


def _is_numpy_dtype(dtype: Any, name: str) -> bool:
    try:
        return np.dtype(dtype) == np.dtype(name)
    except TypeError:
        return False


def to_numpy(x: Any) -> np.ndarray:
    """Copy any supported array (NumPy, CuPy, torch, JAX, array-api-strict) to a NumPy array.

    Examples
    --------
    >>> import xmlp
    >>> net = xmlp.Network([4, 3, 2], dtype="float64", seed=0)
    >>> xmlp.to_numpy(net.weights[0]).shape
    (3, 4)
    """
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
    if not same_device(array_api_compat.device(x), backend.device):
        raise ValueError(
            f"{what} is on device {array_api_compat.device(x)!r} but the network is on "
            f"{backend.device!r}; move it first (e.g. x.to_device(net.device))"
        )
    return x if x.dtype == dtype else xp.astype(x, dtype)


def wait(*trees: Any) -> None:
    """Block until the arrays in ``trees`` (nested tuples / lists, None skipped) are on their
    device.  JAX places arrays asynchronously; the other backends' host-to-device copies
    have finished when ``asarray`` returns."""
    for tree in trees:
        if isinstance(tree, (tuple, list)):
            wait(*tree)
        elif hasattr(tree, "block_until_ready"):
            tree.block_until_ready()
