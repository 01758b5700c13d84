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
import re
import sys
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
    "same_device",
    "list_devices",
    "install_hint",
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


#: How to get a GPU build of each GPU-capable backend (``nvidia-smi`` shows the CUDA
#: version the driver supports, top right).
_CUPY_HINT = ("pip install 'xmlp[cupy]' for a CUDA 12 driver or pip install 'xmlp[cupy13]' "
              "for a CUDA 13 driver (nvidia-smi shows the driver's CUDA version)")
_TORCH_CUDA_HINT = ("install a CUDA build of torch, e.g. pip install torch --index-url "
                    "https://download.pytorch.org/whl/cu130 for a CUDA 13 driver (nvidia-smi "
                    "shows the driver's CUDA version)")
_JAX_CUDA_HINT = ("install JAX's CUDA wheels with pip install 'xmlp[jax-cuda]' (CUDA 13 "
                  "driver; nvidia-smi shows the driver's CUDA version)")


def install_hint(name: str) -> str:
    """The command that installs backend ``name`` (for a GPU: its CUDA build)."""
    if name == "cupy":
        return _CUPY_HINT
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
            f"Install the CuPy build for the driver's CUDA: {_CUPY_HINT}; or use "
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
    device = _default_device(name, xp) if device is None else _canonical(name, xp, device)
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
    return _canonical(b.name, b.xp, text)


_DEVICE_TEXT = re.compile(r"(?:(cuda|gpu|cpu)(?::(\d+))?|(\d+))")


def _split_device(text: str) -> tuple[str | None, int | None] | None:
    """'cuda' -> ('cuda', None), 'gpu:1' -> ('cuda', 1), 'cpu:0' -> ('cpu', 0),
    '2' -> (None, 2); None for any other text ('gpu7', 'device1', ...)."""
    m = _DEVICE_TEXT.fullmatch(text.strip().lower())
    if m is None:
        return None
    kind = {"gpu": "cuda"}.get(m.group(1), m.group(1))
    index = m.group(2) or m.group(3)
    return kind, None if index is None else int(index)


def _canonical(name: str, xp: types.ModuleType, device: Any) -> Any:
    """The device object ``device`` (text or object) names on backend ``name``, with
    "the current GPU" resolved to an index, so that equal devices compare equal."""
    if name == "torch":
        return _torch_device(device)
    if name == "cupy":
        return _cupy_device(device)
    if name == "jax":
        return _jax_device(xp, device)
    if isinstance(device, str):
        return _listed_device(name, xp, device)
    return device


def _torch_device(device: Any) -> Any:
    import torch

    given = device
    if isinstance(device, str):
        split = _split_device(device)
        text = device.strip().lower()
        if split is not None:  # gpu -> cuda, a bare index -> cuda:N
            kind, index = split
            text = (kind or "cuda") + ("" if index is None else f":{index}")
        try:
            device = torch.device(text)
        except (RuntimeError, ValueError):
            raise ValueError(f"unknown torch device {given!r}; use cpu, cuda or cuda:N") \
                from None
    elif not isinstance(device, torch.device):
        try:
            device = torch.device(device)
        except (RuntimeError, TypeError, ValueError):
            raise ValueError(f"unknown torch device {given!r}; use cpu, cuda or cuda:N") \
                from None
    if device.type != "cuda":
        return device
    if not torch.cuda.is_available():
        if torch.version.cuda is None:
            why = f"torch {torch.__version__} is a CPU-only build"
        else:
            why = (f"torch {torch.__version__} (CUDA {torch.version.cuda}) finds no usable "
                   "GPU (torch.cuda.is_available() is False; check nvidia-smi)")
        raise BackendUnavailable(
            f"device {str(given)!r} of backend 'torch' needs CUDA, but {why}; "
            f"{_TORCH_CUDA_HINT}, or use the CPU (device 'cpu')")
    index = torch.cuda.current_device() if device.index is None else device.index
    count = torch.cuda.device_count()
    if index >= count:
        raise ValueError(f"torch device {str(given)!r}: this machine has {count} CUDA "
                         f"device(s), cuda:0 to cuda:{count - 1}")
    return torch.device("cuda", index)


def _cupy_device(device: Any) -> Any:
    import cupy

    if isinstance(device, cupy.cuda.Device):
        index = device.id
    elif isinstance(device, int) and not isinstance(device, bool):
        index = device
    else:
        split = _split_device(device) if isinstance(device, str) else None
        if split is None:
            raise ValueError(f"unknown cupy device {device!r}; use a GPU index such as 0, "
                             "cuda or cuda:1")
        kind, index = split
        if kind == "cpu":
            raise ValueError(f"backend 'cupy' computes on NVIDIA GPUs only, not on "
                             f"{device!r}; use backend='numpy' for the CPU")
        if index is None:
            index = cupy.cuda.runtime.getDevice()  # the current device
    count = cupy.cuda.runtime.getDeviceCount()
    if not 0 <= index < count:
        raise ValueError(f"cupy device {device!r}: this machine has {count} CUDA device(s), "
                         f"0 to {count - 1}")
    return cupy.cuda.Device(index)


def _jax_devices(platform: str) -> list:
    """JAX's devices of one platform ('cpu' or 'gpu'); [] when JAX has none."""
    import jax

    try:
        return list(jax.devices(platform))
    except RuntimeError:  # "Unknown backend: 'gpu' requested, but no platforms ..."
        return []


