"""Smoke test of the benchmark harness (benchmarks/): it runs on a tiny configuration in
seconds and writes well-formed JSON, Markdown and PNG.  Nothing here asserts a timing."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _harness(out: pathlib.Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(BENCH / "run.py"), "--configs", "T", "--data", "sample",
           "--n-train", "400", "--n-test", "200", "--quick", "--out", str(out),
           "--name", "smoke", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def test_harness_writes_json_markdown_png(tmp_path):
    pytest.importorskip("matplotlib")
    _harness(tmp_path, "--contenders", "cpu", "--in-process", "--fresh")
    doc = json.loads((tmp_path / "smoke.json").read_text())
    assert doc["schema"] == 1 and len(doc["runs"]) == 1
    records = {r["contender"]: r for r in doc["records"]}
    # Always installed with xmlp: NumPy, so these three run everywhere.
    assert {"xmlp-numpy", "book", "limit-numpy"} <= set(records)
    for name, r in records.items():
        assert "error" not in r, (name, r.get("traceback", r["error"]))
        assert r["config"] == "T" and r["n_train"] == 400 and r["n_test"] == 200
        assert r["epoch_seconds_median"] > 0 and r["samples_per_second"] > 0
        assert r["versions"]["numpy"] == np.__version__ and r["versions"]["python"]
        assert r["device_name"] and r["threads"]["cpu_count"] >= 1
        if r["kind"] != "limit":
            assert 0.0 <= r["test_accuracy"] <= 1.0
            assert r["peak_rss_mb"] > 0 and r["trained_epochs"] > 0
        else:
            assert r["gemm_peak_gflops"] > 0 and r["gemm_floor_seconds"] > 0
    # Same initial weights and mini-batch order: the book's per-example loop and xmlp
    # reach the same accuracy (float32 rounding may move a borderline example or two).
    assert abs(records["book"]["test_accuracy"] - records["xmlp-numpy"]["test_accuracy"]) \
        <= 0.02

    md = (tmp_path / "smoke.md").read_text(encoding="utf-8")
    assert "## Seconds per epoch (median)" in md and "| contender | T |" in md
    for r in records.values():
        assert f"| {r['label']}" in md
    assert "## Ratios" in md and "FLOP limit" in md
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert all(line.endswith("|") for line in table)

    png = (tmp_path / "smoke.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 1000
    # The recorded command is retypable in any clone: no interpreter or output path of
    # the machine that ran it.
    assert doc["runs"][0]["command"].startswith("python benchmarks/run.py --configs T")
    assert str(ROOT) not in json.dumps(doc) and str(ROOT) not in md

    import matplotlib.pyplot as plt

    image = plt.imread(tmp_path / "smoke.png")
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100

    # A contender that failed is shown as such, and the rest of the report still renders.
    report = _module("report")
    doc["records"].append({"config": "T", "contender": "torch-cuda", "error": "boom"})
    md = report.markdown(doc)
    assert "| torch-cuda | error |" in md and "error: boom" in md
    report.write(doc, tmp_path / "again")
    assert (tmp_path / "again.png").read_bytes().startswith(PNG_SIGNATURE)


def test_subprocess_mode_merges_runs(tmp_path):
    pytest.importorskip("matplotlib")
    _harness(tmp_path, "--contenders", "xmlp-numpy", "--fresh")
    _harness(tmp_path, "--contenders", "limit-numpy,xmlp-numpy")
    doc = json.loads((tmp_path / "smoke.json").read_text())
    assert len(doc["runs"]) == 2
    keys = sorted((r["config"], r["contender"]) for r in doc["records"])
    assert keys == [("T", "limit-numpy"), ("T", "xmlp-numpy")]  # re-measured: replaced
    r = next(r for r in doc["records"] if r["contender"] == "xmlp-numpy")
    assert "error" not in r and r["rss_before_mb"] > 0


def test_flop_count_c1():
    configs = _module("configs")
    f = configs.flops_per_epoch(configs.CONFIGS["C1"], 60_000)
    assert f["forward"] == f["weight_grad"] == 2 * 60_000 * (784 * 30 + 30 * 10)
    assert f["delta_back"] == 2 * 60_000 * 30 * 10  # not into the input layer
    assert f["update"] == 2 * (784 * 30 + 30 + 30 * 10 + 10) * 6000
    assert f["total"] == 6_039_120_000


@pytest.mark.parametrize("cost,lmbda", [("quadratic", 0.0), ("cross-entropy", 5.0)])
def test_book_loop_matches_xmlp(cost, lmbda):
    """benchmarks/book_network.py is network.py's algorithm: one mini-batch step equals
    xmlp's vectorised step from the same weights (float64)."""
    import xmlp

    book = _module("book_network")
    rng = np.random.default_rng(1)
    X = rng.random((20, 784))
    y = rng.integers(0, 10, 20)
    net = xmlp.Network([784, 30, 10], cost=cost, init="large", dtype="float64", seed=3)
    ref = book.BookNetwork([784, 30, 10], cost=cost)
    ref.set_parameters(*net.parameters_numpy())
    Y = np.eye(10)[y]
    data = book.training_data(X, Y)
    net.fit(X[:10], y[:10], epochs=1, batch_size=10, eta=0.5, lmbda=lmbda * 10 / 20,
            monitor=())
    ref.update_mini_batch(data[:10], 0.5, lmbda, n=20)
    for a, b in zip(net.parameters_numpy()[0] + net.parameters_numpy()[1],
                    ref.weights + ref.biases):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("config", ["C1", "C2"])
