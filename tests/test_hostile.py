"""Hostile files and paths, as a hostile-but-fair user would try them: every reader bounded,
NaN models refused, nothing trained lost, one line for every error.

Each hostile file is built here, at test time, from headers and zero-filled streams (a
4-8 MB .npz declaring a 238-million-parameter network, a 400 KB PNG of 20000 x 20000
pixels, a pickle of a few hundred bytes declaring 6 GB): nothing large is stored.  The
memory cases run the command in a child process under an address-space limit
(``RLIMIT_AS``, :data:`AS_LIMIT`): an allocation the limit does not allow fails at once,
where a reading of the resident memory would miss pages never touched; the command must
still end in its one line.

NumPy only: the numpy test session runs them (the commands read and write NumPy arrays).
"""

from __future__ import annotations

import gzip
import io
import json
import math
import os
import pickle
import socket
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from test_cli import _env, assert_one_line_error, xmlp_cmd

import xmlp
from xmlp import checkpoint, datasets
from xmlp.cli import main

_requested = [b.strip() for b in os.environ.get("XMLP_BACKENDS", "").split(",") if b.strip()]
if _requested and "numpy" not in _requested:
    pytest.skip("the command-line files are NumPy's: the numpy test session runs them",
                allow_module_level=True)
if os.name != "posix":
    pytest.skip("address-space limits (resource.setrlimit) are POSIX", allow_module_level=True)

#: The address space a command may use here: the acceptance bound on peak memory.
AS_LIMIT = 1536 * 2**20
RUNNER = """
import resource, sys
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
if len(sys.argv) > 2 and sys.argv[2] == "--fsize":  # a full disk: writes past N bytes fail
    import signal
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), int(sys.argv[3])))
    del sys.argv[2:4]
from xmlp.cli import main
sys.exit(main(sys.argv[2:]))
"""
SMALL = ["--sizes", "784,16,10", "--epochs", "1", "--quiet"]
ZEROS = bytes(1 << 24)


