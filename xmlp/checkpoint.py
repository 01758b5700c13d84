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

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import io, optim
from ._version import __version__
from .backend import dtype_name
from .engine import TrainState
from .params import from_network2, to_network2

__all__ = ["Checkpoint", "save", "load", "save_fit", "restore_fit"]

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


def load(path: Any, net) -> Checkpoint:
    """Read a checkpoint for ``net``; refuse one written for another architecture."""
    path = Path(path)
    try:
        meta, arrays = io.read_npz(path, lambda meta: _expected(path, meta, net))
    except FileNotFoundError:
        raise
    except io.DAMAGED as exc:
        raise ValueError(f"{path}: not a readable checkpoint ({exc})") from exc
    L = len(net.sizes) - 1
    grouped = {g: [arrays[f"{g}{l}"] for l in range(L)] for g in meta["groups"]}
    return Checkpoint(meta["epoch"], meta["settings"], meta["rng_start"], meta["rng"],
                      meta["tracker"], meta["history"], grouped, meta.get("optimizer", {}))


def _expected(path: Path, meta: dict, net) -> dict[str, tuple[int, int]]:
    """Validate the metadata's schema and return the array shapes it implies."""
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path}: not an xmlp checkpoint")
    keys = ("network", "epoch", "settings", "rng_start", "rng", "tracker", "history", "groups")
    missing = [k for k in keys if k not in meta]
    if missing:
        raise ValueError(f"{path}: checkpoint metadata lacks {missing}")
    if meta["network"] != _architecture(net):
        raise ValueError(f"{path}: checkpoint is for the network {meta['network']}, not "
                         f"{_architecture(net)}")
    if not isinstance(meta["epoch"], int) or meta["epoch"] < 1:
        raise ValueError(f"{path}: checkpoint 'epoch' must be a positive integer")
    groups = meta["groups"]
    if not isinstance(groups, list) or not set(groups) <= set(_GROUPS) or not \
            {"w", "b"} <= set(groups):
        raise ValueError(f"{path}: checkpoint 'groups' must list arrays among {_GROUPS}")
    if not isinstance(meta.get("optimizer", {}), dict) or not isinstance(
            meta.get("optimizer", {}).get("t", 0), int):
        raise ValueError(f"{path}: checkpoint 'optimizer' must be a JSON object with an "
                         "integer step count 't'")
    for key in ("rng_start", "rng", "tracker", "history", "settings"):
        if not isinstance(meta[key], dict):
            raise ValueError(f"{path}: checkpoint {key!r} must be a JSON object")
    shapes = {}
    for l, (n_in, n_out) in enumerate(zip(net.sizes[:-1], net.sizes[1:])):
        for g in groups:
            shapes[f"{g}{l}"] = (n_out, n_in) if g.endswith("w") else (n_out, 1)
    return shapes


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
