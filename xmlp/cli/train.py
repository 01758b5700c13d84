"""``xmlp train``: train a network and report per-epoch results (several networks at once:
:mod:`xmlp.cli.members`).  What a training run is made of -- its options, data, network and
fit arguments -- is :mod:`xmlp.cli.runs`, shared with the sweeps."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..history import MONITORS
from . import options as opt
from .data import (
    check_distinct,
    check_writable,
    fallback_path,
    pct,
    resolve_device,
)
from .errors import CLIError, error, one_line, version, without_library_hint
from .members import population_size, run_members
from .plots import plot_history, require_matplotlib
from .presets import train_config
from .progress import Printer, Progress
from .runs import add_train_options, describe, fit_kwargs, load_splits, network_kwargs
from .summary import final_table, records, write_log

NAME = "train"
MEMORY_HINT = ("a smaller network (--sizes), a smaller --batch-size or --dtype float32 "
               "needs less")


def add_parser(sub) -> argparse.ArgumentParser:
    train = sub.add_parser(
        NAME, help="train a network and report per-epoch results",
        description="Train a network by mini-batch SGD. Unset options take the dataset's "
                    "preset: MNIST and the sample run network.py's chapter-1 net "
                    "([784,30,10], quadratic cost, sigmoid, N(0,1) init, 30 epochs, "
                    "batch 10, eta 3.0); Fashion-MNIST and KMNIST a cross-entropy net with "
                    "normalized init and eta 0.1. Each epoch is evaluated on the validation "
                    "split if there is one, else on the test split.",
        formatter_class=opt.HelpFormatter)
    add_train_options(train, members=True)
    g = train.add_argument_group("output")
    g.add_argument("--save", metavar="PATH",
                   help="save the network (.json or .npz); with several members, a folder "
                        "of them")
    g.add_argument("--checkpoint", metavar="PATH",
                   help="write the whole training state here after every epoch (atomically); "
                        "with several members, a folder of checkpoints")
    g.add_argument("--resume", metavar="PATH",
                   help="continue from this checkpoint (same data and options; --epochs "
                        "counts the epochs already done)")
    g.add_argument("--log", metavar="PATH", help="write the per-epoch history (.json or .csv)")
    g.add_argument("--plot", metavar="PNG", help="plot learning curves (needs matplotlib)")
    g.add_argument("--speed", action="store_true",
                   help="chapter 5: record each layer's speed of learning (the length of "
                        "the mean dC/db over the first 1000 training rows) before every "
                        "epoch, print and log it, and with --plot draw it (log scale)")
    g.add_argument("--progress", action="store_true",
                   help="show the progress bar even when stderr is not a terminal")
    g.add_argument("-q", "--quiet", action="store_true",
                   help="print nothing but errors (and --jsonl lines)")
    g.add_argument("--jsonl", action="store_true",
                   help="one JSON object per epoch on stdout, then a summary object; "
                        "human-readable text goes to stderr")
    return train


def run(args: argparse.Namespace) -> int:
    from .. import DeviceOutOfMemory, Network, TrainingDiverged, TrainingInterrupted
    from ..backend import device_name, dtype_name, resolve
    from ..history import History

    members = population_size(args)
    if members is not None:
        return run_members(args, members)
    out = Printer(args)
    check_outputs(args)
    if args.plot:
        require_matplotlib()
    cfg = train_config(args)
    cfg["resume"] = args.resume
    device_obj = resolve_device(args.backend, args.device)
    resolve(args.backend, device_obj)  # a missing backend fails before a long data load
    t_start = time.perf_counter()
    data = load_splits(args, cfg)
    train, validation, test = data["train"], data["validation"], data["test"]
    eval_name, sizes, fold = data["eval_name"], data["sizes"], data["fold"]
    cfg["sizes"] = sizes
    net = Network(**network_kwargs(cfg, device_obj))
    cfg["output"] = net.output.name
    device, dtype = device_name(net.device), dtype_name(net.dtype)

    out.say(f"xmlp {version()}: training {sizes} ({cfg['hidden']} hidden, {net.output.name} "
            f"output, {cfg['cost']} cost, {cfg['init']} init) on {args.dataset}")
    out.say(describe(cfg))
    transforms = (" (expanded x5)" if args.expand else "") + \
                 (f" (downsampled by {fold}: {data['n_in']} features)" if fold else "")
    out.say(f"  data: {len(train.y)} training{transforms}, "
            + (f"{len(validation.y)} validation, " if validation is not None else "")
            + f"{len(test.y)} test samples; evaluating each epoch on the {eval_name} split")
    if eval_name == "test" and (cfg["early_stopping"] or cfg["schedule"]):
        out.say("  note: early stopping / the schedule watch the test split; "
                "hold out data with --validation N for an unbiased test accuracy")
    out.say(f"  backend {net.backend.name}, device {device}, {dtype}")

    show_bar = (args.progress or sys.stderr.isatty()) and not args.quiet
    bar = Progress(cfg["epochs"], cfg["batch_size"], len(train.y)) if show_bar else None
    seen: dict[str, Any] = {"history": History()}

    def on_epoch(epoch: int, history) -> None:
        seen["history"] = history
        if bar is not None:
            bar.close()
        rec = records(history)[-1]
        out.epoch_line(
            f"epoch {rec['epoch']:>{len(str(cfg['epochs']))}}/{cfg['epochs']}  "
            f"training cost {rec['training_cost']:.4f} accuracy {pct(rec['training_accuracy'])}"
            f"  {eval_name} cost {rec['evaluation_cost']:.4f} accuracy "
            f"{pct(rec['evaluation_accuracy'])}  {rec['seconds']:.2f} s"
            + (f"  eta {rec['eta']:g}" if cfg["schedule"] or cfg["anneal"] else ""))
        if "learning_speed" in rec:  # chapter 5: the speeds this epoch started from
            *hidden, last = rec["learning_speed"]
            out.epoch_line(f"  speed of learning before it: hidden {speeds(hidden)}  "
                           f"output {last:.3g}")
        out.json(dict(event="epoch", **rec, epochs=cfg["epochs"], evaluation=eval_name))

    status, keep = 0, True  # keep: the weights are worth saving
    failure: Exception | None = None
    t_fit = time.perf_counter()
    try:
        # A diverging run ends in TrainingDiverged with one clear message; NumPy's overflow
        # warnings on the way there would only bury it.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            history = net.fit(train.X, train.y, **fit_kwargs(cfg),
                              evaluation_data=tuple(data["evaluation"]), callback=on_epoch,
                              progress=bar, checkpoint=args.checkpoint, resume=args.resume,
                              monitor=MONITORS if args.speed else None)
    except TrainingInterrupted as exc:
        history, status = exc.history, 130
    except KeyboardInterrupt:  # between mini-batches: while evaluating or printing
        history, status = seen["history"], 130
    except TrainingDiverged as exc:
        history, status, failure, keep = exc.history, 1, exc, False
    except DeviceOutOfMemory as exc:  # the library's hint names fit's keywords
        raise CLIError(without_library_hint(exc, MEMORY_HINT)) from exc
    except OSError as exc:  # the checkpoint after an epoch could not be written
        if not args.checkpoint or seen["history"].epochs == 0:
            raise
        history, status = seen["history"], 1
        failure = CLIError(f"--checkpoint {args.checkpoint}: could not write it "
                           f"({exc.strerror or one_line(exc)}); training stopped after epoch "
                           f"{history.epochs}")
    finally:
        if bar is not None:
            bar.close()
    fit_seconds = time.perf_counter() - t_fit
    if status == 130:
        history.stop_reason = "interrupted"
        done = len(records(history))
        out.say(f"interrupted: keeping the weights after the last complete mini-batch "
                f"({done} complete epoch{'' if done == 1 else 's'})")

    recs = records(history)
    summary = final_table(out, net, history, recs, eval_name,
                          {"training": train, "validation": validation, "test": test},
                          cfg, fit_seconds, time.perf_counter() - t_start, device, dtype)
    title = (f"{args.dataset}: {sizes}, {cfg['cost']} cost, eta {cfg['eta']:g}"
             + (f", lmbda {cfg['lmbda']:g}" if cfg["lmbda"] else ""))
    outputs = [
        (args.log, "--log", "wrote the history to",
         lambda: write_log(Path(args.log), cfg, eval_name, recs, summary)),
        (args.plot, "--plot", "wrote learning curves to",
         lambda: plot_history(Path(args.plot), recs, eval_name, title)),
    ]
    problems = []
    if keep and (args.save or failure is not None):
        saved, problem = save_network(net, args.save)
        if saved:
            out.say(f"saved the network to {saved}")
            summary["saved"] = str(saved)
        if problem:
            problems.append(problem)
    for path, option, done_msg, write in outputs:  # one failing output spares the others
        if not path:
            continue
        try:
            write()
        except OSError as exc:
            problems.append(f"{option} {path}: could not write it ({exc.strerror or exc})")
            continue
        out.say(f"{done_msg} {path}")
    out.json(dict(event="summary", **summary))
    if failure is not None and problems:
        raise CLIError("; ".join([one_line(failure), *problems]))
    if failure is not None:
        raise failure
    if problems:
        error("; ".join(problems))
        return status or 1  # an interrupted run still exits 130
    return status


def speeds(values: list[float]) -> str:
    """Speeds of learning as the book prints them: three significant digits each."""
    return " ".join(f"{v:.3g}" for v in values)


def check_outputs(args: argparse.Namespace) -> None:
    """Every file the run will write, checked before any data is loaded: distinct paths,
    folders that take a new file, and a --checkpoint that holds no other file."""
    check_distinct({"--save": args.save, "--checkpoint": args.checkpoint, "--log": args.log,
                    "--plot": args.plot})
    if args.resume and args.save:
        check_distinct({"--resume": args.resume, "--save": args.save})
    check_writable(args.save, "--save")
    check_writable(args.checkpoint, "--checkpoint")
    check_writable(args.log, "--log", (".json", ".csv"))
    check_writable(args.plot, "--plot")
    if args.checkpoint and Path(args.checkpoint).exists():
        from ..checkpoint import read_meta

        try:
            read_meta(args.checkpoint)
        except ValueError as exc:
            reason = one_line(exc).removeprefix(f"{args.checkpoint}: ")
            raise CLIError(f"--checkpoint {args.checkpoint}: {reason}, and it would be "
                           "overwritten; choose another path") from None


def save_network(net, path: str | None) -> tuple[Path | None, str | None]:
    """Save ``net`` to ``path``; where that fails (or no path was given), to a fallback file
    in the current or temp folder.  Returns (where it was saved, the problem to report)."""
    problem = None
    if path:
        existed = Path(path).exists()
        try:
            net.save(path)
            return Path(path), None
        except OSError as exc:
            problem = (f"--save {path}: could not write it ({exc.strerror or one_line(exc)})"
                       + ("; the previous file there is unchanged" if existed else ""))
    target = fallback_path(path)
    if target is not None:
        try:
            net.save(target)
            return target, (f"{problem}; " if problem else "") + \
                f"the network was saved to {target} instead"
        except OSError as exc:
            problem = (f"{problem}; " if problem else "") + \
                f"nor to {target} ({exc.strerror or one_line(exc)})"
    return None, (problem or "the network could not be saved") + \
        "; the trained network is lost"
