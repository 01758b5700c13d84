"""Two commits of xmlp, side by side on one machine: is the newer one as fast?

    python benchmarks/compare.py BASE [HEAD] [--configs C1,C3] [--rounds 7]

checks both commits out (``git worktree``, in a temporary folder), then runs each one's own
``benchmarks/run.py`` in turn, BASE HEAD BASE HEAD ..., ``--rounds`` times, with
``PYTHONPATH`` pointing at that commit's source, and reads each run's median epoch time per
(config, contender).  Shared machines drift (a neighbour's load halves the speed for a
minute), so the figure reported is the median over the rounds of the *paired* ratio
HEAD / BASE of the same round, with its range; the report also gives each side's median
time.  Writes ``<out>/compare-<machine>-<date>.md`` and ``.json``.

Both commits must have ``benchmarks/run.py``.  The contenders default to xmlp's eager NumPy
and compiled JAX epochs.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import sysinfo  # noqa: E402


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True,
                          text=True).stdout.strip()


def _medians(path: pathlib.Path) -> dict[tuple[str, str], float]:
    doc = json.loads(path.read_text())
    return {(r["config"], r["contender"]): statistics.median(r["epoch_seconds"])
            for r in doc["records"] if r.get("epoch_seconds")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("base", help="the earlier commit (any git revision)")
    p.add_argument("head", nargs="?", default="HEAD", help="the later commit (default HEAD)")
    p.add_argument("--configs", default="C1,C3")
    p.add_argument("--contenders", default="xmlp-numpy,xmlp-jax-compiled")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--repeat", type=int, default=5, help="timed epochs per run (median)")
    p.add_argument("--out", default=str(HERE / "results"))
    args = p.parse_args(argv)

    revs = {"base": _git("rev-parse", "--short", args.base),
            "head": _git("rev-parse", "--short", args.head)}
    rounds: list[dict[str, dict]] = []
    with tempfile.TemporaryDirectory() as tmp:
        trees = {}
        for side, rev in revs.items():
            trees[side] = pathlib.Path(tmp, side)
            _git("worktree", "add", "--detach", str(trees[side]), rev)
        try:
            for k in range(args.rounds):
                row = {}
                for side, tree in trees.items():
                    out = pathlib.Path(tmp, f"out-{side}-{k}")
                    cmd = [sys.executable, str(tree / "benchmarks" / "run.py"),
                           "--configs", args.configs, "--contenders", args.contenders,
                           "--repeat", str(args.repeat), "--out", str(out), "--name", "run",
                           "--fresh"]
                    env = {**os.environ, "PYTHONPATH": str(tree)}
                    subprocess.run(cmd, env=env, check=True, cwd=tmp,
                                   stdout=subprocess.DEVNULL)
                    row[side] = _medians(out / "run.json")
                    print(f"round {k + 1} {side} {revs[side]}: " + ", ".join(
                        f"{c}/{n} {s:.3f} s" for (c, n), s in sorted(row[side].items())),
                        flush=True)
                rounds.append(row)
        finally:
            for tree in trees.values():
                _git("worktree", "remove", "--force", str(tree))

    keys = sorted(set.intersection(*(set(r[s]) for r in rounds for s in r)))
    result = []
    for key in keys:
        ratios = [r["head"][key] / r["base"][key] for r in rounds]
        result.append({
            "config": key[0], "contender": key[1],
            "base_seconds": statistics.median(r["base"][key] for r in rounds),
            "head_seconds": statistics.median(r["head"][key] for r in rounds),
            "ratio_median": statistics.median(ratios), "ratio_min": min(ratios),
            "ratio_max": max(ratios), "ratios": ratios})
    date = datetime.date.today().isoformat()
    stem = pathlib.Path(args.out, f"compare-{sysinfo.machine_slug()}-{date}")
    command = " ".join(["python benchmarks/compare.py", *(argv or sys.argv[1:])])
    doc = {"command": command, "date": date, "base": revs["base"], "head": revs["head"],
           "cpu": sysinfo.cpu_name(), "versions": sysinfo.versions(), "rounds": args.rounds,
           "repeat": args.repeat, "results": result}
    stem.with_suffix(".json").write_text(json.dumps(doc, indent=1) + "\n")
    md = markdown(doc)
    stem.with_suffix(".md").write_text(md + "\n")
    print(md)
    return 0


def markdown(doc: dict) -> str:
    """The report: per (config, contender) both commits' seconds and the paired ratio."""
    lines = [f"# {doc['head']} against {doc['base']}: seconds per epoch", "",
             f"`{doc['command']}`, {doc['date']}.  CPU: {doc['cpu']}.  "
             + ", ".join(f"{k} {v}" for k, v in doc["versions"].items()) + ".", "",
             f"{doc['rounds']} rounds, each one run of `benchmarks/run.py` per commit (base, "
             f"then head; each run the median of {doc['repeat']} timed epochs).  The ratio "
             "head / base is taken within each round, and its median over the rounds is "
             "reported with its range: a shared machine's speed drifts between rounds.", "",
             "| config | contender | base s/epoch | head s/epoch | head / base (median) "
             "| range |", "|---|---|---:|---:|---:|---|"]
    for r in doc["results"]:
        lines.append(f"| {r['config']} | {r['contender']} | {r['base_seconds']:.3f} | "
                     f"{r['head_seconds']:.3f} | {r['ratio_median']:.3f} | "
                     f"{r['ratio_min']:.3f} - {r['ratio_max']:.3f} |")
    return "\n".join(lines)
