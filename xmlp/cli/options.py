"""Argument types, the help formatter and the option groups several commands share."""

from __future__ import annotations

import argparse
import difflib
import math

from ..backend import BACKENDS

COSTS = ("quadratic", "cross-entropy", "log-likelihood")
HIDDEN = ("sigmoid", "tanh", "relu")
OUTPUTS = ("sigmoid", "softmax", "identity")
INITS = ("normalized", "large", "glorot", "he")
OPTIMIZERS = ("sgd", "adam")
BACKEND_CHOICES = tuple(BACKENDS)


# =============================================================== argument types
def _int_at_least(text: str, low: int, expected: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if value < low:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    return _int_at_least(text, 1, "a positive integer")


def non_negative_int(text: str) -> int:
    return _int_at_least(text, 0, "an integer >= 0")


def number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def positive_float(text: str) -> float:
    value = number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def non_negative(text: str) -> float:
    value = number(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def fraction(text: str) -> float:
    value = number(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def per_member(kind):
    """An option type that takes one value of ``kind`` or a comma list of them, one per
    member of a population: ``'0.5'`` -> 0.5, ``'0.025,0.25,2.5'`` -> [0.025, 0.25, 2.5]."""
    def parse(text: str):
        parts = text.replace(" ", "").split(",")
        values = [kind(p) for p in parts]  # an empty part is kind's error
        return values[0] if len(values) == 1 else values
    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def seeds(text: str) -> list[int]:
    """Seeds as a list and ranges: '0-4' -> [0, 1, 2, 3, 4], '0,3,7', '0-2,9'."""
    out: list[int] = []
    for part in text.replace(" ", "").split(","):
        low, dash, high = part.partition("-")
        try:
            first, last = int(low), int(high if dash else low)
        except ValueError:
            first, last = -1, -2
        if first < 0 or last < first:
            raise argparse.ArgumentTypeError(
                f"expected seeds such as 0-4 or 0,3,7 (integers >= 0), got {text!r}")
        out.extend(range(first, last + 1))
    return out


def sizes(text: str) -> list[int]:
    parts = text.replace(" ", "").split(",")
    try:
        widths = [int(p) for p in parts]  # an empty part (784,,10) is an error, not skipped
    except ValueError:
        widths = []
    if len(widths) < 2 or min(widths) < 1:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer widths such as 784,30,10, got {text!r}")
    return widths


def count_or_fraction(text: str) -> int | float:
    """'5000' -> 5000 rows, '0.1' -> a tenth of the training set, '0' -> no validation."""
    try:
        return int(text)
    except ValueError:
        pass
    value = number(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a row count (e.g. 5000) or a fraction in (0, 1) (e.g. 0.1), got {text!r}")
    return value


# =============================================================== help and usage errors
class HelpFormatter(argparse.HelpFormatter):
    """Appends "(default: X)" where there is a meaningful default not already described."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if ("default" not in text and action.default not in (None, False, argparse.SUPPRESS)
                and action.option_strings):
            text += " (default: %(default)s)"
        return text


def unrecognized(parser: argparse.ArgumentParser, extras: list[str]) -> str:
    """argparse's message for unknown arguments, plus the closest options of ``parser``
    ("did you mean --eta?") for each one that looks like a misspelt option."""
    known = [s for action in parser._actions for s in action.option_strings
             if s.startswith("--")]
    hints = []
    for arg in extras:
        if arg.startswith("-"):
            close = difflib.get_close_matches(arg.split("=", 1)[0], known, n=1, cutoff=0.8)
            if close:
                hints.append(f"did you mean {' or '.join(close)}?")
    hint = f" ({'; '.join(hints)})" if hints else ""
    return f"unrecognized arguments: {' '.join(extras)}{hint}"


# =============================================================== shared option groups
DATA_DIR_HELP = ("directory holding the dataset's four IDX files "
                 "(default: $XMLP_DATA/NAME, then ~/.cache/xmlp/NAME)")
NO_DOWNLOAD_HELP = "never download; fail if the files are not found locally"


def add_data_options(p: argparse.ArgumentParser, validation: bool = False,
                     default: str | None = "mnist-sample",
                     dataset_help: str = "mnist, fashion-mnist, kmnist or mnist-sample "
                                         "(embedded, offline)") -> None:
    """The "data" group every command that loads a dataset shares: --dataset (with its
    default and help), --data-dir, --no-download and, with ``validation``, --validation."""
    g = p.add_argument_group("data")
    g.add_argument("--dataset", default=default, metavar="NAME", help=dataset_help)
    g.add_argument("--data-dir", metavar="DIR", help=DATA_DIR_HELP)
    g.add_argument("--no-download", action="store_true", help=NO_DOWNLOAD_HELP)
    if validation:
        g.add_argument("--validation", type=count_or_fraction, metavar="N|FRACTION",
                       help="hold out the last N training rows (or a fraction) for "
                            "validation; 0 for none (default: 10000 for mnist, else 0)")


def add_backend_options(p: argparse.ArgumentParser, dtype_default: str | None) -> None:
    g = p.add_argument_group("backend")
    g.add_argument("--backend", default="numpy", metavar="NAME",
                   help=f"array backend: {', '.join(BACKEND_CHOICES)}")
    g.add_argument("--device", default=None,
                   help="device, e.g. cpu, cuda, cuda:1 (default: the backend's default)")
    g.add_argument("--dtype", choices=("float32", "float64"), default=dtype_default,
                   help="floating-point precision" + ("" if dtype_default else
                                                      " (default: the saved one)"))


def add_compile_option(p: argparse.ArgumentParser) -> None:
    """--compile / --no-compile: ``fit(compile=...)``, in the backend group."""
    g = next(g for g in p._action_groups if g.title == "backend")
    g.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="run each epoch as one compiled XLA program (JAX only; the same "
                        "numbers, much faster on a GPU); default: compiled on jax, eager "
                        "elsewhere")
