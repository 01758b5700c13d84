"""CuPy on an NVIDIA GPU.  Without a usable GPU it is unavailable: the probe never
installs or imports anything heavy when ``nvidia-smi`` finds no device."""

import importlib.util
import re
import shutil
import subprocess

NAME = "cupy"
REQUIREMENTS = ["cupy-cuda12x"]


def gpu_present() -> tuple[bool, str]:
    """Is an NVIDIA GPU visible? (Checked before anything is installed.)"""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return False, "no NVIDIA GPU here (nvidia-smi not found)"
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"nvidia-smi failed: {exc}"
    if out.returncode != 0 or "GPU" not in out.stdout:
        return False, "nvidia-smi lists no GPU"
    return True, ""


def driver_cuda_major() -> int | None:
    """The CUDA major version the NVIDIA driver supports ("CUDA Version: 13.0" in
    nvidia-smi's header), or None without a driver.  It decides which CUDA build of CuPy,
    torch and JAX to install."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        out = subprocess.run([smi], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"CUDA Version:\s*(\d+)\.", out.stdout)
    return int(match.group(1)) if match else None


def available() -> tuple[bool, str]:
    ok, reason = gpu_present()
    if not ok:
        return False, reason
    if importlib.util.find_spec("cupy") is None:
        return False, "cupy is not installed (pip install 'xmlp[cupy]')"
    return True, ""


def devices() -> list:
    import cupy

    return [cupy.cuda.Device(0)]


def sync(device=None) -> None:
    import cupy

    cupy.cuda.Device().synchronize()


def to_numpy(x):
    return x.get()
