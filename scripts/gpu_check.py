"""Every GPU check in one command, installing nothing.

    python scripts/gpu_check.py                  # about 8 minutes on one H100, 16 cores
    python scripts/gpu_check.py --quick          # about 2 minutes
    python scripts/gpu_check.py --out DIR        # where the files go (default gpu-check/)

Uses the GPU libraries this interpreter has -- CuPy, a CUDA build of torch, JAX's CUDA
wheels -- and skips what is missing.  The stages, in order, each under its own time budget:

  tests        the suite's GPU cases (cupy, torch-cuda, jax-gpu and jax-gpu-compiled; the
               CPU cases deselected)
               outside the conformance files, with pytest-xdist -n where it is installed
  conformance  the conformance files (noxfile.py's CONFORMANCE_TESTS) on the GPU cases,
               writing the report with the GPU columns (conformance-gpu.md / .json)
  bench        benchmarks/run.py: the GPU contenders (GPU_CONTENDERS) on C1, C3, C4
               (bench-gpu.json / .png; its table goes into summary.md, and
               ``python benchmarks/report.py bench-gpu.json`` writes it again)
  population   benchmarks/population.py: 64 C1 networks as one population on JAX's GPU,
               compiled, against one network (population-gpu.json; its table goes into
               summary.md)
  estimator    benchmarks/estimator.py: xmlp.sklearn on the GPU against scikit-learn
               (estimator-gpu.json; its table goes into summary.md)
  recipe       xmlp reproduce fashion-mnist: compiled on JAX's GPU (all 75 epochs), else
               20 epochs on the first GPU backend (data: $XMLP_DATA or
               Debian's dataset-fashion-mnist; never downloaded)

Writes at most eight files under --out (what comes back from a lent machine):
gpu-check.log (every stage's command and output), the reports above, estimator-gpu.json
and summary.md, and prints the summary table
(stage, status, seconds, key numbers) at the end.  Without a GPU it prints one line saying
so and exits 0.  Exit status: 0 when every stage that ran passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: GPU backends in the order the recipe stage prefers them, with the device each uses
#: and the test-case id of its GPU case (tests/conftest.py).
GPU_BACKENDS = {"cupy": ("cuda", "cupy"), "torch": ("cuda", "torch-cuda"),
                "jax": ("gpu", "jax-gpu")}

#: The benchmark contenders on the GPU, as benchmarks/contenders.py names them.  A name
#: the harness does not know (yet) is left out, so a new contender is one line here.
GPU_CONTENDERS = ("xmlp-cupy", "xmlp-torch-cuda", "xmlp-jax-compiled-cuda", "torch-cuda",
                  "limit-cupy", "limit-torch-cuda")
BENCH_CONFIGS = "C1,C3,C4"

#: The estimator benchmark's GPU contenders (benchmarks/estimator.py) and its CPU peer.
ESTIMATOR_CONTENDERS = ("xmlp-cupy", "xmlp-torch-cuda", "xmlp-jax-gpu", "sklearn")

#: Seconds each stage may take (full run, --quick run): about 8 and 2 minutes in all.
#: The conformance files hold most of the GPU cases (168 tests per case, 15 elsewhere);
#: eager JAX, one dispatch per operation, is the slowest of them.
BUDGETS = {"tests": (60, 25), "conformance": (180, 30), "bench": (95, 40),
           "population": (40, 15), "estimator": (45, 20), "recipe": (60, 20)}

#: Files written under --out (no stage writes anything else there).
FILES = ("gpu-check.log", "summary.md", "conformance-gpu.md", "conformance-gpu.json",
         "bench-gpu.json", "bench-gpu.png", "population-gpu.json", "estimator-gpu.json")

PROBE = r"""
import importlib.util, json
out = {}
def probe(name, fn):
    if importlib.util.find_spec(name) is None:
        out[name] = [False, f"{name} is not installed"]
        return
    try:
        out[name] = fn()
    except Exception as exc:
        out[name] = [False, f"{type(exc).__name__}: {exc}".splitlines()[0][:200]]
def cupy():
    import cupy
    n = cupy.cuda.runtime.getDeviceCount()
    if n < 1:
        return [False, "CuPy finds no CUDA device"]
    name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
    name = name.decode() if isinstance(name, bytes) else str(name)
    return [True, f"{n} x {name}, CuPy {cupy.__version__}"]
