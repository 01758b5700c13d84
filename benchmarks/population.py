"""Many networks at once: what a member of an ``xmlp.Population`` costs next to one
``Network.fit`` on the same backend.

    python benchmarks/population.py                          # numpy and jax-compiled, C1 and C3
    python benchmarks/population.py --backends numpy,torch,jax,jax-compiled --members 1,4,16,64
    python benchmarks/population.py --quick                  # K = 1, 4; 6 000 rows

For every (backend, config, K) one child process builds ``Population(sizes, seeds=0..K-1)``,
trains it one warm-up epoch (JAX compiles there), then times ``pop.fit(X, y, epochs=1,
monitor=())`` as a whole (the host's draws of every member included) ``--repeat`` times;
the single network's epoch, ``Network(sizes, seed=0).fit(X, y, epochs=1, monitor=())``, is
timed the same way in its own process.  Reported: the median seconds of the population's
epoch, per member, and per member over the single network's (below 1: a member costs less
than a run of its own), with each process's peak RSS.  Writes
``benchmarks/results/population-<machine>-<date>.{json,md}``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import pathlib
import statistics
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import sysinfo  # noqa: E402
from configs import CONFIGS  # noqa: E402

#: backend label -> (xmlp backend, fit(compile=...))
BACKENDS = {"numpy": ("numpy", None), "jax-compiled": ("jax", True), "jax": ("jax", False),
            "torch": ("torch", None), "array_api_strict": ("array_api_strict", None),
            "cupy": ("cupy", None)}


def measure(spec: dict) -> dict:
    """One (backend, config, K) in this process: median whole-fit seconds, peak RSS."""
    from run import load_data

    import xmlp

    cfg = CONFIGS[spec["config"]]
    backend, compile = BACKENDS[spec["backend"]]
    data = load_data(spec["data"], cfg.dtype, spec["n_train"], 100)
    X, y = data.X_train, data.y_train
    net = dict(cost=cfg.cost, init=cfg.init, backend=backend, dtype=cfg.dtype,
               device=spec.get("device"))
    fit = dict(epochs=1, batch_size=cfg.batch_size, eta=cfg.eta, lmbda=cfg.lmbda,
               monitor=(), compile=compile)
    K = spec["members"]
    if K == 0:
        model = xmlp.Network(list(cfg.sizes), seed=0, **net)
    else:
        model = xmlp.Population(list(cfg.sizes), seeds=range(K), **net)
    model.fit(X, y, **fit)  # warm-up: compiles on JAX, touches every buffer
    seconds = []
    for _ in range(spec["repeat"]):
        start = time.perf_counter()
        model.fit(X, y, **fit)
        seconds.append(time.perf_counter() - start)
    return {"seconds": statistics.median(seconds), "all_seconds": seconds,
            "peak_rss_mb": sysinfo.peak_rss_mb(), "n_train": int(len(y)),
            "dataset": data.info["name"]}


def markdown(doc: dict) -> str:
    """The report: per backend and config, K -> seconds per epoch, per member, ratio."""
    lines = [f"# Populations: a member's epoch next to a network's ({doc['machine']})", "",
             f"`{doc['command']}`, {doc['date']}.  CPU: {doc['cpu']}; GPU: "
             f"{doc.get('gpu') or 'none'}.  "
             + ", ".join(f"{k} {v}" for k, v in doc["versions"].items() if v) + ".", "",
             f"Each row: one process trains `Population(sizes, seeds=0..K-1)` (K = 0: one "
             f"`Network`) for a warm-up epoch, then times {doc['repeat']} whole "
             f"`fit(epochs=1, monitor=())` calls on {doc['n_train']} rows of "
             f"{doc['data']} (median).  *per member / single*: the population's epoch over K "
             "over the single network's epoch on the same backend (below 1: a member costs "
             "less than its own run).", ""]
    for backend in doc["backends"]:
        for config in doc["configs"]:
            rows = [r for r in doc["rows"] if r["backend"] == backend and r["config"] == config]
            single = next((r for r in rows if r["members"] == 0 and "seconds" in r), None)
            if not rows:
                continue
            cfg = CONFIGS[config]
            lines += [f"## {backend}, {config}: {list(cfg.sizes)}, batch {cfg.batch_size}, "
                      f"{cfg.dtype}", "",
                      "| K | s / epoch | s / member | per member / single | peak RSS MB |",
                      "|---:|---:|---:|---:|---:|"]
            for r in rows:
                if "error" in r:
                    lines.append(f"| {r['members'] or 'single'} | error: {r['error']} | | | |")
                    continue
                k = r["members"]
                per = r["seconds"] / (k or 1)
                ratio = (f"{per / single['seconds']:.2f}" if single and k else "1")
                lines.append(f"| {k or 'single'} | {r['seconds']:.3f} | {per:.4f} | {ratio} | "
                             f"{r['peak_rss_mb']:.0f} |")
            lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backends", default="numpy,jax-compiled",
                   help=f"comma list of {', '.join(BACKENDS)}")
    p.add_argument("--configs", default="C1,C3")
    p.add_argument("--members", default="1,4,16,64", help="population sizes K")
    p.add_argument("--n-train", type=int, default=12000,
                   help="training rows (the per-member ratio does not depend on it)")
    p.add_argument("--data", default="auto", choices=["auto", "fashion-mnist", "sample"])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="K = 1, 4 on 6 000 rows, 1 repeat")
    p.add_argument("--device", help="the backends' device, e.g. gpu or cuda (default: "
                                    "each backend's default)")
    p.add_argument("--out", default=str(HERE / "results"))
    p.add_argument("--name", help="results file stem (default population-<machine>-<date>)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(measure(json.loads(args.child))))
        return 0
    if args.quick:
        args.members, args.n_train, args.repeat = "1,4", 6000, 1
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown:
        p.error(f"unknown backends {unknown}; choose from {list(BACKENDS)}")
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    sizes = [0, *(int(k) for k in args.members.split(","))]
    rows = []
    for backend in backends:
        for config in configs:
            for k in sizes:
                spec = dict(backend=backend, config=config, members=k, n_train=args.n_train,
                            data=args.data, repeat=args.repeat, device=args.device)
                proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)],
                                      capture_output=True, text=True)
                row = {"backend": backend, "config": config, "members": k}
                if proc.returncode == 0:
                    row.update(json.loads(proc.stdout.strip().splitlines()[-1]))
                    print(f"{backend:16} {config} K={k or 'single':>6}: {row['seconds']:.3f} s"
                          f"/epoch, {row['peak_rss_mb']:.0f} MB", flush=True)
                else:
                    row["error"] = (proc.stderr.strip().splitlines() or ["failed"])[-1]
                    print(f"{backend:16} {config} K={k}: {row['error']}", flush=True)
                rows.append(row)
    date = datetime.date.today().isoformat()
    command = " ".join(["python benchmarks/population.py", *(argv or sys.argv[1:])])
    n_train = next((r["n_train"] for r in rows if "n_train" in r), args.n_train)
    dataset = next((r["dataset"] for r in rows if "dataset" in r), args.data)
    doc = {"kind": "population", "command": command, "date": date, "device": args.device,
           "machine": sysinfo.machine_slug(), "cpu": sysinfo.cpu_name(),
           "gpu": sysinfo.gpu_name(), "versions": sysinfo.versions(), "backends": backends,
           "configs": configs, "members": sizes, "repeat": args.repeat, "n_train": n_train,
           "data": dataset, "rows": rows}
    stem = pathlib.Path(args.out, args.name or f"population-{doc['machine']}-{date}")
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps(doc, indent=1) + "\n")
    stem.with_suffix(".md").write_text(markdown(doc) + "\n")
    print(f"wrote {stem}.json and .md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
