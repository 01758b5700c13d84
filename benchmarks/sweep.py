"""Throughput of a sweep: the same grid of trainings run serially and on Dask workers.

    python benchmarks/sweep.py                      # 8 trials, 15 epochs, mnist-sample
    python benchmarks/sweep.py --epochs 3 --repeat 3

Three ways over one grid (eta x lmbda, network.py's chapter-1 net on the embedded sample):

* ``serial``: one ``Network.fit`` after the other in this process, BLAS threads as they are
  -- what running ``xmlp train`` once per setting does, without the process starts;
* ``sweep --workers 1`` and ``sweep --workers N`` (default N = 2): ``xmlp.sweep.run`` on a
  LocalCluster of single-threaded workers, BLAS pinned to one thread, a fresh SQLite study
  each time.  The clusters are started and warmed up (imports, each worker's data load)
  before the clock, as in a long sweep; their start is reported apart.  The time includes
  creating the study, Optuna's ask / tell and the per-epoch checkpoints.

Reported: wall seconds per round (each round runs the three ways once, one after the
other), the fastest, trials per second and the ratios (median over the rounds of the
ratio within a round), in ``benchmarks/results/sweep-<machine>-<date>.json`` and
``.md``.  Every sweep's accuracies are checked against the serial ones (equal when BLAS
gives the same sums; see the report).  Other processes' load during the run is recorded:
on a shared machine the ratio moves with it.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import logging
import os
import pathlib
import statistics
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import sysinfo  # noqa: E402
from run import repo_command  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
NET = {"sizes": [784, 30, 10], "cost": "quadratic", "init": "large", "seed": 0}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=10)
    p.add_argument("--eta", default="0.5,1.0,2.0,3.0", help="grid values of eta")
    p.add_argument("--lmbda", default="0,1", help="grid values of lmbda")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--repeat", type=int, default=1, help="rounds; the fastest is reported")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    p.add_argument("--name", help="file stem (default: sweep-<machine>-<date>)")
    return p.parse_args(argv)


def serial(grid: dict, fit: dict, data) -> tuple[float, dict]:
    import xmlp

    t0 = time.perf_counter()
    out = {}
    for eta, lmbda in itertools.product(grid["eta"], grid["lmbda"]):
        net = xmlp.Network(**NET)
        net.fit(*data.train, **fit, eta=eta, lmbda=lmbda, evaluation_data=data.test)
        out[(eta, lmbda)] = round(net.accuracy(*data.test) * 1000) / 1000
    return time.perf_counter() - t0, out


def swept(client, grid: dict, fit: dict, tmp: pathlib.Path) -> tuple[float, dict]:
    import xmlp.sweep

    url = f"sqlite:///{tmp / f'{time.monotonic_ns()}.db'}"
    t0 = time.perf_counter()
    result = xmlp.sweep.run("mnist-sample", NET, fit, grid=grid, client=client, storage=url,
                            metric="test_accuracy")
    seconds = time.perf_counter() - t0
    return seconds, {(r["eta"], r["lmbda"]): r["test_accuracy"] for r in result.rows}


def main(argv=None) -> int:
    args = parse_args(argv)
    import distributed

    logging.getLogger("distributed").setLevel(logging.ERROR)
    import xmlp
    import xmlp.sweep

    grid = {"eta": [float(v) for v in args.eta.split(",")],
            "lmbda": [float(v) for v in args.lmbda.split(",")]}
    fit = {"epochs": args.epochs, "batch_size": args.batch_size}
    n_trials = len(grid["eta"]) * len(grid["lmbda"])
    data = xmlp.datasets.load("mnist-sample")
    with open("/proc/loadavg", encoding="ascii") as f:
        load_before = float(f.read().split()[0])
    clusters, starts = {}, {}
    for n in sorted({1, args.workers}):
        t0 = time.perf_counter()
        cluster = distributed.LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
            silence_logs=logging.ERROR, env=dict(xmlp.sweep.BLAS_ONE_THREAD))
        clusters[n] = (cluster, distributed.Client(cluster))
        starts[n] = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:  # warm-up: imports, each worker's data load
        serial({"eta": [1.0], "lmbda": [0.0]}, {**fit, "epochs": 1}, data)
        for _, client in clusters.values():
            swept(client, {"eta": [1.0, 2.0], "lmbda": [0.0]}, {**fit, "epochs": 1},
                  pathlib.Path(tmp))
    ways = ["serial", *(f"workers-{n}" for n in sorted({1, args.workers}))]
    times: dict[str, list[float]] = {w: [] for w in ways}
    busy: dict[str, list] = {w: [] for w in ways}  # other processes' share of the CPUs
    accuracies: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            for way in ways:
                client = None if way == "serial" else clusters[int(way.split("-")[1])][1]
                before = _cpu(client)
                if client is None:
                    seconds, accuracies[way] = serial(grid, fit, data)
                else:
                    seconds, accuracies[way] = swept(client, grid, fit, pathlib.Path(tmp))
                busy[way].append(_other_busy(before, _cpu(client)))
                times[way].append(seconds)
    for cluster, client in clusters.values():
        client.close()
        cluster.close()
    with open("/proc/loadavg", encoding="ascii") as f:
        load_after = float(f.read().split()[0])

    best = {k: min(v) for k, v in times.items()}
    wn = f"workers-{args.workers}"
    per_round = {f"{wn} / serial": [a / b for a, b in zip(times["serial"], times[wn])],
                 f"{wn} / workers-1": [a / b for a, b in zip(times["workers-1"], times[wn])]}
    ratios = {k: statistics.median(v) for k, v in per_round.items()}
    same = {k: v == accuracies["serial"] for k, v in accuracies.items() if k != "serial"}
    now = datetime.datetime.now(datetime.timezone.utc)
    doc = {"schema": 1, "kind": "sweep-throughput", "command": repo_command(),
           "date": now.isoformat(timespec="seconds"), "machine": sysinfo.cpu_name(),
           "gpu": sysinfo.gpu_name(), "versions": {**sysinfo.versions(),
                                                   **_versions()},
           "threads": sysinfo.threads(), "grid": grid, "fit": fit, "network": NET,
           "dataset": "mnist-sample", "trials": n_trials, "repeat": args.repeat,
           "seconds": times, "best_seconds": best,
           "trials_per_second": {k: n_trials / v for k, v in best.items()},
           "ratios": ratios, "ratios_per_round": per_round, "cluster_start_seconds": starts,
           "accuracies_equal_serial": same, "other_busy": busy,
           "loadavg_1min": {"before": load_before, "after": load_after}}
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = args.name or f"sweep-{sysinfo.machine_slug()}-{now.date().isoformat()}"
    (out / f"{stem}.json").write_text(json.dumps(doc, indent=1) + "\n")
    (out / f"{stem}.md").write_text(_markdown(doc, wn))
    print((out / f"{stem}.md").read_text())
    return 0


def _worker_cpu() -> float:
    t = os.times()
    return t.user + t.system


def _cpu(client) -> tuple | None:
    """/proc/stat's (total, idle, steal) jiffies and the CPU seconds of this process plus,
    for a sweep, its workers: what is left of the busy time is other processes'."""
    sample = sysinfo.cpu_sample()
    if sample is None:
        return None
    own = sample[3] + (sum(client.run(_worker_cpu).values()) if client is not None else 0.0)
    return (*sample[:3], own)