def torch():
    import torch
    if not torch.cuda.is_available():
        why = "a CPU-only build" if torch.version.cuda is None else "no usable CUDA device"
        return [False, f"torch {torch.__version__}: {why}"]
    n = torch.cuda.device_count()
    return [True, f"{n} x {torch.cuda.get_device_name(0)}, torch {torch.__version__}"]
def jax():
    import jax
    try:
        gpus = jax.devices("gpu")
    except RuntimeError:
        gpus = []
    if not gpus:
        return [False, f"JAX {jax.__version__} has no GPU platform"]
    return [True, f"{len(gpus)} x {gpus[0].device_kind}, JAX {jax.__version__}"]
probe("cupy", cupy)
probe("torch", torch)
probe("jax", jax)
print(json.dumps(out))
"""


@dataclass
class Stage:
    name: str
    argv: list[str]  # "python" stands for this interpreter
    timeout: float
    what: str
    env: dict[str, str] = field(default_factory=dict)
    skip: str = ""  # why it does not run ("" : it runs)


@dataclass
class Result:
    name: str
    status: str  # passed, failed, timeout, skipped
    seconds: float
    key: str  # the key numbers, or why it was skipped / failed


# --------------------------------------------------------------------------- planning
def _library(contender: str) -> str | None:
    """The GPU backend a contender needs: xmlp-torch-cuda -> torch, limit-cupy -> cupy."""
    return next((b for b in GPU_BACKENDS if b in contender.split("-")), None)


def _noxfile_list(name: str) -> list[str]:
    """A list constant of noxfile.py (read, not imported: nox need not be installed)."""
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name
                                                for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise LookupError(f"noxfile.py defines no {name}")


def known_contenders() -> set[str]:
    sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
    try:
        from contenders import CONTENDERS
    finally:
        del sys.path[:2]
    return set(CONTENDERS)


def plan(gpus: dict[str, bool], out: Path, quick: bool = False, workers: int = 0,
         contenders: set[str] | frozenset = frozenset(), fashion: bool = True,
         conformance_files: list[str] | tuple = ()) -> list[Stage]:
    """The stages to run for the GPU backends in ``gpus`` (name -> has a GPU).

    ``workers``: pytest-xdist workers (0: without xdist); ``contenders``: the benchmark
    contenders the harness knows; ``fashion``: whether Fashion-MNIST is on disk."""
    which = 1 if quick else 0
    on = [b for b in GPU_BACKENDS if gpus.get(b)]
    case_ids = [GPU_BACKENDS[b][1] for b in on]
    select = ["-k", " or ".join(case_ids)]
    xdist = ["-n", str(workers)] if workers else []
    env = {"XMLP_BACKENDS": ",".join(on)}
    conformance_files = list(conformance_files)
    if quick:
        suite = ["tests/test_devices.py", "tests/test_pickle.py", "tests/test_training.py"]
        suite_what = "the GPU cases of the device, pickle and training tests"
        conformance_files = ["tests/test_conformance.py"]
    else:
        suite = ["tests", *(f"--ignore={f}" for f in conformance_files)]
        suite_what = "the suite's GPU cases outside the conformance files"
    stages = [
        Stage("tests", ["python", "-m", "pytest", "-q", *xdist, *suite, *select],
              BUDGETS["tests"][which], suite_what, env),
        Stage("conformance", ["python", "-m", "pytest", "-q", *xdist, *conformance_files,
                              *select], BUDGETS["conformance"][which],
              "the conformance files on the GPU cases",
              dict(env, XMLP_CONFORMANCE_REPORT=str(out / "conformance-gpu"))),
    ]
    bench = [c for c in GPU_CONTENDERS if c in contenders and gpus.get(_library(c))]
    budget = BUDGETS["bench"][which]
    stages.append(Stage(
        "bench", ["python", "benchmarks/run.py", "--contenders", ",".join(bench),
                  "--configs", BENCH_CONFIGS, "--out", str(out), "--name", "bench-gpu",
                  "--fresh", "--timeout", str(budget), "--in-process",
                  *(["--quick"] if quick else ["--repeat", "1"])],
        budget, f"{', '.join(bench)} on {BENCH_CONFIGS}",
        skip="" if bench else "no contender of GPU_CONTENDERS that benchmarks/contenders.py "
                              "knows runs on this machine's GPU backends"))
    stages.append(Stage(
        "population", ["python", "benchmarks/population.py", "--backends", "jax-compiled",
                       "--device", "gpu", "--configs", "C1", "--members", "64",
                       "--n-train", "12000" if quick else "60000",
                       "--repeat", "1" if quick else "3", "--out", str(out),
                       "--name", "population-gpu"],
        BUDGETS["population"][which], "64 C1 networks compiled on JAX's GPU, against one",
        skip="" if gpus.get("jax") else "JAX sees no GPU"))
    estimators = [c for c in ESTIMATOR_CONTENDERS if c == "sklearn" or gpus.get(_library(c))]
    stages.append(Stage(
        "estimator", ["python", "benchmarks/estimator.py", "--contenders",
                      ",".join(estimators), "--solvers", "adam", "--repeat", "1",
                      "--n-train", "5000" if quick else "60000",
                      "--epochs", "1" if quick else "2", "--out", str(out),
                      "--name", "estimator-gpu"],
        BUDGETS["estimator"][which], f"xmlp.sklearn adam on {', '.join(estimators)}",
        skip="" if len(estimators) > 1 else "no GPU backend of the estimator benchmark"))
    # On JAX's GPU the recipe runs compiled: all 75 epochs fit the budget (the issue's
    # target is the whole recipe in 30 s); an eager GPU backend runs 20 of them.
    backend = "jax" if gpus.get("jax") else (on[0] if on else None)
    epochs = "2" if quick else ("75" if backend == "jax" else "20")
    recipe = ["python", "-m", "xmlp", "reproduce", "fashion-mnist", "--no-download",
              "--epochs", epochs]
    if backend:
        recipe += ["--backend", backend, "--device", GPU_BACKENDS[backend][0]]
    stages.append(Stage(
        "recipe", recipe, BUDGETS["recipe"][which],
        f"the fashion-mnist recipe on {backend}, {recipe[recipe.index('--epochs') + 1]} "
        "of its 75 epochs",
        skip="" if fashion else "Fashion-MNIST not found: set XMLP_DATA or apt-get install "
                                "dataset-fashion-mnist"))
    if not on:
        for s in stages:
            s.skip = s.skip or "no GPU"
    return stages


# --------------------------------------------------------------------------- key numbers
def pytest_counts(text: str) -> dict[str, int]:
    """Counts from pytest's closing line ('3 failed, 120 passed, 2 skipped in 9.1s')."""
    lines = [l for l in text.splitlines() if re.search(r"\d+ \w+.* in [\d.]+s", l)]
    if not lines:
        return {}
    counts = {}
    for n, word in re.findall(r"(\d+) (passed|failed|errors?|skipped|deselected|xfailed|"
                              r"xpassed)", lines[-1]):
        counts["error" if word.startswith("error") else word] = int(n)
    return counts


