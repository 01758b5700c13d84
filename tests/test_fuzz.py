"""Property-based fuzzing of every file reader: the IDX reader, the model loader (JSON and
.npz) and the checkpoint loader, fed mutated and truncated files.  The only exception that
may escape is the documented ``ValueError``; nothing may hang or allocate more than the
file describes.  ``XMLP_FUZZ_EXAMPLES`` sets the examples per test (``nox -s fuzz`` runs
many more than CI's default)."""

from __future__ import annotations

import functools
import gzip
import io
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xmlp
from xmlp import checkpoint
from xmlp.datasets import read_idx, write_idx

EXAMPLES = int(os.environ.get("XMLP_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 150,
                suppress_health_check=[HealthCheck.too_slow])


def _mutate(data: st.DataObject, raw: bytes) -> bytes:
    """Flip bytes, truncate, or append junk -- one to three edits."""
    buf = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 3))):
        kind = data.draw(st.sampled_from(["flip", "truncate", "append", "set"]))
        if kind == "truncate" or not buf:
            del buf[data.draw(st.integers(0, len(buf))):]
        elif kind == "append":
            buf += data.draw(st.binary(min_size=1, max_size=64))
        else:
            i = data.draw(st.integers(0, len(buf) - 1))
            buf[i] = data.draw(st.integers(0, 255)) if kind == "set" else buf[i] ^ 0xFF
    return bytes(buf)


def _through_file(raw: bytes, suffix: str, reader):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"f{suffix}"
        path.write_bytes(raw)
        return reader(path)


def _idx_bytes(array: np.ndarray, gz: bool) -> bytes:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / ("a.idx.gz" if gz else "a.idx")
        write_idx(path, array)
        return path.read_bytes()


@FUZZ
@given(data=st.data(), gz=st.booleans(),
       shape=st.lists(st.integers(1, 6), min_size=1, max_size=3),
       dtype=st.sampled_from(["uint8", "int8", ">i2", ">i4", ">f4", ">f8"]))
def test_idx_reader_on_mutated_files(data, gz, shape, dtype):
    array = np.arange(int(np.prod(shape))).reshape(shape).astype(dtype)
    raw = _mutate(data, _idx_bytes(array, gz))
    if gz and data.draw(st.booleans()):  # also mutate inside the compressed stream
        raw = gzip.compress(_mutate(data, gzip.decompress(_idx_bytes(array, True))))
    try:
        out = _through_file(raw, ".gz" if gz else "", read_idx)
    except ValueError:
        return
    assert out.size * out.itemsize <= len(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b"
                                          else raw)


@functools.cache
def _model_file(suffix: str) -> bytes:
    """Made once: zip timestamps must not change the bytes between examples."""
    with tempfile.TemporaryDirectory() as d:
        xmlp.Network([3, 4, 2], cost="cross-entropy", seed=0).save(Path(d) / f"m{suffix}")
        return (Path(d) / f"m{suffix}").read_bytes()


@functools.cache
def _checkpoint_file() -> bytes:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as d:
        xmlp.Network([3, 4, 2], seed=0).fit(rng.random((6, 3)), rng.integers(0, 2, 6),
                                            epochs=1, momentum=0.5,
                                            checkpoint=Path(d) / "c.ckpt")
        return (Path(d) / "c.ckpt").read_bytes()


@FUZZ
@given(data=st.data(), suffix=st.sampled_from([".json", ".npz"]))
def test_model_loader_on_mutated_files(data, suffix):
    raw = _mutate(data, _model_file(suffix))
    try:
        loaded = _through_file(raw, suffix, xmlp.load)
    except ValueError:
        return
    assert loaded.sizes == [3, 4, 2]  # a mutation that kept the file valid


@FUZZ
@given(data=st.data())
def test_checkpoint_loader_on_mutated_files(data):
    net = xmlp.Network([3, 4, 2], seed=0)
    raw = _mutate(data, _checkpoint_file())
    try:
        _through_file(raw, ".ckpt", lambda p: checkpoint.load(p, net))
    except ValueError:
        pass


def test_npz_claiming_a_huge_array_is_refused_before_allocation(tmp_path):
    """A header that claims 10^12 floats in a file of a few hundred bytes."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False,
                                              "shape": (10**6, 10**6)})
    path = tmp_path / "huge.npz"
    xmlp.Network([2, 2], seed=0).save(path)
    import zipfile

    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("w1.npy", buf.getvalue() + b"\0" * 64)
    with pytest.raises(ValueError, match="claims 8000000000000 bytes"):
        xmlp.load(path)
