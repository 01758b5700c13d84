"""Benchmark harness: xmlp vs PyTorch, scikit-learn, the book's loop and the FLOP limit.

    python benchmarks/run.py                           # every contender installed here, C1-C4
    python benchmarks/run.py --backend numpy           # what `nox -s "bench(backend='numpy')"` runs
    python benchmarks/run.py --contenders xmlp-numpy,torch --configs C3 --repeat 5
    python benchmarks/run.py --quick                   # minutes -> about a minute
    python benchmarks/run.py --list                    # contenders, groups, availability

Trains the same network with the same settings, initial weights and data (Fashion-MNIST
from Debian's dataset-fashion-mnist when present, else the embedded MNIST sample tiled to
60 000 rows) with each contender in its own subprocess (so peak RSS and thread pools are
its own), and merges the records into ``<out>/<machine>-<date>.json``, then rewrites the
Markdown table (``.md``) and bar chart (``.png``) next to it from all records of that file.
See benchmarks/README.md for how to read the ratios.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import pathlib
import platform
import select
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

import numpy as np  # noqa: E402
import sysinfo  # noqa: E402
from configs import CONFIGS, Config, flops_per_epoch, parse_configs  # noqa: E402
from contenders import CONTENDERS, make_trainer, measure_limit  # noqa: E402

SCHEMA = 1
SETTLE_SECONDS = 0.3  # idle time after a worker's timed repetition
FULL_N = 60_000


# --------------------------------------------------------------------------- data
@dataclass
class Data:
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    info: dict


def load_data(which: str, dtype: str, n_train: int | None, n_test: int | None) -> Data:
    """Fashion-MNIST from Debian's package (never downloaded here), else the sample tiled."""
    import xmlp

    ds, info = None, {}
    if which in ("auto", "fashion-mnist"):
        try:
            ds = xmlp.datasets.load("fashion-mnist", download=False, dtype=dtype)
            info = {"name": "fashion-mnist",
                    "source": "Fashion-MNIST (Debian dataset-fashion-mnist or xmlp's cache)"}
        except Exception as exc:  # DatasetNotFound, or files that do not read
            if which == "fashion-mnist":
                raise SystemExit(f"Fashion-MNIST not found ({exc}); "
                                 "apt-get install dataset-fashion-mnist") from exc
            info["fallback_reason"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    if ds is None:
        ds = _load_sample(dtype)
        reps = math.ceil(FULL_N / ds.train.X.shape[0])
        X = np.tile(ds.train.X, (reps, 1))[:FULL_N]
        y = np.tile(ds.train.y, reps)[:FULL_N]
        why = ("--data sample" if which == "sample" else
               "Fashion-MNIST not found: apt-get install dataset-fashion-mnist")
        info.update(name="mnist-sample-tiled",
                    source=f"embedded MNIST sample ({ds.train.X.shape[0]} rows) tiled {reps}x "
                           f"to {FULL_N} rows ({why})")
        train = (X, y)
    else:
        train = (ds.train.X, ds.train.y)
    test = (ds.test.X, ds.test.y)
    if n_train:
        train = (train[0][:n_train], train[1][:n_train])
    if n_test:
        test = (test[0][:n_test], test[1][:n_test])
    info.update(n_train=int(train[0].shape[0]), n_test=int(test[0].shape[0]))
    return Data(np.ascontiguousarray(train[0]), train[1].astype(np.int64),
                np.ascontiguousarray(test[0]), test[1].astype(np.int64), info)


def _load_sample(dtype: str):
    """The embedded sample; retried briefly (another engineer may be rewriting it)."""
    import xmlp

    for attempt in range(5):
        try:
            return xmlp.datasets.load("mnist-sample", dtype=dtype)
        except Exception:
            if attempt == 4:
                raise
            time.sleep(2)
    raise AssertionError("unreachable")


def save_data(data: Data, folder: pathlib.Path, dtype: str) -> dict:
    paths = {}
    for key in ("X_train", "y_train", "X_test", "y_test"):
        path = folder / f"{key}-{dtype}.npy"
        np.save(path, getattr(data, key))
        paths[key] = str(path)
    return {"paths": paths, "info": data.info}


def read_data(saved: dict) -> Data:
    arrays = {k: np.load(v) for k, v in saved["paths"].items()}
    return Data(info=saved["info"], **arrays)


# --------------------------------------------------------------------------- one record
class Measurement:
    """One contender on one config, in this process.

    ``prepare()`` builds the trainer and warms it up, each ``measure()`` is one timed
    repetition (a full epoch, or a subset of mini-batches scaled to the epoch), and
    ``record()`` finishes the record (accuracy, memory).  The harness interleaves the
    ``measure()`` calls of all contenders of a config, so that a machine whose speed drifts
    slows every contender alike instead of the one that happened to run then.
    """

    def __init__(self, spec: dict, data: Data):
        self.spec, self.data = spec, data
        self.cfg = CONFIGS[spec["config"]]
        self.contender = CONTENDERS[spec["contender"]]
        self.n = data.X_train.shape[0]
        self.rec = base_record(spec, self.cfg, self.contender, data)
        self.policy = spec["policy"] or self.contender.policy
        self.seconds: list[float] = []
        self.interference: list[dict] = []
        self.trainer = None

    def prepare(self) -> None:
        spec, cfg, rec = self.spec, self.cfg, self.rec
        t_setup = time.perf_counter()
        self.trainer = trainer = make_trainer(self.contender, cfg, self.data, spec["seed"])
        rec["setup_seconds"] = time.perf_counter() - t_setup
        rec["device_name"] = trainer.device_name()
        rec["notes"] = [self.contender.note] * bool(self.contender.note) + trainer.notes
        rec["rss_before_mb"] = sysinfo.rss_mb()
        rec["rss_peak_scope"] = ("training only (VmHWM reset after set-up)"
                                 if sysinfo.reset_peak_rss() else "whole process")
        trainer.device_memory_reset()
        rec["loadavg_before"] = _loadavg()
        self.n_batches = cfg.n_batches(self.n)
        if self.policy == "full":
            rec["warmup_seconds"] = _timed(trainer, trainer.epoch)
            rec["test_accuracy_epoch1"] = trainer.accuracy()
            return
        self.rows = _RowStream(self.n, spec["seed"] + 1)
        bs = cfg.batch_size
        warm = self.warm = min(spec["warmup_batches"], self.n_batches)
        rec["warmup_seconds"] = _timed(trainer, trainer.run_subset,
                                       trainer.subset(self.rows.take(warm * bs)))
        probe = _timed(trainer, trainer.run_subset, trainer.subset(self.rows.take(warm * bs)))
        self.k = int(min(self.n_batches,
                         max(1, math.ceil(spec["chunk_seconds"] / (probe / warm)))))

    def measure(self) -> float:
        trainer = self.trainer
        cpu_before = sysinfo.cpu_sample()
        if self.policy == "full":
            seconds = _timed(trainer, trainer.epoch)
        else:
            prepared = trainer.subset(self.rows.take(self.k * self.cfg.batch_size))
            seconds = _timed(trainer, trainer.run_subset, prepared) * self.n_batches / self.k
        self.seconds.append(seconds)
        disturbed = sysinfo.interference(cpu_before, sysinfo.cpu_sample())
        if disturbed is not None:
            self.interference.append(disturbed)
        return seconds

    def record(self) -> dict:
        rec, trainer, cfg = self.rec, self.trainer, self.cfg
        repeat, n_batches = len(self.seconds), self.n_batches
        rec["epoch_seconds"] = self.seconds
        if self.policy == "full":
            rec["trained_epochs"] = 1 + repeat
            rec["timing"] = {"policy": "full", "repeat": repeat, "warmup": "1 epoch",
                             "text": f"{repeat} x full epoch"}
        else:
            k = self.k
            rec["trained_epochs"] = (2 * self.warm + repeat * k) * cfg.batch_size / self.n
            extrapolated = k < n_batches
            rec["timing"] = {"policy": "subset", "repeat": repeat, "batches": k,
                             "n_batches": n_batches, "warmup": f"{2 * self.warm} mini-batches",
                             "extrapolated": extrapolated,
                             "text": (f"{repeat} x {k}/{n_batches} mini-batches, "
                                      f"x{n_batches / k:.4g}" if extrapolated
                                      else f"{repeat} x full epoch")}
        rec["timing"]["interleaved"] = bool(self.spec.get("interleaved"))
        rec["epoch_seconds_median"] = statistics.median(self.seconds)
        rec["samples_per_second"] = self.n / rec["epoch_seconds_median"]
        rec["gflops_per_second"] = (rec["flops_per_epoch"]["total"]
                                    / rec["epoch_seconds_median"] / 1e9)
        if getattr(trainer, "compile_seconds", None):
            rec["compile_seconds"] = trainer.compile_seconds  # in the warm-up, not timed
        if getattr(trainer, "internal_seconds", None):
            rec["internal_seconds"] = trainer.internal_seconds
            if self.policy == "full":  # fit() minus its mini-batch loop: checks, the fetch
                inner = trainer.internal_seconds[-repeat:]
                rec["outside_loop_seconds"] = statistics.median(
                    a - b for a, b in zip(self.seconds, inner))
        rec["loadavg_after"] = _loadavg()
        rec["interference"] = ({key: max(i[key] for i in self.interference)
                                for key in self.interference[0]}
                               if self.interference else None)  # the worst repetition
        rec["test_accuracy"] = trainer.accuracy()
        rec["peak_rss_mb"] = sysinfo.peak_rss_mb()
        rec["device_peak_mb"] = trainer.device_peak_mb()
        rec["threads"] = sysinfo.threads()  # after the libraries are loaded
        return rec


def limit_record(spec: dict, data: Data) -> dict:
    """The FLOP-limit 'contender': computed from GEMM rates measured now."""
    cfg, contender = CONFIGS[spec["config"]], CONTENDERS[spec["contender"]]
    n = data.X_train.shape[0]
    rec = base_record(spec, cfg, contender, data)
    rec["loadavg_before"] = _loadavg()
    cpu_before = sysinfo.cpu_sample()
    rec.update(measure_limit(contender, cfg, n, repeat=max(spec["repeat"], 5),
                             min_seconds=spec["gemm_seconds"], peak_size=spec.get("gemm_size")))
    rec["interference"] = sysinfo.interference(cpu_before, sysinfo.cpu_sample())
    rec["device_name"] = _device_name(contender)
    rec["timing"] = {"policy": "computed", "text": "FLOPs / GEMM peak"}
    rec["samples_per_second"] = n / rec["epoch_seconds_median"]
    rec["threads"] = sysinfo.threads()
    return rec


def _timed(trainer, fn, *args) -> float:
    trainer.sync()
    t0 = time.perf_counter()
    fn(*args)
    trainer.sync()  # queued device work belongs to this interval
    return time.perf_counter() - t0


def _error(spec: dict, exc: BaseException) -> dict:
    return {"config": spec["config"], "contender": spec["contender"],
            "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}


def _loadavg() -> list[float] | None:
    """1-, 5- and 15-minute load averages: other work on the machine shows here."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


class _RowStream:
    """Consecutive slices of seeded permutations (same rows for every subset contender)."""

    def __init__(self, n: int, seed: int):
        self.n, self.rng, self.buf = n, np.random.default_rng(seed), np.empty(0, np.int64)

    def take(self, k: int) -> np.ndarray:
        while self.buf.shape[0] < k:
            self.buf = np.concatenate([self.buf, self.rng.permutation(self.n)])
        out, self.buf = self.buf[:k], self.buf[k:]
        return out


def _device_name(contender) -> str:
    if contender.device == "cpu":
        return sysinfo.cpu_name()
    from contenders import _cuda_name

    return _cuda_name(contender.library)


def base_record(spec: dict, cfg: Config, contender, data: Data) -> dict:
    n = data.X_train.shape[0]
    return {
        "config": cfg.name, "settings": cfg.as_dict(), "contender": contender.name,
        "label": contender.label, "kind": contender.kind, "library": contender.library,
        "device": contender.device, "group": contender.group, "dtype": cfg.dtype,
        "n_train": n, "n_test": int(data.X_test.shape[0]), "data": data.info,
        "flops_per_epoch": flops_per_epoch(cfg, n), "versions": sysinfo.versions(),
        "host": platform.node(), "pid": os.getpid(),
        "timestamp": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def child_main(spec_path: str) -> int:
    """Subprocess entry.  A FLOP limit is measured and written at once.  A trainer becomes a
    worker: it answers the parent's commands on stdin ("prepare", "measure", "record") with
    one JSON line each on the original stdout; whatever the libraries print goes to stderr.
    The record (or the error) is written to ``spec["result"]``."""
    spec = json.loads(pathlib.Path(spec_path).read_text())
    reply = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)

    def answer(**kw) -> None:
        reply.write(json.dumps(kw, default=_json_default) + "\n")

    def write(rec: dict) -> None:
        pathlib.Path(spec["result"]).write_text(json.dumps(rec, default=_json_default))

    try:
        data = read_data(spec["data"])
        if CONTENDERS[spec["contender"]].kind == "limit":
            write(limit_record(spec, data))
            return 0
        m = Measurement(spec, data)
        for line in sys.stdin:
            command = line.strip()
            if command == "prepare":
                m.prepare()
                answer(ok=True)
            elif command == "measure":
                seconds = m.measure()
                # BLAS and OpenMP pools spin for a while after their last task: let them go
                # idle before the next worker's clock starts.
                time.sleep(SETTLE_SECONDS)
                answer(seconds=seconds)
            elif command == "record":
                write(m.record())
                answer(ok=True)
                return 0
            else:
                raise ValueError(f"unknown command {command!r}")
    except Exception as exc:
        write(_error(spec, exc))
        answer(error=f"{type(exc).__name__}: {exc}")
    return 0


def _child_spec(spec: dict, saved: dict, tmp: pathlib.Path) -> tuple[dict, pathlib.Path]:
    """The spec a child process reads (with where the data is and where its record goes),
    written to ``tmp``."""
    key = f"{spec['config']}-{spec['contender']}"
    spec = dict(spec, data=saved, result=str(tmp / f"{key}.result.json"))
    spec_path = tmp / f"{key}.spec.json"
    spec_path.write_text(json.dumps(spec))
    return spec, spec_path


class _Worker:
    """The parent's handle on one trainer subprocess (see :func:`child_main`)."""

    def __init__(self, spec: dict, saved: dict, tmp: pathlib.Path, timeout: float):
        self.spec, spec_path = _child_spec(spec, saved, tmp)
        self.timeout, self.failed = timeout, None
        self.stderr = open(spec_path.with_suffix(".stderr"), "w+")  # noqa: SIM115 (result())
        self.proc = subprocess.Popen([sys.executable, __file__, "--child", str(spec_path)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, text=True)

    def ask(self, command: str) -> dict | None:
        """Send a command, wait for its answer; None once the worker has failed."""
        if self.failed:
            return None
        try:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
            ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout)
            line = self.proc.stdout.readline() if ready else ""
        except (BrokenPipeError, OSError):
            ready, line = True, ""
        if not ready:
            self.proc.kill()
            self.failed = f"timed out after {self.timeout:g} s ({command})"
        elif not line:
            self.failed = f"the subprocess exited with {self.proc.wait()} and no answer"
        else:
            reply = json.loads(line)
            self.failed = reply.get("error")
            if not self.failed:
                return reply
        return None

    def result(self) -> dict:
        if self.proc.poll() is None and not self.failed:
            self.ask("record")
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        result = pathlib.Path(self.spec["result"])
        if result.exists():
            rec = json.loads(result.read_text())
        else:
            self.stderr.seek(0)
            rec = {"config": self.spec["config"], "contender": self.spec["contender"],
                   "error": self.failed or "no result", "stderr": self.stderr.read()[-4000:]}
        self.stderr.close()
        return rec


def interleaved(specs: list[dict], saved: dict | None, data: Data | None,
                tmp: pathlib.Path, timeout: float) -> list[dict]:
    """Prepare every trainer in turn, then time them round-robin, ``repeat`` rounds: a
    drift in the machine's speed (other tenants, clocks) then falls on all of them alike."""
    repeat = specs[0]["repeat"] if specs else 0
    if data is not None:  # --in-process
        ms, records = [], {}
        for spec in specs:
            try:
                m = Measurement(spec, data)
                m.prepare()
                ms.append(m)
            except Exception as exc:
                records[spec["contender"]] = _error(spec, exc)
        for _ in range(repeat):
            for m in list(ms):
                try:
                    m.measure()
                except Exception as exc:
                    records[m.spec["contender"]] = _error(m.spec, exc)
                    ms.remove(m)
        for m in ms:
            try:
                records[m.spec["contender"]] = m.record()
            except Exception as exc:
                records[m.spec["contender"]] = _error(m.spec, exc)
        return [records[spec["contender"]] for spec in specs]
    workers = [_Worker(spec, saved, tmp, timeout) for spec in specs]
    for w in workers:
        w.ask("prepare")
    for _ in range(repeat):
        for w in workers:
            w.ask("measure")
    return [w.result() for w in workers]


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    return str(o)


# --------------------------------------------------------------------------- the run
def choose_contenders(args) -> list:
    if args.contenders:
        names = [s.strip() for s in args.contenders.split(",") if s.strip()]
    else:
        names = ["all"]
    out = []
    for name in names:
        if name == "all":
            out += list(CONTENDERS)
        elif name == "cpu":
            out += [c.name for c in CONTENDERS.values() if c.device == "cpu"]
        elif name in CONTENDERS:
            out.append(name)
        else:
            raise SystemExit(f"unknown contender {name!r}; known: {', '.join(CONTENDERS)}, "
                             "all, cpu")
    if args.backend:
        groups = set(args.backend.split(","))
        out = [c for c in out if CONTENDERS[c].group in groups]
    return list(dict.fromkeys(out))


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.splitlines()[1:]))
    p.add_argument("--configs", default="C1,C2,C3,C4", help="C1..C4, T (tiny) or all")
    p.add_argument("--contenders", default=None,
                   help="comma list of names (see --list), 'cpu' or 'all' (default: all)")
    p.add_argument("--backend", default=None,
                   help="only the contenders of these nox bench(backend) groups (comma list)")
    p.add_argument("--out", default=str(HERE / "results"), help="results folder")
    p.add_argument("--repeat", type=int, default=5, help="timed repetitions (median)")
    p.add_argument("--quick", action="store_true",
                   help="every trainer on a subset of mini-batches, 1 repeat, small GEMMs")
    p.add_argument("--full", action="store_true",
                   help="full epochs for every trainer (the book's loop takes long)")
    p.add_argument("--chunk-seconds", type=float, default=None,
                   help="target seconds per timed subset (default 1.5; quick 0.2)")
    p.add_argument("--warmup-batches", type=int, default=None,
                   help="warm-up mini-batches of subset-timed trainers (default 10; quick 3)")
    p.add_argument("--data", default="auto", choices=["auto", "fashion-mnist", "sample"])
    p.add_argument("--n-train", type=int, default=None, help="use only the first N rows")
    p.add_argument("--n-test", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--in-process", action="store_true",
                   help="no subprocess per contender (faster; peak RSS then shares a process)")
    p.add_argument("--fresh", action="store_true",
                   help="start the results file anew instead of merging into it")
    p.add_argument("--timeout", type=float, default=1200, help="seconds per contender")
    p.add_argument("--name", default=None, help="results file stem (default <machine>-<date>)")
    p.add_argument("--list", action="store_true", help="list the contenders and exit")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.quick and args.full:
        p.error("--quick and --full exclude each other")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child_main(args.child)
    if args.list:
        for c in CONTENDERS.values():
            ok, reason = c.available()
            print(f"{c.name:24} group={c.group:17} {c.device:5} "
                  f"{'available' if ok else 'skipped: ' + reason}")
        return 0
    configs = parse_configs(args.configs)
    chosen = choose_contenders(args)
    started = time.perf_counter()
    command = repo_command()
    session = os.environ.get("NOX_CURRENT_SESSION")
    skipped, runnable = {}, []
    for name in chosen:
        ok, reason = CONTENDERS[name].available()
        (runnable.append(name) if ok else skipped.setdefault(name, reason))
    for name, reason in skipped.items():
        print(f"skip {name}: {reason}", flush=True)
    spec_common = {
        "repeat": 1 if args.quick else args.repeat,
        "policy": "subset" if args.quick else ("full" if args.full else None),
        "chunk_seconds": args.chunk_seconds or (0.2 if args.quick else 1.5),
        "warmup_batches": args.warmup_batches or (3 if args.quick else 10),
        "gemm_seconds": 0.05 if args.quick else 0.2,
        "gemm_size": 1024 if args.quick else None,
        "seed": args.seed,
    }
    records = []
    with tempfile.TemporaryDirectory(prefix="xmlp-bench-") as tmp:
        tmp = pathlib.Path(tmp)
        data_by_dtype, saved = {}, {}
        for dtype in sorted({c.dtype for c in configs}):
            data_by_dtype[dtype] = load_data(args.data, dtype, args.n_train, args.n_test)
            if not args.in_process:
                saved[dtype] = save_data(data_by_dtype[dtype], tmp, dtype)
        info = next(iter(data_by_dtype.values())).info
        print(f"data: {info['source']} ({info['n_train']} train / {info['n_test']} test)",
              flush=True)
        if not args.in_process:
            data_by_dtype.clear()  # the children read their copies; free the parent's
        for cfg in configs:
            limits = [n for n in runnable if CONTENDERS[n].kind == "limit"]
            trainers = [n for n in runnable if n not in limits]
            done = []
            for name in limits:
                spec = dict(spec_common, config=cfg.name, contender=name)
                if args.in_process:
                    done.append(_in_process(spec, data_by_dtype[cfg.dtype]))
                else:
                    done.append(_subprocess(spec, saved[cfg.dtype], tmp, args.timeout))
            specs = [dict(spec_common, config=cfg.name, contender=name,
                          interleaved=len(trainers) > 1) for name in trainers]
            done += interleaved(specs, saved.get(cfg.dtype),
                                data_by_dtype.get(cfg.dtype) if args.in_process else None,
                                tmp, args.timeout)
            for rec in done:
                rec.update(command=command, session=session)
                records.append(rec)
                print(progress_line(rec), flush=True)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = args.name or f"{sysinfo.machine_slug()}-{dt.date.today().isoformat()}"
    path = out / f"{stem}.json"
    doc = merge(path, records, fresh=args.fresh, run={
        "command": command, "session": session, "argv": sys.argv[1:],
        "started": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "seconds": time.perf_counter() - started,
        "skipped": skipped})
    path.write_text(json.dumps(doc, indent=1, default=_json_default) + "\n")
    import report

    md, png = report.write(doc, out / stem)
    print(f"\nwrote {path}\n      {md}\n      {png}\n", flush=True)
    print(pathlib.Path(md).read_text(), flush=True)
    print(f"harness wall time {time.perf_counter() - started:.1f} s", flush=True)
    return 0


