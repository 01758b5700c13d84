"""``xmlp reproduce``: rerun one of the book's experiments and compare with its figure.

    xmlp reproduce --list                      # the recipes, their chapter and figure
    xmlp reproduce ch1-30 --quick              # the embedded sample, seeds 0-4 at once
    xmlp reproduce ch3-l2 --plot curve.png     # the book's run on MNIST
    xmlp reproduce ch3-100 --dataset fashion-mnist
    xmlp reproduce ch3-eta --quick             # three learning rates as one population
    xmlp reproduce ch6-ensemble --quick        # five seeds and their ensemble

``run`` returns the exit status: 0 success, 1 runtime error (one line on stderr naming the
fix, e.g. MNIST missing), 2 usage error (unknown recipe), 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from . import options as opt
from .data import check_data_dir, resolve_device
from .errors import debugging
from .progress import Progress

__all__ = ["add_parser", "add_arguments", "run", "recipe_table"]

NAME = "reproduce"

PROG = "xmlp reproduce"


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``xmlp reproduce``'s arguments to ``parser``; return it."""
    parser.add_argument("name", nargs="?", metavar="NAME",
                        help="recipe to run (see --list), e.g. ch1-30")
    parser.add_argument("--list", action="store_true",
                        help="list the recipes with their chapter and published figure")
    parser.add_argument("--quick", action="store_true",
                        help="the quick variant: the embedded 4000/1000-image sample, a few "
                             "epochs (seconds), checked against its recorded band")
    opt.add_data_options(parser, default=None,
                         dataset_help="run the recipe on another dataset, e.g. fashion-mnist "
                                      "(default: the recipe's, MNIST for the book's runs)")
    opt.add_backend_options(parser, dtype_default="float32")
    opt.add_compile_option(parser)
    parser.add_argument("--seed", type=opt.non_negative_int, default=None,
                        help="seed of initial weights, mini-batch order and dropout "
                             "(default: 0; with --quick, a one-network recipe trains its "
                             "band's seeds 0-4 at once; an ensemble recipe trains SEED to "
                             "SEED+4)")
    parser.add_argument("--epochs", type=opt.positive_int, metavar="N",
                        help="override the recipe's number of epochs")
    parser.add_argument("--plot", metavar="PNG",
                        help="plot the learning curve with the published figure as a "
                             "reference line; a speed recipe's figures (default for those: "
                             "NAME.png); a curves recipe's training costs; an ensemble's "
                             "and its members' curves (needs matplotlib)")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print only the closing table (and errors)")
    return parser


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def recipe_table() -> str:
    """The recipes as a table: name, chapter, published figure and measure, title."""
    from ..recipes import RECIPES

    rows = [("NAME", "CHAPTER", "PUBLISHED", "MEASURED ON", "WHAT")]
    for r in RECIPES.values():
        chapter = f"ch. {r.chapter}" if r.chapter else "-"
        figures = [m.published for m in r.members if m.published is not None]
        published = ("/".join(f"{100 * f:.2f}" for f in figures) + "%" if len(figures) > 1
                     else _pct(r.published) if r.published is not None
                     else "speeds" if any(m.speeds for m in r.members)
                     else "curves" if any(m.claims for m in r.members) else "-")
        published += "" if r.confirmed or published == "-" else " ?"
        measured = f"{r.dataset} {r.measure}" if published != "-" else "no figure"
        rows.append((r.name, chapter, published, measured, r.title))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(f"{cell:<{w}}" for cell, w in zip(row[:4], widths)) + "  " + row[4]
             for row in rows]
    lines.append("")
    lines.append("Published figures are the book's, on MNIST's 10 000 test or validation "
                 "images as stated; ? marks one not confirmed against the book's text.")
    lines.append("Run one: xmlp reproduce NAME  (--quick: embedded sample, seconds; "
                 "--dataset fashion-mnist: without MNIST)")
    return "\n".join(lines)


