"""``xmlp info``: installed backends, devices, versions and local datasets."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import one_line, version

NAME = "info"


def add_parser(sub) -> argparse.ArgumentParser:
    return sub.add_parser(NAME, help="installed backends, devices and versions",
                          description="Show xmlp's version, the installed backends with "
                                      "their devices and versions, and the local datasets.")


def run(args: argparse.Namespace) -> int:
    import importlib
    import platform
    import warnings
    from importlib import metadata

    import array_api_compat
    import numpy as np

    from ..backend import BACKENDS, BackendUnavailable, device_name, list_devices, resolve

    def dist_version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "not installed"

    print(f"xmlp {version()} ({Path(__file__).resolve().parent.parent})")
    print(f"python {platform.python_version()} ({sys.executable})")
    print(f"numpy {np.__version__}, array-api-compat {array_api_compat.__version__}, "
          f"tqdm {dist_version('tqdm')}, matplotlib {dist_version('matplotlib')} (plots)")
    print("backends:")
    for name, spec in BACKENDS.items():
        try:
            b = resolve(name)
        except BackendUnavailable as exc:
            print(f"  {name:<17} unavailable: {one_line(exc)}")
            continue
        except Exception as exc:  # a broken install must not break `info`
            print(f"  {name:<17} unavailable: {type(exc).__name__}: {one_line(exc)}")
            continue
        module = importlib.import_module(spec.compat_module.removeprefix("array_api_compat.")
                                         .split(".")[0])  # jax.numpy -> jax (its version)
        try:
            with warnings.catch_warnings():  # torch warns while probing device types
                warnings.simplefilter("ignore")
                devices = list_devices(b)
        except Exception:
            devices = [b.device]
        names = ", ".join(device_name(d) for d in devices)
        print(f"  {name:<17} {getattr(module, '__version__', '?'):<14} devices: {names} "
              f"(default {device_name(b.device)}){gpu_note(name)}")
    print("datasets:")
    for line in dataset_lines():
        print(f"  {line}")
    return 0


def gpu_note(name: str) -> str:
    """Why torch or JAX lists no GPU here, and what to install ('' otherwise; CuPy without
    a GPU is unavailable and its line says why)."""
    from ..backend import list_devices

    if name == "torch":
        import torch

        if torch.cuda.is_available():
            return ""
        if torch.version.cuda is None:
            return "; no GPU: a CPU-only build of torch (install a CUDA build for GPUs)"
        return f"; no GPU: CUDA {torch.version.cuda} build, but no usable GPU (nvidia-smi?)"
    if name == "jax":
        if any(getattr(d, "platform", "") == "gpu" for d in list_devices("jax")):
            return ""
        return "; no GPU: for GPUs pip install 'xmlp[jax-cuda]'"
    return ""


def dataset_lines() -> list[str]:
    from ..datasets import DATASETS, DatasetNotFound
    from ..datasets.fetch import locate, search_dirs

    lines = []
    for name, info in DATASETS.items():
        if info.embedded is not None:
            lines.append(f"{name:<17} embedded")
            continue
        try:
            found = locate(info, None, download=False)
        except DatasetNotFound:
            lines.append(f"{name:<17} not found; downloads to {search_dirs(name)[0]}")
            continue
        where = found.parent if isinstance(found, Path) else Path(found[0]).parent
        lines.append(f"{name:<17} {where}")
    return lines
