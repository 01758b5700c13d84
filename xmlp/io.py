"""Saving and loading networks.  Never pickle.

JSON (``.json``, or any other suffix) is network2.py's ``save`` format -- ``sizes``,
``weights`` (n_out x n_in nested lists), ``biases`` (n_out x 1), ``cost`` (a network2 class
name such as "CrossEntropyCost") -- plus xmlp's own keys (``format``, ``version``,
``hidden``, ``output``, ``init``, ``dtype``).  network2.py can load what xmlp writes (for its
two costs) and xmlp loads what network2.py writes.  Floats are written with ``repr``
precision, so a save -> load round trip is exact.

``.npz`` holds the same metadata as a JSON string under ``meta`` and one array per
parameter (``w0``, ``b0``, ...); it is read with ``allow_pickle=False``.

Reading is bounded: a file's ``sizes`` may describe at most ``MAX_PARAMETERS``
parameters (2**27: 1 GiB in float64), checked against every array's header and the bytes
really stored before anything is allocated; a JSON file may hold at most a quarter as many
numbers (parsing JSON costs about 32 bytes a number).  ``XMLP_MAX_PARAMETERS`` or
``load(..., max_parameters=N)`` raise the limit.  Weights must be finite.
"""

from __future__ import annotations

import errno
import glob
import json
import os
import reprlib
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from . import _validate
from ._version import __version__
from .backend import dtype_name
from .network import Network

N = TypeVar("N", bound=Network)

__all__ = ["save", "load", "read_npz", "write_npz", "atomic_write", "probe_writable",
           "parameter_limit", "check_finite", "MAX_PARAMETERS"]

FORMAT = "xmlp-network"
#: What the standard library raises on a damaged zip / JSON file: reported as ValueError.
DAMAGED = (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError, zipfile.BadZipFile,
           zlib.error, NotImplementedError)
#: Refuse files whose 'sizes' describe more parameters than this, before allocating:
#: 2**27 float64 numbers are 1 GiB.  XMLP_MAX_PARAMETERS or load(max_parameters=) raise it.
MAX_PARAMETERS = 2**27
MAX_LAYERS = 1024  # layers of a network file (the book's have 2 to 4)
#: Parsing JSON costs about 32 bytes a number (a float object and a list slot): a JSON
#: network file may hold MAX_PARAMETERS // JSON_COST numbers, so that it too stays near 1 GiB.
JSON_COST = 4
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first local header / an empty zip


def parameter_limit(given: Any = None) -> int:
    """The parameter limit in force: ``given``, else ``$XMLP_MAX_PARAMETERS``, else
    ``MAX_PARAMETERS``."""
    return _validate.limit("XMLP_MAX_PARAMETERS", MAX_PARAMETERS, given)


def short(value: Any) -> str:
    """A value of a file, shown in a message: at most a line, however deep or long."""
    r = reprlib.Repr()
    r.maxlevel, r.maxlist, r.maxdict, r.maxstring, r.maxother = 3, 8, 8, 60, 60
    return r.repr(value)


def check_finite(path: Any, arrays: dict[str, np.ndarray], what: str = "network file",
                 fix: str = "save it again from a network with finite weights") -> None:
    """Refuse NaN / infinite values, naming the file and the first array that holds one."""
    for name, arr in arrays.items():
        if arr.dtype.kind in "fc" and not np.isfinite(arr).all():
            raise ValueError(f"{path}: {name} holds NaN or infinite values; this {what} "
                             f"cannot be used ({fix})")


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
        atomic_write(path, lambda f: f.write(json.dumps(meta).encode()))


def probe_writable(folder: Path, name: str) -> None:
    """Create and remove a probe file named after ``name`` in ``folder``: the ``OSError``
    of a folder that takes no new file (read-only, full, missing, no permission), before
    any long work whose output would go there."""
    fd, probe = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".probe")
    os.close(fd)
    os.unlink(probe)


def atomic_write(path: Path, write) -> None:
    """Write to a temp file beside ``path`` (named after this process), fsync, rename.

    A failure (a full disk, a missing folder) leaves any previous file at ``path`` as it
    was, and the ``OSError`` names ``path``, not the temp file."""
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent or ".",
                                   prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno is not None:
            raise OSError(exc.errno, exc.strerror or os.strerror(exc.errno), str(path)) \
                from exc
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
         # mypy cannot type a TypeVar's default (python/mypy#3737): the default is Network
         cls: type[N] = Network, max_parameters: Any = None) -> N:  # type: ignore[assignment]
    """Load a network saved by xmlp (JSON or ``.npz``) or by network2.py (JSON).

    ``dtype`` defaults to the saved one (network2 files: float64).  ``cls`` is the class
    to build (``xmlp.load`` asks for the trainable :class:`xmlp.model.Network`).
    ``max_parameters`` overrides the limit (default: ``$XMLP_MAX_PARAMETERS``, else
    ``MAX_PARAMETERS``).
    """
    path = Path(path)
    limit = parameter_limit(max_parameters)
    try:
        if _is_zip(path):
            meta, weights, biases = _read_npz(path, limit)
        else:
            meta, weights, biases = _read_json(path, limit)
    except FileNotFoundError:
        raise
    except RecursionError as exc:
        raise ValueError(f"{path}: nested too deeply to be a network file") from exc
    except DAMAGED as exc:
        raise ValueError(f"{path}: not a readable network file ({exc})") from exc
    except MemoryError as exc:
        raise MemoryError(f"{path}: its network does not fit in memory here ({exc})") from exc
    try:
        return cls.from_parameters(
            meta["sizes"], weights, biases, hidden=meta.get("hidden", "sigmoid"),
            output=meta.get("output"), cost=meta["cost"],
            init=meta.get("init", "normalized"), backend=backend, device=device,
            dtype=dtype or meta.get("dtype", "float64"))
    except MemoryError as exc:
        raise MemoryError(f"{path}: its network does not fit in memory here ({exc})") from exc


