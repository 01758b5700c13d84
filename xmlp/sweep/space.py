"""What a sweep is: the parameters it may set, its grid or search space and metric checked
and written down as its *definition* (JSON data that names its Optuna study and guards it on
resume), the digest that identifies its data, the Optuna distributions of that space, and
how one trial's parameters reach ``Network`` and ``fit``.  Nothing here imports Dask or
Optuna at import time."""

from __future__ import annotations

import hashlib
import json
import math
import pickle
from collections.abc import Mapping, Sequence
from typing import Any

#: ``Network`` arguments a trial may set; every other parameter goes to ``fit``.
NETWORK_KEYS = ("sizes", "hidden", "output", "cost", "init", "backend", "device", "dtype",
                "seed")
#: ``fit`` hyper-parameters a sweep may set (data, callbacks and files are the sweep's).
FIT_KEYS = ("epochs", "batch_size", "eta", "lmbda", "l1", "momentum", "nesterov",
            "optimizer", "beta1", "beta2", "epsilon", "dropout", "shift", "flip",
            "image_shape", "early_stopping",
            "schedule", "anneal", "monitor", "divergence_factor", "checkpoint_every")
SPLITS = ("training", "validation", "test", "evaluation")
#: split_quantity; "evaluation" is the split each epoch is evaluated on: the validation
#: split when there is one, else the test split (as in ``xmlp train``).
METRICS = tuple(f"{s}_{q}" for s in SPLITS for q in ("accuracy", "cost"))
SEARCHES = ("grid", "random", "tpe")
PRUNERS = ("none", "halving", "hyperband")


def _positive(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _route(network: dict, fit: dict, params: dict) -> tuple[dict, dict]:
    """The default ``configure``: parameters named like ``Network`` arguments go there."""
    net = {**network, **{k: v for k, v in params.items() if k in NETWORK_KEYS}}
    kw = {**fit, **{k: v for k, v in params.items() if k not in NETWORK_KEYS}}
    return net, kw


def _definition(network: dict, fit: dict, grid: dict, space: dict, search: str,
                prune: str, metric: str | None, data_key: str, named: bool = True) -> dict:
    """The sweep as JSON-able data: it names the study and guards it on resume."""
    if search not in SEARCHES:
        raise ValueError(f"search must be one of {list(SEARCHES)}, got {search!r}")
    if prune not in PRUNERS:
        raise ValueError(f"prune must be one of {list(PRUNERS)}, got {prune!r}")
    if search == "grid" and space:
        raise ValueError("a grid search takes --grid values only; give ranges (space) to a "
                         "random or TPE search")
    if not grid and not space:
        raise ValueError("nothing to sweep: give a grid (name -> values) or a space "
                         "(name -> (low, high[, 'log']))")
    both = set(grid) & set(space)
    if both:
        raise ValueError(f"{sorted(both)} given both as grid values and as a range")
    known = set(NETWORK_KEYS) | set(FIT_KEYS)
    for name in [*grid, *space]:
        if named and name not in known:  # a configure function reads its own names
            raise ValueError(f"cannot sweep {name!r}: choose among {sorted(known)}")
    for name, values in grid.items():
        if not values:
            raise ValueError(f"grid {name!r} has no values")
        if len(set(map(repr, values))) != len(values):
            raise ValueError(f"grid {name!r} repeats a value: {values}")
        for v in values:
            if not (v is None or isinstance(v, (bool, int, float, str))):
                raise TypeError(f"grid {name!r}: values must be numbers, strings, booleans "
                                f"or None, got {v!r}")
    for name, rng in space.items():
        if len(rng) not in (2, 3) or (len(rng) == 3 and rng[2] not in ("log", "linear",
                                                                         True, False)):
            raise ValueError(f"space {name!r} must be (low, high) or (low, high, 'log'), "
                             f"got {rng!r}")
        lo, hi = rng[0], rng[1]
        if not (isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and lo < hi):
            raise ValueError(f"space {name!r}: need numbers low < high, got {lo!r}, {hi!r}")
        if _is_log(rng) and lo <= 0:
            raise ValueError(f"space {name!r}: a log range needs low > 0, got {lo!r}")
    metric = metric or "evaluation_accuracy"
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {list(METRICS)}")
    epochs = max([fit.get("epochs", 30), *grid.get("epochs", []),
                  *([space["epochs"][1]] if "epochs" in space else [])])
    return {"version": 1, "search": search, "grid": grid,
            "space": {k: [v[0], v[1], _is_log(v)] for k, v in space.items()},
            "params": sorted([*grid, *space]), "metric": metric, "prune": prune,
            "max_epochs": int(epochs),
            "direction": "maximize" if metric.endswith("accuracy") else "minimize",
            "network": _jsonable(network), "fit": _jsonable(fit), "data": data_key}


def _is_log(rng: Sequence[Any]) -> bool:
    return len(rng) == 3 and rng[2] in ("log", True)


def _jsonable(d: Mapping[str, Any]) -> dict:
    return json.loads(json.dumps(dict(d), sort_keys=True, default=repr))


def _data_key(data: Any, network: dict) -> str:
    """Identifies the data: a dataset name, else a digest of the loader or the arrays."""
    if isinstance(data, str):
        return f"{data}:{network.get('dtype', 'float32')}"
    if not callable(data) and not hasattr(data, "train") and not (
            isinstance(data, Mapping) and "train" in data):
        raise TypeError("data must be a dataset name, a loader function or a dataset with "
                        "train / validation / test (X, y) pairs")
    return _token(data)


def _token(obj: Any) -> str:
    """A stable digest of a loader function or a dataset (pickled bytes)."""
    try:
        blob = pickle.dumps(obj, protocol=4)
    except Exception:  # noqa: BLE001 - lambdas and closures: cloudpickle (with Dask)
        import cloudpickle

        blob = cloudpickle.dumps(obj, protocol=4)
    return hashlib.sha256(blob).hexdigest()[:16]


def default_study_name(definition: dict) -> str:
    """``xmlp-<digest>`` of the sweep's definition: the same sweep finds its study again."""
    blob = json.dumps({k: v for k, v in definition.items() if k != "version"},
                      sort_keys=True).encode()
    return "xmlp-" + hashlib.sha256(blob).hexdigest()[:12]


def _n_grid(grid: dict) -> int:
    return math.prod(len(v) for v in grid.values())


def _distributions(grid: dict, space: dict, search: str) -> dict:
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    out: dict[str, Any] = {k: CategoricalDistribution(v) for k, v in grid.items()}
    for name, rng in space.items():
        lo, hi, log_ = rng[0], rng[1], _is_log(rng)
        if isinstance(lo, int) and isinstance(hi, int) and not isinstance(lo, bool):
            out[name] = IntDistribution(lo, hi, log=log_)
        else:
            out[name] = FloatDistribution(float(lo), float(hi), log=log_)
    return out


def _concrete(metric: str, eval_name: str | None) -> str:
    split, quantity = metric.rsplit("_", 1)
    return f"{eval_name if split == 'evaluation' else split}_{quantity}"
