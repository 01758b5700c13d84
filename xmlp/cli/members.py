"""``xmlp train`` with several members: one network per seed (``--seeds 0-4``) or per value
of a comma list (``--eta 0.025,0.25,2.5``), trained as one :class:`xmlp.Population`; one row
per member, their mean, standard deviation and standard error, and the ensemble's row."""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from .data import check_distinct, check_writable, pct
from .errors import CLIError, UsageError, version
from .plots import plot_members, require_matplotlib
from .progress import Printer, Progress

#: The options that may take one value per member (comma lists).
PER_MEMBER = ("eta", "lmbda", "l1", "momentum", "dropout")


def population_size(args: argparse.Namespace) -> int | None:
    """How many members the run trains (None: one network, the usual run); a usage error
    when the lists disagree."""
    lengths = {f"--{name}": len(getattr(args, name)) for name in PER_MEMBER
               if isinstance(getattr(args, name, None), list)}
    if getattr(args, "seeds", None) is not None:
        lengths["--seeds"] = len(args.seeds)
    if not lengths:
        return None
    if len(set(lengths.values())) > 1:
        given = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise UsageError(f"one value per member: the lists must be as long as each other "
                         f"({given})")
    return next(iter(lengths.values()))


def _values(cfg: dict, name: str, k: int) -> list:
    value = cfg[name]
    return list(value) if isinstance(value, list) else [value] * k


def check_folders(args: argparse.Namespace) -> None:
    """--save and --checkpoint name folders here (one file per member): their parent must
    take them; --log and --plot are files, as for one network."""
    check_distinct({"--save": args.save, "--checkpoint": args.checkpoint, "--log": args.log,
                    "--plot": args.plot})
    for option, path in (("--save", args.save), ("--checkpoint", args.checkpoint)):
        if not path:
            continue
        folder = Path(path)
        if folder.exists() and not folder.is_dir():
            raise CLIError(f"{option} {path}: a file is there; with several members it "
                           "names a folder (one file per member)")
        # a new folder's parent must take it; an existing folder must take its files
        check_writable(str(folder / "member-0") if folder.is_dir() else path, option)
    check_writable(args.log, "--log", (".json",))
    check_writable(args.plot, "--plot")


def run_members(args: argparse.Namespace, k: int) -> int:
    """Train ``k`` members; print their rows, spread and ensemble; return the exit status."""
    from .. import Population
    from ..backend import device_name, dtype_name, resolve
    from .data import resolve_device
    from .presets import train_config
    from .runs import describe, fit_kwargs, load_splits

    out = Printer(args)
    check_folders(args)
    if args.plot:
        require_matplotlib()
    cfg = train_config(args)
    seeds = args.seeds if args.seeds is not None else [args.seed] * k
    device_obj = resolve_device(args.backend, args.device)
    resolve(args.backend, device_obj)
    t_start = time.perf_counter()
    data = load_splits(args, cfg)
    train, validation, test = data["train"], data["validation"], data["test"]
    eval_name, sizes = data["eval_name"], data["sizes"]
    cfg["sizes"] = sizes
    pop = Population(sizes, seeds=seeds, hidden=cfg["hidden"], output=cfg["output"],
                     cost=cfg["cost"], init=cfg["init"], backend=cfg["backend"],
                     device=device_obj, dtype=cfg["dtype"])
    device, dtype = device_name(pop.device), dtype_name(pop.dtype)
    varying = [name for name in PER_MEMBER if isinstance(cfg[name], list)]

    out.say(f"xmlp {version()}: training {k} networks {sizes} ({cfg['hidden']} hidden, "
            f"{pop.output.name} output, {cfg['cost']} cost, {cfg['init']} init) on "
            f"{args.dataset} as one population")
    out.say(describe({**cfg, **{n: _values(cfg, n, k)[0] for n in varying}})
            .replace(f", seed {cfg['seed']}", "")
            + f"; seeds {', '.join(map(str, seeds))}"
            + "".join(f"; {n} {', '.join(f'{v:g}' for v in cfg[n])}" for n in varying))
    out.say(f"  data: {len(train.y)} training, "
            + (f"{len(validation.y)} validation, " if validation is not None else "")
            + f"{len(test.y)} test samples; evaluating each epoch on the {eval_name} split")
    out.say(f"  backend {pop.backend.name}, device {device}, {dtype}")

    show_bar = (args.progress or sys.stderr.isatty()) and not args.quiet
    bar = Progress(cfg["epochs"], cfg["batch_size"], len(train.y)) if show_bar else None

    def on_epoch(epoch: int, histories) -> None:
        if bar is not None:
            bar.close()
        ran = [h for h in histories if h.epochs == epoch + 1]
        accuracy = [h.evaluation_accuracy[-1] for h in ran if h.evaluation_accuracy]
        seconds = ran[0].seconds[-1] if ran else 0.0
        if accuracy:
            out.epoch_line(
                f"epoch {epoch + 1:>{len(str(cfg['epochs']))}}/{cfg['epochs']}  {eval_name} "
                f"accuracy of {len(accuracy)} member{'s' if len(accuracy) > 1 else ''}: "
                f"mean {pct(statistics.fmean(accuracy))}  (min {pct(min(accuracy))}, "
                f"max {pct(max(accuracy))})  {seconds:.2f} s")
        out.json(dict(event="epoch", epoch=epoch + 1, epochs=cfg["epochs"],
                      evaluation=eval_name, seconds=seconds,
                      members=[dict(member=j, evaluation_accuracy=h.evaluation_accuracy[-1]
                                    if h.evaluation_accuracy and h.epochs == epoch + 1
                                    else None) for j, h in enumerate(histories)]))

    options = fit_kwargs(cfg)
    t_fit = time.perf_counter()
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            histories = pop.fit(train.X, train.y, **options,
                                evaluation_data=tuple(data["evaluation"]), callback=on_epoch,
                                progress=bar, checkpoint=args.checkpoint, resume=args.resume)
    except KeyboardInterrupt:
        out.say("interrupted: the members keep their weights after the last complete "
                "mini-batch")
        return 130
    finally:
        if bar is not None:
            bar.close()
    fit_seconds = time.perf_counter() - t_fit
    splits = {"training": train, "validation": validation, "test": test}
    summary = _table(out, pop, histories, seeds, cfg, varying, splits, eval_name)
    summary.update(fit_seconds=fit_seconds, total_seconds=time.perf_counter() - t_start,
                   backend=pop.backend.name, device=device, dtype=dtype)
    out.say(f"  {'time':<14}{summary['total_seconds']:.1f} s this run; training "
            f"{fit_seconds:.1f} s for {k} members"
            + (f"; compiling {histories[0].compile_seconds:.1f} s"
               if histories[0].compile_seconds else "")
            + f"; data to the device {histories[0].transfer_seconds:.2f} s")
    if args.save:
        pop.save(args.save)
        out.say(f"saved the {k} networks to {args.save}")
    if args.log:
        doc = dict(format="xmlp-population-history", version=version(),
                   config={c: v for c, v in cfg.items() if c != "hidden_layers"},
                   evaluation=eval_name, seeds=seeds,
                   members=[h.as_dict() for h in histories], summary=summary)
        Path(args.log).write_text(json.dumps(doc, indent=1) + "\n")
        out.say(f"wrote the histories to {args.log}")
    if args.plot:
        title = f"{args.dataset}: {k} networks {sizes}, {cfg['cost']} cost"
        plot_members(Path(args.plot), histories, _labels(seeds, cfg, varying), eval_name,
                     title)
        out.say(f"wrote the members' learning curves to {args.plot}")
    out.json(dict(event="summary", **summary))
    return 0


