"""Saving and loading networks.  Never pickle.

JSON (``.json``, or any other suffix) is network2.py's ``save`` format -- ``sizes``,
``weights`` (n_out x n_in nested lists), ``biases`` (n_out x 1), ``cost`` (a network2 class
name such as "CrossEntropyCost") -- plus xmlp's own keys (``format``, ``version``,
``hidden``, ``output``, ``init``, ``dtype``).  network2.py can load what xmlp writes (for its
two costs) and xmlp loads what network2.py writes.  Floats are written with ``repr``
precision, so a save -> load round trip is exact.

``.npz`` holds the same metadata as a JSON string under ``meta`` and one array per
parameter (``w0``, ``b0``, ...); it is read with ``allow_pickle=False``.
"""

from __future__ import annotations

import glob
import json
import os
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ._version import __version__
from .backend import dtype_name
from .network import Network

__all__ = ["save", "load", "read_npz", "write_npz"]

FORMAT = "xmlp-network"
#: What the standard library raises on a damaged zip / JSON file: reported as ValueError.
DAMAGED = (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError, zipfile.BadZipFile,
           zlib.error, NotImplementedError)
MAX_PARAMETERS = 2**31  # refuse files claiming more parameters than this before allocating


def _meta(net: Network) -> dict:
    return {"format": FORMAT, "version": __version__, "sizes": net.sizes,
            "cost": net.cost.network2_name, "hidden": net.hidden.name,
            "output": net.output.name, "init": net.init, "dtype": dtype_name(net.dtype)}


def save(net: Network, path: Any) -> None:
    """Write ``net`` to ``path`` (JSON, or ``.npz`` by suffix), atomically."""
    path = Path(path)
    weights, biases = net.parameters_numpy()
    meta = _meta(net)
    if path.suffix == ".npz":
        arrays = {f"w{i}": w for i, w in enumerate(weights)}
        arrays.update({f"b{i}": b for i, b in enumerate(biases)})
        write_npz(path, meta, arrays)
    else:
        meta["weights"] = [w.astype(np.float64).tolist() for w in weights]
        meta["biases"] = [b.astype(np.float64).tolist() for b in biases]
        _atomic_write(path, lambda f: f.write(json.dumps(meta).encode()))


def _atomic_write(path: Path, write) -> None:
    """Write to a temp file beside ``path`` (named after this process), fsync, rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.{os.getpid()}.",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _remove_orphans(path)


def _remove_orphans(path: Path) -> None:
    """Delete temp files of ``path`` left by writers that were killed mid-write (their
    process is gone).  A live writer's file, or one whose owner we cannot tell, stays."""
    if os.name != "posix":  # os.kill(pid, 0) only probes on POSIX
        return
    prefix = f".{path.name}."
    for tmp in (path.parent or Path(".")).glob(f"{glob.escape(prefix)}*.tmp"):
        pid = tmp.name[len(prefix):].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            tmp.unlink(missing_ok=True)
        except OSError:  # alive under another user, or not ours to judge
            pass


def load(path: Any, backend: Any = "numpy", device: Any = None, dtype: Any = None,
         cls: type[Network] = Network) -> Network:
    """Load a network saved by xmlp (JSON or ``.npz``) or by network2.py (JSON).

    ``dtype`` defaults to the saved one (network2 files: float64).  ``cls`` is the class
    to build (``xmlp.load`` asks for the trainable :class:`xmlp.model.Network`).
    """
    path = Path(path)
    try:
        if zipfile.is_zipfile(path):
            meta, weights, biases = _read_npz(path)
        else:
            meta, weights, biases = _read_json(path)
    except FileNotFoundError:
        raise
    except DAMAGED as exc:
        raise ValueError(f"{path}: not a readable network file ({exc})") from exc
    net = cls(meta["sizes"], hidden=meta.get("hidden", "sigmoid"),
              output=meta.get("output"), cost=meta["cost"],
              init=meta.get("init", "normalized"), backend=backend, device=device,
              dtype=dtype or meta.get("dtype", "float64"))
    net.set_parameters(weights, biases)
    return net


def _check_meta(path: Path, meta: Any) -> dict:
    if not isinstance(meta, dict) or "sizes" not in meta or "cost" not in meta:
        raise ValueError(f"{path}: not a network file (needs 'sizes' and 'cost' keys)")
    sizes = meta["sizes"]
    if (not isinstance(sizes, list) or len(sizes) < 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0
                       for s in sizes)):
        raise ValueError(f"{path}: 'sizes' must be a list of at least two positive integers, "
                         f"got {sizes!r}")
    n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    if n_params > MAX_PARAMETERS:
        raise ValueError(f"{path}: sizes {sizes} describe {n_params} parameters, more than "
                         f"the {MAX_PARAMETERS} this loader accepts")
    return meta


