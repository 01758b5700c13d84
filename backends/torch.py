"""PyTorch, CPU (and CUDA when a GPU is present).

The pinned CPU build is installed with pip (``torch==2.13.0``): an unpinned ``torch`` or an
installer that ignores pip's local index would download a multi-GB CUDA build."""

import importlib.util

NAME = "torch"
REQUIREMENTS = ["torch==2.13.0"]


def available() -> tuple[bool, str]:
    ok = importlib.util.find_spec("torch") is not None
    return ok, "torch is not installed (pip install 'xmlp[torch]' torch==2.13.0)"


def devices() -> list:
    import torch

    out = [torch.device("cpu")]
    if torch.cuda.is_available():
        out.append(torch.device("cuda"))
    return out


def sync(device=None) -> None:
    import torch

    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def to_numpy(x):
    return x.detach().to("cpu").numpy().copy()
