"""scripts/gpu_check.py: the one-command GPU check.  Here (no GPU) it must say so in one
line and exit 0; its planner and report helpers are pure and tested directly."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "gpu_check.py"


@pytest.fixture(scope="module")
def gc():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules["gpu_check"]


ALL = {"cupy": True, "torch": True, "jax": True}
CONFORMANCE = ["tests/test_conformance.py", "tests/test_oracles.py"]
KNOWN = {"xmlp-cupy", "xmlp-torch-cuda", "torch-cuda", "limit-cupy", "limit-torch-cuda",
         "xmlp-numpy", "torch", "xmlp-jax-compiled"}


def _stages(gc, gpus=ALL, **kw):
    kw.setdefault("contenders", KNOWN)
    kw.setdefault("conformance_files", CONFORMANCE)
    return {s.name: s for s in gc.plan(gpus, Path("/o"), **kw)}


def test_without_a_gpu_it_says_so_in_one_line(tmp_path, gc):
    if any(ok for ok, _ in gc.probe().values()):
        pytest.skip("a GPU is present here: the script runs its checks instead")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpu_check: no GPU here"), proc.stdout
    assert "torch" in lines[0] and "jax" in lines[0] and "cupy" in lines[0]
    assert not out.exists()  # nothing written


def test_plan_runs_the_stages_in_order_on_the_gpu_cases(gc):
    stages = gc.plan(ALL, Path("/o"), workers=4, contenders=KNOWN,
                     conformance_files=CONFORMANCE)
    assert [s.name for s in stages] == ["tests", "conformance", "bench", "population",
                                        "estimator", "recipe"]
    assert not any(s.skip for s in stages)
    tests, conformance, bench, population, estimator, recipe = stages
    assert population.argv[population.argv.index("--members") + 1] == "64"
    assert population.argv[population.argv.index("--device") + 1] == "gpu"
    for s in (tests, conformance):
        k = s.argv[s.argv.index("-k") + 1]
        assert k == "cupy or torch-cuda or jax-gpu"
        assert s.argv[s.argv.index("-n") + 1] == "4"
        assert s.env["XMLP_BACKENDS"] == "cupy,torch,jax"
    assert all(f"--ignore={f}" in tests.argv for f in CONFORMANCE)
    assert conformance.argv[-4:-2] == CONFORMANCE
    assert conformance.env["XMLP_CONFORMANCE_REPORT"] == str(Path("/o/conformance-gpu"))
    contenders = bench.argv[bench.argv.index("--contenders") + 1].split(",")
    assert contenders == ["xmlp-cupy", "xmlp-torch-cuda", "torch-cuda", "limit-cupy",
                          "limit-torch-cuda"]  # no CPU contender, none unknown
    assert bench.argv[bench.argv.index("--configs") + 1] == "C1,C3,C4"
    assert estimator.argv[estimator.argv.index("--contenders") + 1] == \
        "xmlp-cupy,xmlp-torch-cuda,xmlp-jax-gpu,sklearn"
    # with JAX on a GPU the recipe runs compiled there, all of its 75 epochs
    assert recipe.argv[recipe.argv.index("--backend") + 1] == "jax"
    assert recipe.argv[recipe.argv.index("--epochs") + 1] == "75"
    assert "--no-download" in recipe.argv


def test_plan_without_xdist_and_quick(gc):
    quick = _stages(gc, quick=True, workers=0)
    assert "-n" not in quick["tests"].argv
    assert "--quick" in quick["bench"].argv
    assert quick["conformance"].argv.count("tests/test_conformance.py") == 1
    full = _stages(gc)
    assert sum(s.timeout for s in full.values()) <= 8 * 60
    assert sum(s.timeout for s in quick.values()) <= 2.5 * 60
    assert all(q.timeout < full[name].timeout for name, q in quick.items())


def test_plan_follows_the_gpu_backends_present(gc):
    torch_only = _stages(gc, {"cupy": False, "torch": True, "jax": False})
    assert torch_only["tests"].argv[-1] == "torch-cuda"
    assert torch_only["tests"].env["XMLP_BACKENDS"] == "torch"
    assert torch_only["bench"].argv[torch_only["bench"].argv.index("--contenders") + 1] == \
        "xmlp-torch-cuda,torch-cuda,limit-torch-cuda"
    recipe = torch_only["recipe"].argv
    assert recipe[recipe.index("--backend") + 1:recipe.index("--backend") + 4] == \
        ["torch", "--device", "cuda"]
    jax_only = _stages(gc, {"cupy": False, "torch": False, "jax": True})
    assert jax_only["tests"].argv[-1] == "jax-gpu"
    assert jax_only["bench"].skip  # the harness knows no JAX GPU contender (KNOWN)
    estimator = jax_only["estimator"].argv
    assert estimator[estimator.index("--contenders") + 1] == "xmlp-jax-gpu,sklearn"
    assert jax_only["recipe"].argv[-3:] == ["jax", "--device", "gpu"]
    compiled = _stages(gc, {"cupy": False, "torch": False, "jax": True},
                       contenders=KNOWN | {"xmlp-jax-compiled-cuda"})
    assert not compiled["bench"].skip
    assert compiled["bench"].argv[compiled["bench"].argv.index("--contenders") + 1] == \
        "xmlp-jax-compiled-cuda"
    no_data = _stages(gc, fashion=False)
    assert "XMLP_DATA" in no_data["recipe"].skip
    none = _stages(gc, {"cupy": False, "torch": False, "jax": False})
    assert all(s.skip for s in none.values())


def test_the_files_it_writes_are_at_most_eight(gc):
    assert len(gc.FILES) <= 8
    stages = _stages(gc)
    bench = stages["bench"].argv
    assert bench[bench.index("--out") + 1] == "/o"
    assert f"{bench[bench.index('--name') + 1]}.json" in gc.FILES
    stem = Path(stages["conformance"].env["XMLP_CONFORMANCE_REPORT"]).name
    assert f"{stem}.md" in gc.FILES and f"{stem}.json" in gc.FILES
    estimator = stages["estimator"].argv
    assert estimator[estimator.index("--out") + 1] == "/o"
    assert f"{estimator[estimator.index('--name') + 1]}.json" in gc.FILES  # its .md: summary


def test_pytest_counts_and_status(gc, tmp_path):
    assert gc.pytest_counts("....\n3 failed, 120 passed, 2 skipped in 9.12s\n") == \
        {"failed": 3, "passed": 120, "skipped": 2}
    xdist = "=== 10 passed, 1 error, 400 deselected in 33.03s (0:00:33) ==="
    assert gc.pytest_counts(xdist) == {"passed": 10, "error": 1, "deselected": 400}
    assert gc.pytest_counts("Traceback ...") == {}
    assert gc.tests_key("1 failed, 2 passed, 3 skipped in 1s") == "2 passed, 1 failed, 3 skipped"
    assert gc.status_of("tests", 0, "5 skipped in 1.0s", tmp_path) == "empty"
    assert gc.status_of("tests", 0, "5 passed in 1.0s", tmp_path) == "passed"
    assert gc.status_of("tests", 1, "1 failed in 1.0s", tmp_path) == "failed"
    assert gc.status_of("recipe", None, "", tmp_path) == "timeout"
    assert gc.status_of("bench", 0, "", tmp_path) == "empty"  # no records
    doc = {"runs": [{"skipped": {}}], "records": [
        {"config": "C1", "contender": "xmlp-cupy", "epoch_seconds_median": 4.452},
        {"config": "C1", "contender": "torch-cuda", "error": "boom"}]}
    (tmp_path / "bench-gpu.json").write_text(json.dumps(doc))
    assert gc.status_of("bench", 0, "", tmp_path) == "failed"


def test_key_numbers_from_the_reports(gc, tmp_path):
    doc = {"runs": [{"skipped": {"limit-cupy": "cupy is not installed"}}], "records": [
        {"config": "C3", "contender": "xmlp-torch-cuda", "epoch_seconds_median": 0.557},
        {"config": "C1", "contender": "xmlp-torch-cuda", "epoch_seconds_median": 4.452},
        {"config": "C1", "contender": "torch-cuda", "error": "boom"}]}
    (tmp_path / "b.json").write_text(json.dumps(doc))
    assert gc.bench_key(tmp_path / "b.json") == (
        "C1: xmlp-torch-cuda 4.45, torch-cuda error; C3: xmlp-torch-cuda 0.557 (s/epoch); "
        "skipped limit-cupy (cupy is not installed)")
    rows = [dict(backend="cupy", device="0", dtype="float64", max_rel=1.2e-14),
            dict(backend="cupy", device="0", dtype="float64", max_rel=3e-15),
            dict(backend="torch", device="cuda:0", dtype="float32", max_rel=2e-6)]
    (tmp_path / "c.json").write_text(json.dumps({"meta": {"failures": 0}, "rows": rows}))
    assert gc.conformance_key(tmp_path / "c.json") == \
        "0 failures; worst: cupy 0 f64 1.2e-14, torch cuda:0 f32 2.0e-06"
    assert gc.conformance_key(tmp_path / "missing.json") == "no report"
    est = {"settings": {"epochs": 2}, "records": [
        {"contender": "xmlp-cupy", "seconds_median": 1.93, "test_accuracy": 0.8767},
        {"contender": "sklearn", "seconds_median": 3.9, "test_accuracy": 0.8701}]}
    (tmp_path / "e.json").write_text(json.dumps(est))
    assert gc.estimator_key(tmp_path / "e.json") == \
        "xmlp-cupy 1.93 s (0.8767), sklearn 3.90 s (0.8701) per fit of 2 epochs"
    out = ("fashion-mnist: ...\nepoch 1/2  test accuracy 83.95%  1.50 s  eta 0.02\n"
           "epoch 2/2  test accuracy 85.50%  1.40 s  eta 0.01\n\n"
           "  backend     cupy, device 0, float32, seed 0\n")
    assert gc.recipe_key(out) == \
        "85.50% after 2/2 epochs, 1.45 s/epoch (median) on cupy, device 0, float32, seed 0"
    assert gc.recipe_key("xmlp reproduce: error: ...") == "no epoch finished"


def test_summary_table(gc):
    table = gc.summary_table([gc.Result("tests", "passed", 61.4, "80 passed"),
                              gc.Result("bench", "failed", 3.0, "a | b\nc")])
    assert table.splitlines() == ["| stage | status | seconds | key numbers |",
                                  "|---|---|---:|---|",
                                  "| tests | passed | 61 | 80 passed |",
                                  "| bench | failed | 3 | a / b c |"]


def test_gpu_contenders_are_the_harness_own(gc):
    known = gc.known_contenders()
    assert {"xmlp-cupy", "xmlp-torch-cuda", "torch-cuda"} <= known
    assert set(gc.GPU_CONTENDERS) <= known
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import estimator
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    assert set(gc.ESTIMATOR_CONTENDERS) <= set(estimator.CONTENDERS)


def test_conformance_files_come_from_the_noxfile(gc):
    files = gc._noxfile_list("CONFORMANCE_TESTS")
    assert "tests/test_conformance.py" in files
    assert all((ROOT / f).exists() for f in files)