def _shapes(sizes: list[int]) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    return [((n_out, n_in), (n_out, 1)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]


def _read_json(path: Path):
    meta = _check_meta(path, json.loads(path.read_bytes()))
    weights, biases = meta.pop("weights", None), meta.pop("biases", None)
    shapes = _shapes(meta["sizes"])
    if not isinstance(weights, list) or not isinstance(biases, list) \
            or len(weights) != len(shapes) or len(biases) != len(shapes):
        raise ValueError(f"{path}: needs {len(shapes)} 'weights' and 'biases' entries for "
                         f"sizes {meta['sizes']}")
    out_w, out_b = [], []
    for l, ((w_shape, b_shape), w, b) in enumerate(zip(shapes, weights, biases)):
        out_w.append(_nested(path, f"weights[{l}]", w, w_shape))
        out_b.append(_nested(path, f"biases[{l}]", b, b_shape))
    return meta, out_w, out_b


def _nested(path: Path, what: str, value: Any, shape: tuple[int, int]) -> np.ndarray:
    """A nested list -> float64 array of exactly ``shape``, checked before conversion."""
    rows, cols = shape
    if not (isinstance(value, list) and len(value) == rows
            and all(isinstance(r, list) and len(r) == cols for r in value)):
        raise ValueError(f"{path}: {what} must be a {rows} x {cols} nested list to match "
                         "'sizes'")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {what} must hold numbers ({exc})") from exc
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{path}: {what} contains NaN or infinite values")
    return arr


def _read_npz(path: Path):
    meta, arrays = read_npz(path, lambda meta: _model_arrays(path, meta))
    L = len(meta["sizes"]) - 1
    return meta, [arrays[f"w{l}"] for l in range(L)], [arrays[f"b{l}"] for l in range(L)]


def _model_arrays(path: Path, meta: dict) -> dict[str, tuple[int, ...]]:
    meta = _check_meta(path, meta)
    shapes = {}
    for l, (w_shape, b_shape) in enumerate(_shapes(meta["sizes"])):
        shapes[f"w{l}"], shapes[f"b{l}"] = w_shape, b_shape
    return shapes


# ----------------------------------------------------------------- safe .npz
MAX_META_CHARS = 1 << 22  # the JSON metadata of a model or checkpoint is far smaller


def write_npz(path: Any, meta: dict, arrays: dict[str, np.ndarray]) -> None:
    """Atomically write ``meta`` (as JSON) and float arrays to an ``.npz`` file."""
    path = Path(path)
    _atomic_write(path, lambda f: np.savez(f, meta=np.asarray(json.dumps(meta)), **arrays))


def read_npz(path: Any, expected) -> tuple[dict, dict[str, np.ndarray]]:
    """Read an ``.npz`` written by :func:`write_npz` without trusting it.

    Every member's header is read first (no data): object dtypes (pickles) are refused,
    the JSON ``meta`` must be a short string, and ``expected(meta)`` -- a dict of array
    name -> shape derived from the metadata -- must match the stored shapes exactly and
    the bytes actually present, all before any array is allocated.
    """
    path = Path(path)
    headers = _npz_headers(path)
    if "meta" not in headers:
        raise ValueError(f"{path}: .npz file without 'meta'")
    shape, dtype, _ = headers["meta"]
    if shape != () or dtype.kind != "U" or dtype.itemsize > 4 * MAX_META_CHARS:
        raise ValueError(f"{path}: 'meta' must be a short JSON string")
    with np.load(path, allow_pickle=False) as npz:
        try:
            meta = json.loads(str(npz["meta"][()]))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: 'meta' is not valid JSON ({exc})") from exc
        if not isinstance(meta, dict):
            raise ValueError(f"{path}: 'meta' must be a JSON object")
        shapes = expected(meta)
        for name, want in shapes.items():
            if name not in headers:
                raise ValueError(f"{path}: missing array {name!r}")
            got, dtype, _ = headers[name]
            if got != tuple(want) or dtype.kind != "f":
                raise ValueError(f"{path}: array {name!r} is {dtype} {got}, expected a float "
                                 f"array of shape {tuple(want)} for the stored 'sizes'")
        return meta, {name: npz[name] for name in shapes}


def _npz_headers(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype, int]]:
    """name -> (shape, dtype, data bytes) of every member, read from the headers only."""
    fmt = np.lib.format
    out = {}
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            name = info.filename.removesuffix(".npy")
            with zf.open(info) as f:
                try:
                    version = fmt.read_magic(f)
                    read_header = (fmt.read_array_header_1_0 if version == (1, 0)
                                   else fmt.read_array_header_2_0)
                    shape, _, dtype = read_header(f)
                except Exception as exc:  # numpy parses the header text with tokenize/ast:
                    # a damaged header can raise TokenError, SyntaxError, ... -- all mean
                    # "not a valid .npy", which is the one error this reader documents.
                    raise ValueError(f"{path}: member {name!r} is not a valid .npy ({exc})") \
                        from exc
                header_bytes = f.tell()
            if dtype.hasobject:
                raise ValueError(f"{path}: member {name!r} holds Python objects (a pickle); "
                                 "refusing to load it")
            nbytes = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
            if nbytes != info.file_size - header_bytes:
                raise ValueError(f"{path}: member {name!r} claims {nbytes} bytes of data but "
                                 f"holds {info.file_size - header_bytes}")
            out[name] = (tuple(shape), dtype, nbytes)
    return out
