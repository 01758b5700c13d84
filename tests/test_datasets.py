"""Tests for xmlp.datasets: IDX files, loaders, cache resolution, downloads, pickles, transforms.

No test touches the network: downloads go through a fake opener, files are written to tmp_path.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from xmlp import datasets
from xmlp.datasets import fetch, registry

IDX_DTYPES = {
    0x08: np.uint8, 0x09: np.int8, 0x0B: np.int16, 0x0C: np.int32, 0x0D: np.float32,
    0x0E: np.float64,
}
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
REAL_SYSTEM_DIRS = dict(fetch.SYSTEM_DIRS)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No real cache, $XMLP_DATA, system directory or network reaches any test."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("XMLP_DATA", raising=False)
    monkeypatch.setattr(fetch, "SYSTEM_DIRS", {})

    def no_network(url, timeout=None):
        raise AssertionError(f"test tried to open {url}")

    monkeypatch.setattr(fetch, "urlopen", no_network)


# ---------------------------------------------------------------------------------------------
# helpers


def write_dataset(directory: Path, n_train: int, n_test: int = 2, seed: int = 0) -> dict:
    """Write the four IDX gz files of a tiny MNIST-like dataset; return the arrays written."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    directory.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        datasets.write_idx(directory / name, array)
    return arrays


def idx_bytes(code: int, dims: tuple[int, ...], payload: bytes = b"") -> bytes:
    """A raw IDX file: magic, big-endian dims, payload."""
    return bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


class FakeResponse(io.BytesIO):
    """A response that serves ``data``, raising ConnectionResetError after ``fail_after`` bytes."""

    def __init__(self, data: bytes, fail_after: int | None = None):
        super().__init__(data)
        self.fail_after = fail_after

    def read(self, n=-1):
        if self.fail_after is not None and self.tell() >= self.fail_after:
            raise ConnectionResetError("connection reset by peer (simulated)")
        limit = n if self.fail_after is None else min(n, self.fail_after - self.tell())
        return super().read(limit)


def fake_opener(files: dict[str, bytes], fail_after: int | None = None, log: list | None = None):
    """An opener serving ``files`` by URL basename; unknown names raise like a 404."""

    def opener(url, timeout=None):
        if log is not None:
            log.append(url)
        name = url.rsplit("/", 1)[-1]
        if name not in files:
            raise OSError(f"HTTP Error 404: {url}")
        return FakeResponse(files[name], fail_after)

    return opener


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def served_dataset(tmp_path: Path, monkeypatch, name: str = "kmnist") -> dict[str, bytes]:
    """Register ``name`` with two fake mirrors and checksums of a tiny dataset; return its files."""
    source = tmp_path / "served"
    write_dataset(source, n_train=5, n_test=3)
    files = {p.name: p.read_bytes() for p in source.iterdir()}
    info = dataclasses.replace(
        registry.DATASETS[name],
        mirrors=("https://mirror-a.test/", "https://mirror-b.test/"),
        checksums={n: (len(b), sha256(b)) for n, b in files.items()},
    )
    monkeypatch.setitem(registry.DATASETS, name, info)
    return files


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


# ---------------------------------------------------------------------------------------------
# IDX format


@pytest.mark.parametrize("code", sorted(IDX_DTYPES))
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, code, suffix):
    dtype = np.dtype(IDX_DTYPES[code])
    rng = np.random.default_rng(code)
    if dtype.kind == "f":
        array = rng.standard_normal((3, 4, 5)).astype(dtype)
    else:
        info = np.iinfo(dtype)
        array = rng.integers(info.min, info.max, (3, 4, 5), endpoint=True, dtype=dtype)
    path = tmp_path / f"a.idx{suffix}"
    datasets.write_idx(path, array)
    raw = path.read_bytes()
    assert (raw[:2] == b"\x1f\x8b") == (suffix == ".gz")
    header = gzip.decompress(raw)[:16] if suffix else raw[:16]
    assert header == idx_bytes(code, (3, 4, 5))
    back = datasets.read_idx(path)
    assert back.dtype == dtype and back.dtype.isnative
    np.testing.assert_array_equal(back, array)


def test_idx_payload_is_big_endian(tmp_path):
    path = tmp_path / "be.idx"
    datasets.write_idx(path, np.array([1, -2], dtype=np.int16))
    assert path.read_bytes() == idx_bytes(0x0B, (2,), b"\x00\x01\xff\xfe")


