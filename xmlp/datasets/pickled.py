"""Loading Nielsen's ``mnist.pkl.gz`` safely.

The book's data file is a gzip-compressed Python 2 pickle of
``((train_x, train_y), (validation_x, validation_y), (test_x, test_y))`` with float32 images of
shape (n, 784) and int64 labels (50 000 / 10 000 / 10 000 rows). Unpickling runs code named by
the file, so it goes through :class:`RestrictedUnpickler`, which resolves only NumPy's array
reconstruction globals and refuses everything else before it can be called.
"""

from __future__ import annotations

import gzip
import os
import pickle
import zlib
from pathlib import Path

import numpy as np
from numpy._core.multiarray import _reconstruct

__all__ = ["RestrictedUnpickler", "UnsafePickleError", "load_nielsen_pickle"]

#: The only globals a pickle may name: what ``ndarray.__reduce__`` emits (NumPy 1.x and 2.x).
ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class UnsafePickleError(pickle.UnpicklingError, ValueError):
    """A pickle named a global outside ``ALLOWED_GLOBALS``; nothing of it was executed.

    Subclasses both ``pickle.UnpicklingError`` and ``ValueError``.
    """


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals in ``ALLOWED_GLOBALS``."""

    def find_class(self, module: str, name: str):
        try:
            return ALLOWED_GLOBALS[module, name]
        except KeyError:
            raise UnsafePickleError(
                f"refusing to load global {module}.{name}: only NumPy arrays are allowed in a "
                "dataset pickle; the file is not Nielsen's mnist.pkl.gz (or was tampered with)"
            ) from None


def load_nielsen_pickle(path: str | os.PathLike):
    """Load Nielsen's ``mnist.pkl.gz`` (gzip or plain) without executing code from it.

    Returns ``((train_x, train_y), (validation_x, validation_y), (test_x, test_y))`` as NumPy
    arrays: x of shape (n, 784), y integer labels in 0..9 of shape (n,), converted to int64.

    Raises :class:`UnsafePickleError` (a subclass of ``pickle.UnpicklingError`` *and*
    ``ValueError``) if the pickle names any global other than NumPy's array-reconstruction ones,
    and ``ValueError`` naming the file for a corrupt file or an unexpected structure.
    """
    path = Path(path)
    with open(path, "rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
        try:
            data = RestrictedUnpickler(stream, encoding="latin1").load()
        except UnsafePickleError as exc:
            raise UnsafePickleError(f"{path}: {exc}") from None
        except (EOFError, OSError, zlib.error, pickle.UnpicklingError) as exc:
            raise ValueError(f"{path}: corrupt or truncated pickle ({exc})") from exc
    return _validate_splits(path, data)


def _validate_splits(path: Path, data) -> tuple:
    """Check the ((x, y), (x, y), (x, y)) structure; return it with int64 labels."""
    if not (isinstance(data, (tuple, list)) and len(data) == 3):
        raise ValueError(
            f"{path}: expected a pickle of 3 (x, y) pairs (train, validation, test) as in "
            f"Nielsen's mnist.pkl.gz, got {type(data).__name__}"
        )
    parts = ("train", "validation", "test")
    return tuple(_validate_pair(path, part, pair) for part, pair in zip(parts, data))


def _validate_pair(path: Path, part: str, pair) -> tuple[np.ndarray, np.ndarray]:
    """Check one (x, y) pair: float x (n, 784), integer y (n,) in 0..9."""
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
        raise ValueError(f"{path}: the {part} entry must be an (x, y) pair")
    x, y = pair
    if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray)):
        raise ValueError(f"{path}: the {part} x and y must be NumPy arrays")
    if x.ndim != 2 or x.shape[1] != 784 or x.dtype.kind != "f":
        raise ValueError(
            f"{path}: {part} x must be a float array of shape (n, 784), got {x.dtype} {x.shape}"
        )
    if y.shape != (x.shape[0],) or y.dtype.kind not in "iu":
        raise ValueError(
            f"{path}: {part} y must be {x.shape[0]} integer labels, got {y.dtype} {y.shape}"
        )
    if y.size and (y.min() < 0 or y.max() > 9):
        raise ValueError(f"{path}: {part} labels must lie in 0..9, got {y.min()}..{y.max()}")
    return x, y.astype(np.int64)
