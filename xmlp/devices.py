"""Devices: where a backend's arrays live.

Text that names a device (``cpu``, ``cuda``, ``gpu:1``, ``0``, array-api-strict's
``device1``) becomes the library's device object, with "the current GPU" resolved to an
index (:func:`canonical`), so that :func:`same_device` can compare devices of torch, CuPy,
JAX and text.  A GPU that is not there is a :class:`BackendUnavailable` saying what to
install; running out of device memory is a :class:`DeviceOutOfMemory` saying what to try.
GPU libraries are imported here only inside the functions that need them.

:mod:`xmlp.backend` builds on this module (``resolve``, ``parse_device``, ``list_devices``
taking a backend) and re-exports its public names.
"""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import array_api_compat

__all__ = ["BackendUnavailable", "DeviceOutOfMemory", "out_of_memory", "canonical",
           "default_device", "device_name", "list_devices", "same_device"]


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


#: How to get a GPU build of each GPU-capable backend (``nvidia-smi`` shows the CUDA
#: version the driver supports, top right).
CUPY_HINT = ("pip install 'xmlp[cupy]' for a CUDA 12 driver or pip install 'xmlp[cupy13]' "
              "for a CUDA 13 driver (nvidia-smi shows the driver's CUDA version)")
TORCH_CUDA_HINT = ("install a CUDA build of torch, e.g. pip install torch --index-url "
                    "https://download.pytorch.org/whl/cu130 for a CUDA 13 driver (nvidia-smi "
                    "shows the driver's CUDA version)")
JAX_CUDA_HINT = ("install JAX's CUDA wheels with pip install 'xmlp[jax-cuda]' (CUDA 13 "
                  "driver; nvidia-smi shows the driver's CUDA version)")


def default_device(name: str, xp: types.ModuleType) -> Any:
    """The device arrays of backend ``name`` go to when none is given."""
    if name == "torch":
        import torch

        return torch.device("cpu")
    return array_api_compat.device(xp.empty(0))


def device_name(device: Any) -> str:
    """A device as text that :func:`parse_device` reads back: cpu, cuda:0, device1, 0."""
    text = str(device)
    if text.startswith("array_api_strict.Device('"):  # -> device1
        return text.split("'")[1]
    if text.startswith("<CUDA Device "):  # cupy.cuda.Device -> its index
        return text.removeprefix("<CUDA Device ").rstrip(">")
    return text  # cpu, cuda:0


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


def canonical(name: str, xp: types.ModuleType, device: Any) -> Any:
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
            f"{TORCH_CUDA_HINT}, or use the CPU (device 'cpu')")
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
                f"{', '.join(have)} devices here; {JAX_CUDA_HINT}, or use the CPU "
                "(device 'cpu')")
        raise ValueError(f"JAX has no CPU device here; choose one of "
                         f"{', '.join(device_name(d) for d in list_devices('jax', xp))}")
    if index is None:  # the current one: JAX's default device where it is of this kind
        default = default_device("jax", xp)
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


def list_devices(name: str, xp: types.ModuleType | None) -> list:
    """Every device of backend ``name`` (namespace ``xp``, which torch, CuPy and JAX do not
    need) that xmlp can use here, CPUs first (GPUs of torch, CuPy and JAX included,
    whatever the backend's default device)."""
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
    if xp is None:
        raise ValueError(f"list_devices({name!r}) needs the backend's namespace")
    try:
        devices = list(xp.__array_namespace_info__().devices())
    except AttributeError:
        devices = [default_device(name, xp)]
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