def test_idx_gzip_detected_by_magic_not_name(tmp_path):
    array = np.arange(6, dtype=np.uint8).reshape(2, 3)
    plain, packed = tmp_path / "plain.gz", tmp_path / "packed.idx"
    plain.write_bytes(idx_bytes(0x08, (2, 3), array.tobytes()))
    packed.write_bytes(gzip.compress(idx_bytes(0x08, (2, 3), array.tobytes())))
    np.testing.assert_array_equal(datasets.read_idx(plain), array)
    np.testing.assert_array_equal(datasets.read_idx(packed), array)


def test_idx_empty_dimension(tmp_path):
    path = tmp_path / "empty.idx"
    datasets.write_idx(path, np.zeros((0, 28, 28), dtype=np.uint8))
    assert datasets.read_idx(path).shape == (0, 28, 28)


MALFORMED = {
    "bad magic": (b"\x01\x00\x08\x01" + struct.pack(">I", 2) + b"ab", "bad magic"),
    "unknown dtype code": (idx_bytes(0x0A, (2,), b"ab"), "unknown IDX dtype code 0x0A"),
    "zero dims": (idx_bytes(0x08, ()), "0 dimensions"),
    "too many dims": (idx_bytes(0x08, (1,) * 9, b"a"), "9 dimensions"),
    "short header": (b"\x00\x00", "too short"),
    "truncated dims": (bytes([0, 0, 8, 3]) + struct.pack(">I", 5), "truncated header"),
    "truncated payload": (idx_bytes(0x08, (10,), b"abc"), "truncated"),
    "dims larger than file": (idx_bytes(0x0E, (2**32 - 1,) * 3, b"abc"), "can hold at most"),
    "trailing bytes": (idx_bytes(0x08, (2,), b"abc"), "trailing bytes"),
}


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_idx_malformed_raises_value_error_naming_file(tmp_path, case, suffix):
    content, message = MALFORMED[case]
    path = tmp_path / f"bad-{case.replace(' ', '-')}.idx{suffix}"
    path.write_bytes(gzip.compress(content) if suffix else content)
    with pytest.raises(ValueError, match=message) as excinfo:
        datasets.read_idx(path)
    assert path.name in str(excinfo.value)


