"""The search space of ``xmlp sweep``: ``--grid`` / ``--space`` / ``--resources`` parsed as
``xmlp train`` parses its options, and the ``xmlp train`` command that reproduces a trial."""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from .errors import UsageError, one_line
from .runs import add_train_options

DATA_OPTIONS = ("dataset", "data_dir", "no_download", "validation", "expand", "downsample")
_NOT_SWEPT = (*DATA_OPTIONS, "sizes", "backend", "device", "dtype", "compile")


def train_actions() -> dict[str, argparse.Action]:
    """dest -> action of every ``xmlp train`` option (types, choices, defaults)."""
    parser = argparse.ArgumentParser(add_help=False)
    add_train_options(parser)
    return {a.dest: a for a in parser._actions if a.option_strings}


def _dest(name: str, actions: dict) -> str:
    dest = name.strip().lstrip("-").replace("-", "_")
    if dest not in actions or dest in _NOT_SWEPT:
        sweepable = sorted(d.replace("_", "-") for d in actions if d not in _NOT_SWEPT)
        raise UsageError(f"cannot sweep {name!r}: choose among {', '.join(sweepable)}")
    return dest


def _value(action: argparse.Action, text: str, where: str) -> Any:
    """A value as ``xmlp train`` would parse it for this option."""
    text = text.strip()
    if isinstance(action, argparse._StoreTrueAction):
        if text.lower() in ("true", "yes", "1", "on"):
            return True
        if text.lower() in ("false", "no", "0", "off"):
            return False
        raise UsageError(f"{where}: expected true or false, got {text!r}")
    try:
        value = action.type(text) if callable(action.type) else text
    except (argparse.ArgumentTypeError, ValueError) as exc:
        raise UsageError(f"{where}: {one_line(exc)}") from None
    if action.choices and value not in action.choices:
        raise UsageError(f"{where}: {text!r} is not one of {', '.join(action.choices)}")
    return value


def parse_grid(items: list[str], actions: dict) -> dict[str, list]:
    grid: dict[str, list] = {}
    for item in items:
        name, sep, values = item.partition("=")
        if not sep or not values.strip():
            raise UsageError(f"--grid {item}: expected NAME=V1,V2,... such as eta=0.1,0.5")
        dest = _dest(name, actions)
        if dest in grid:
            raise UsageError(f"--grid {name} given twice; list all its values once")
        parsed = [_value(actions[dest], v, f"--grid {name}") for v in values.split(",")
                  if v.strip()]
        if len({repr(v) for v in parsed}) != len(parsed):
            raise UsageError(f"--grid {item}: a value is repeated")
        grid[dest] = parsed
    return grid


def parse_space(items: list[str], actions: dict) -> dict[str, tuple]:
    space: dict[str, tuple] = {}
    for item in items:
        name, sep, rng = item.partition("=")
        parts = rng.split(":") if sep else []
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("log", "")):
            raise UsageError(f"--space {item}: expected NAME=LO:HI or NAME=LO:HI:log, such as "
                           "eta=0.01:10:log")
        dest = _dest(name, actions)
        action = actions[dest]
        if action.choices or isinstance(action, argparse._StoreTrueAction):
            raise UsageError(f"--space {name}: a choice, not a range; give its choices with "
                           f"--grid {name}=A,B (random and TPE search draw among them)")
        lo, hi = (_value(action, v, f"--space {name}") for v in parts[:2])
        if not lo < hi:
            raise UsageError(f"--space {item}: LO must be below HI")
        log = len(parts) == 3 and parts[2] == "log"
        if log and lo <= 0:
            raise UsageError(f"--space {item}: a log range needs LO > 0")
        space[dest] = (lo, hi, "log") if log else (lo, hi)
    return space


def parse_resources(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        name, sep, amount = item.partition("=")
        try:
            out[name.strip()] = float(amount)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise UsageError(f"--resources {item}: expected NAME=N such as GPU=1")
    return out


def format_value(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value))
    if isinstance(value, float):
        return repr(value)  # the shortest text that parses back to the same float
    return str(value)


def reproduce(args: argparse.Namespace, params: dict, actions: dict) -> str:
    """The ``xmlp train`` command line of one trial: the options given, and its params."""
    words = ["xmlp", "train"]
    for dest, action in actions.items():
        value = params.get(dest, getattr(args, dest, None))
        if dest not in params and (value is None or value == action.default):
            continue
        flag = next(s for s in action.option_strings if s.startswith("--"))
        if isinstance(action, argparse._StoreTrueAction):
            if value:
                words.append(flag)
            continue
        words += [flag, format_value(value)]
    return " ".join(shlex.quote(w) for w in words)
