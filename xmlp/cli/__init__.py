"""The ``xmlp`` command: one module per subcommand, shared parts beside them.

Its commands, for example::

    xmlp train                                   # network.py's chapter-1 net on the sample
    xmlp train --dataset mnist --save net.json   # the book's full run (50k/10k/10k split)
    xmlp train --dataset fashion-mnist --epochs 1 --plot curves.png --log history.csv
    xmlp evaluate net.json --dataset mnist --misclassified wrong.png
    xmlp predict net.json digit.png t10k-images-idx3-ubyte.gz
    xmlp export net.json net.onnx                # ONNX (extra onnx); xmlp predict net.onnx ...
    xmlp info
    xmlp sweep --grid eta=0.1,0.5,1.0 --grid lmbda=0,1 --epochs 3   # Dask + Optuna

Exit status: 0 success, 1 runtime error (one line ``xmlp: error: ...`` on stderr), 2 usage
error (argparse's usage and one error line), 130 interrupted (Ctrl-C: training stops after
the current mini-batch, and the completed epochs are reported, saved, logged and plotted as
asked).  ``xmlp --debug COMMAND ...`` (or ``XMLP_DEBUG=1``) shows an error's traceback.

A new command is a module with ``NAME``, ``add_parser(subparsers)`` and ``run(args)``,
listed in ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

from . import evaluate, export, info, predict, reproduce, sweep, train
from .errors import (
    FAILED,
    INTERRUPTED,
    OK,
    PROG,
    USAGE,
    UsageError,
    debugging,
    describe,
    error,
    silence_stdout,
    version,
)
from .options import unrecognized
from .presets import PRESETS

__all__ = ["main", "build_parser", "PRESETS", "COMMANDS"]

COMMANDS = (train, evaluate, predict, export, info, reproduce, sweep)


class _Parser(argparse.ArgumentParser):
    """The ``xmlp`` parser, which keeps its subcommands' parsers by name and suggests the
    closest command for a mistyped one (``xmlp trian``: "did you mean 'train'?")."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.commands: dict[str, argparse.ArgumentParser] = {}

    def error(self, message: str) -> NoReturn:
        super().error(suggest_command(message, self.commands))


#: argparse's message for an unknown command (the name quoted with repr), Python 3.10-3.13.
_INVALID_COMMAND = re.compile(r"^(argument COMMAND: invalid choice: )('[^']*'|\"[^\"]*\")")


def suggest_command(message: str, commands: Iterable[str]) -> str:
    """argparse's ``message``, with the closest command named where it reports an unknown
    one.

    Examples
    --------
    >>> suggest_command("argument COMMAND: invalid choice: 'trian' (choose from 'train', "
    ...                 "'info')", ["train", "info"])
    "argument COMMAND: invalid choice: 'trian', did you mean 'train'? (choose from 'train', 'info')"
    >>> suggest_command("argument --eta: expected a number, got 'x'", ["train"])
    "argument --eta: expected a number, got 'x'"
    """
    match = _INVALID_COMMAND.match(message)
    if match is None:
        return message
    close = difflib.get_close_matches(match.group(2)[1:-1], list(commands), n=1)
    if not close:
        return message
    return f"{match.group(0)}, did you mean {close[0]!r}?{message[match.end():]}"


def build_parser() -> _Parser:
    """The ``xmlp`` command's argument parser, with one subparser per command.

    Each module of ``COMMANDS`` adds its subparser (``add_parser``) and is called with the
    parsed arguments (``run``, set as ``func``).  The pages of the command-line reference
    are generated from these parsers.

    Returns
    -------
    argparse.ArgumentParser
        The parser; its ``commands`` attribute maps each command's name to its subparser.

    Examples
    --------
    >>> from xmlp.cli import build_parser
    >>> parser = build_parser()
    >>> sorted(parser.commands)
    ['evaluate', 'export', 'info', 'predict', 'reproduce', 'sweep', 'train']
    >>> args = parser.parse_args(["train", "--epochs", "1"])
    >>> args.command, args.epochs
    ('train', 1)
    """
    parser = _Parser(
        prog=PROG,
        description="Train and use Nielsen's multilayer perceptrons on NumPy, CuPy, PyTorch, "
                    "JAX or array-api-strict.",
        epilog="Run 'xmlp COMMAND --help' for a command's options.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an error (as XMLP_DEBUG=1 does)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        parser.commands[command.NAME] = command.add_parser(sub)
        parser.commands[command.NAME].set_defaults(func=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``xmlp`` command; return the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        The command's arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 success, 1 runtime error (one line ``xmlp: error: ...`` on stderr), 2 usage
        error, 130 interrupted.

    Examples
    --------
    >>> from xmlp.cli import main
    >>> main(["info", "--help"])  # doctest: +ELLIPSIS
    usage: xmlp info ...
    0
    """
    parser = build_parser()
    try:
        args, extras = parser.parse_known_args(argv)
        if extras:  # reported by the subcommand: its usage, and the closest options
            sub = parser.commands[args.command]
            sub.error(unrecognized(sub, extras))
    except SystemExit as exc:  # --help, --version (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else USAGE
    debug = args.debug or debugging()
    try:
        return int(args.func(args) or OK)
    except KeyboardInterrupt:
        error("interrupted")
        return INTERRUPTED
    except BrokenPipeError:  # `xmlp predict ... | head`
        silence_stdout()
        return OK
    except UsageError as exc:  # found after parsing: reported as argparse reports one
        try:
            parser.commands[args.command].error(str(exc))
        except SystemExit:
            pass
        return USAGE
    except Exception as exc:  # every runtime failure: one line (describe maps it)
        if debug:
            raise
        module = sys.modules.get(getattr(args.func, "__module__", ""), None)
        error(describe(exc, getattr(module, "MEMORY_HINT", "")))
        return FAILED
