"""What a result is measured on: versions, CPU / GPU names, thread settings, memory.

Nothing here changes a setting: thread counts are read (torch, threadpoolctl, the
environment), never set.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import platform
import re
import resource
import shutil
import subprocess
import sys

__all__ = ["versions", "cpu_name", "gpu_name", "threads", "rss_mb", "peak_rss_mb",
           "reset_peak_rss", "machine_slug", "cpu_sample", "interference"]

THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")

_DISTRIBUTIONS = {"numpy": "numpy", "torch": "torch", "sklearn": "scikit-learn",
                  "array_api_compat": "array-api-compat",
                  "array_api_strict": "array-api-strict", "cupy": None, "jax": "jax",
                  "jaxlib": "jaxlib",
                  "threadpoolctl": "threadpoolctl", "psutil": "psutil",
                  "matplotlib": "matplotlib"}


def versions() -> dict:
    """Versions of Python, xmlp and the libraries a contender may use (None: absent).

    Read from the installed distributions' metadata, so nothing heavy is imported."""
    out = {"python": platform.python_version(), "implementation": platform.python_implementation()}
    try:
        import xmlp

        out["xmlp"] = xmlp.__version__
    except ImportError:
        out["xmlp"] = None
    for module, dist in _DISTRIBUTIONS.items():
        names = [dist] if dist else ["cupy-cuda12x", "cupy-cuda13x", "cupy-cuda11x", "cupy"]
        out[module] = None
        for name in names:
            try:
                out[module] = importlib.metadata.version(name)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    return out


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (platform.processor() elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_name() -> str | None:
    """The first NVIDIA GPU's name from nvidia-smi, or None (never imports CUDA)."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    try:
        out = subprocess.run([smi, "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    names = [s.strip() for s in out.stdout.splitlines() if s.strip()]
    return names[0] if out.returncode == 0 and names else None


def machine_slug() -> str:
    """A file-name tag for this machine: the GPU's name where there is one, else the CPU's."""
    name = gpu_name() or cpu_name()
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:60] or "unknown"


def threads() -> dict:
    """Thread settings as they are: CPU count, environment, BLAS pools, torch."""
    out: dict = {"cpu_count": os.cpu_count(),
                 "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                 else None,
                 "env": {k: os.environ[k] for k in THREAD_ENV if k in os.environ}}
    try:
        import threadpoolctl

        out["blas"] = [{"api": p.get("internal_api"), "lib": p.get("prefix"),
                        "threads": p.get("num_threads"), "version": p.get("version")}
                       for p in threadpoolctl.threadpool_info()]
    except ImportError:
        out["blas"] = "threadpoolctl not installed (see env)"
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        out["torch"] = {"intra_op": torch.get_num_threads(),
                        "inter_op": torch.get_num_interop_threads()}
    return out


def _status_kb(field: str) -> float | None:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return float(line.split()[1])
    except OSError:
        pass
    return None


def rss_mb() -> float | None:
    """Current resident set size in MiB (Linux; psutil elsewhere)."""
    kb = _status_kb("VmRSS")
    if kb is not None:
        return kb / 1024
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        return None


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) of this process; False if impossible.

    Writing 5 to /proc/self/clear_refs (Linux >= 4.0) restarts the high-water mark, so the
    peak read afterwards belongs to what ran since, not to set-up or earlier contenders."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """Peak RSS in MiB: VmHWM (since the last reset) or getrusage's process-wide maximum."""
    kb = _status_kb("VmHWM")
    if kb is not None:
        return kb / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def cpu_sample() -> tuple | None:
    """(total, idle, steal) jiffies of all CPUs from /proc/stat and this process's CPU
    seconds; None where /proc/stat is missing."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            vals = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    vals += [0] * (8 - len(vals))
    t = os.times()
    return sum(vals[:8]), vals[3] + vals[4], vals[7], t.user + t.system


def interference(before: tuple | None, after: tuple | None) -> dict | None:
    """Between two samples: the share of all CPUs' time that *other* processes were busy
    (other_busy) and that the hypervisor took away (steal).  High values mean the timing
    was disturbed."""
    if before is None or after is None:
        return None
    total = after[0] - before[0]
    if total <= 0:
        return None
    hz = os.sysconf("SC_CLK_TCK")
    steal = after[2] - before[2]
    busy = total - (after[1] - before[1]) - steal
    own = (after[3] - before[3]) * hz
    return {"other_busy": round(max(0.0, busy - own) / total, 4),
            "steal": round(steal / total, 4)}