def test_idx_truncated_gzip_stream(tmp_path):
    path = tmp_path / "cut.idx.gz"
    rng = np.random.default_rng(0)
    datasets.write_idx(path, rng.integers(0, 256, (50, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match="corrupt or truncated gzip") as excinfo:
        datasets.read_idx(path)
    assert path.name in str(excinfo.value)


def test_idx_gzip_crc_error(tmp_path):
    path = tmp_path / "crc.idx.gz"
    datasets.write_idx(path, np.arange(100, dtype=np.uint8))
    raw = bytearray(path.read_bytes())
    raw[-8] ^= 0xFF  # the CRC32 in the gzip trailer
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=path.name):
        datasets.read_idx(path)


def test_idx_gzip_lying_header_reads_only_what_is_there(tmp_path):
    # A small valid gzip whose header claims 60000 images: rejected as truncated, no hang.
    path = tmp_path / "liar.idx.gz"
    path.write_bytes(gzip.compress(idx_bytes(0x08, (60000, 28, 28), bytes(1000))))
    with pytest.raises(ValueError, match="truncated|can hold at most") as excinfo:
        datasets.read_idx(path)
    assert path.name in str(excinfo.value)


def test_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        datasets.read_idx(tmp_path / "nope.idx")


def test_write_idx_rejects_unsupported(tmp_path):
    with pytest.raises(TypeError, match="int64"):
        datasets.write_idx(tmp_path / "a.idx", np.arange(3, dtype=np.int64))
    with pytest.raises(ValueError, match="1 to 8 dimensions"):
        datasets.write_idx(tmp_path / "a.idx", np.uint8(3))


# ---------------------------------------------------------------------------------------------
# downloads


def test_download_file_success(tmp_path):
    data = b"x" * 200_000
    dest = tmp_path / "cache" / "f.gz"
    out = datasets.download_file(
        "https://m.test/f.gz", dest, sha256=sha256(data), size=len(data),
        opener=fake_opener({"f.gz": data}),
    )
    assert out == dest and dest.read_bytes() == data
    assert leftovers(dest.parent) == ["f.gz"]


def test_download_checksum_mismatch_leaves_nothing(tmp_path):
    dest = tmp_path / "cache" / "f.gz"
    with pytest.raises(ValueError, match="checksum mismatch for https://m.test/f.gz"):
        datasets.download_file("https://m.test/f.gz", dest, sha256=sha256(b"other"),
                               opener=fake_opener({"f.gz": b"evil"}))
    assert leftovers(dest.parent) == []


def test_download_interrupted_leaves_no_file_and_no_temp(tmp_path):
    data = bytes(range(256)) * 1000
    dest = tmp_path / "cache" / "f.gz"
    with pytest.raises(ConnectionResetError):
        datasets.download_file("https://m.test/f.gz", dest, sha256=sha256(data),
                               opener=fake_opener({"f.gz": data}, fail_after=70_000))
    assert leftovers(dest.parent) == []


def test_download_oversized_is_aborted(tmp_path):
    dest = tmp_path / "f.gz"
    with pytest.raises(ValueError, match="more than the expected 10 bytes"):
        datasets.download_file("https://m.test/f.gz", dest, sha256=sha256(b"a" * 10), size=10,
                               opener=fake_opener({"f.gz": b"a" * 100_000}))
    assert leftovers(tmp_path) == []


def test_download_uses_module_opener(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch, "urlopen", fake_opener({"f.gz": b"data"}))
    dest = datasets.download_file("https://m.test/f.gz", tmp_path / "f.gz", sha256=sha256(b"data"))
    assert dest.read_bytes() == b"data"


def test_load_downloads_verifies_and_caches(tmp_path, monkeypatch):
    files = served_dataset(tmp_path, monkeypatch)
    log = []
    monkeypatch.setattr(fetch, "urlopen", fake_opener(files, log=log))
    ds = datasets.load("kmnist")
    cache = tmp_path / "xdg-cache" / "xmlp" / "kmnist"
    assert leftovers(cache) == sorted(files)
    assert all((cache / n).read_bytes() == b for n, b in files.items())
    assert len(log) == 4 and all(u.startswith("https://mirror-a.test/") for u in log)
    assert ds.train.X.shape == (5, 784) and ds.test.X.shape == (3, 784)
    assert ds.classes[:2] == ("o", "ki")
    # Second load is served from the cache: the network is not touched.
    monkeypatch.setattr(fetch, "urlopen", fake_opener({}, log=log))
    np.testing.assert_array_equal(datasets.load("kmnist").train.X, ds.train.X)
    assert len(log) == 4


def test_load_falls_back_to_second_mirror(tmp_path, monkeypatch):
    files = served_dataset(tmp_path, monkeypatch)
    good = fake_opener(files)

    def opener(url, timeout=None):
        if "mirror-a" in url:
            raise OSError("mirror a is down")
        return good(url, timeout)

    monkeypatch.setattr(fetch, "urlopen", opener)
    assert datasets.load("kmnist").train.y.shape == (5,)


def test_load_interrupted_download_is_dataset_not_found_and_leaves_no_partial(
    tmp_path, monkeypatch
):
    files = served_dataset(tmp_path, monkeypatch)
    monkeypatch.setattr(fetch, "urlopen", fake_opener(files, fail_after=100))
    with pytest.raises(datasets.DatasetNotFound, match="download failed") as excinfo:
        datasets.load("kmnist")
    assert "connection reset" in str(excinfo.value)
    assert "mirror-b.test" in str(excinfo.value)
    cache = tmp_path / "xdg-cache" / "xmlp" / "kmnist"
    assert leftovers(cache) == []


def test_load_checksum_mismatch_is_reported(tmp_path, monkeypatch):
    files = served_dataset(tmp_path, monkeypatch)
    tampered = dict(files, **{"t10k-labels-idx1-ubyte.gz": b"tampered"})
    monkeypatch.setattr(fetch, "urlopen", fake_opener(tampered))
    with pytest.raises(datasets.DatasetNotFound, match="checksum mismatch"):
        datasets.load("kmnist")
    cache = tmp_path / "xdg-cache" / "xmlp" / "kmnist"
    assert "t10k-labels-idx1-ubyte.gz" not in leftovers(cache)
    assert not [n for n in leftovers(cache) if n.endswith(".part")]


def test_checksum_table_is_complete():
    for name in ("mnist", "fashion-mnist", "kmnist"):
        info = registry.DATASETS[name]
        assert set(info.checksums) == set(registry.IDX_FILES)
        for size, digest in info.checksums.values():
            assert size > 0 and len(digest) == 64 and int(digest, 16) >= 0
        assert info.mirrors and all(m.endswith("/") for m in info.mirrors)


# ---------------------------------------------------------------------------------------------
# resolution order and errors


def test_resolution_order(tmp_path, monkeypatch):
    explicit, env, system = tmp_path / "explicit", tmp_path / "env", tmp_path / "system"
    cache = tmp_path / "xdg-cache" / "xmlp" / "fashion-mnist"
    for directory, n in ((explicit, 3), (env / "fashion-mnist", 4), (cache, 5), (system, 6)):
        write_dataset(directory, n_train=n)
    monkeypatch.setenv("XMLP_DATA", str(env))
    monkeypatch.setattr(fetch, "SYSTEM_DIRS", {"fashion-mnist": [system]})

    def n_train(**kwargs):
        return len(datasets.load("fashion-mnist", download=False, **kwargs).train.y)

    assert n_train(data_dir=explicit) == 3
    assert n_train() == 4
    monkeypatch.delenv("XMLP_DATA")
    assert n_train() == 5
    (cache / "train-images-idx3-ubyte.gz").unlink()
    assert n_train() == 6
    # An explicit directory without the files falls through to the next location.
    assert n_train(data_dir=tmp_path / "empty") == 6


def test_cache_defaults_to_home_dot_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert datasets.cache_dir("kmnist") == tmp_path / "home" / ".cache" / "xmlp" / "kmnist"
    write_dataset(tmp_path / "home" / ".cache" / "xmlp" / "kmnist", n_train=7)
    assert len(datasets.load("kmnist", download=False).train.y) == 7


def test_uncompressed_files_are_found(tmp_path):
    arrays = write_dataset(tmp_path / "d", n_train=3)
    for name in arrays:
        gz = tmp_path / "d" / name
        gz.with_suffix("").write_bytes(gzip.decompress(gz.read_bytes()))
        gz.unlink()
    ds = datasets.load("mnist", data_dir=tmp_path / "d", download=False, validation=0)
    np.testing.assert_array_equal(ds.train.y, arrays["train-labels-idx1-ubyte.gz"])


def test_download_false_nothing_local_message(tmp_path):
    with pytest.raises(datasets.DatasetNotFound) as excinfo:
        datasets.load("fashion-mnist", download=False)
    message = str(excinfo.value)
    assert isinstance(excinfo.value, FileNotFoundError)
    assert str(tmp_path / "xdg-cache" / "xmlp" / "fashion-mnist") in message
    for name in registry.IDX_FILES:
        assert name in message
    assert "mnist-sample" in message and "download=False" in message
    assert "fashion-mnist.s3-website" in message


def test_download_false_message_names_data_dir_first(tmp_path):
    with pytest.raises(datasets.DatasetNotFound, match=str(tmp_path / "mine")):
        datasets.load("mnist", data_dir=tmp_path / "mine", download=False)


def test_unknown_name_lists_known_names():
    with pytest.raises(ValueError, match="unknown dataset 'cifar'") as excinfo:
        datasets.load("cifar")
    for name in ("mnist", "fashion-mnist", "kmnist", "mnist-sample"):
        assert repr(name) in str(excinfo.value)


@pytest.mark.parametrize(
    ("validation", "error"),
    [(-1, ValueError), (5, ValueError), (1.0, ValueError), (0.0, ValueError), (True, TypeError),
     ("10", TypeError)],
)
def test_bad_validation(tmp_path, validation, error):
    write_dataset(tmp_path / "d", n_train=5)
    with pytest.raises(error, match="validation"):
        datasets.load("mnist", data_dir=tmp_path / "d", validation=validation)


@pytest.mark.parametrize("dtype", ["float16", "int32", None, "nonsense"])
def test_bad_dtype(dtype):
    with pytest.raises(ValueError, match="float32"):
        datasets.load("mnist-sample", dtype=dtype)


def test_wrong_image_file_is_value_error(tmp_path):
    write_dataset(tmp_path / "d", n_train=3)
    datasets.write_idx(tmp_path / "d" / "train-labels-idx1-ubyte.gz", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.gz"):
        datasets.load("mnist", data_dir=tmp_path / "d", validation=0)


def test_label_out_of_range_is_value_error(tmp_path):
    write_dataset(tmp_path / "d", n_train=3)
    datasets.write_idx(tmp_path / "d" / "t10k-labels-idx1-ubyte.gz", np.array([1, 10], np.uint8))
    with pytest.raises(ValueError, match="label 10 out of range"):
        datasets.load("mnist", data_dir=tmp_path / "d", validation=0)


def test_mnist_default_split_is_nielsens(tmp_path):
    arrays = write_dataset(tmp_path / "d", n_train=10_003, n_test=4)
    ds = datasets.load("mnist", data_dir=tmp_path / "d")
    labels = arrays["train-labels-idx1-ubyte.gz"]
    assert len(ds.train.y) == 3 and len(ds.validation.y) == 10_000
    np.testing.assert_array_equal(ds.train.y, labels[:3])
    np.testing.assert_array_equal(ds.validation.y, labels[3:])
    images = arrays["train-images-idx3-ubyte.gz"]
    np.testing.assert_array_equal(ds.validation.X[-1], images[-1].reshape(784) / np.float32(255))


def test_validation_fraction_and_count(tmp_path):
    write_dataset(tmp_path / "d", n_train=10)
    ds = datasets.load("kmnist", data_dir=tmp_path / "d", validation=0.3)
    assert (len(ds.train.y), len(ds.validation.y)) == (7, 3)
    ds = datasets.load("kmnist", data_dir=tmp_path / "d", validation=np.int64(2))
    assert (len(ds.train.y), len(ds.validation.y)) == (8, 2)
    assert datasets.load("kmnist", data_dir=tmp_path / "d").validation is None


# ---------------------------------------------------------------------------------------------
# Debian's Fashion-MNIST


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_debian_package(monkeypatch):
    monkeypatch.setattr(fetch, "SYSTEM_DIRS", REAL_SYSTEM_DIRS)
    ds = datasets.load("fashion-mnist", download=False)
    assert ds.train.X.shape == (60000, 784) and ds.test.X.shape == (10000, 784)
    assert ds.validation is None and ds.train.X.dtype == np.float32
    for split in (ds.train, ds.test):
        assert split.y.dtype == np.int64
        assert set(np.unique(split.y)) == set(range(10))
        assert 0 <= split.X.min() and split.X.max() <= 1
    assert ds.classes[0] == "T-shirt/top" and ds.classes[9] == "Ankle boot"


# ---------------------------------------------------------------------------------------------
# Nielsen's pickle


def nielsen_parts(sizes=(6, 3, 2)):
    rng = np.random.default_rng(1)
    return tuple(
        (rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n).astype(np.int64))
        for n in sizes
    )


def write_pickle(path: Path, obj) -> Path:
    with gzip.open(path, "wb") as f:
        pickle.dump(obj, f)
    return path


class Marker:
    """Unpickling this opens (creates) ``path``: the marker that code ran."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_nielsen_pickle_round_trip(tmp_path):
    parts = nielsen_parts()
    loaded = datasets.load_nielsen_pickle(write_pickle(tmp_path / "mnist.pkl.gz", parts))
    assert len(loaded) == 3
    for (x, y), (x0, y0) in zip(loaded, parts):
        assert x.dtype == np.float32 and y.dtype == np.int64
        np.testing.assert_array_equal(x, x0)
        np.testing.assert_array_equal(y, y0)


def test_nielsen_pickle_used_for_mnist(tmp_path):
    parts = nielsen_parts()
    (tmp_path / "d").mkdir()
    write_pickle(tmp_path / "d" / "mnist.pkl.gz", parts)
    ds = datasets.load("mnist", data_dir=tmp_path / "d", download=False, validation=3)
    for split, (x, y) in zip((ds.train, ds.validation, ds.test), parts):
        np.testing.assert_array_equal(split.X, x)
        np.testing.assert_array_equal(split.y, y)


def test_mnist_prefers_idx_over_pickle(tmp_path):
    write_dataset(tmp_path / "d", n_train=4)
    write_pickle(tmp_path / "d" / "mnist.pkl.gz", nielsen_parts())
    ds = datasets.load("mnist", data_dir=tmp_path / "d", validation=0)
    assert len(ds.train.y) == 4


def test_malicious_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    x, y = nielsen_parts()[0]
    evil = ((x, y), (x, Marker(marker)), (x, y))
    path = write_pickle(tmp_path / "evil.pkl.gz", evil)
    # The payload really runs under plain pickle (so this test can fail) ...
    with gzip.open(path) as f:
        pickle.load(f)
    assert marker.exists()
    marker.unlink()
    # ... but not under the restricted unpickler.
    with pytest.raises(datasets.UnsafePickleError, match="refusing to load global") as excinfo:
        datasets.load_nielsen_pickle(path)
    assert isinstance(excinfo.value, ValueError)
    assert isinstance(excinfo.value, pickle.UnpicklingError)
    assert path.name in str(excinfo.value)
    assert not marker.exists()


def test_restricted_unpickler_refuses_os_system(tmp_path):
    payload = pickle.dumps(os.system)  # a bare reference to os.system
    with pytest.raises(datasets.UnsafePickleError, match="system"):
        datasets.RestrictedUnpickler(io.BytesIO(payload)).load()


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ([1, 2, 3], "pair"),
        ((1, 2), "3 \\(x, y\\) pairs"),
        (nielsen_parts()[:2] + ((np.zeros((2, 784), np.float32), np.zeros(3, np.int64)),),
         "test y must be 2 integer labels"),
        (nielsen_parts()[:2] + ((np.zeros((2, 10), np.float32), np.zeros(2, np.int64)),),
         "shape \\(n, 784\\)"),
        (nielsen_parts()[:2] + ((np.zeros((2, 784), np.float32), np.full(2, 12)),), "0..9"),
    ],
)
def test_nielsen_pickle_bad_structure(tmp_path, obj, message):
    path = write_pickle(tmp_path / "odd.pkl.gz", obj)
    with pytest.raises(ValueError, match=message):
        datasets.load_nielsen_pickle(path)


def test_nielsen_pickle_corrupt(tmp_path):
    path = tmp_path / "cut.pkl.gz"
    path.write_bytes(write_pickle(tmp_path / "ok.pkl.gz", nielsen_parts()).read_bytes()[:500])
    with pytest.raises(ValueError, match="cut.pkl.gz"):
        datasets.load_nielsen_pickle(path)


# ---------------------------------------------------------------------------------------------
# embedded sample


def test_mnist_sample():
    ds = datasets.load("mnist-sample")
    assert ds.name == "mnist-sample" and ds.validation is None
    assert ds.image_shape == (28, 28) and ds.n_classes == 10 and ds.classes[3] == "3"
    for split, n, per_class in ((ds.train, 4000, 400), (ds.test, 1000, 100)):
        X, y = split
        assert X.shape == (n, 784) and X.dtype == np.float32 and y.dtype == np.int64
        assert X.min() == 0 and X.max() == 1
        np.testing.assert_array_equal(np.bincount(y, minlength=10), [per_class] * 10)
        assert not np.all(np.diff(y) >= 0)  # shuffled, not sorted by label
    # 255 levels: every pixel is k/255 exactly as float32.
    np.testing.assert_array_equal(ds.train.X[:50] * 255, np.round(ds.train.X[:50] * 255))


def test_mnist_sample_is_deterministic_and_options_apply():
    a, b = datasets.load("mnist-sample"), datasets.load("mnist-sample", dtype="float64")
    assert b.train.X.dtype == np.float64
    np.testing.assert_array_equal(a.train.X, b.train.X.astype(np.float32))
    np.testing.assert_array_equal(a.test.y, b.test.y)
    c = datasets.load("mnist-sample", validation=0.1)
    assert (len(c.train.y), len(c.validation.y)) == (3600, 400)
    np.testing.assert_array_equal(c.validation.y, a.train.y[3600:])


def test_dataset_is_frozen_and_unpacks():
    ds = datasets.load("mnist-sample")
    X, y = ds.test
    assert X is ds.test.X and y is ds.test.y
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.train = ds.test


# ---------------------------------------------------------------------------------------------
# one_hot


def test_one_hot():
    out = datasets.one_hot(np.array([2, 0, 1]), n_classes=4)
    np.testing.assert_array_equal(out, [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]])
    assert out.dtype == np.float32
    assert datasets.one_hot([0, 3], dtype="float64").shape == (2, 4)
    assert datasets.one_hot(np.array([], dtype=np.int64), n_classes=10).shape == (0, 10)


@pytest.mark.parametrize(
    ("y", "n_classes", "error", "message"),
    [
        ([0.0, 1.0], None, TypeError, "integers"),
        ([0, 10], 10, ValueError, "0..9"),
        ([-1, 2], 10, ValueError, "0..9"),
        ([[0, 1]], 10, ValueError, "1-D"),
        (np.array([], dtype=int), None, ValueError, "empty"),
        ([0, 1], 0, ValueError, "positive"),
    ],
)
def test_one_hot_errors(y, n_classes, error, message):
    with pytest.raises(error, match=message):
        datasets.one_hot(y, n_classes)


# ---------------------------------------------------------------------------------------------
# transforms


def test_expand_exact_values():
    image = np.arange(1, 10, dtype=np.float32).reshape(3, 3)  # [[1 2 3] [4 5 6] [7 8 9]]
    X5, y5 = datasets.expand(image.reshape(1, 9), np.array([7]), image_shape=(3, 3))
    expected = [
        image,
        [[0, 0, 0], [1, 2, 3], [4, 5, 6]],  # down: np.roll(+1, axis 0), row 0 zeroed
        [[4, 5, 6], [7, 8, 9], [0, 0, 0]],  # up: np.roll(-1, axis 0), last row zeroed
        [[0, 1, 2], [0, 4, 5], [0, 7, 8]],  # right: np.roll(+1, axis 1), column 0 zeroed
        [[2, 3, 0], [5, 6, 0], [8, 9, 0]],  # left: np.roll(-1, axis 1), last column zeroed
    ]
    assert X5.shape == (5, 9) and X5.dtype == np.float32
    np.testing.assert_array_equal(X5.reshape(5, 3, 3), np.array(expected, dtype=np.float32))
    np.testing.assert_array_equal(y5, [7] * 5)
    np.testing.assert_array_equal(image, np.arange(1, 10).reshape(3, 3))  # input untouched


def test_expand_order_per_image_and_3d_layout():
    rng = np.random.default_rng(0)
    X = rng.random((4, 28, 28))
    X5, y5 = datasets.expand(X, np.arange(4))
    assert X5.shape == (20, 28, 28)
    np.testing.assert_array_equal(X5[::5], X)
    np.testing.assert_array_equal(X5[1:5], datasets.expand(X[:1], [0])[0][1:])
    np.testing.assert_array_equal(y5, np.repeat(np.arange(4), 5))
    flat5, _ = datasets.expand(X.reshape(4, 784), np.arange(4))
    np.testing.assert_array_equal(flat5, X5.reshape(20, 784))


def test_expand_errors():
    with pytest.raises(ValueError, match="image_shape"):
        datasets.expand(np.zeros((2, 100)), np.zeros(2))
    with pytest.raises(ValueError, match="match X"):
        datasets.expand(np.zeros((2, 784)), np.zeros(3))


def test_downsample_exact_values():
    image = np.arange(16, dtype=np.float64).reshape(1, 4, 4)
    small, shape = datasets.downsample(image, fold=2, image_shape=(4, 4), crop=0)
    assert shape == (2, 2)
    np.testing.assert_array_equal(small, [[2.5, 4.5, 10.5, 12.5]])
    image6 = np.arange(36, dtype=np.float32).reshape(1, 36)
    small, shape = datasets.downsample(image6, fold=2, image_shape=(6, 6), crop=1)
    # central 4x4 is rows/cols 1..4; block means of [[7,8],[13,14]] etc.
    assert shape == (2, 2) and small.dtype == np.float32
    np.testing.assert_array_equal(small, [[10.5, 12.5, 22.5, 24.5]])


def test_downsample_mnist_default_is_11x11():
    X = datasets.load("mnist-sample").test.X[:7]
    small, shape = datasets.downsample(X)
    assert shape == (11, 11) and small.shape == (7, 121) and small.dtype == np.float32
    images = X.reshape(7, 28, 28)
    np.testing.assert_allclose(small[:, 0], images[:, 3:5, 3:5].mean(axis=(1, 2)), rtol=1e-6)
    np.testing.assert_allclose(small[:, -1], images[:, 23:25, 23:25].mean(axis=(1, 2)),
                               rtol=1e-6)


def test_downsample_integer_input_gives_float64():
    small, _ = datasets.downsample(np.full((1, 28, 28), 3, dtype=np.uint8))
    assert small.dtype == np.float64 and np.all(small == 3)


@pytest.mark.parametrize(("fold", "crop"), [(3, 3), (0, 3), (2, -1), (2, 14), (2.0, 3)])
def test_downsample_bad_arguments(fold, crop):
    with pytest.raises(ValueError, match="fold|crop"):
        datasets.downsample(np.zeros((1, 784)), fold=fold, crop=crop)