def test_profile_replay_is_xmlps_step(config):
    """benchmarks/profile_step.py times the operations of xmlp's step: replaying them gives
    the weights xmlp's fit gives after one mini-batch (float64 configs, lmbda included)."""
    import dataclasses

    import xmlp

    configs, prof = _module("configs"), _module("profile_step")
    cfg = dataclasses.replace(configs.CONFIGS[config], sizes=(12, 7, 3))
    rng = np.random.default_rng(2)
    m, n = cfg.batch_size, 4 * cfg.batch_size
    X, y = rng.random((n, 12)), rng.integers(0, 3, n)
    net = xmlp.Network(list(cfg.sizes), cost=cfg.cost, init=cfg.init, dtype=cfg.dtype, seed=5)
    Ws, bs = prof.replay(cfg, [np.asarray(W) for W in net.params.W],
                         [np.asarray(b) for b in net.params.b],
                         X, np.eye(3)[y], np.arange(m), cfg.eta / m, 1 - cfg.eta * cfg.lmbda / n)
    # fit's n is the number of rows it gets: give it one mini-batch and scale lmbda to match
    net.fit(X[:m], y[:m], epochs=1, batch_size=m, eta=cfg.eta, lmbda=cfg.lmbda * m / n,
            monitor=())
    for a, b in zip(Ws + bs, [*net.params.W, *net.params.b]):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-12, atol=1e-14)
    # C1: 2 gathers, 2 x (matmul, +b, 4 sigmoid ops), 4 for BP1, 2 x (scale, sum, matmul),
    # matmul + 3 for BP2, 4 updates = 32; C2: BP1 is a - y (1), L2 adds decay * W twice = 31
    decay = 1 - cfg.eta * cfg.lmbda / n
    assert len(prof.step_ops(cfg, Ws, bs, X, y, np.arange(m), 1.0, decay)) == \
        {"C1": 32, "C2": 31}[config]


def test_a_failing_worker_is_reported_and_the_others_finish(tmp_path):
    """Round-robin workers: one that dies (here: a contender the child does not know) gives
    an error record; the other is still timed and recorded."""
    run = _module("run")
    rng = np.random.default_rng(0)
    data = run.Data(rng.random((300, 784)).astype(np.float32), rng.integers(0, 10, 300),
                    rng.random((50, 784)).astype(np.float32), rng.integers(0, 10, 50),
                    {"source": "test"})
    saved = run.save_data(data, tmp_path, "float32")
    common = {"repeat": 2, "policy": "full", "chunk_seconds": 0.1, "warmup_batches": 2,
              "gemm_seconds": 0.01, "gemm_size": 64, "seed": 0, "config": "T",
              "interleaved": True}
    specs = [dict(common, contender="no-such-contender"), dict(common, contender="xmlp-numpy")]
    bad, good = run.interleaved(specs, saved, None, tmp_path, timeout=300)
    assert "KeyError" in bad["error"] and bad["contender"] == "no-such-contender"
    assert "error" not in good, good.get("traceback")
    assert len(good["epoch_seconds"]) == 2 and good["timing"]["interleaved"] is True


def test_committed_reports_name_no_path_of_a_machine():
    import re

    machine_path = re.compile(r"(?<![\w.])/(?:home|root|work|tmp|Users|usr)/|\.nox/")
    for path in sorted((ROOT / "benchmarks" / "results").glob("*")):
        if path.suffix in (".json", ".md", ".txt"):
            hits = machine_path.findall(path.read_text(encoding="utf-8"))
            assert not hits, f"{path.name} names machine paths: {hits[:3]}"


def test_estimator_benchmark_writes_json_and_markdown(tmp_path):
    pytest.importorskip("sklearn")
    estimator = _module("estimator")
    args = ["--data", "sample", "--n-train", "300", "--n-test", "100", "--epochs", "1",
            "--repeat", "1", "--pause", "0", "--out", str(tmp_path), "--name", "est"]
    assert estimator.main(args) == 0
    doc = json.loads((tmp_path / "est.json").read_text())
    assert doc["command"].startswith("python benchmarks/estimator.py")
    assert {r["contender"] for r in doc["records"]} == {"xmlp-numpy", "sklearn"}
    assert set(doc["ratios"]) == {"xmlp-numpy / sklearn, adam", "xmlp-numpy / sklearn, sgd"}
    for r in doc["records"]:
        assert r["seconds_median"] > 0 and r["epochs"] == 1
        if r["contender"] == "xmlp-numpy":  # the same model as scikit-learn's (float32)
            assert r["max_coef_difference_vs_sklearn"] < 1e-4
    assert "| adam | xmlp-numpy |" in (tmp_path / "est.md").read_text()