def repo_command() -> str:
    """This run's command line as anyone can retype it in a clone of the repository:
    ``python benchmarks/epoch.py ...``, with paths relative to the repository root and
    no path of the machine that ran it (interpreter, nox virtualenv, home folder)."""
    root = pathlib.Path(__file__).resolve().parent.parent

    def relative(arg: str) -> str:
        if not os.path.isabs(arg):
            return arg
        try:
            return str(pathlib.Path(arg).resolve().relative_to(root))
        except ValueError:
            return pathlib.Path(arg).name

    return " ".join(["python", *(shlex.quote(relative(a)) for a in sys.argv)])


def _in_process(spec: dict, data: Data) -> dict:
    """A FLOP limit, measured in this process."""
    try:
        return limit_record(spec, data)
    except Exception as exc:
        return _error(spec, exc)


def _subprocess(spec: dict, saved: dict, tmp: pathlib.Path, timeout: float) -> dict:
    """A FLOP limit, measured in a subprocess of its own."""
    spec, spec_path = _child_spec(spec, saved, tmp)
    try:
        proc = subprocess.run([sys.executable, __file__, "--child", str(spec_path)],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"config": spec["config"], "contender": spec["contender"],
                "error": f"timed out after {timeout:g} s"}
    result = pathlib.Path(spec["result"])
    if result.exists():
        return json.loads(result.read_text())
    return {"config": spec["config"], "contender": spec["contender"],
            "error": f"the subprocess exited with {proc.returncode} and no result",
            "stderr": proc.stderr[-4000:]}


