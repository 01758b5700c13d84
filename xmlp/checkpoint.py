"""Checkpoints: the whole state of a ``fit`` between two epochs, so that a run killed at any
moment resumes to exactly the weights an uninterrupted run reaches (same backend, float64).

A checkpoint is an ``.npz`` file (written atomically: temp file, fsync, rename; read with
``allow_pickle=False`` after every header was checked) holding

* ``meta``: JSON with the network's architecture and dtype, the fit settings that must not
  change on resume, the number of completed epochs, the random generator's state at the
  start of the fit (before the validation split) and after the last completed epoch, the
  schedule / early-stopping state and the history so far;
* ``optimizer``: the update rule's name and step count (Adam's bias correction needs it);
* arrays ``w{l}``, ``b{l}`` (network2 layout), the update rule's state -- momentum
  velocities ``vw{l}``, ``vb{l}`` or Adam's moment estimates ``mw{l}``, ``mb{l}``,
  ``sw{l}``, ``sb{l}`` (:data:`STATE_GROUPS` names the fields of the typed states of
  :mod:`xmlp.optim` so) -- and the best weights so far ``bw{l}``, ``bb{l}`` where they
  exist.
"""

from __future__ import annotations

import math
import numbers
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from . import io, optim
from ._version import __version__
from .backend import dtype_name
from .engine import TrainState
from .history import History
from .params import from_network2, to_network2

__all__ = ["Checkpoint", "save", "load", "read_meta", "save_fit", "restore_fit"]

FORMAT = "xmlp-checkpoint"
#: How the fields of the rules' states are named in the file: field -> (weights, biases).
STATE_GROUPS = {"velocity": ("vw", "vb"), "moment1": ("mw", "mb"), "moment2": ("sw", "sb")}
#: The array groups a checkpoint may hold: parameters, rule state, best parameters.
_GROUPS = ("w", "b", *(g for pair in STATE_GROUPS.values() for g in pair), "bw", "bb")


@dataclass
class Checkpoint:
    """Host-side state of a fit after ``epoch`` completed epochs."""

    epoch: int
    settings: dict
    rng_start: dict
    rng: dict
    tracker: dict
    history: dict
    arrays: dict[str, list[np.ndarray]] = field(default_factory=dict)  # group -> per layer
    optimizer: dict = field(default_factory=dict)  # {"name": ..., "t": steps taken}


def _architecture(net) -> dict:
    return {"sizes": net.sizes, "hidden": net.hidden.name, "output": net.output.name,
            "cost": net.cost.name, "dtype": dtype_name(net.dtype)}


def save(path: Any, net, ckpt: Checkpoint) -> None:
    meta = {"format": FORMAT, "version": __version__, "network": _architecture(net),
            "epoch": ckpt.epoch, "settings": ckpt.settings, "rng_start": ckpt.rng_start,
            "rng": ckpt.rng, "tracker": ckpt.tracker, "history": ckpt.history,
            "groups": sorted(ckpt.arrays), "optimizer": ckpt.optimizer}
    arrays = {f"{g}{l}": a for g, layers in ckpt.arrays.items() for l, a in enumerate(layers)}
    io.write_npz(path, meta, arrays)


@contextmanager
def _readable(path: Path) -> Iterator[None]:
    """A damaged or too deeply nested file read inside is one ``ValueError`` naming
    ``path``; a missing file stays ``FileNotFoundError``."""
    try:
        yield
    except FileNotFoundError:
        raise
    except RecursionError as exc:
        raise ValueError(f"{path}: not a readable checkpoint (nested too deeply)") from exc
    except io.DAMAGED as exc:
        raise ValueError(f"{path}: not a readable checkpoint ({exc})") from exc


def load(path: Any, net) -> Checkpoint:
    """Read a checkpoint for ``net``; refuse one written for another architecture, one
    whose metadata does not have the schema a fit writes, and one holding NaN / inf."""
    path = Path(path)
    with _readable(path):
        meta, arrays = io.read_npz(path, lambda meta: _expected(path, meta, net))
    io.check_finite(path, {f"array {name!r}": a for name, a in arrays.items()}, "checkpoint",
                    "resume from an earlier checkpoint, or start again")
    L = len(net.sizes) - 1
    grouped = {g: [arrays[f"{g}{l}"] for l in range(L)] for g in meta["groups"]}
    return Checkpoint(meta["epoch"], meta["settings"], meta["rng_start"], meta["rng"],
                      meta["tracker"], meta["history"], grouped, meta.get("optimizer", {}))