def tests_key(text: str) -> str:
    counts = pytest_counts(text)
    if not counts:
        return "no pytest summary"
    order = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
    return ", ".join(f"{counts[k]} {k}" for k in order if counts.get(k))


def conformance_key(path: Path) -> str:
    """Failures and the worst float64 / float32 deviation per backend and device."""
    if not path.exists():
        return "no report"
    doc = json.loads(path.read_text())
    worst: dict[tuple, float] = {}
    for r in doc["rows"]:
        key = (r["backend"], r["device"], "f64" if r["dtype"] == "float64" else "f32")
        worst[key] = max(worst.get(key, 0.0), r["max_rel"])
    parts = [f"{b} {d} {t} {v:.1e}" for (b, d, t), v in sorted(worst.items())]
    return f"{doc['meta']['failures']} failures; worst: " + ", ".join(parts)


def bench_key(path: Path) -> str:
    """Seconds per epoch of each contender on each configuration (errors and skipped
    contenders named)."""
    if not path.exists():
        return "no results"
    doc = json.loads(path.read_text())
    by_config: dict[str, list[str]] = {}
    for r in doc["records"]:
        if r.get("error"):
            text = f"{r['contender']} error"
        else:
            text = f"{r['contender']} {r['epoch_seconds_median']:.3g}"
        by_config.setdefault(r["config"], []).append(text)
    parts = [f"{c}: {', '.join(v)}" for c, v in sorted(by_config.items())]
    key = "; ".join(parts) + " (s/epoch)" if parts else "no records"
    skipped = doc["runs"][-1].get("skipped", {}) if doc.get("runs") else {}
    if skipped:
        key += "; skipped " + ", ".join(f"{c} ({why})" for c, why in skipped.items())
    return key


