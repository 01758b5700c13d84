"""``xmlp sweep``: many ``xmlp train`` runs over a grid or a search space, on Dask workers,
with the trials kept in an Optuna study (see :mod:`xmlp.sweep`).

    xmlp sweep --grid eta=0.1,0.5,1.0 --grid lmbda=0,1 --epochs 3 --workers 2
    xmlp sweep --search tpe --trials 30 --space eta=0.01:10:log --space lmbda=0:5 \\
               --prune hyperband --dataset mnist --epochs 30
    xmlp sweep --scheduler tcp://host:8786 --backend cupy --resources GPU=1 ...

Every ``xmlp train`` option sets the trials' common settings; ``--grid`` / ``--space`` name
the options that vary (their ``xmlp train`` names, e.g. eta, lmbda, batch-size, epochs,
momentum, dropout, cost, seed).  The end is a table of trials, best first, the best
settings and the ``xmlp train`` command that reproduces the best trial.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
import types
from pathlib import Path
from typing import Any

from . import options as opt
from .data import check_distinct, check_writable, pct
from .errors import CLIError, UsageError, one_line, version
from .presets import train_config
from .progress import Printer
from .runs import add_train_options, fit_kwargs, load_splits, network_kwargs
from .sweep_space import (
    DATA_OPTIONS,
    format_value,
    parse_grid,
    parse_resources,
    parse_space,
    reproduce,
    train_actions,
)

NAME = "sweep"
MEMORY_HINT = ("fewer --workers, a smaller network (--sizes) or a smaller --batch-size "
               "needs less")
SEARCHES = ("grid", "random", "tpe")
PRUNERS = ("none", "halving", "hyperband")
METRICS = tuple(f"{s}_{q}" for s in ("validation", "test", "training", "evaluation")
                for q in ("accuracy", "cost"))
INSTALL = "pip install 'xmlp[sweep]'"
#: xmlp train options that describe the data rather than a trial; never swept.


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        NAME, help="run many trainings over a grid or a search space (Dask + Optuna)",
        description="Train many networks that differ in a few options and compare them, as "
                    "chapter 3 of the book chooses eta, lmbda, the mini-batch size and the "
                    "epochs. Every xmlp train option sets what the trials share; --grid or "
                    "--space name the options that vary. Trials run on Dask workers (a local "
                    "cluster by default) and are kept in an Optuna study: run the same "
                    "command again to resume a killed sweep or to reprint a finished one.",
        formatter_class=opt.HelpFormatter)
    add_train_options(p)
    g = p.add_argument_group("search")
    g.add_argument("--grid", action="append", metavar="NAME=V1,V2,...",
                   help="values of one option (repeatable); every combination runs once, "
                        "e.g. --grid eta=0.1,0.5,1.0 --grid lmbda=0,1")
    g.add_argument("--search", choices=SEARCHES,
                   help="grid (every combination of --grid), or random / tpe search of "
                        "--space ranges and --grid choices (default: grid with only --grid, "
                        "else tpe)")
    g.add_argument("--trials", type=opt.positive_int,
                   help="number of trials of a random or TPE search (default: 20)")
    g.add_argument("--space", action="append", metavar="NAME=LO:HI[:log]",
                   help="range of one option for random / TPE search (repeatable), e.g. "
                        "--space eta=0.01:10:log; integer options draw integers")
    g.add_argument("--prune", choices=PRUNERS, default="none",
                   help="stop unpromising trials early: successive halving or Hyperband "
                        "on the metric of each epoch")
    g.add_argument("--metric", choices=METRICS, metavar="SPLIT_QUANTITY",
                   help="what to compare: the final network's accuracy (maximised) or cost "
                        "(minimised) on a split: validation, test, training or evaluation "
                        "(the split each epoch is evaluated on) _ accuracy or cost (default: "
                        "validation_accuracy when there is validation data, else "
                        "test_accuracy)")
    g = p.add_argument_group("workers")
    g.add_argument("--workers", type=opt.positive_int,
                   help="start a local Dask cluster of N single-threaded workers, BLAS "
                        "pinned to one thread each (default: one per core)")
    g.add_argument("--scheduler", metavar="ADDRESS",
                   help="use the running Dask cluster at this address (tcp://host:8786) "
                        "instead: CPU workers, dask-cuda workers with --backend cupy, ...")
    g.add_argument("--resources", action="append", metavar="NAME=N",
                   help="Dask resources each trial needs (repeatable), e.g. GPU=1 for "
                        "workers started with --resources GPU=1")
    g.add_argument("--pack", type=opt.positive_int, default=1, metavar="K",
                   help="train up to K trials of the same shape as one population on a "
                        "worker (xmlp.Population): trials that differ only in eta, lmbda, "
                        "l1, momentum, dropout, early stopping, schedule or seed; each is "
                        "still recorded, pruned and resumed as its own trial (default: 1, "
                        "one trial per task)")
    g.add_argument("--heartbeat", type=opt.positive_float, default=2.0, metavar="SECONDS",
                   help="how often running trials are marked alive; the trials of a killed "
                        "sweep are retried once 3 beats are missed")
    g = p.add_argument_group("storage and output")
    g.add_argument("--storage", metavar="URL",
                   help="Optuna storage URL, e.g. sqlite:///sweep.db or "
                        "postgresql://user@host/db (default: an SQLite file beside --out)")
    g.add_argument("--study", metavar="NAME",
                   help="study name (default: derived from the sweep's options, so that the "
                        "same command finds its study again)")
    g.add_argument("--out", default="sweep.csv", metavar="CSV",
                   help="the table of trials, best first")
    g.add_argument("--plot", metavar="PNG",
                   help="metric against each swept option and the best trials' learning "
                        "curves (default: sweep.png beside --out when matplotlib is "
                        "installed)")
    g.add_argument("--no-plot", action="store_true", help="draw no picture")
    g.add_argument("--progress", action="store_true",
                   help="show the progress bar even when stderr is not a terminal")
    g.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(jsonl=False)
    return p


# =============================================================== options -> sweep
def _load_data(options: dict, cfg: dict):
    """Run on each worker (once per process): the data exactly as ``xmlp train`` loads
    them, including --expand and --downsample."""
    data = load_splits(argparse.Namespace(**options), cfg)
    return types.SimpleNamespace(train=data["train"], validation=data["validation"],
                                 test=data["test"])


def _configure(args: argparse.Namespace, sizes: list[int], params: dict):
    """One trial's Network and fit arguments: ``xmlp train``'s, with the params as options."""
    trial_args = argparse.Namespace(**{**vars(args), **params})
    cfg = train_config(trial_args)
    cfg["sizes"] = sizes
    return network_kwargs(cfg, args.device), fit_kwargs(cfg)


# =============================================================== the command
def run(args: argparse.Namespace) -> int:
    try:
        from .. import sweep as library
    except ImportError as exc:
        missing = f"{exc.name} is not installed" if exc.name else one_line(exc)
        raise CLIError(f"xmlp sweep needs Dask and Optuna ({missing}): {INSTALL}") from None
    import optuna

    from ..sweep.study import _ATTR, _sqlite_file, check_storage

    out = Printer(args)
    actions = train_actions()
    grid = parse_grid(args.grid or [], actions)
    space = parse_space(args.space or [], actions)
    if not grid and not space:
        raise UsageError("nothing to sweep: give --grid NAME=V1,V2,... (e.g. --grid "
                       "eta=0.1,0.5,1.0) or --search random|tpe with --space NAME=LO:HI")
    search = args.search or ("grid" if not space else "tpe")
    if search == "grid" and space:
        raise UsageError("--space needs --search random or tpe; a grid takes --grid values")
    if search == "grid" and args.trials:
        raise UsageError("--trials is for --search random or tpe; a grid runs every "
                       "combination once")
    if args.scheduler and args.workers:
        raise UsageError("give --workers (a local cluster) or --scheduler (a running one), "
                       "not both")
    resources = parse_resources(args.resources or [])
    out_path = Path(args.out)
    check_writable(args.out, "--out", (".csv",))
    plot = None if args.no_plot else (args.plot or str(out_path.with_suffix(".png")))
    if plot:
        check_writable(plot, "--plot", (".png",))
        if not _has_matplotlib():
            if args.plot:
                raise CLIError("--plot needs matplotlib: pip install 'xmlp[plot]'")
            out.say("note: no plot (matplotlib is not installed: pip install 'xmlp[plot]')")
            plot = None
    storage = args.storage or f"sqlite:///{out_path.resolve().with_suffix('.db')}"
    check_distinct({"--out": args.out, "--plot": plot,
                    "--storage": str(_sqlite_file(storage) or "") or None})
    check_storage(storage)  # before the data load and the workers
    if args.data_dir:
        args.data_dir = str(Path(args.data_dir).resolve())  # workers may run elsewhere

    cfg = train_config(args)
    t0 = time.perf_counter()
    data = load_splits(args, cfg)  # validates the options here, before any worker starts
    cfg["sizes"] = data["sizes"]
    eval_name = data["eval_name"]
    has_validation = data["validation"] is not None
    del data  # the workers load their own copy; this one was for checking the options
    metric = args.metric or ("validation_accuracy" if has_validation else "test_accuracy")
    split = metric.rsplit("_", 1)[0]
    if split == "validation" and not has_validation:
        raise UsageError(f"--metric {metric}: there is no validation data; hold some out "
                       "with --validation N")
    if args.prune != "none" and split not in ("training", "evaluation", eval_name):
        raise UsageError(f"--prune watches the metric every epoch, on the training or the "
                       f"{eval_name} split; --metric {metric} is measured at the end only")

    options = {k: getattr(args, k) for k in DATA_OPTIONS}
    loader = functools.partial(_load_data, options,
                               {"dtype": cfg["dtype"], "sizes": cfg["sizes"],
                                "hidden_layers": cfg["hidden_layers"]})
    base_net, base_fit = _configure(args, cfg["sizes"], {})
    n_trials = None if search == "grid" else (args.trials or 20)
    out.say(f"xmlp {version()}: sweep of {', '.join(grid) if grid else ''}"
            f"{', ' if grid and space else ''}{', '.join(space)} ({search}"
            f"{'' if search == 'grid' else f', {n_trials} trials'}"
            f"{'' if args.prune == 'none' else f', {args.prune} pruning'}) on {args.dataset}, "
            f"{cfg['sizes']}, metric {metric}")
    if metric.startswith("test_") and not has_validation:
        out.say("  note: the trials are compared on the test split; hold out data with "
                "--validation N to keep the test accuracy unbiased")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    workers = None if args.scheduler else args.workers
    where = args.scheduler or f"a local cluster of {workers or library._cores()} workers"
    packs = f", in packs of up to {args.pack} trials" if args.pack > 1 else ""
    out.say(f"  storage {storage}; trials run on {where}{packs}")

    show_bar = (args.progress or sys.stderr.isatty()) and not args.quiet
    result = library.run(
        loader, base_net, base_fit, grid=grid, space=space, search=search, trials=n_trials,
        prune=args.prune, metric=metric, workers=workers, scheduler=args.scheduler,
        storage=storage, study=args.study, resources=resources or None,
        configure=functools.partial(_configure, args, cfg["sizes"]),
        heartbeat=args.heartbeat, progress=show_bar, pack=args.pack,
        on_message=lambda m: out.say(f"  {m}"))
    out.say(f"  study {result.study.study_name}: {result.ran} trial"
            f"{'' if result.ran == 1 else 's'} run now, {len(result.rows)} in the table "
            f"({time.perf_counter() - t0:.1f} s)")
    _print_table(out, result, metric)
    best = result.best
    problems = []
    try:
        result.to_csv(out_path)
        out.say(f"wrote the table to {args.out}")
    except OSError as exc:
        problems.append(f"--out {args.out}: could not write it ({exc.strerror or exc})")
    if plot:
        from .plots import plot_sweep

        try:
            plot_sweep(Path(plot), result.rows, result.params, metric, result.definition,
                       f"{args.dataset}: {metric} by {', '.join(result.params)}")
            out.say(f"wrote the plot to {plot}")
        except OSError as exc:
            problems.append(f"--plot {plot}: could not write it ({exc.strerror or exc})")
    if best is None:
        raise CLIError("no trial completed; see the errors in the table")
    out.say()
    params = {p: best[p] for p in result.params}
    out.say(f"best: trial {best['trial']}, {metric} {_shown(metric, best[metric])} with "
            + ", ".join(f"{p.replace('_', '-')}={format_value(v)}" for p, v in params.items()))
    out.say(f"reproduce: {reproduce(args, params, actions)}")
    packed = any(t.number == best["trial"] and t.user_attrs.get(_ATTR, {}).get("pack")
                 for t in result.study.get_trials(deepcopy=False))
    exactly = "to 1e-12, as it trained in a pack," if packed else "bit for bit"
    out.say(f"  ({exactly} with the workers' BLAS setting: prefix it with "
            "OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1)")
    if problems:
        raise CLIError("; ".join(problems))
    return 0


def _short(value: Any) -> str:
    """Table cells: a float as typed when short (1.0, 0.001), else 4 digits."""
    text = format_value(value)
    return f"{value:.4g}" if isinstance(value, float) and len(text) > 8 else text


def _has_matplotlib() -> bool:
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def _shown(metric: str, value: Any) -> str:
    if value is None:
        return "-"
    return pct(value) if metric.endswith("accuracy") else f"{value:.4f}"


def _print_table(out: Printer, result, metric: str) -> None:
    rows, params = result.rows, result.params
    others = [m for m in ("validation_accuracy", "test_accuracy", "training_accuracy")
              if m != metric and any(r.get(m) is not None for r in rows)]
    head = ["trial", "state", *[p.replace("_", "-") for p in params], metric, *others,
            "epochs", "seconds", "note"]
    body = []
    for r in rows:
        note = r.get("error") or ""
        if r.get("resumed_from"):
            note = f"resumed from epoch {r['resumed_from']}"
        if r["state"] == "pruned":
            note = f"pruned after epoch {r.get('epochs')}"
        body.append([str(r["trial"]), r["state"], *[_short(r[p]) for p in params],
                     _shown(metric, r.get(metric)),
                     *[_shown(m, r.get(m)) for m in others],
                     "-" if r.get("epochs") is None else str(r["epochs"]),
                     "-" if r.get("seconds") is None else f"{r['seconds']:.1f}",
                     note if len(note) <= 70 else note[:67] + "..."])
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h)
              for i, h in enumerate(head)]
    out.say()
    for line in [head, *body]:
        cells = [c.ljust(w) if i in (1, len(head) - 1) else c.rjust(w)
                 for i, (c, w) in enumerate(zip(line, widths))]
        out.say("  " + "  ".join(cells).rstrip())