def read_meta(path: Any) -> dict:
    """The metadata of the checkpoint at ``path`` (no array is read); ``ValueError`` when
    the file is not an xmlp checkpoint -- a saved network, or anything else."""
    path = Path(path)

    def only_checkpoints(meta: dict) -> dict:
        if meta.get("format") != FORMAT:
            what = "a saved network" if meta.get("format") == io.FORMAT else "not one"
            raise ValueError(f"{path}: not an xmlp checkpoint ({what})")
        return {}

    with _readable(path):
        if not zipfile.is_zipfile(path):
            with open(path, "rb") as f:
                json_like = f.read(64).lstrip().startswith(b"{")
            what = "a JSON file, such as a saved network" if json_like else \
                "not an .npz archive"
            raise ValueError(f"{path}: not an xmlp checkpoint ({what})")
        return io.read_npz(path, only_checkpoints)[0]


def _expected(path: Path, meta: dict, net) -> dict[str, tuple[int, int]]:
    """Validate the metadata's schema and return the array shapes it implies."""
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: not an xmlp checkpoint")
    keys = ("network", "epoch", "settings", "rng_start", "rng", "tracker", "history", "groups")
    missing = [k for k in keys if k not in meta]
    if missing:
        raise ValueError(f"{path}: checkpoint metadata lacks {missing}")
    if meta["network"] != _architecture(net):
        raise ValueError(f"{path}: checkpoint is for the network {io.short(meta['network'])}, "
                         f"not {_architecture(net)}")
    if not _is_int(meta["epoch"]) or meta["epoch"] < 1:
        raise ValueError(f"{path}: checkpoint 'epoch' must be a positive integer")
    groups = meta["groups"]
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups) \
            or not set(groups) <= set(_GROUPS) or not {"w", "b"} <= set(groups):
        raise ValueError(f"{path}: checkpoint 'groups' must list arrays among {_GROUPS}")
    optimizer = meta.get("optimizer", {})
    if not isinstance(optimizer, dict) or not _is_int(optimizer.get("t", 0)) \
            or optimizer.get("t", 0) < 0 or not isinstance(optimizer.get("name", ""), str):
        raise ValueError(f"{path}: checkpoint 'optimizer' must be a JSON object with a name "
                         "and an integer step count 't'")
    for key in ("rng_start", "rng", "tracker", "history", "settings"):
        if not isinstance(meta[key], dict):
            raise ValueError(f"{path}: checkpoint {key!r} must be a JSON object")
    _check_state(path, meta)
    shapes = {}
    for l, (n_in, n_out) in enumerate(zip(net.sizes[:-1], net.sizes[1:])):
        for g in groups:
            shapes[f"{g}{l}"] = (n_out, n_in) if g.endswith("w") else (n_out, 1)
    return shapes


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _depth(value: Any) -> int:
    """How deeply lists / dicts nest in a JSON value (without recursing)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, d = stack.pop()
        deepest = max(deepest, d)
        if isinstance(item, dict):
            stack.extend((v, d + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, d + 1) for v in item)
    return deepest


def _check_state(path: Path, meta: dict) -> None:
    """The generator states, the tracker's and the history's: the types a fit wrote, so
    that resuming from an edited file fails here, naming it, rather than inside ``fit``."""
    def bad(key: str, expected: str):
        return ValueError(f"{path}: checkpoint {key!r} is not {expected} (an edited or "
                          "damaged checkpoint); resume from another one or start again")

    for key in ("rng_start", "rng"):
        try:  # numpy checks a state as it sets it
            np.random.default_rng().bit_generator.state = meta[key]
        except (TypeError, ValueError, KeyError, OverflowError):
            raise bad(key, "a PCG64 generator state") from None
    tracker = meta["tracker"]
    if (set(tracker) != {"eta", "best", "since_best", "since_change"}
            or not _is_number(tracker["eta"]) or not math.isfinite(tracker["eta"])
            or tracker["eta"] <= 0
            or not (tracker["best"] is None or _is_number(tracker["best"]))
            or not all(_is_int(tracker[k]) and tracker[k] >= 0
                       for k in ("since_best", "since_change"))):
        raise bad("tracker", "the learning-rate / early-stopping state a fit writes")
    defaults = {f.name: f.default_factory() if f.default_factory is not MISSING else f.default
                for f in fields(History)}
    for key, value in meta["history"].items():
        default = defaults.get(key, MISSING)
        if default is MISSING:
            ok = False
        elif key == "stop_message":  # text, or None
            ok = value is None or isinstance(value, str)
        elif isinstance(default, list):  # numbers, or a list per layer (learning_speed)
            ok = isinstance(value, list) and all(
                _is_number(v) or isinstance(v, list) and all(_is_number(u) for u in v)
                for v in value)
        elif isinstance(default, str):
            ok = isinstance(value, str)
        elif isinstance(default, dict):  # the settings the fit recorded
            ok = isinstance(value, dict) and _depth(value) <= 4
        elif default is None or isinstance(default, float):
            ok = value is None and default is None or _is_number(value)
        else:
            ok = _is_int(value)
        if not ok:
            raise bad(f"history.{key}" if isinstance(key, str) else "history",
                      "what a fit records")
    if len(meta["history"].get("seconds", [])) != meta["epoch"]:
        raise bad("history", f"the record of {meta['epoch']} epochs")
    if _depth(meta["settings"]) > 4:
        raise bad("settings", "the settings a fit writes")


# -- a fit's state in and out of a checkpoint (called by xmlp.train.fit) ---------------------


def save_fit(path: Any, net: Any, rule: optim.Rule, state: TrainState, schedule: Any,
             history: Any, rng_start: Mapping[str, Any]) -> None:
    """Write the state of a fit after ``history.epochs`` epochs: the parameters, the update
    rule's state and step count, the schedule's state (with its best parameters) and the
    history (whose ``settings`` a resumed fit must repeat)."""
    arrays = dict(zip(("w", "b"), net.parameters_numpy()))
    for name, params in state.rule._asdict().items():
        arrays.update(zip(STATE_GROUPS[name], to_network2(params)))
    if schedule.best_params is not None:
        arrays.update(zip(("bw", "bb"), to_network2(schedule.best_params)))
    save(path, net, Checkpoint(
        history.epochs, history.settings, dict(rng_start), dict(net.rng.bit_generator.state),
        schedule.state(), history.as_dict(), arrays, {"name": rule.name, "t": state.t}))


def restore_fit(saved: Checkpoint, net: Any, rule: optim.Rule, schedule: Any,
                history: Any) -> tuple[TrainState, int]:
    """Load a checkpoint's state into ``net``, ``schedule`` and ``history``; return the
    training state and the number of completed epochs.  The fit's settings
    (``history.settings``) must be the checkpoint's."""
    settings = history.settings
    changed = {k: (saved.settings.get(k), settings.get(k))
               for k in {**saved.settings, **settings}
               if saved.settings.get(k) != settings.get(k)}
    if changed:
        detail = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in changed.items())
        raise ValueError(f"resume: the data or settings differ from the checkpoint's "
                         f"({detail}); resume with the same ones")
    net.set_parameters(saved.arrays["w"], saved.arrays["b"])
    fields = {}
    for name in rule.init(net.params, net.xp)._fields:
        gw, gb = STATE_GROUPS[name]
        if gw not in saved.arrays:
            raise ValueError(f"resume: the checkpoint holds no {rule.name} state "
                             f"({gw!r}); resume with the optimizer it was written with")
        fields[name] = from_network2(saved.arrays[gw], saved.arrays[gb], net.sizes,
                                     net.backend, net.dtype, (gw, gb))
    best = None
    if "bw" in saved.arrays:
        best = from_network2(saved.arrays["bw"], saved.arrays["bb"], net.sizes, net.backend,
                             net.dtype, ("bw", "bb"))
    schedule.load_state(saved.tracker, best)
    for key, value in saved.history.items():
        setattr(history, key, value)
    history.settings = settings
    net.rng.bit_generator.state = saved.rng
    state = rule.init(net.params, net.xp)._replace(**fields)
    return TrainState(net.params, state, int(saved.optimizer.get("t", 0))), saved.epoch