def status_of(stage: str, code: int | None, output: str, out: Path) -> str:
    """passed, failed, timeout, or empty: it exited 0 but measured nothing on the GPU
    (every test skipped, no benchmark record) -- which is no pass."""
    if code is None:
        return "timeout"
    if code != 0:
        return "failed"
    if stage in ("tests", "conformance"):
        return "passed" if pytest_counts(output).get("passed") else "empty"
    if stage == "population":
        doc = out / "population-gpu.json"
        rows = json.loads(doc.read_text())["rows"] if doc.exists() else []
        if any("error" in r for r in rows):
            return "failed"
        return "passed" if any(r["members"] and "seconds" in r for r in rows) else "empty"
    path = {"bench": out / "bench-gpu.json", "estimator": out / "estimator-gpu.json"}.get(stage)
    if path is not None:
        records = json.loads(path.read_text())["records"] if path.exists() else []
        if stage == "bench" and any(r.get("error") for r in records):
            return "failed"
        if not any(r["contender"] != "sklearn" for r in records):
            return "empty"
    return "passed"


def estimator_key(path: Path) -> str:
    if not path.exists():
        return "no results"
    doc = json.loads(path.read_text())
    return ", ".join(f"{r['contender']} {r['seconds_median']:.2f} s "
                     f"({r['test_accuracy']:.4f})" for r in doc["records"]) + \
        f" per fit of {doc['settings']['epochs']} epochs"


def population_key(path: Path) -> str:
    """The population's epoch against one network's: the issue asks for K = 64 C1 members in
    at most twice the time of one run."""
    if not path.exists():
        return "no results"
    rows = json.loads(path.read_text())["rows"]
    single = next((r for r in rows if r["members"] == 0 and "seconds" in r), None)
    parts = []
    for r in rows:
        if r["members"] and "seconds" in r and single:
            parts.append(f"K={r['members']} {r['config']} {r['seconds']:.3f} s/epoch vs one "
                         f"network {single['seconds']:.3f} s: "
                         f"{r['seconds'] / single['seconds']:.2f}x")
        elif "error" in r:
            parts.append(f"K={r['members']} error: {r['error'][:120]}")
    return "; ".join(parts) or "no population measured"


def recipe_key(text: str) -> str:
    """Test accuracy reached and the median seconds per epoch of `xmlp reproduce`."""
    epochs = re.findall(r"^epoch\s+(\d+)/(\d+)\s+\w+ accuracy ([\d.]+)%\s+([\d.]+) s",
                        text, re.M)
    backend = re.search(r"^\s+backend\s+(.+)$", text, re.M)
    if not epochs:
        return "no epoch finished"
    done, total, acc, _ = epochs[-1]
    per_epoch = statistics.median(float(e[3]) for e in epochs)
    where = f" on {backend.group(1)}" if backend else ""
    return f"{acc}% after {done}/{total} epochs, {per_epoch:.2f} s/epoch (median){where}"


def summary_table(results: list[Result]) -> str:
    """The Markdown table printed at the end and written to summary.md."""
    lines = ["| stage | status | seconds | key numbers |", "|---|---|---:|---|"]
    for r in results:
        key = r.key.replace("|", "/").replace("\n", " ")
        lines.append(f"| {r.name} | {r.status} | {r.seconds:.0f} | {key} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- running
def _env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"  # JAX must not take 75% of the GPU
    env["MPLBACKEND"] = "Agg"
    env.update(extra)
    return env


def probe(timeout: float = 120) -> dict[str, list]:
    """{backend: [has a GPU, detail]} from a subprocess (this process stays GPU-free)."""
    try:
        proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                              timeout=timeout, env=_env({}), cwd=ROOT)
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, OSError, ValueError, IndexError) as exc:
        return {b: [False, f"probe failed: {exc}"] for b in GPU_BACKENDS}


def run_stage(stage: Stage, log) -> tuple[int | None, str, float]:
    """Run one stage under its budget: (exit status or None on timeout, output, seconds).
    A stage out of time gets SIGINT first (pytest then still writes its reports)."""
    argv = [sys.executable if a == "python" else a for a in stage.argv]
    shown = " ".join(stage.argv)
    log.write(f"\n==== {stage.name}: {stage.what}\n$ {shown}\n")
    log.flush()
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, env=_env(stage.env), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=stage.timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            output, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output, _ = proc.communicate()
        code = None
    seconds = time.perf_counter() - start
    log.write(output)
    log.write(f"==== {stage.name}: exit {code if code is not None else 'timeout'} after "
              f"{seconds:.1f} s\n")
    log.flush()
    return code, output, seconds


