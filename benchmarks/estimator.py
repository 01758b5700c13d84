"""xmlp's scikit-learn estimator against scikit-learn's MLPClassifier: fit time, one run.

Both estimators get the same parameters and the same data, so they train the same model
(``xmlp.sklearn`` uses the random stream as scikit-learn does); the record shows the
largest difference of their ``coefs_`` as proof.  Each solver (adam, sgd) is timed as a
whole ``fit`` of a fixed number of epochs (``tol=0`` and ``n_iter_no_change=epochs``, so
no run stops early), the contenders round-robin in one process (a drift of the shared
machine's speed falls on all of them), each repetition on a fresh estimator, with a short
pause between turns so that BLAS threads stop spinning.  Reported: median seconds per fit
and the ratio xmlp / scikit-learn (below 1: xmlp is faster).

    python benchmarks/estimator.py                        # Fashion-MNIST 10 000 rows, 5 epochs
    python benchmarks/estimator.py --n-train 60000 --epochs 2 --repeat 3
    python benchmarks/estimator.py --contenders xmlp-numpy,sklearn,xmlp-torch,xmlp-jax
    python benchmarks/estimator.py --contenders xmlp-cupy,xmlp-torch-cuda,xmlp-jax-gpu,sklearn

Writes ``benchmarks/results/estimator-<machine>-<date>.json`` and ``.md`` (``--out``,
``--name``), with the machine, versions and thread settings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import pathlib
import shlex
import statistics
import sys
import time
import warnings

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))

import sysinfo  # noqa: E402
from run import load_data  # noqa: E402

CONTENDERS = {
    "xmlp-numpy": "xmlp.sklearn.MLPClassifier (backend='numpy')",
    "sklearn": "sklearn.neural_network.MLPClassifier",
    "xmlp-torch": "xmlp.sklearn.MLPClassifier (backend='torch', CPU)",
    "xmlp-jax": "xmlp.sklearn.MLPClassifier (backend='jax', compiled epochs, CPU)",
    "xmlp-cupy": "xmlp.sklearn.MLPClassifier (backend='cupy', GPU)",
    "xmlp-torch-cuda": "xmlp.sklearn.MLPClassifier (backend='torch', device='cuda')",
    "xmlp-jax-gpu": "xmlp.sklearn.MLPClassifier (backend='jax', compiled epochs, GPU)",
}
#: contender -> (backend, device) of xmlp's estimator
PLACES = {"xmlp-numpy": ("numpy", None), "xmlp-torch": ("torch", None),
          "xmlp-cupy": ("cupy", None), "xmlp-torch-cuda": ("torch", "cuda"),
          # JAX on its CPU device also where it has a GPU; xmlp-jax-gpu on its GPU
          "xmlp-jax": ("jax", "cpu"), "xmlp-jax-gpu": ("jax", "gpu")}
SOLVERS = {
    "adam": dict(solver="adam"),  # scikit-learn's defaults: relu, alpha 1e-4, batch 200
    "sgd": dict(solver="sgd"),  # momentum 0.9, Nesterov, learning_rate_init 0.001
}


def make(contender: str, params: dict):
    if contender == "sklearn":
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier(**params)
    from xmlp.sklearn import MLPClassifier

    backend, device = PLACES[contender]
    return MLPClassifier(**params, backend=backend, device=device)


def available(contender: str) -> tuple[bool, str]:
    module = {"sklearn": "sklearn", "xmlp-numpy": "scipy", "xmlp-torch": "torch",
              "xmlp-jax": "jax", "xmlp-cupy": "cupy", "xmlp-torch-cuda": "torch",
              "xmlp-jax-gpu": "jax"}[contender]
    if importlib.util.find_spec(module) is None:
        return False, f"{module} is not installed"
    if contender == "xmlp-torch-cuda":
        import torch

        if not torch.cuda.is_available():
            return False, f"torch {torch.__version__} sees no CUDA device"
    if contender == "xmlp-jax-gpu":
        import jax

        try:
            jax.devices("gpu")
        except RuntimeError:
            return False, f"jax {jax.__version__} sees no GPU"
    return True, ""


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="auto", choices=["auto", "fashion-mnist", "sample"])
    p.add_argument("--n-train", type=int, default=10000)
    p.add_argument("--n-test", type=int, default=2000)
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"],
                   help="the data's dtype (both estimators train in it)")
    p.add_argument("--epochs", type=int, default=5, help="max_iter of every fit")
    p.add_argument("--repeat", type=int, default=5, help="timed fits per contender")
    p.add_argument("--solvers", default="adam,sgd")
    p.add_argument("--contenders", default="xmlp-numpy,sklearn")
    p.add_argument("--pause", type=float, default=0.3, help="seconds between turns")
    p.add_argument("--threads", type=int, default=None,
                   help="limit BLAS / OpenMP (and torch) threads to N for every contender "
                        "(default: leave the settings as they are)")
    p.add_argument("--out", default=str(HERE / "results"))
    p.add_argument("--name", default=None,
                   help="file stem (default estimator-<machine>-<date>)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    contenders = [c for c in args.contenders.split(",") if c]
    unknown = sorted(set(contenders) - set(CONTENDERS))
    if unknown:
        raise SystemExit(f"unknown contenders {unknown}; choose from {list(CONTENDERS)}")
    skipped = {c: available(c)[1] for c in contenders if not available(c)[0]}
    contenders = [c for c in contenders if c not in skipped]
    if "xmlp-torch" in contenders:
        import torch  # (so that sysinfo.threads() reports its threads)

        if args.threads:
            torch.set_num_threads(args.threads)
    if args.threads:
        from threadpoolctl import threadpool_limits

        limits = threadpool_limits(limits=args.threads)  # noqa: F841  (held for the run)
    data = load_data(args.data, args.dtype, args.n_train, args.n_test)
    X, y, X_test, y_test = data.X_train, data.y_train, data.X_test, data.y_test
    print(f"data: {data.info['source']}, {X.shape[0]} training rows, {args.dtype}")
    records = []
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    for solver in [s for s in args.solvers.split(",") if s]:
        params = dict(SOLVERS[solver], max_iter=args.epochs, tol=0.0,
                      n_iter_no_change=args.epochs, random_state=0)
        times: dict[str, list[float]] = {c: [] for c in contenders}
        fitted, compile_seconds = {}, {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter is the point
            for c in contenders:  # warm-up: imports, first allocations; JAX compiles the
                rows = slice(None) if c.startswith("xmlp-jax") else slice(1000)  # shapes
                warm = make(c, dict(params, max_iter=1)).fit(X[rows], y[rows])
                if c.startswith("xmlp-"):
                    compile_seconds[c] = warm.history_.compile_seconds
            for _ in range(args.repeat):
                for c in contenders:
                    est = make(c, params)
                    start = time.perf_counter()
                    est.fit(X, y)
                    times[c].append(time.perf_counter() - start)
                    fitted[c] = est
                    time.sleep(args.pause)
        reference = fitted.get("sklearn")
        for c in contenders:
            est = fitted[c]
            rec = {"solver": solver, "contender": c, "what": CONTENDERS[c],
                   "params": params, "seconds": times[c],
                   "seconds_median": statistics.median(times[c]),
                   "epochs": int(est.n_iter_), "final_loss": float(est.loss_),
                   "compile_seconds_in_warmup": compile_seconds.get(c),
                   "test_accuracy": float(np.mean(np.asarray(est.predict(X_test)) == y_test))}
            if reference is not None and c != "sklearn":
                rec["max_coef_difference_vs_sklearn"] = max(
                    float(np.max(np.abs(np.asarray(a) - b)))
                    for a, b in zip(est.coefs_ + est.intercepts_,
                                    reference.coefs_ + reference.intercepts_))
            records.append(rec)
            print(f"{solver:5s} {c:11s} {rec['seconds_median']:.3f} s per fit "
                  f"({args.epochs} epochs), test accuracy {rec['test_accuracy']:.4f}")
    ratios = {}
    for rec in records:
        base = next((r for r in records if r["solver"] == rec["solver"]
                     and r["contender"] == "sklearn"), None)
        if base is not None and rec["contender"] != "sklearn":
            ratios[f"{rec['contender']} / sklearn, {rec['solver']}"] = round(
                rec["seconds_median"] / base["seconds_median"], 3)
    for key, value in ratios.items():
        print(f"{key}: {value}")
    command = " ".join(shlex.quote(a) for a in ["python", "benchmarks/estimator.py",
                                                 *(sys.argv[1:] if argv is None else argv)])
    doc = {"schema": 1, "command": command,
           "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
           "machine": {"cpu": sysinfo.cpu_name(), "gpu": sysinfo.gpu_name(),
                       "slug": sysinfo.machine_slug()},
           "versions": sysinfo.versions(), "threads": sysinfo.threads(), "data": data.info,
           "settings": {"dtype": args.dtype, "epochs": args.epochs, "repeat": args.repeat,
                        "pause_seconds": args.pause, "thread_limit": args.threads},
           "load_average": {"before": load_before,
                            "after": os.getloadavg() if hasattr(os, "getloadavg") else None},
           "skipped": skipped, "records": records, "ratios": ratios}
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = args.name or f"estimator-{sysinfo.machine_slug()}-{dt.date.today().isoformat()}"
    (out / f"{stem}.json").write_text(json.dumps(doc, indent=1) + "\n")
    (out / f"{stem}.md").write_text(markdown(doc))
    print(f"wrote {out / stem}.json and .md")
    return 0


def markdown(doc: dict) -> str:
    v, t = doc["versions"], doc["threads"]
    blas = ", ".join(f"{b['api']} {b['threads']} threads" for b in t.get("blas", [])
                     if isinstance(b, dict))
    lines = [f"# xmlp's MLPClassifier vs scikit-learn's: fit time ({doc['machine']['cpu']})",
             "", f"`{doc['command']}` — {doc['date']}", "",
             f"Versions: python {v.get('python')}, xmlp {v.get('xmlp')}, numpy "
             f"{v.get('numpy')}, scikit-learn {v.get('sklearn')}, torch {v.get('torch')}.  ",
             f"Threads: {t.get('cpu_count')} CPUs; {blas or 'BLAS unknown'}"
             + (f" (limited with --threads {doc['settings']['thread_limit']})"
                if doc["settings"].get("thread_limit") else "") + ".  ",
             f"Data: {doc['data'].get('source')}; {doc['data'].get('n_train')} training, "
             f"{doc['data'].get('n_test')} test rows, {doc['settings']['dtype']}.  ",
             f"Each fit: {doc['settings']['epochs']} epochs, median of "
             f"{doc['settings']['repeat']} fits, contenders interleaved in one process.  ",
             f"Load average (1, 5, 15 min) before / after: {_load(doc, 'before')} / "
             f"{_load(doc, 'after')} (other work on the machine slows 2-thread BLAS).", "",
             "| solver | contender | s per fit (median) | epochs | test accuracy "
             "| max coef difference vs scikit-learn | compiling (warm-up, s) |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in doc["records"]:
        diff = r.get("max_coef_difference_vs_sklearn")
        comp = r.get("compile_seconds_in_warmup")
        lines.append(f"| {r['solver']} | {r['contender']} | {r['seconds_median']:.3f} | "
                     f"{r['epochs']} | {r['test_accuracy']:.4f} | "
                     f"{'' if diff is None else f'{diff:.1e}'} | "
                     f"{f'{comp:.2f}' if comp else ''} |")
    lines += ["", "## Ratios (xmlp / scikit-learn; below 1: xmlp is faster)", "",
              "| | ratio |", "|---|---:|"]
    lines += [f"| {k} | {v:.3f} |" for k, v in doc["ratios"].items()]
    for name, reason in doc["skipped"].items():
        lines.append(f"\nNot run: {name} ({reason}).")
    return "\n".join(lines) + "\n"


def _load(doc: dict, when: str) -> str:
    values = (doc.get("load_average") or {}).get(when)
    return "n/a" if values is None else ", ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    raise SystemExit(main())
