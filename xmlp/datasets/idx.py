"""Reader and writer for the IDX format of the MNIST files.

An IDX file is a 4-byte magic number ``00 00 <dtype code> <ndim>``, then ``ndim`` big-endian
uint32 dimensions, then the array in C order, big-endian. The MNIST family ships it gzip-
compressed. Every malformed file raises :class:`ValueError` naming the file and the problem; the
size the header claims is checked against what the file can hold *before* anything is allocated,
so a lying header can neither trigger a huge allocation nor give a silent partial read, and
against ``MAX_BYTES`` (``$XMLP_MAX_DATA_BYTES``, default 1 GiB), so that a small gzip
file cannot claim gigabytes of zeros either.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from .._validate import limit

__all__ = ["read_idx", "write_idx", "MAX_BYTES"]

#: IDX dtype code -> big-endian NumPy dtype.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
#: Bytes of data an IDX file may hold (MNIST's largest holds 47 MB); XMLP_MAX_DATA_BYTES
#: or read_idx(max_bytes=) raise it.
MAX_BYTES = 2**30
#: Real IDX files have 1 to 4 dimensions; a header claiming more than this is taken as corrupt.
MAX_NDIM = 8
#: Deflate cannot expand data by more than about 1032:1, so a gzip file of n bytes decompresses
#: to at most this many times n bytes (plus a small constant).
_MAX_DEFLATE_RATIO = 1032
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20


def read_idx(path: str | os.PathLike, max_bytes: int | None = None) -> np.ndarray:
    """Read an IDX file (plain or gzip, detected by its magic bytes) into a native-endian array.

    Raises ``ValueError`` (naming the file) for a bad magic number, an unknown dtype code, zero
    or more than ``MAX_NDIM`` dimensions, a truncated header or payload, trailing bytes, a
    corrupt gzip stream, or more than ``max_bytes`` of data (default:
    ``$XMLP_MAX_DATA_BYTES``, else ``MAX_BYTES``); ``FileNotFoundError`` if the file
    does not exist.
    """
    path = Path(path)
    max_bytes = limit("XMLP_MAX_DATA_BYTES", MAX_BYTES, max_bytes)
    with open(path, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        file_size = os.fstat(raw.fileno()).st_size
        if not compressed:
            return _read_stream(path, raw, file_size, max_bytes)
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                return _read_stream(path, stream, _MAX_DEFLATE_RATIO * file_size + 1024,
                                    max_bytes)
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise ValueError(
                f"{path}: corrupt or truncated gzip stream ({exc}); delete the file and "
                "download it again"
            ) from exc


def _read_stream(path: Path, stream, max_size: int, max_bytes: int) -> np.ndarray:
    """Parse the header, check the claimed size against ``max_size`` (what the file can
    hold) and ``max_bytes`` (the limit), then read the payload."""
    dtype, shape = _read_header(path, stream)
    header_size = 4 + 4 * len(shape)
    expected = math.prod(shape) * dtype.itemsize
    if header_size + expected > max_size:
        raise ValueError(
            f"{path}: header claims shape {shape} ({expected} bytes of data) but the file can "
            f"hold at most {max(max_size - header_size, 0)} bytes; the file is truncated or not "
            "an IDX file"
        )
    if expected > max_bytes:
        raise ValueError(
            f"{path}: header claims shape {shape} ({expected} bytes of data), more than the "
            f"{max_bytes} bytes a data file may hold; if you trust it, raise the limit with "
            "XMLP_MAX_DATA_BYTES=N"
        )
    payload = _read_capped(stream, expected + 1)
    if len(payload) < expected:
        raise ValueError(
            f"{path}: truncated: header claims shape {shape} ({expected} bytes of data) but "
            f"only {len(payload)} bytes follow the header; download the file again"
        )
    if len(payload) > expected:
        raise ValueError(
            f"{path}: trailing bytes after the {expected} bytes of data that shape {shape} "
            "needs; the file is corrupt or its header is wrong"
        )
    array = np.frombuffer(payload, dtype=dtype).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def _read_header(path: Path, stream) -> tuple[np.dtype, tuple[int, ...]]:
    """Read and validate the magic number and dimensions."""
    magic = stream.read(4)
    if len(magic) < 4:
        raise ValueError(f"{path}: truncated: {len(magic)} bytes, too short for an IDX header")
    if magic[:2] != b"\x00\x00":
        raise ValueError(
            f"{path}: bad magic number {magic.hex()}: an IDX file starts with two zero bytes; "
            "this is not an IDX file"
        )
    code, ndim = magic[2], magic[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise ValueError(f"{path}: unknown IDX dtype code 0x{code:02X}; known codes: {known}")
    if not 1 <= ndim <= MAX_NDIM:
        raise ValueError(
            f"{path}: header claims {ndim} dimensions; an IDX file has 1 to {MAX_NDIM}"
        )
    dims = stream.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise ValueError(f"{path}: truncated header: {ndim} dimensions announced, fewer stored")
    shape = tuple(int(d) for d in np.frombuffer(dims, dtype=">u4"))
    return IDX_DTYPES[code], shape


def _read_capped(stream, limit: int) -> bytearray:
    """Read at most ``limit`` bytes in chunks, so memory grows only with the data really there."""
    data = bytearray()
    while len(data) < limit:
        chunk = stream.read(min(_CHUNK, limit - len(data)))
        if not chunk:
            break
        data += chunk
    return data


def write_idx(path: str | os.PathLike, array) -> None:
    """Write ``array`` as an IDX file, gzip-compressed (level 9, mtime 0) if ``path`` ends in .gz.

    Supported dtypes: uint8, int8, int16, int32, float32, float64 (``TypeError`` otherwise);
    1 to ``MAX_NDIM`` dimensions (``ValueError`` otherwise).
    """
    array = np.asarray(array)
    code = _dtype_code(array.dtype)
    if not 1 <= array.ndim <= MAX_NDIM:
        raise ValueError(
            f"IDX stores arrays of 1 to {MAX_NDIM} dimensions, got shape {array.shape}; "
            "reshape the array first"
        )
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    path = Path(path)
    if path.suffix == ".gz":
        with open(path, "wb") as raw, gzip.GzipFile(
            filename="", fileobj=raw, mode="wb", compresslevel=9, mtime=0
        ) as stream:
            stream.write(header + payload)
    else:
        path.write_bytes(header + payload)


def _dtype_code(dtype: np.dtype) -> int:
    """The IDX dtype code for ``dtype`` (any byte order)."""
    for code, idx_dtype in IDX_DTYPES.items():
        if dtype.kind == idx_dtype.kind and dtype.itemsize == idx_dtype.itemsize:
            return code
    supported = ", ".join(str(d.newbyteorder("=")) for d in IDX_DTYPES.values())
    raise TypeError(
        f"IDX cannot store dtype {dtype}; convert the array to one of: {supported}"
    )