def progress_line(rec: dict) -> str:
    head = f"{rec['config']:3} {rec['contender']:22}"
    if "error" in rec:
        return f"{head} ERROR {rec['error']}"
    acc = rec.get("test_accuracy")
    parts = [f"{rec['epoch_seconds_median']:9.3f} s/epoch", f"({rec['timing']['text']})"]
    if acc is not None:
        parts.append(f"acc {acc:.4f} after {rec['trained_epochs']:.3g} ep")
    if rec.get("peak_rss_mb"):
        parts.append(f"peak RSS {rec['peak_rss_mb']:.0f} MiB")
    if rec.get("gemm_peak_gflops"):
        parts.append(f"GEMM peak {rec['gemm_peak_gflops']:.1f} GFLOP/s")
    return f"{head} " + "  ".join(parts)


def merge(path: pathlib.Path, records: list[dict], fresh: bool, run: dict) -> dict:
    """Records of earlier runs in the same file stay unless this run measured the same
    (config, contender) again; each run's command is kept in ``runs``."""
    doc = None
    if path.exists() and not fresh:
        try:
            doc = json.loads(path.read_text())
            if doc.get("schema") != SCHEMA:
                doc = None
        except (OSError, ValueError):
            doc = None
    if doc is None:
        doc = {"schema": SCHEMA, "runs": [], "records": []}
    doc["machine"] = {"cpu": sysinfo.cpu_name(), "gpu": sysinfo.gpu_name(),
                      "cpu_count": os.cpu_count(), "platform": platform.platform(),
                      "host": platform.node()}
    new = {(r["config"], r["contender"]) for r in records}
    doc["records"] = [r for r in doc["records"] if (r["config"], r["contender"]) not in new]
    doc["records"] += records
    doc["runs"].append(run)
    return doc


if __name__ == "__main__":
    raise SystemExit(main())