def _error(message: object) -> None:
    print(f"{PROG}: error: {' '.join(str(message).split())}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Run ``xmlp reproduce`` with parsed ``args``; return the exit status."""
    from .. import BackendUnavailable, TrainingDiverged, recipes

    if args.list:
        print(recipe_table())
        return 0
    if args.name is None:
        print(recipe_table())
        _error("name a recipe to run, e.g. xmlp reproduce ch1-30 --quick")
        return 2
    try:
        recipe = recipes.get(args.name)
    except ValueError as exc:
        _error(exc)
        return 2
    check_data_dir(args)  # the recipes look in the usual places too, but never in a typo
    say = (lambda *a: None) if args.quiet else (lambda line="": print(line, flush=True))
    epochs = args.epochs or (recipe.quick.epochs if args.quick else recipe.epochs)
    show_bar = sys.stderr.isatty() and not args.quiet
    bar = Progress(epochs, recipe.batch_size, 0) if show_bar else None
    speed = recipe.kind == "speed"
    if speed and not args.plot:  # a speed recipe's result is its figures
        args.plot = f"{recipe.name}.png"
    networks = iter(recipe.members)
    every = max(1, epochs // 10)  # a speed recipe's runs: ten lines each
    one_by_one = recipe.kind in ("accuracy", "speed")  # else: one population
    width = len(str(epochs))

    def on_epoch(epoch: int, history) -> None:
        if bar is not None:
            bar.close()
        if epoch == 0 and len(recipe.members) > 1 and one_by_one:
            say(f"network {list(next(networks).sizes)}")
        if recipe.kind == "curves":  # history: one per network, each with its eta
            say(f"epoch {epoch + 1:>{width}}/{epochs}  training cost  " + "  ".join(
                f"eta {h.eta[-1]:g}: {h.training_cost[-1]:.3f}" for h in history
                if h.epochs == epoch + 1))
            return
        if recipe.kind == "ensemble":  # history: one per member
            say(f"epoch {epoch + 1:>{width}}/{epochs}  {recipe.evaluate_on} accuracy of the "
                "members " + " ".join(_pct(h.evaluation_accuracy[-1]) for h in history
                                      if h.epochs == epoch + 1))
            return
        if speed:
            if epoch == 0 or (epoch + 1) % every == 0:
                say(f"before epoch {epoch + 1:>{len(str(epochs))}}/{epochs}  speed of learning "
                    "of the hidden layers " + " ".join(
                        f"{layer[-1]:.3g}" for layer in history.learning_speed[:-1]))
            return
        line = f"epoch {epoch + 1:>{len(str(epochs))}}/{epochs}  {recipe.evaluate_on} " \
               f"accuracy {_pct(history.evaluation_accuracy[-1])}  {history.seconds[-1]:.2f} s"
        if recipe.schedule or recipe.anneal:
            line += f"  eta {history.eta[-1]:g}"
        say(line)

    data = "the embedded sample (quick)" if args.quick else (args.dataset or recipe.dataset)
    say(f"{recipe.name}: {recipe.title}, on {data}")
    errors = (ValueError, TypeError, OSError, ImportError, BackendUnavailable,
              TrainingDiverged)
    if args.quick and args.seed is None and not recipe.networks and recipe.kind == "accuracy":
        return _band(args, recipe, say, bar, errors, epochs)  # one network: its band's seeds
    result, failed = _guarded(lambda: recipes.run(
        recipe, quick=args.quick, dataset=args.dataset, backend=args.backend,
        device=resolve_device(args.backend, args.device), dtype=args.dtype,
        seed=args.seed or 0, epochs=args.epochs, plot=args.plot, callback=on_epoch,
        progress=bar, data_dir=args.data_dir, download=not args.no_download,
        compile=args.compile), bar, errors)
    if failed is not None:
        return failed
    say()
    print(recipes.format_comparison(result), flush=True)
    if args.plot:
        what = {"speed": "the figures", "curves": "the training costs",
                "ensemble": "the learning curves"}.get(recipe.kind, "the learning curve")
        say(f"wrote {what} to {args.plot}")
    return 0


def _band(args: argparse.Namespace, recipe, say, bar, errors, epochs: int) -> int:
    """``--quick``: the band's seeds 0-4 as one population, each member against the band."""
    from .. import recipes

    seeds = [0, 1, 2, 3, 4]

    def on_epoch(epoch: int, histories) -> None:
        if bar is not None:
            bar.close()
        accuracy = [h.evaluation_accuracy[-1] for h in histories if h.epochs == epoch + 1]
        say(f"epoch {epoch + 1:>{len(str(epochs))}}/{epochs}  {recipe.evaluate_on} accuracy "
            f"of seeds {seeds[0]}-{seeds[-1]}: " + " ".join(_pct(a) for a in accuracy))

    results, failed = _guarded(lambda: recipes.run_band(
        recipe, seeds=seeds, backend=args.backend,
        device=resolve_device(args.backend, args.device), dtype=args.dtype,
        epochs=args.epochs, progress=bar, callback=on_epoch, compile=args.compile),
        bar, errors)
    if failed is not None:
        return failed
    say()
    first = recipes.format_comparison(results[0]).splitlines()
    keep = [line for line in first if not line.startswith(("  this run", "  quick band",
                                                            "  epochs", "  backend", "  time"))]
    lo, hi = results[0].band or (0.0, 1.0)
    lines = [*keep, f"  quick band  [{_pct(lo)}, {_pct(hi)}] ({results[0].measured_on}, "
                    f"{results[0].n_measured} images); seeds {seeds[0]}-{seeds[-1]} trained "
                    "as one population:",
             "  seed  this run  epoch  recorded  band"]
    recorded = recipe.quick.seeds
    for r in results:
        mark = "inside" if r.in_band else "OUTSIDE"
        seed = r.seed if r.seed is not None else 0
        was = _pct(recorded[seed]) if seed < len(recorded) else "-"
        lines.append(f"  {seed:<4}  {_pct(r.accuracy):>8}  {r.epoch:>5}  {was:>8}  {mark}")
    r = results[0]
    lines.append(f"  backend     {r.backend}, device {r.device}, {r.dtype}; "
                 f"{r.seconds:.1f} s training for {len(results)} members")
    print("\n".join(lines), flush=True)
    return 0


def add_parser(sub) -> argparse.ArgumentParser:
    return add_arguments(sub.add_parser(
        NAME, help="rerun one of the book's experiments and compare with its figure",
        description="Rerun one of the book's experiments (or this package's Fashion-MNIST "
                    "recipe) and compare the accuracy with the published figure.",
        formatter_class=opt.HelpFormatter))


def _guarded(call, bar, errors: tuple[type[BaseException], ...]) -> tuple[Any, int | None]:
    """``call()``'s result, or the command's exit status for its failure (one line each:
    missing data, an interrupt, a runtime error); the progress bar is closed either way."""
    from .. import TrainingInterrupted, recipes

    try:
        return call(), None
    except recipes.DataMissing as exc:
        _error(exc.cli_message)
        return None, 1
    except (TrainingInterrupted, KeyboardInterrupt):
        _error("interrupted")
        return None, 130
    except errors as exc:
        if debugging():
            raise
        _error(exc)
        return None, 1
    finally:
        if bar is not None:
            bar.close()
