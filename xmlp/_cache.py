"""xmlp's cache folder: downloaded data sets and JAX's compiled programs live under it."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir(name: str) -> Path:
    """``$XDG_CACHE_HOME/xmlp/<name>`` (``~/.cache/xmlp/<name>`` when it is unset)."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "xmlp" / name