def _is_zip(path: Path) -> bool:
    """True for an ``.npz`` (zip) file -- also a damaged one, which then fails as a zip --
    and for anything named ``.npz``; False for JSON."""
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic in ZIP_MAGIC or path.suffix.lower() == ".npz":
        if not zipfile.is_zipfile(path):
            raise ValueError(f"{path}: not a readable .npz file (a truncated or damaged zip "
                             "archive)")
        return True
    return False


def _check_meta(path: Path, meta: Any, limit: int) -> dict:
    if not isinstance(meta, dict) or "sizes" not in meta or "cost" not in meta:
        raise ValueError(f"{path}: not a network file (needs 'sizes' and 'cost' keys)")
    sizes = meta["sizes"]
    if (not isinstance(sizes, list) or len(sizes) < 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0
                       for s in sizes)):
        raise ValueError(f"{path}: 'sizes' must be a list of at least two positive integers, "
                         f"got {short(sizes)}")
    if len(sizes) > MAX_LAYERS + 1:
        raise ValueError(f"{path}: 'sizes' describes {len(sizes) - 1} layers, more than the "
                         f"{MAX_LAYERS} a network file may have")
    n_params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    if n_params > limit:
        raise ValueError(
            f"{path}: sizes {short(sizes)} describe {n_params} parameters "
            f"({n_params * 8 / 2**30:.3g} GiB in float64), more than the {limit} this loader "
            "accepts; if you trust the file, raise the limit with XMLP_MAX_PARAMETERS="
            f"{n_params} (or xmlp.load(..., max_parameters={n_params}))")
    for key in ("cost", "hidden", "output", "init", "dtype"):
        value = meta.get(key)
        if not (isinstance(value, str) or (value is None and key != "cost")):
            raise ValueError(f"{path}: {key!r} must be a name such as 'sigmoid', got "
                             f"{short(value)}")
    return meta


def _shapes(sizes: list[int]) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    return [((n_out, n_in), (n_out, 1)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]


def _read_json(path: Path, limit: int):
    raw = path.read_bytes()
    # Every value of a JSON list but the last is followed by ",": what parsing would build,
    # counted before parsing (one pass over the bytes, a few percent of the parse).
    numbers = raw.count(b",")
    if numbers > limit // JSON_COST + 1024:
        raise ValueError(
            f"{path}: holds about {numbers} numbers, more than the {limit // JSON_COST} a "
            f"JSON network file may hold (a quarter of the parameter limit {limit}: parsing "
            "JSON costs about 32 bytes a number); save large networks as .npz, or raise the "
            "limit with XMLP_MAX_PARAMETERS")
    text = raw.decode(json.detect_encoding(raw), "surrogatepass")  # what json.loads does
    del raw  # only the text stays while it is parsed
    meta = _check_meta(path, json.loads(text), limit)
    del text
    weights, biases = meta.pop("weights", None), meta.pop("biases", None)
    shapes = _shapes(meta["sizes"])
    if not isinstance(weights, list) or not isinstance(biases, list) \
            or len(weights) != len(shapes) or len(biases) != len(shapes):
        raise ValueError(f"{path}: needs {len(shapes)} 'weights' and 'biases' entries for "
                         f"sizes {meta['sizes']}")
    out_w, out_b = [], []
    for l, (w_shape, b_shape) in enumerate(shapes):
        out_w.append(_nested(path, f"weights[{l}]", weights[l], w_shape))
        out_b.append(_nested(path, f"biases[{l}]", biases[l], b_shape))
        weights[l] = biases[l] = None  # the parsed lists go as their arrays come
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
        raise ValueError(f"{path}: {what} holds NaN or infinite values; this network file "
                         "cannot be used (save it again from a network with finite weights)")
    return arr


def _read_npz(path: Path, limit: int):
    meta, arrays = read_npz(path, lambda meta: _model_arrays(path, meta, limit))
    L = len(meta["sizes"]) - 1
    weights = [arrays[f"w{l}"] for l in range(L)]
    biases = [arrays[f"b{l}"] for l in range(L)]
    check_finite(path, {f"weights[{l}]": w for l, w in enumerate(weights)}
                 | {f"biases[{l}]": b for l, b in enumerate(biases)})
    return meta, weights, biases


def _model_arrays(path: Path, meta: dict, limit: int) -> dict[str, tuple[int, ...]]:
    meta = _check_meta(path, meta, limit)
    shapes: dict[str, tuple[int, ...]] = {}
    for l, (w_shape, b_shape) in enumerate(_shapes(meta["sizes"])):
        shapes[f"w{l}"], shapes[f"b{l}"] = w_shape, b_shape
    return shapes


# ----------------------------------------------------------------- safe .npz
MAX_META_CHARS = 1 << 22  # the JSON metadata of a model or checkpoint is far smaller


def write_npz(path: Any, meta: dict, arrays: dict[str, np.ndarray]) -> None:
    """Atomically write ``meta`` (as JSON) and float arrays to an ``.npz`` file."""
    path = Path(path)
    # numpy's stub reads **arrays as if it could bind savez's allow_pickle (a bool)
    atomic_write(path, lambda f: np.savez(
        f, meta=np.asarray(json.dumps(meta)), **arrays))  # type: ignore[arg-type]


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
        except RecursionError as exc:
            raise ValueError(f"{path}: 'meta' is nested too deeply") from exc
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