def limited(tmp_path: Path, *args: str, fsize: int | None = None, **env: str):
    """``xmlp ARGS`` in a child process limited to AS_LIMIT bytes of address space (one
    BLAS thread: a thread's stacks and buffers count against the limit too)."""
    env = _env(tmp_path, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               **env)
    extra = ["--fsize", str(fsize)] if fsize is not None else []
    return subprocess.run([sys.executable, "-c", RUNNER, str(AS_LIMIT), *extra, *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def assert_usage_error(proc, option: str) -> str:
    """argparse's form: the command's usage, then one error line naming ``option``."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("usage: xmlp "), proc.stderr
    assert lines[-1].startswith("xmlp ") and ": error: " in lines[-1] and option in lines[-1]
    return lines[-1]


# ----------------------------------------------------------------- building hostile files
def _npy_header(shape: tuple[int, ...], descr: str) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False,
                                              "shape": shape})
    return buf.getvalue()


def npz_stream(path: Path, meta: dict, members: dict[str, tuple[tuple[int, ...], str]],
               fill: float | None = None) -> Path:
    """An .npz of ``meta`` and the arrays ``members`` (name -> (shape, descr)), each
    streamed as its header and zeros (or ``fill`` in the first element): deflated, a few
    MB stand for gigabytes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.asarray(json.dumps(meta)))
        zf.writestr("meta.npy", buf.getvalue())
        for name, (shape, descr) in members.items():
            itemsize = np.dtype(descr).itemsize
            with zf.open(f"{name}.npy", "w", force_zip64=True) as f:
                f.write(_npy_header(shape, descr))
                left = math.prod(shape) * itemsize
                if fill is not None and left:
                    f.write(np.asarray([fill], dtype=descr).tobytes())
                    left -= itemsize
                while left:
                    n = min(left, len(ZEROS))
                    f.write(ZEROS[:n])
                    left -= n
    return path


def network_npz(path: Path, sizes: list[int], descr: str = "<f8",
                fill: float | None = None) -> Path:
    meta = {"format": "xmlp-network", "version": xmlp.__version__, "sizes": sizes,
            "cost": "quadratic", "hidden": "sigmoid", "output": "sigmoid",
            "init": "normalized", "dtype": np.dtype(descr).name}
    members = {}
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        members[f"w{l}"], members[f"b{l}"] = ((n_out, n_in), descr), ((n_out, 1), descr)
    return npz_stream(path, meta, members, fill)


def png_stream(path: Path, width: int, height: int, channels: int) -> Path:
    """A PNG of zero pixels (gray or RGBA), its IDAT deflated row batch by row batch."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + \
            struct.pack(">I", zlib.crc32(tag + data))

    color = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    row = 1 + width * channels  # filter byte, then the pixels
    per_batch = max(1, len(ZEROS) // row)
    comp, parts, left = zlib.compressobj(9), [], height
    while left:
        k = min(left, per_batch)
        parts.append(comp.compress(ZEROS[:k * row]))
        left -= k
    parts.append(comp.flush())
    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0))
                     + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b""))
    return path


class _Allocate:
    """Pickles as ``numpy.ndarray(shape, dtype)``: an array of any size, no data."""

    def __init__(self, shape, dtype):
        self.shape, self.dtype = shape, np.dtype(dtype)

    def __reduce__(self):
        return (np.ndarray, (self.shape, self.dtype))


class _Rebuilt:
    """Pickles as ndarray's own reconstruction, with a state of our choosing."""

    def __init__(self, state, shape=(0,)):
        self.state, self.shape = state, shape

    def __reduce__(self):
        from numpy._core.multiarray import _reconstruct

        return (_reconstruct, (np.ndarray, self.shape, "b"), self.state)


def pickle_gz(path: Path, obj=None, raw: bytes | None = None, protocol: int = 2) -> Path:
    path.write_bytes(gzip.compress(raw if raw is not None else pickle.dumps(obj, protocol)))
    return path


def deep_json(depth: int = 100_000) -> str:
    return "[" * depth + "]" * depth


# ----------------------------------------------------------------- 1. bounded memory
@pytest.fixture(scope="module")
def npz_bomb(tmp_path_factory) -> Path:
    """[784, 300000, 10] in float64: 238.5 million parameters, 1.9 GB, in a small file."""
    path = network_npz(tmp_path_factory.mktemp("bomb") / "bomb.npz", [784, 300_000, 10])
    assert path.stat().st_size < 16 * 2**20
    return path


@pytest.mark.parametrize("command", ["evaluate", "predict", "export"])
def test_npz_declaring_gigabytes_is_refused_before_allocating(tmp_path, npz_bomb, command):
    datasets.write_idx(tmp_path / "one.idx", np.zeros((1, 28, 28), np.uint8))
    argv = {"evaluate": [str(npz_bomb)], "predict": [str(npz_bomb), "one.idx"],
            "export": [str(npz_bomb), "out.onnx"]}[command]
    line = assert_one_line_error(limited(tmp_path, command, *argv))
    assert "238500010 parameters" in line and "XMLP_MAX_PARAMETERS" in line
    assert not (tmp_path / "out.onnx").exists()


def test_the_parameter_limit_is_raised_on_purpose_and_memory_still_ends_in_one_line(
        tmp_path, npz_bomb):
    proc = limited(tmp_path, "evaluate", str(npz_bomb), XMLP_MAX_PARAMETERS="1e9")
    line = assert_one_line_error(proc)
    assert line.startswith("xmlp: error: out of memory") and "bomb.npz" in line
    with pytest.raises(ValueError, match="more than the 1000 this loader accepts"):
        xmlp.load(npz_bomb, max_parameters=1000)
    bad = limited(tmp_path, "evaluate", str(npz_bomb), XMLP_MAX_PARAMETERS="lots")
    assert "XMLP_MAX_PARAMETERS must be a positive whole number" in assert_one_line_error(bad)


@pytest.mark.parametrize(("width", "height", "channels"),
                         [(20_000, 20_000, 1), (9_000, 9_000, 4), (300, 300, 3)])
def test_png_size_is_checked_before_decoding(tmp_path, width, height, channels):
    png_stream(tmp_path / "big.png", width, height, channels)
    network_npz(tmp_path / "net.npz", [784, 10])
    line = assert_one_line_error(limited(tmp_path, "predict", "net.npz", "big.png"))
    assert "resize it to 28x28" in line


def test_png_of_a_small_multiple_is_averaged_down(tmp_path):
    from PIL import Image

    X, _ = datasets.load("mnist-sample").test
    digit = np.round(X[3] * 255).astype(np.uint8).reshape(28, 28)
    Image.fromarray(digit).save(tmp_path / "d28.png")
    Image.fromarray(np.kron(digit, np.ones((3, 3), np.uint8))).save(tmp_path / "d84.png")
    net = xmlp.Network([784, 20, 10], seed=0)
    net.save(tmp_path / "net.npz")
    proc = xmlp_cmd(tmp_path, "predict", "net.npz", "d28.png", "d84.png")
    assert proc.returncode == 0, proc.stderr
    labels = [line.split("\t")[1] for line in proc.stdout.splitlines()]
    assert labels[0] == labels[1] == str(int(xmlp.to_numpy(net.predict(digit.reshape(1, -1)
                                                                       / 255.0))[0]))


def test_pickle_declaring_gigabytes_is_refused(tmp_path):
    """A few hundred bytes that made the book's loader allocate (10^6, 784) arrays."""
    (tmp_path / "d").mkdir()
    x, y = _Allocate((10**6, 784), "f4"), _Allocate((10**6,), "i8")
    path = pickle_gz(tmp_path / "d" / "mnist.pkl.gz", ((x, y), (x, y), (x, y)))
    assert path.stat().st_size < 400
    proc = limited(tmp_path, "train", "--dataset", "mnist", "--data-dir", "d",
                   "--no-download", *SMALL)
    assert "refusing to call numpy.ndarray directly" in assert_one_line_error(proc)


@pytest.mark.parametrize(("obj", "raw", "protocol", "message"), [
    (_Rebuilt(None, shape=(10**6, 784)), None, 2, "only empty arrays"),
    (_Rebuilt((1, (10**6, 784), np.dtype("f8"), False, b"\0" * 16)), None, 4,
     "declared shape and type do not match"),
    (_Rebuilt((1, (10**6, 784), np.dtype("O"), False, [0, 1])), None, 4,
     "declared shape and type do not match"),
    (None, b"\x80\x04\x8e" + struct.pack("<Q", 2**40) + b".", 4,
     "holds more than 1073741824 bytes"),
    (None, b"\x80\x02N" + b"2" * 200_000 + b".", 2, "more than 100000 pickle instructions"),
    (None, b"\x80\x02I" + b"9" * 100_000 + b"\n.", 2, "a text line longer than"),
])
def test_pickle_bombs_are_refused_in_one_message(tmp_path, obj, raw, protocol, message):
    path = pickle_gz(tmp_path / "mnist.pkl.gz", obj, raw, protocol)
    with pytest.raises(ValueError, match=message) as excinfo:
        datasets.load_nielsen_pickle(path)
    assert str(path) in str(excinfo.value)


def test_pickled_data_over_the_limit_is_refused_and_the_limit_can_be_raised(tmp_path,
                                                                            monkeypatch):
    parts = tuple((np.zeros((300, 784), np.float32), np.zeros(300, np.int64))
                  for _ in range(3))  # 2.8 MB
    path = pickle_gz(tmp_path / "mnist.pkl.gz", parts, protocol=4)
    monkeypatch.setenv("XMLP_MAX_DATA_BYTES", "1000000")
    with pytest.raises(ValueError, match="XMLP_MAX_DATA_BYTES"):
        datasets.load_nielsen_pickle(path)
    monkeypatch.setenv("XMLP_MAX_DATA_BYTES", "4000000")
    assert datasets.load_nielsen_pickle(path)[0][0].shape == (300, 784)


def test_the_data_limit_admits_the_books_expanded_pickle():
    """mnist_expanded.pkl.gz: 250 000 + 10 000 + 10 000 float32 images of 784 pixels."""
    assert 270_000 * 784 * 4 + 270_000 * 8 < datasets.pickled.MAX_BYTES


def test_idx_declaring_more_than_the_data_limit_is_refused(tmp_path):
    datasets.write_idx(tmp_path / "big.idx.gz", np.zeros((30_000, 28, 28), np.uint8))
    network_npz(tmp_path / "net.npz", [784, 10])
    proc = limited(tmp_path, "predict", "net.npz", "big.idx.gz",
                   XMLP_MAX_DATA_BYTES="10000000")
    assert "XMLP_MAX_DATA_BYTES" in assert_one_line_error(proc)


def test_json_with_more_numbers_than_the_limit_is_refused_before_parsing(tmp_path):
    path = tmp_path / "net.json"
    path.write_text('{"sizes": [2, 2], "cost": "QuadraticCost", "weights": [' +
                    ",".join(["0"] * 5000) + "]}")
    with pytest.raises(ValueError, match="a JSON network file may hold"):
        xmlp.load(path, max_parameters=4000)


def test_training_an_impossible_network_is_one_line(tmp_path):
    proc = limited(tmp_path, "train", "--sizes", "784,100000000,10", "--epochs", "1")
    line = assert_one_line_error(proc)
    assert line.startswith("xmlp: error: out of memory") and "--sizes" in line


def test_predict_out_of_memory_names_its_batch_size_option(tmp_path):
    network_npz(tmp_path / "wide.npz", [784, 40_000, 10], descr="<f4")
    datasets.write_idx(tmp_path / "many.idx", np.zeros((10_000, 28, 28), np.uint8))
    line = assert_one_line_error(limited(tmp_path, "predict", "wide.npz", "many.idx"))
    assert "out of memory" in line and "--batch-size" in line and "batch_size=" not in line


def test_a_network_of_ten_million_parameters_saves_and_loads_in_both_formats(tmp_path):
    net = xmlp.Network([784, 12_700, 3], dtype="float64", seed=0)  # 10 007 603 parameters
    for name in ("big.npz", "big.json"):
        net.save(tmp_path / name)
        back = xmlp.load(tmp_path / name)
        assert back.sizes == net.sizes
        np.testing.assert_array_equal(back.weights[1], net.weights[1])


# ----------------------------------------------------------------- 2. finite weights
def test_nan_weights_in_npz_are_refused_by_predict_and_export(tmp_path):
    network_npz(tmp_path / "nan.npz", [784, 10], fill=float("nan"))
    datasets.write_idx(tmp_path / "one.idx", np.zeros((1, 28, 28), np.uint8))
    for argv in (["predict", "nan.npz", "one.idx"], ["export", "nan.npz", "nan.onnx"],
                 ["evaluate", "nan.npz"]):
        line = assert_one_line_error(xmlp_cmd(tmp_path, *argv))
        assert "nan.npz: weights[0] holds NaN or infinite values" in line
    assert not (tmp_path / "nan.onnx").exists()


def test_infinite_weights_are_refused_in_every_format_and_by_export(tmp_path):
    net = xmlp.Network([3, 2], dtype="float64", seed=0)
    weights, biases = net.parameters_numpy()
    net.set_parameters(weights, [np.array([[np.inf], [0.0]])])
    with pytest.raises(ValueError, match="biases of layer 0 hold NaN or infinite"):
        net.to_onnx()
    for name in ("inf.npz", "inf.json"):
        net.save(tmp_path / name)  # saving is allowed; loading names the array
        with pytest.raises(ValueError, match=rf"{name}: biases\[0\] holds NaN or infinite"):
            xmlp.load(tmp_path / name)


def _fit_checkpoint(path: Path, epochs: int = 1) -> None:
    rng = np.random.default_rng(0)
    xmlp.Network([4, 3, 2], seed=0).fit(rng.random((8, 4)), rng.integers(0, 2, 8),
                                        epochs=epochs, checkpoint=path)


def _edit_checkpoint(src: Path, dst: Path, meta_edit=None, array_edit=None) -> Path:
    with np.load(src) as npz:
        arrays = {k: npz[k] for k in npz.files if k != "meta"}
        meta = json.loads(str(npz["meta"][()]))
    if meta_edit:
        meta_edit(meta)
    if array_edit:
        array_edit(arrays)
    xmlp.io.write_npz(dst, meta, arrays)
    return dst


def test_nan_in_a_checkpoint_is_named_not_blamed_on_eta(tmp_path):
    _fit_checkpoint(tmp_path / "c.ckpt")

    def poison(arrays):
        arrays["w1"] = np.full_like(arrays["w1"], np.nan)

    bad = _edit_checkpoint(tmp_path / "c.ckpt", tmp_path / "nan.ckpt", array_edit=poison)
    with pytest.raises(ValueError, match=r"nan.ckpt: array 'w1' holds NaN") as excinfo:
        checkpoint.load(bad, xmlp.Network([4, 3, 2]))
    assert "eta" not in str(excinfo.value)


# ----------------------------------------------------------------- 3. one line everywhere
@pytest.fixture
def deep_files(tmp_path):
    (tmp_path / "deep.json").write_text(deep_json())
    network_npz(tmp_path / "ok.npz", [784, 10])
    with zipfile.ZipFile(tmp_path / "ok.npz") as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray('{"sizes": ' + deep_json(10_000) + "}"))
    members["meta.npy"] = buf.getvalue()
    with zipfile.ZipFile(tmp_path / "deep.npz", "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    datasets.write_idx(tmp_path / "one.idx", np.zeros((1, 28, 28), np.uint8))
    return tmp_path


@pytest.mark.parametrize("name", ["deep.json", "deep.npz"])
@pytest.mark.parametrize("command", ["evaluate", "predict", "export"])
def test_deeply_nested_files_are_one_line(deep_files, name, command):
    argv = {"evaluate": [name], "predict": [name, "one.idx"],
            "export": [name, "out.onnx"]}[command]
    line = assert_one_line_error(xmlp_cmd(deep_files, command, *argv))
    assert name in line and "nested too deeply" in line


def test_deeply_nested_files_are_value_errors_in_python(deep_files):
    from xmlp import nielsen

    for name in ("deep.json", "deep.npz"):
        for load in (xmlp.load, nielsen.load):
            with pytest.raises(ValueError, match="nested too deeply"):
                load(deep_files / name)
    _fit_checkpoint(deep_files / "c.ckpt")
    deep = _edit_checkpoint(deep_files / "c.ckpt", deep_files / "deep.ckpt")
    with zipfile.ZipFile(deep) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray('{"format": ' + deep_json(10_000) + "}"))
    members["meta.npy"] = buf.getvalue()
    with zipfile.ZipFile(deep, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(ValueError, match="nested too deeply"):
        checkpoint.load(deep, xmlp.Network([4, 3, 2]))


@pytest.mark.parametrize(("edit", "key"), [
    (lambda m: m["tracker"].pop("eta"), "tracker"),
    (lambda m: m["history"].update(as_dict=1), "history.as_dict"),
    (lambda m: m["history"].update(training_cost="cheap"), "history.training_cost"),
    (lambda m: m.update(rng={"bit_generator": "PCG64", "state": 5}), "rng"),
    (lambda m: m.update(epoch=7), "history"),
])
def test_an_edited_checkpoint_is_refused_in_one_line(tmp_path, edit, key):
    assert main(["train", *SMALL, "--sizes", "784,5,10", "--checkpoint",
                 str(tmp_path / "c.ckpt")]) == 0
    _edit_checkpoint(tmp_path / "c.ckpt", tmp_path / "e.ckpt", meta_edit=edit)
    proc = xmlp_cmd(tmp_path, "train", *SMALL, "--sizes", "784,5,10", "--epochs", "2",
                    "--resume", "e.ckpt")
    line = assert_one_line_error(proc)
    assert f"e.ckpt: checkpoint {key!r} is not" in line


def test_a_device_the_backend_cannot_compute_on_is_one_line(monkeypatch, capsys):
    import xmlp.backend

    def meta_tensor(x):  # what torch says of its "meta" device
        raise NotImplementedError("Cannot copy out of meta tensor; no data!")

    monkeypatch.setattr(xmlp.backend, "to_numpy", meta_tensor)
    assert main(["train", *SMALL, "--device", "cpu"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("xmlp: error: --device cpu: the numpy "
                                                   "backend cannot compute on it")


def test_torch_meta_device_is_one_line(tmp_path):
    pytest.importorskip("torch")
    proc = xmlp_cmd(tmp_path, "train", *SMALL, "--backend", "torch", "--device", "meta")
    assert "--device meta: the torch backend cannot compute on it" in \
        assert_one_line_error(proc)


def test_a_bug_is_one_line_that_says_how_to_see_the_traceback(monkeypatch, capsys):
    import xmlp.cli.info

    def broken(args):
        return 1 / 0

    monkeypatch.setattr(xmlp.cli.info, "run", broken)
    monkeypatch.delenv("XMLP_DEBUG", raising=False)
    monkeypatch.delenv("XMLP_TRACEBACK", raising=False)
    assert main(["info"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error, a bug in xmlp: ZeroDivisionError" in err
    assert "XMLP_DEBUG=1" in err
    with pytest.raises(ZeroDivisionError):
        main(["--debug", "info"])
    monkeypatch.setenv("XMLP_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["info"])


@pytest.fixture
def silent_server():
    """A TCP port that accepts connections and never answers (a server that hangs)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


def test_sweep_storage_problems_are_one_line(tmp_path, silent_server):
    pytest.importorskip("optuna")
    pytest.importorskip("distributed")
    (tmp_path / "notdb.db").write_text("not a database\n")
    import sqlite3

    with sqlite3.connect(tmp_path / "good.db") as con:
        con.execute("CREATE TABLE t (x)")
        con.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(5000)])
    (tmp_path / "cut.db").write_bytes((tmp_path / "good.db").read_bytes()[:5000])
    cases = {f"sqlite:///{tmp_path}/missing/s.db": "folder",
             "sqlite:////proc/xmlp-sweep.db": "cannot create a file in /proc",
             "sqlite:///notdb.db": "is not an SQLite database",
             "sqlite:///cut.db": "database disk image is malformed",
             f"postgresql://xmlp@127.0.0.1:{silent_server}/db": "storage postgresql://"}
    for url, message in cases.items():
        proc = xmlp_cmd(tmp_path, "sweep", "--grid", "eta=0.5,1", "--epochs", "1",
                        "--no-plot", "-q", "--storage", url, timeout=60)
        line = assert_one_line_error(proc)
        assert message in line, (url, line)
    assert "Traceback" not in proc.stderr


# ----------------------------------------------------------------- 4. nothing trained is lost
def test_unwritable_outputs_are_reported_before_the_first_epoch(tmp_path):
    for argv, message in ((["--save", "/proc/xmlp-net.json"], "cannot write in /proc"),
                          (["--checkpoint", "nodir/c.ckpt"], "directory nodir does not exist"),
                          (["--log", "/proc/xmlp.csv"], "cannot write in /proc"),
                          (["--plot", "nodir/c.png"], "directory nodir does not exist")):
        proc = xmlp_cmd(tmp_path, "train", *SMALL[:-1], *argv)
        assert message in assert_one_line_error(proc)
        assert "epoch" not in proc.stdout and "training" not in proc.stdout
    assert not list(tmp_path.glob("*.probe")) and not list(tmp_path.glob(".*"))


def test_a_save_that_fails_at_the_end_goes_to_a_fallback_file(tmp_path, monkeypatch, capsys):
    import xmlp.model

    real_save = xmlp.model.Network.save

    def full_disk(self, path):
        if Path(path).name == "net.npz":
            raise OSError(28, "No space left on device", str(path))
        real_save(self, path)

    monkeypatch.setattr(xmlp.model.Network, "save", full_disk)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    assert main(["train", *SMALL, "--save", "out/net.npz"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--save out/net.npz: could not write it (No space" in err
    (saved,) = tmp_path.glob("net.unsaved-*.npz")
    assert f"the network was saved to {saved} instead" in err
    assert xmlp.load(saved).sizes == [784, 16, 10]


def test_a_full_disk_leaves_the_previous_file_and_says_so(tmp_path):
    previous = b"the previous network file"
    (tmp_path / "net.npz").write_bytes(previous)
    proc = limited(tmp_path, "train", *SMALL, "--save", "net.npz", fsize=20_000)
    line = assert_one_line_error(proc)
    assert "--save net.npz: could not write it" in line
    assert "the previous file there is unchanged" in line and "lost" in line
    assert (tmp_path / "net.npz").read_bytes() == previous
    assert not list(tmp_path.glob(".net.npz.*"))


def test_a_checkpoint_that_cannot_be_written_keeps_the_network(tmp_path, monkeypatch, capsys):
    import xmlp.io

    real = xmlp.io.write_npz
    calls = []

    def fails_second_time(path, meta, arrays):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device", str(path))
        real(path, meta, arrays)

    monkeypatch.setattr(xmlp.io, "write_npz", fails_second_time)
    monkeypatch.chdir(tmp_path)
    assert main([*["train", *SMALL], "--epochs", "3", "--checkpoint", "c.ckpt"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--checkpoint c.ckpt: could not write it" in err
    assert "training stopped after epoch 2" in err, err
    (saved,) = tmp_path.glob("network.unsaved-*.npz")
    assert f"the network was saved to {saved} instead" in err


# ----------------------------------------------------------------- 5. no silent fallbacks
def test_data_dir_must_exist_and_hold_the_dataset(tmp_path):
    proc = xmlp_cmd(tmp_path, "train", *SMALL, "--data-dir", "/nonexistent", "--no-download")
    assert "--data-dir /nonexistent: no such directory" in assert_one_line_error(proc)
    (tmp_path / "empty").mkdir()
    proc = xmlp_cmd(tmp_path, "train", *SMALL, "--data-dir", "empty")
    assert_usage_error(proc, "--data-dir")  # the embedded sample reads no directory
    proc = xmlp_cmd(tmp_path, "train", *SMALL, "--dataset", "fashion-mnist", "--data-dir",
                    "empty", "--no-download")
    line = assert_one_line_error(proc)
    assert "empty lacks train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz" in line


def test_malformed_lists_and_seeds_are_usage_errors(tmp_path):
    for argv, option in ((["--sizes", "784,,10"], "--sizes"), (["--sizes", "784,10,"], "--sizes"),
                         (["--seed", "-1"], "--seed")):
        assert_usage_error(xmlp_cmd(tmp_path, "train", *SMALL[2:], *argv), option)


def test_checkpoint_refuses_a_file_that_is_not_a_checkpoint(tmp_path):
    xmlp.Network([784, 16, 10], seed=0).save(tmp_path / "net.npz")
    xmlp.Network([784, 16, 10], seed=0).save(tmp_path / "net.json")
    (tmp_path / "notes.txt").write_text("my notes\n")
    for name, what in (("net.npz", "a saved network"), ("net.json", "a saved network"),
                       ("notes.txt", "not an .npz")):
        before = (tmp_path / name).read_bytes()
        proc = xmlp_cmd(tmp_path, "train", *SMALL, "--checkpoint", name)
        line = assert_one_line_error(proc)
        assert f"--checkpoint {name}: not an xmlp checkpoint" in line
        assert "it would be overwritten" in line
        assert what in line and (tmp_path / name).read_bytes() == before
    assert xmlp.load(tmp_path / "net.npz").sizes == [784, 16, 10]


def test_save_and_checkpoint_may_not_be_the_same_file(tmp_path):
    proc = xmlp_cmd(tmp_path, "train", *SMALL, "--save", "x.npz", "--checkpoint", "./x.npz")
    assert "--save and --checkpoint name the same file" in assert_usage_error(proc, "--save")


# ----------------------------------------------------------------- 6. smaller things
def test_import_xmlp_imports_no_optional_library():
    """Pillow is read where PNGs are, the others where their front ends run."""
    optional = ("PIL", "matplotlib", "optuna", "dask", "distributed", "sqlalchemy", "onnx",
                "onnxruntime", "skl2onnx", "sklearn", "scipy", "torch", "jax", "cupy",
                "array_api_strict", "psycopg")
    code = ("import sys, xmlp, xmlp.cli, xmlp.cli.data, xmlp.checkpoint, xmlp.datasets; "
            f"print(sorted(set({optional!r}) & {{m.split('.')[0] for m in sys.modules}}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"



def test_empty_image_files_are_named(tmp_path):
    datasets.write_idx(tmp_path / "none.idx", np.zeros((0, 28, 28), np.uint8))
    network_npz(tmp_path / "net.npz", [784, 10])
    line = assert_one_line_error(xmlp_cmd(tmp_path, "predict", "net.npz", "none.idx"))
    assert "none.idx: holds no images" in line
    d = tmp_path / "d"
    d.mkdir()
    for prefix, n in (("train", 0), ("t10k", 3)):
        datasets.write_idx(d / f"{prefix}-images-idx3-ubyte.gz", np.zeros((n, 28, 28), np.uint8))
        datasets.write_idx(d / f"{prefix}-labels-idx1-ubyte.gz", np.zeros(n, np.uint8))
    proc = xmlp_cmd(tmp_path, "train", *SMALL, "--dataset", "kmnist", "--data-dir", "d",
                    "--no-download")
    assert "train-images-idx3-ubyte.gz: holds no images" in assert_one_line_error(proc)


def test_a_truncated_npz_is_called_truncated(tmp_path):
    xmlp.Network([784, 16, 10], seed=0).save(tmp_path / "net.npz")
    raw = (tmp_path / "net.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(raw[:len(raw) // 2])
    line = assert_one_line_error(xmlp_cmd(tmp_path, "evaluate", "cut.npz"))
    assert "cut.npz: not a readable .npz file (a truncated or damaged zip" in line
    assert "utf-8" not in line


def test_saving_onto_a_directory_names_it(tmp_path):
    with pytest.raises(IsADirectoryError) as excinfo:
        xmlp.Network([3, 2], seed=0).save(tmp_path)
    assert excinfo.value.filename == str(tmp_path)
    with pytest.raises(FileNotFoundError) as excinfo:
        xmlp.Network([3, 2], seed=0).save(tmp_path / "no" / "net.json")
    assert excinfo.value.filename == str(tmp_path / "no" / "net.json")
