"""Loading Nielsen's ``mnist.pkl.gz`` safely.

The book's data file is a gzip-compressed Python 2 pickle of
``((train_x, train_y), (validation_x, validation_y), (test_x, test_y))`` with float32 images of
shape (n, 784) and int64 labels (50 000 / 10 000 / 10 000 rows). Unpickling runs code named by
the file, so it goes through :class:`RestrictedUnpickler`, which resolves only NumPy's array
reconstruction globals and refuses everything else before it can be called.

Reading is bounded as well: the decompressed stream may hold at most ``max_bytes``
(``$XMLP_MAX_DATA_BYTES``, default 1 GiB: the book's ``mnist_expanded.pkl.gz``, 270 000
images, is 0.85 GB), a line at most ``MAX_LINE`` bytes and the pickle at most
``MAX_OPCODES`` instructions; an array's declared shape must match the bytes the file
really gives it before NumPy allocates it, and no array holds Python objects.
"""

from __future__ import annotations

import gzip
import math
import os
import pickle
import zlib
from pathlib import Path
from struct import error as struct_error

import numpy as np
from numpy._core.multiarray import _reconstruct

from .._validate import limit

__all__ = ["RestrictedUnpickler", "UnsafePickleError", "load_nielsen_pickle", "MAX_BYTES"]

#: Decompressed bytes a dataset pickle may hold (``XMLP_MAX_DATA_BYTES`` raises it).
MAX_BYTES = 2**30
#: Instructions a dataset pickle may hold: Nielsen's needs about 200.
MAX_OPCODES = 100_000
#: A text line of the pickle (protocol 0 numbers and names).
MAX_LINE = 1 << 16


class UnsafePickleError(pickle.UnpicklingError, ValueError):
    """A pickle named a global outside ``ALLOWED_GLOBALS``; nothing of it was executed.

    Subclasses both ``pickle.UnpicklingError`` and ``ValueError``.
    """


class _Array(np.ndarray):
    """The arrays a dataset pickle builds: their state (shape, dtype, bytes) is checked
    before NumPy allocates anything for it."""

    def __setstate__(self, state):
        ok = isinstance(state, tuple) and len(state) == 5
        if ok:
            _, shape, dtype, _, raw = state
            ok = (isinstance(shape, tuple) and all(isinstance(d, int) and d >= 0
                                                   for d in shape)
                  and isinstance(dtype, np.dtype) and not dtype.hasobject
                  and isinstance(raw, (bytes, str))
                  and math.prod(shape) * dtype.itemsize == len(raw))
        if not ok:
            raise UnsafePickleError("an array's declared shape and type do not match its data "
                                    "(or it holds Python objects); not Nielsen's mnist.pkl.gz")
        super().__setstate__(state)


def _reconstruct_array(cls, shape, dtype_code):
    """``ndarray.__reduce__``'s constructor, for an empty array only (its data follow)."""
    if cls is not _NDARRAY or tuple(shape) != (0,):
        raise UnsafePickleError("only empty arrays may be reconstructed before their data; "
                                "not Nielsen's mnist.pkl.gz")
    return _reconstruct(_Array, (0,), dtype_code)


class _NdarrayName:
    """``numpy.ndarray`` as a pickle names it: the argument of ``_reconstruct``, never called
    (``ndarray(shape)`` would allocate whatever the file declares)."""

    def __call__(self, *args, **kwargs):
        raise UnsafePickleError("refusing to call numpy.ndarray directly: not Nielsen's "
                                "mnist.pkl.gz (or it was tampered with)")


_NDARRAY = _NdarrayName()

#: The only globals a pickle may name: what ``ndarray.__reduce__`` emits (NumPy 1.x and 2.x).
ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct_array,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct_array,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): np.dtype,
}


def _counted(op):
    def run(self):
        self.opcodes += 1
        if self.opcodes > MAX_OPCODES:
            raise UnsafePickleError(f"more than {MAX_OPCODES} pickle instructions; not "
                                    "Nielsen's mnist.pkl.gz")
        return op(self)
    return run


class RestrictedUnpickler(pickle._Unpickler):
    """An unpickler that resolves only the globals in ``ALLOWED_GLOBALS`` and runs at most
    ``MAX_OPCODES`` instructions (pickle's own Python implementation, instruction by
    instruction)."""

    dispatch = {code: _counted(op) for code, op in pickle._Unpickler.dispatch.items()}
    opcodes = 0

    def find_class(self, module: str, name: str):
        try:
            return ALLOWED_GLOBALS[module, name]
        except KeyError:
            raise UnsafePickleError(
                f"refusing to load global {module}.{name}: only NumPy arrays are allowed in a "
                "dataset pickle; the file is not Nielsen's mnist.pkl.gz (or was tampered with)"
            ) from None


class _TooLarge(ValueError):
    """More data than the limit allows (the message names the file and the limit)."""


class _Bounded:
    """The stream an unpickler reads, refusing to give more than ``max_bytes`` in all (each
    request is checked before the stream allocates for it) or a line over ``MAX_LINE``."""

    def __init__(self, stream, path: Path, max_bytes: int):
        self.stream, self.path, self.left, self.max_bytes = stream, path, max_bytes, max_bytes

    def _take(self, n: int) -> None:
        if n > self.left:
            raise _TooLarge(
                f"{self.path}: the pickle holds more than {self.max_bytes} bytes, the limit "
                "for a dataset file; if you trust it, raise the limit with "
                "XMLP_MAX_DATA_BYTES=N")
        self.left -= n

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self.left + 1
        self._take(n)
        data = self.stream.read(n)
        self.left += n - len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        line = self.stream.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise UnsafePickleError(f"a text line longer than {MAX_LINE} bytes; not Nielsen's "
                                    "mnist.pkl.gz")
        self._take(len(line))
        return line


def load_nielsen_pickle(path: str | os.PathLike, max_bytes: int | None = None):
    """Load Nielsen's ``mnist.pkl.gz`` (gzip or plain) without executing code from it.

    Returns ``((train_x, train_y), (validation_x, validation_y), (test_x, test_y))`` as NumPy
    arrays: x of shape (n, 784), y integer labels in 0..9 of shape (n,), converted to int64.

    Raises :class:`UnsafePickleError` (a subclass of ``pickle.UnpicklingError`` *and*
    ``ValueError``) if the pickle names any global other than NumPy's array-reconstruction ones,
    and ``ValueError`` naming the file for a corrupt file, an unexpected structure, or more
    than ``max_bytes`` of data (default: ``$XMLP_MAX_DATA_BYTES``, else ``MAX_BYTES``).
    """
    path = Path(path)
    max_bytes = limit("XMLP_MAX_DATA_BYTES", MAX_BYTES, max_bytes)
    with open(path, "rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
        try:
            data = RestrictedUnpickler(_Bounded(stream, path, max_bytes),
                                       encoding="latin1").load()
        except UnsafePickleError as exc:
            raise UnsafePickleError(f"{path}: {exc}") from None
        except _TooLarge:
            raise
        except MemoryError:
            raise ValueError(f"{path}: the pickle declares more data than memory holds; not "
                             "Nielsen's mnist.pkl.gz") from None
        except RecursionError:
            raise ValueError(f"{path}: the pickle is nested too deeply; not Nielsen's "
                             "mnist.pkl.gz") from None
        except (EOFError, OSError, zlib.error, pickle.UnpicklingError, struct_error, ValueError,
                TypeError, KeyError, IndexError) as exc:  # what a damaged stream raises
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
    x, y = np.asarray(x), np.asarray(y)  # plain arrays, not the checked subclass
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