def _other_busy(before, after) -> float | None:
    info = sysinfo.interference(before, after)
    return None if info is None else info["other_busy"]


def _versions() -> dict:
    from importlib import metadata

    out = {}
    for dist in ("dask", "distributed", "optuna"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def _markdown(doc: dict, wn: str) -> str:
    best, tps = doc["best_seconds"], doc["trials_per_second"]
    busy = [b for v in doc["other_busy"].values() for b in v if b is not None]
    lines = [
        f"# xmlp sweep throughput: {doc['machine']}", "",
        f"Made by `{doc['command']}`, {doc['date']}.  ",
        f"CPU: {doc['machine']} ({doc['threads']['cpu_count']} logical CPUs); "
        f"GPU: {doc['gpu'] or 'none'}.  ",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in doc["versions"].items()
                                 if v and k in ("python", "xmlp", "numpy", "dask",
                                                "distributed", "optuna")) + ".  ",
        f"Grid: eta {doc['grid']['eta']} x lmbda {doc['grid']['lmbda']} = {doc['trials']} "
        f"trials of {doc['fit']['epochs']} epochs (mini-batch {doc['fit']['batch_size']}), "
        f"{doc['network']['sizes']} on mnist-sample (4000 training rows); {doc['repeat']} "
        "round(s), each running every way once.", "",
        "| way | fastest s | trials / s | seconds per round (other processes' share of "
        "the CPUs) |", "|---|---:|---:|---|"]
    for k in best:
        rounds = ", ".join(f"{t:.2f} ({'?' if b is None else f'{100 * b:.0f}%'})"
                           for t, b in zip(doc["seconds"][k], doc["other_busy"][k]))
        lines.append(f"| {k} | {best[k]:.2f} | {tps[k]:.2f} | {rounds} |")
    lines += ["",
              f"**{wn} over serial: {doc['ratios'][f'{wn} / serial']:.2f}x** (median of the "
              "rounds' ratios: " + ", ".join(
                  f"{r:.2f}" for r in doc["ratios_per_round"][f"{wn} / serial"]) + "); over "
              f"workers-1: {doc['ratios'][f'{wn} / workers-1']:.2f}x.  Cluster start (not "
              "timed above): " + ", ".join(f"{n} worker(s) {s:.1f} s" for n, s in
                                           doc["cluster_start_seconds"].items()) + ".", "",
              "Accuracies equal to the serial runs: " + ", ".join(
                  f"{k} {'yes' if v else 'NO'}" for k, v in doc["accuracies_equal_serial"]
                  .items()) + ".", "",
              "Load: 1-minute load average "
              f"{doc['loadavg_1min']['before']:.2f} before, {doc['loadavg_1min']['after']:.2f} "
              "after; other processes kept "
              + (f"{100 * statistics.mean(busy):.0f}%" if busy else "an unknown share")
              + " of the CPUs busy on average while the ways ran.  On a shared machine the "
                "ratio moves with that load.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