def key_numbers(stage: Stage, output: str, out: Path) -> str:
    if stage.name == "tests":
        return tests_key(output)
    if stage.name == "conformance":
        return f"{tests_key(output)}; {conformance_key(out / 'conformance-gpu.json')}"
    if stage.name == "bench":
        return bench_key(out / "bench-gpu.json")
    if stage.name == "estimator":
        return estimator_key(out / "estimator-gpu.json")
    if stage.name == "population":
        return population_key(out / "population-gpu.json")
    return recipe_key(output)


def _has_fashion() -> bool:
    sys.path.insert(0, str(ROOT))
    try:
        from xmlp.datasets import DATASETS, DatasetNotFound
        from xmlp.datasets.fetch import locate

        try:
            locate(DATASETS["fashion-mnist"], None, download=False)
            return True
        except DatasetNotFound:
            return False
    finally:
        del sys.path[0]


def _workers() -> int:
    import importlib.util

    if importlib.util.find_spec("xdist") is None:
        return 0
    return max(1, min(12, (os.cpu_count() or 2) - 2))  # small GPU work: the CPUs bound it


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.splitlines()[1:]))
    p.add_argument("--out", default="gpu-check", help="folder for the files (default: "
                   "gpu-check/)")
    p.add_argument("--quick", action="store_true", help="every stage shrunk: ~2 minutes")
    args = p.parse_args(argv)
    started = time.perf_counter()
    gpus = probe()
    if not any(ok for ok, _ in gpus.values()):
        print("gpu_check: no GPU here, nothing to check (" +
              "; ".join(f"{b}: {why}" for b, (_, why) in gpus.items()) + ")")
        return 0
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    try:  # stages run in the repository: name the folder relative to it where it is inside
        where = out.relative_to(ROOT)
    except ValueError:
        where = out
    stages = plan({b: ok for b, (ok, _) in gpus.items()}, where, args.quick, _workers(),
                  known_contenders(), _has_fashion(), _noxfile_list("CONFORMANCE_TESTS"))
    results: list[Result] = []
    command = "python scripts/gpu_check.py" + " --quick" * args.quick
    with open(out / "gpu-check.log", "w") as log:
        log.write(f"{command}, {dt.datetime.now().astimezone().isoformat(timespec='seconds')}"
                  f"\n" + "".join(f"{b}: {'GPU' if ok else 'no GPU'} ({why})\n"
                                  for b, (ok, why) in gpus.items()))
        tables: dict[str, str] = {}
        for stage in stages:
            if stage.skip:
                results.append(Result(stage.name, "skipped", 0.0, stage.skip))
                print(f"{stage.name}: skipped ({stage.skip})", flush=True)
                continue
            print(f"{stage.name}: {stage.what} (budget {stage.timeout:.0f} s) ...", flush=True)
            code, output, seconds = run_stage(stage, log)
            for part in out.glob("conformance-gpu.rows-*.json"):  # an interrupted run's
                part.unlink()
            status = status_of(stage.name, code, output, out)
            key = key_numbers(stage, output, out)
            if status in ("failed", "timeout") and stage.name in ("estimator", "recipe",
                                                                  "bench", "population"):
                last = [l for l in output.strip().splitlines() if l.strip()][-1:]
                key = f"{key}; {last[0][:200]}" if last else key
            results.append(Result(stage.name, status, seconds, key))
            print(f"{stage.name}: {status} in {seconds:.0f} s: {key}", flush=True)
            # these tables go into summary.md: at most eight files come back
            md = out / {"estimator": "estimator-gpu.md", "bench": "bench-gpu.md",
                        "population": "population-gpu.md"}.get(stage.name, "-")
            if md.name != "-" and md.exists():
                tables[stage.name] = md.read_text()
                md.unlink()
    table = summary_table(results)
    total = time.perf_counter() - started
    header = [f"# GPU check, {dt.date.today().isoformat()}", "",
              f"`{command}` ({total:.0f} s in all), python {platform.python_version()}",
              ""]
    header += [f"- {b}: {'GPU' if ok else 'no GPU'} ({why})" for b, (ok, why) in gpus.items()]
    summary = "\n".join(header + ["", table, ""])
    titles = {"bench": "Epoch benchmark", "population": "Populations",
              "estimator": "Estimator benchmark"}
    for name, md in tables.items():
        summary += f"\n## {titles[name]}\n\n" + md
    (out / "summary.md").write_text(summary)
    print()
    print(table)
    print(f"\n{total:.0f} s; files in {where}: " +
          ", ".join(f for f in FILES if (out / f).exists()))
    return 0 if all(r.status in ("passed", "skipped") for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