def _jax_device(xp: types.ModuleType, device: Any) -> Any:
    if not isinstance(device, str):
        return device  # a jax.Device
    split = _split_device(device)
    if split is None or split[0] is None:
        return _listed_device("jax", xp, device)
    kind, index = split
    platform = "gpu" if kind == "cuda" else "cpu"
    devices = _jax_devices(platform)
    if not devices:
        if platform == "gpu":
            import jax

            have = sorted({d.platform for d in jax.devices()})
            raise BackendUnavailable(
                f"device {device!r} of backend 'jax' needs a GPU, but JAX {jax.__version__} "
                f"has only "
                f"{', '.join(have)} devices here; {_JAX_CUDA_HINT}, or use the CPU "
                "(device 'cpu')")
        raise ValueError(f"JAX has no CPU device here; choose one of "
                         f"{', '.join(device_name(d) for d in list_devices('jax'))}")
    if index is None:  # the current one: JAX's default device where it is of this kind
        default = _default_device("jax", xp)
        return default if getattr(default, "platform", None) == platform else devices[0]
    if index >= len(devices):
        raise ValueError(f"jax device {device!r}: JAX has {len(devices)} {platform} "
                         f"device(s), {kind}:0 to {kind}:{len(devices) - 1}")
    return devices[index]


def _listed_device(name: str, xp: types.ModuleType, text: str) -> Any:
    """A device of a CPU backend (numpy, array-api-strict, any namespace) by its name."""
    devices = list_devices(name, xp)
    for d in devices:
        if text in (str(d), repr(d), device_name(d), getattr(d, "name", None)):
            return d
    split = _split_device(text)
    if split is not None and split[0] == "cpu" and name == "numpy":
        return "cpu"
    names = ", ".join(device_name(d) for d in devices)
    if split is not None and split[0] == "cuda":
        raise ValueError(
            f"backend {name!r} has no GPU device {text!r} (its devices: {names}); for a GPU "
            "use backend='cupy' (pip install 'xmlp[cupy]' or 'xmlp[cupy13]'), 'torch' (a "
            "CUDA build of torch) or 'jax' (pip install 'xmlp[jax-cuda]')")
    raise ValueError(f"unknown device {text!r} for backend {name!r}; choose one of {names}")


def list_devices(backend: Backend | str, xp: types.ModuleType | None = None) -> list:
    """Every device of a backend that xmlp can use here, CPUs first (GPUs of torch, CuPy
    and JAX included, whatever the backend's default device)."""
    if isinstance(backend, Backend):
        name, xp = backend.name, backend.xp
    else:
        name = backend
    if name == "torch":
        import torch

        out = [torch.device("cpu")]
        if torch.cuda.is_available():
            out += [torch.device("cuda", i) for i in range(torch.cuda.device_count())]
        return out
    if name == "cupy":
        import cupy

        return [cupy.cuda.Device(i) for i in range(cupy.cuda.runtime.getDeviceCount())]
    if name == "jax":
        return _jax_devices("cpu") + _jax_devices("gpu")
    xp = xp if xp is not None else resolve(name).xp
    try:
        devices = list(xp.__array_namespace_info__().devices())
    except AttributeError:
        devices = [_default_device(name, xp)]
    return [d for d in devices if d is not None and str(d) != "meta"]


def _device_key(device: Any) -> tuple | None:
    """(kind, index) of the physical device an object names, or None when unknown.

    torch's ``cuda`` means the current CUDA device; ``torch.device("cuda")``,
    ``torch.device("cuda", 0)``, ``"cuda:0"``, ``cupy.cuda.Device(0)`` and JAX's
    ``cuda:0`` then all give ("cuda", 0) (with device 0 current)."""
    if device is None:
        return None
    root = type(device).__module__.split(".")[0]
    if root == "torch":
        kind, index = device.type, device.index
        if kind == "cpu":
            return ("cpu", 0)
        return (kind, _current_cuda() if index is None and kind == "cuda" else index or 0)
    if root == "cupy":
        return ("cuda", int(device.id))
    if root in ("jax", "jaxlib"):
        platform = getattr(device, "platform", None)
        return ("cuda" if platform == "gpu" else platform, int(getattr(device, "id", 0)))
    if isinstance(device, str):
        split = _split_device(device)
        if split is None or split[0] is None:
            return None
        kind, index = split
        if index is None:
            index = _current_cuda() if kind == "cuda" else 0
        return (kind, index)
    return None


def _current_cuda() -> int:
    """The current CUDA device's index, as torch (else CuPy) sees it; 0 without CUDA."""
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            if torch.cuda.is_available():
                return int(torch.cuda.current_device())
        except Exception:  # a broken CUDA setup: "the current device" is the first
            return 0
    cupy = sys.modules.get("cupy")
    if cupy is not None:
        try:
            return int(cupy.cuda.runtime.getDevice())
        except Exception:
            return 0
    return 0


def same_device(a: Any, b: Any) -> bool:
    """Do ``a`` and ``b`` name the same device?  The one comparison xmlp uses for placement.

    Devices given without an index mean the current one (``torch.device("cuda")`` equals
    ``torch.device("cuda", torch.cuda.current_device())``); text (``"cuda:0"``, ``"cpu"``)
    compares with device objects of torch, CuPy and JAX.  Other devices (array-api-strict's)
    compare with ``==``."""
    if a is b:
        return True
    ka, kb = _device_key(a), _device_key(b)
    if ka is not None and kb is not None:
        return ka == kb
    try:
        return bool(a == b)
    except Exception:  # an __eq__ that refuses foreign objects
        return False


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