def _labels(seeds: list[int], cfg: dict, varying: list[str]) -> list[str]:
    k = len(seeds)
    parts = [[f"seed {s}" for s in seeds]] if len(set(seeds)) > 1 else []
    parts += [[f"{n} {v:g}" for v in _values(cfg, n, k)] for n in varying]
    return [", ".join(p[j] for p in parts) or f"member {j}" for j in range(k)]


def _table(out: Printer, pop: Any, histories: list, seeds: list[int], cfg: dict,
           varying: list[str], splits: dict, eval_name: str) -> dict[str, Any]:
    """The members' final accuracies on each split, their spread, and the ensemble's."""
    k = len(pop)
    shown = {name: s for name, s in splits.items() if s is not None}
    accuracy = {name: pop.member_accuracy(s.X, s.y) for name, s in shown.items()}
    ensemble = {name: pop.accuracy(s.X, s.y) for name, s in shown.items()}
    columns = ["member", "seed", *varying, *shown, "epochs", "stopped by"]
    rows = []
    for j, h in enumerate(histories):
        rows.append([str(j), str(seeds[j]), *(f"{_values(cfg, n, k)[j]:g}" for n in varying),
                     *(pct(accuracy[name][j]) for name in shown), str(h.epochs),
                     h.stop_reason.replace("_", " ")])
    blank = [""] * (1 + len(varying))

    def stat(label: str, f) -> list[str]:
        return [label, *blank, *(f(accuracy[name]) for name in shown), "", ""]

    rows.append(stat("mean", lambda a: pct(statistics.fmean(a))))
    if k > 1:
        rows.append(stat("sd", lambda a: f"{100 * statistics.stdev(a):.2f} pp"))
        rows.append(stat("std. error", lambda a: f"{100 * statistics.stdev(a) / math.sqrt(k):.2f}"
                                                 " pp"))
    rows.append(["ensemble", *blank, *(pct(ensemble[name]) for name in shown), "",
                 "mean output"])
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    out.say()
    out.say(f"Members ({cfg['epochs']} epochs; evaluated each epoch on the {eval_name} split)")
    out.say(("  " + "  ".join(c.ljust(w) for c, w in zip(columns, widths))).rstrip())
    for r in rows:
        out.say(("  " + "  ".join(v.ljust(w) for v, w in zip(r, widths))).rstrip())
    for j, h in enumerate(histories):
        if h.stop_message:
            out.say(f"  member {j}: {h.stop_message}")
    return dict(members=[dict(member=j, seed=seeds[j],
                              **{n: _values(cfg, n, k)[j] for n in varying},
                              **{f"{name}_accuracy": accuracy[name][j] for name in shown},
                              epochs=h.epochs, stop_reason=h.stop_reason)
                         for j, h in enumerate(histories)],
                mean={name: statistics.fmean(a) for name, a in accuracy.items()},
                sd={name: statistics.stdev(a) if k > 1 else 0.0
                    for name, a in accuracy.items()},
                ensemble=ensemble)
