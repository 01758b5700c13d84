"""Hyper-parameter sweeps, chapter 3's way of choosing eta, lmbda, the mini-batch size and
the number of epochs: many trainings, compared on one metric.

Optuna decides *which* settings run (grid, random or TPE sampler; successive-halving or
Hyperband pruner) and keeps every trial in its storage (an SQLite file by default, or any
Optuna RDB URL such as PostgreSQL).  Dask runs them (a ``LocalCluster`` started here, or an
existing cluster: CPU workers, dask-cuda's ``LocalCUDACluster``, a scheduler elsewhere).
This module only connects the two: each trial is an ordinary :meth:`xmlp.Network.fit` on a
worker; there is no training code, sampler, pruner, scheduler or results database here.

    >>> import xmlp.sweep
    >>> result = xmlp.sweep.run("mnist-sample", {"sizes": [784, 30, 10], "seed": 0},
    ...                         {"epochs": 3, "batch_size": 10},
    ...                         grid={"eta": [0.1, 0.5, 1.0], "lmbda": [0.0, 1.0]},
    ...                         workers=2, storage="sqlite:///sweep.db")
    >>> result.best["eta"], result.rows[0]["test_accuracy"]
    >>> result.to_csv("sweep.csv"); result.study      # the optuna.Study

Exactness.  Every trial starts from the same ``seed`` unless ``seed`` itself is swept, so a
trial's result is the one a serial ``Network.fit`` (or ``xmlp train``) with its settings
gives, whatever the number of workers and the order in which trials finish -- bit for bit
under the workers' BLAS setting (one thread; float32 sums taken by several BLAS threads
round differently).

Faults.  Each trial writes an xmlp checkpoint after every epoch.  A worker killed mid-trial
loses nothing: Dask runs the task again elsewhere and it resumes from the checkpoint to the
same result.  While trials run, the driver records Optuna heartbeats for them; when a sweep
is killed, the next run of the same sweep (same study and storage) fails its stale trials
and Optuna's ``RetryHeartbeatStaleTrialCallback`` queues them again; finished trials are
not run again.  A trial that diverges or raises is recorded as failed, with its error, and
the sweep goes on.

Data are loaded once per worker process (a dataset name or a loader function, cached in the
worker), or, for arrays, scattered once to every worker.

Dask and Optuna are imported by this module only: ``import xmlp`` does not import it.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import logging
import math
import os
import pickle
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import distributed
    import optuna
    from optuna.trial import TrialState
except ImportError as exc:  # pragma: no cover - exercised through the CLI test
    raise ModuleNotFoundError(f"xmlp.sweep needs Dask distributed and Optuna ({exc.name} is "
                              "not installed): pip install 'xmlp[sweep]'",
                              name=exc.name) from exc

__all__ = ["run", "table", "SweepResult", "NETWORK_KEYS", "FIT_KEYS", "METRICS",
           "SEARCHES", "PRUNERS", "BLAS_ONE_THREAD", "default_study_name"]

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
#: Environment of the worker processes this module starts: one BLAS thread each, so that N
#: single-threaded workers share N cores without oversubscription.
BLAS_ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                   "MKL_NUM_THREADS": "1", "BLIS_NUM_THREADS": "1",
                   "VECLIB_MAXIMUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1"}
_STATE = {TrialState.COMPLETE: "complete", TrialState.PRUNED: "pruned",
          TrialState.FAIL: "failed", TrialState.RUNNING: "running",
          TrialState.WAITING: "waiting"}
_ORDER = {"complete": 0, "pruned": 1, "failed": 2, "running": 3, "waiting": 4}
_ATTR = "xmlp_sweep"  # user attribute: the sweep's definition (study), the result (trial)

log = logging.getLogger(__name__)


# ======================================================================= results
@dataclass
class SweepResult:
    """What :func:`run` returns: the Optuna study and the table of its trials.

    ``rows`` is sorted best first (completed trials by the metric, then pruned, failed,
    unfinished); each row holds ``trial``, ``state``, one column per swept parameter, the
    metric, the accuracies on every split, ``epochs``, ``stop_reason``, ``seconds``,
    ``error`` and (not written to CSV) ``history``, the per-epoch lists of ``fit``.
    """

    study: optuna.Study
    rows: list[dict]
    metric: str
    direction: str  # "maximize" or "minimize"
    params: list[str]
    storage: str
    ran: int = 0  # trials this call ran (0: everything was already in the storage)
    definition: dict = field(default_factory=dict)

    @property
    def best(self) -> dict | None:
        """The best completed trial's row, or None."""
        done = [r for r in self.rows if r["state"] == "complete" and r.get(self.metric)
                is not None]
        return done[0] if done else None

    @property
    def columns(self) -> list[str]:
        """The CSV columns: trial, state, the parameters, the metrics, epochs, ..."""
        metrics = [self.metric] + [m for m in _present_metrics(self.rows) if m != self.metric]
        return ["trial", "state", *self.params, *metrics, "epochs", "stop_reason", "seconds",
                "error"]

    def to_csv(self, path: str | os.PathLike) -> None:
        """Write the table (best first) as CSV; parameters and metrics as exact reprs."""
        cols = self.columns
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
            writer.writeheader()
            for row in self.rows:
                writer.writerow({c: "" if row.get(c) is None else row.get(c) for c in cols})


def _present_metrics(rows: list[dict]) -> list[str]:
    names = [f"{s}_accuracy" for s in SPLITS[:3]]
    return [m for m in names if any(r.get(m) is not None for r in rows)]


def table(study: optuna.Study, metric: str | None = None,
          params: Sequence[str] | None = None) -> list[dict]:
    """The rows of a sweep's study, best first (see :class:`SweepResult`).

    Trials that a killed or interrupted sweep left behind and that were queued again are
    left out: their retry stands for them."""
    definition = study.user_attrs.get(_ATTR, {})
    metric = metric or definition.get("metric", "evaluation_accuracy")
    params = list(params if params is not None else definition.get("params", []))
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    trials = study.get_trials(deepcopy=False)
    superseded = _superseded(trials)
    rows = []
    for t in trials:
        if t.number in superseded:
            continue
        attrs = t.user_attrs.get(_ATTR, {})
        metrics = attrs.get("metrics", {})
        state = _STATE.get(t.state, t.state.name.lower())
        error = attrs.get("error", "")
        if state == "failed" and not error:
            error = "the sweep running it stopped (killed or interrupted) and it was not retried"
        row = {"trial": t.number, "state": state}
        row.update({p: t.params.get(p) for p in params})
        row.update(metrics)
        if attrs.get("evaluation") and metric.startswith("evaluation_"):
            row[metric] = metrics.get(_concrete(metric, attrs["evaluation"]))
        row.setdefault(metric, None)
        row.update(epochs=attrs.get("epochs"), stop_reason=attrs.get("stop_reason"),
                   seconds=attrs.get("seconds"), error=error,
                   history=attrs.get("history"), evaluation=attrs.get("evaluation"),
                   resumed_from=attrs.get("resumed_from"))
        rows.append(row)

    def key(row):
        value = row.get(metric)
        if value is None or not math.isfinite(value):
            value = math.inf
        elif maximize:
            value = -value
        return (_ORDER.get(row["state"], 9), value, row["trial"])

    return sorted(rows, key=key)


def _superseded(trials) -> set[int]:
    """Numbers of failed trials that a retry replaced (Optuna's retry history)."""
    out = set()
    for t in trials:
        out.update(t.system_attrs.get("retry_history", []))
    return {n for n in out if n < len(trials) and trials[n].state == TrialState.FAIL
            and not trials[n].user_attrs.get(_ATTR, {}).get("error")}


# ======================================================================= the driver
def run(data: Any, network: Mapping[str, Any], fit: Mapping[str, Any] | None = None, *,
        grid: Mapping[str, Sequence[Any]] | None = None,
        space: Mapping[str, Sequence[Any]] | None = None,
        search: str | None = None, trials: int | None = None, prune: str = "none",
        metric: str | None = None, workers: int | None = None, scheduler: str | None = None,
        client: Any = None, storage: str | None = None, study: str | None = None,
        checkpoint_dir: str | os.PathLike | None = None,
        resources: Mapping[str, float] | None = None,
        configure: Callable[[dict], tuple[dict, dict]] | None = None,
        heartbeat: float = 2.0, progress: bool = False,
        on_message: Callable[[str], None] | None = None) -> SweepResult:
    """Run (or resume) a sweep and return its :class:`SweepResult`.

    data : a dataset name (``xmlp.datasets.load``, in the network's dtype), a picklable
        function returning a dataset (called once per worker process), or a dataset --
        anything with ``train``, ``validation`` and ``test`` (X, y) pairs, e.g. an
        ``xmlp.datasets.Dataset`` -- scattered once to every worker.  Each epoch is
        evaluated on the validation split when there is one, else on the test split.
    network : ``xmlp.Network`` arguments shared by all trials (``device`` as text;
        ``seed`` defaults to 0: every trial starts from the same weights).
    fit : ``Network.fit`` hyper-parameters shared by all trials.
    grid : parameter -> values.  With ``search="grid"`` (the default when only a grid is
        given) every combination runs once; with a random or TPE search these parameters
        are categorical dimensions of the search space.
    space : parameter -> ``(low, high)`` or ``(low, high, "log")``: a range for random or
        TPE search (integers for integer parameters).
    search : "grid", "random" or "tpe" (default: grid with only a grid, else tpe).
    trials : number of trials of a random or TPE search (default 20).
    prune : "none", "halving" (successive halving) or "hyperband": each epoch reports the
        metric to Optuna, whose pruner may stop the trial (the metric must be one measured
        every epoch: on the training split or the evaluation split).  The workers then open
        the study by its storage URL, so it must be reachable from them (a file on a local
        cluster, a database server on a distributed one).
    metric : one of ``METRICS`` (default: ``evaluation_accuracy``); accuracies are
        maximised, costs minimised.  The final network's value is the trial's value.
    workers, scheduler, client : start a ``LocalCluster`` of ``workers`` single-threaded
        processes (default: one per core, BLAS pinned to one thread), or connect to the
        scheduler at this address, or use this ``distributed.Client``.
    storage : an Optuna storage URL (default ``sqlite:///sweep.db`` in the working
        directory).  The same sweep run again resumes from it.
    study : study name (default: derived from the sweep's definition, so that running the
        same sweep again finds its study).
    checkpoint_dir : where trials keep their checkpoints (default: beside an SQLite file,
        else ``./sweep-checkpoints``); it must be reachable from the workers to resume on
        another worker (else the trial starts again, to the same result).
    resources : Dask resources each trial needs, e.g. ``{"GPU": 1}`` (workers started
        here get the same resources; on a cluster, start workers with ``--resources``).
    configure : ``params -> (network kwargs, fit kwargs)`` for one trial (default: each
        parameter in ``NETWORK_KEYS`` goes to the network, every other to ``fit``).  With a
        ``configure`` function the swept names are its own (e.g. ``variant`` naming a whole
        architecture) and ``network`` / ``fit`` are only recorded in the definition.
    heartbeat : seconds between the driver's heartbeats for running trials; a killed
        sweep's trials count as stale after three missed beats.
    progress : show a progress bar over the trials (stderr).
    on_message : called with the sweep's notes (study resumed, stale trials retried, ...).
    """
    say = on_message or (lambda text: log.info("%s", text))
    fit = dict(fit or {})
    network = {"seed": 0, **network}  # one seed for every trial unless seed is swept
    grid = {k: list(v) for k, v in (grid or {}).items()}
    space = {k: tuple(v) for k, v in (space or {}).items()}
    search = search or ("grid" if grid and not space else "tpe")
    data_key = _data_key(data, network)
    definition = _definition(network, fit, grid, space, search, prune, metric, data_key,
                             named=configure is None)
    metric = definition["metric"]
    if search != "grid":
        trials = 20 if trials is None else _positive(trials, "trials")
    configure = configure or functools.partial(_route, network, fit)
    storage = storage or f"sqlite:///{Path('sweep.db').resolve()}"
    study_name = study or default_study_name(definition)
    own_folders = 2 if checkpoint_dir is None else 1  # made here; removed when empty
    checkpoint_dir = Path(checkpoint_dir or _default_checkpoints(storage, study_name))
    heartbeat = float(heartbeat)
    if not heartbeat > 0:
        raise ValueError(f"heartbeat must be a positive number of seconds, got {heartbeat}")

    rdb = _rdb_storage(storage, heartbeat)
    the_study = _open_study(rdb, study_name, definition, trials)
    _recover(the_study, rdb, heartbeat, say)
    n_total = _n_grid(grid) if search == "grid" else trials
    ran = 0
    if _outstanding(the_study, definition, n_total) == 0:
        say(f"study {study_name!r}: every trial has run; nothing to do")
    else:
        with _connect(client, scheduler, workers, resources) as dask_client:
            _check_resources(dask_client, resources)
            source = _data_source(dask_client, data, network, data_key)
            ran = _drive(dask_client, the_study, rdb, definition,
                         _distributions(grid, space, search), n_total, source, configure,
                         checkpoint_dir, resources, heartbeat, progress, say)
    for folder in (checkpoint_dir, checkpoint_dir.parent)[:own_folders]:
        try:
            folder.rmdir()
        except OSError:
            break
    rows = table(the_study, metric, definition["params"])
    return SweepResult(the_study, rows, metric, definition["direction"],
                       definition["params"], storage, ran, definition)


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


def _default_checkpoints(storage: str, study: str) -> Path:
    if storage.startswith("sqlite:///") and storage != "sqlite:///:memory:":
        db = Path(storage.removeprefix("sqlite:///"))
        return db.with_name(db.stem + "-checkpoints") / study
    return Path("sweep-checkpoints").resolve() / study


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


class _GridSampler(optuna.samplers.GridSampler):
    """Optuna's grid sampler, minus its ``study.stop()`` when the grid is exhausted: that
    request is for ``Study.optimize``; here the driver counts the grid points itself."""

    def after_trial(self, study, trial, state, values) -> None:
        pass


def _sampler(definition: dict, seed: int):
    if definition["search"] == "grid":
        return _GridSampler(definition["grid"], seed=seed)
    if definition["search"] == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def _pruner(name: str, max_epochs: int):
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs,
                                              reduction_factor=3)
    return optuna.pruners.NopPruner()


@contextmanager
def _quiet_experimental():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


def _engine_kwargs(url: str) -> dict:
    # Several processes write one SQLite file: wait for its lock instead of failing.
    return {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}


def _rdb_storage(url: str, heartbeat: float) -> optuna.storages.RDBStorage:
    """The driver's storage: heartbeats for running trials, stale ones failed and retried."""
    if not isinstance(url, str):
        raise TypeError(f"storage must be an Optuna storage URL, got {url!r}")
    with _quiet_experimental():
        return optuna.storages.RDBStorage(
            url, engine_kwargs=_engine_kwargs(url), heartbeat_interval=heartbeat,
            grace_period=3 * heartbeat,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                max_retry=3, inherit_intermediate_values=True))


def _open_study(rdb, name: str, definition: dict, trials: int | None) -> optuna.Study:
    seed = int(definition["network"].get("seed") or 0)
    with _quiet_experimental():
        study = optuna.create_study(
            storage=rdb, study_name=name, direction=definition["direction"],
            sampler=_sampler(definition, seed),
            pruner=_pruner(definition["prune"], definition["max_epochs"]), load_if_exists=True)
    stored = study.user_attrs.get(_ATTR)
    if stored is None:
        study.set_user_attr(_ATTR, definition)
    elif stored != definition:
        diff = sorted(k for k in {**stored, **definition} if stored.get(k) != definition.get(k))
        raise ValueError(f"study {name!r} in this storage holds another sweep (it differs in "
                         f"{', '.join(diff)}); give another study name or storage")
    return study


def _recover(study: optuna.Study, rdb, heartbeat: float, say) -> None:
    """Fail the trials a killed sweep left running (Optuna's heartbeat check) and let its
    retry callback queue them again; wait while a live sweep's heartbeats may still come.

    Optuna never counts a running trial without any heartbeat as stale, and a sweep killed
    between creating a trial and its first heartbeat leaves one; so every trial still
    running gets one heartbeat here: a live sweep keeps renewing it, a dead one's goes
    stale after the grace period like any other."""
    with _quiet_experimental():
        optuna.storages.fail_stale_trials(study)
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    if not running:
        return
    for t in running:
        rdb.record_heartbeat(t._trial_id)
    grace = 3 * heartbeat
    wait = grace + heartbeat + 1.5  # SQLite's clock has whole seconds
    say(f"{len(running)} trial(s) of study {study.study_name!r} are marked running; waiting "
        f"up to {wait:.0f} s for their heartbeats to go stale (a killed sweep) or for them "
        f"to finish (a sweep still running elsewhere)")
    deadline = time.monotonic() + wait
    while running and time.monotonic() < deadline:
        time.sleep(min(1.0, heartbeat / 2))
        with _quiet_experimental():
            optuna.storages.fail_stale_trials(study)
        running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    if running:
        say(f"{len(running)} trial(s) still have live heartbeats: another sweep runs them")


def _outstanding(study: optuna.Study, definition: dict, n_total: int) -> int:
    """How many more trials to ask for: queued retries plus what the target still lacks."""
    trials = study.get_trials(deepcopy=False)
    superseded = _superseded(trials)
    live = [t for t in trials if t.number not in superseded]
    waiting = sum(t.state == TrialState.WAITING for t in live)
    if definition["search"] == "grid":
        grid = definition["grid"]
        covered = {t.system_attrs["grid_id"] for t in live if "grid_id" in t.system_attrs
                   and t.system_attrs.get("search_space") == {k: grid[k] for k in
                                                               sorted(grid)}}
        return waiting + max(0, n_total - len(covered))
    return waiting + max(0, n_total - len(live))


@contextmanager
def _connect(client, scheduler: str | None, workers: int | None, resources):
    if client is not None:
        yield client
        return
    if scheduler is not None:
        with distributed.Client(scheduler) as c:
            yield c
        return
    n = _positive(workers, "workers") if workers is not None else _cores()
    with distributed.LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
            silence_logs=logging.ERROR, env=dict(BLAS_ONE_THREAD),
            resources=dict(resources) if resources else None) as cluster, \
            distributed.Client(cluster) as c:
        yield c


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _check_resources(client, resources) -> None:
    if not resources:
        return
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    if not any(all(w.get("resources", {}).get(k, 0) >= v for k, v in resources.items())
               for w in workers):
        need = " ".join(f"{k}={v:g}" for k, v in resources.items())
        raise ValueError(f"no worker of the cluster offers the resources {need}: start the "
                         f"workers with --resources '{need}' (dask worker / dask cuda worker)")


def _named(data: Any, network: dict) -> Any:
    if isinstance(data, str):
        return functools.partial(_load_named, data, network.get("dtype", "float32"))
    return data


def _data_key(data: Any, network: dict) -> str:
    """Identifies the data: a dataset name, else a digest of the loader or the arrays."""
    if isinstance(data, str):
        return f"{data}:{network.get('dtype', 'float32')}"
    if not callable(data) and not hasattr(data, "train") and not (
            isinstance(data, Mapping) and "train" in data):
        raise TypeError("data must be a dataset name, a loader function or a dataset with "
                        "train / validation / test (X, y) pairs")
    return _token(data)


def _data_source(client, data: Any, network: dict, key: str):
    """A named dataset or a loader: loaded once per worker.  A dataset: scattered once."""
    data = _named(data, network)
    if callable(data):
        return _Loader(data, key)
    return _Scattered(key, client.scatter(data, broadcast=True, hash=False))


def _load_named(name: str, dtype: str):
    from .. import datasets

    return datasets.load(name, dtype=dtype)


def _drive(client, study, rdb, definition, distributions, n_total, source, configure,
           checkpoint_dir: Path, resources, heartbeat, progress, say) -> int:
    """Ask Optuna for trials, run them on Dask, tell Optuna the results."""
    pending: dict[Any, Any] = {}  # future -> optuna Trial
    bar = _Bar(study, n_total, definition) if progress else None
    ran = 0
    try:
        while True:
            # One trial more than the workers' threads: a worker that finishes starts the
            # queued one at once instead of waiting for Optuna's bookkeeping here.
            capacity = sum(client.nthreads().values()) + 1
            while len(pending) < capacity and _outstanding(study, definition, n_total) > 0:
                with warnings.catch_warnings():  # heartbeats: recorded by this loop
                    warnings.filterwarnings("ignore", "Heartbeat of storage")
                    trial = study.ask(distributions)
                rdb.record_heartbeat(trial._trial_id)
                job = _job(trial, rdb.url, study.study_name, definition, configure,
                           checkpoint_dir, source.key)
                future = client.submit(_run_trial, job, source.ref, pure=False,
                                       key=f"xmlp-trial-{trial.number}-{uuid.uuid4().hex[:8]}",
                                       resources=dict(resources) if resources else None)
                pending[future] = trial
            if not pending:
                break
            try:
                distributed.wait(list(pending), timeout=heartbeat,
                                 return_when="FIRST_COMPLETED")
            except (TimeoutError, distributed.TimeoutError):
                pass
            for trial in pending.values():
                rdb.record_heartbeat(trial._trial_id)
            for future in [f for f in pending if f.done()]:
                trial = pending.pop(future)
                _tell(study, trial, _result(future), say)
                future.release()  # a lost worker must not recompute a finished trial
                ran += 1
                if bar is not None:
                    bar.update(study)
    except BaseException:
        _abandon(study, client, pending)
        raise
    finally:
        if bar is not None:
            bar.close()
    return ran


def _result(future) -> dict:
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - a worker lost too often, a cancelled task
        return {"state": "failed", "error": _describe(exc)}


def _describe(exc: BaseException) -> str:
    if type(exc).__name__ == "KilledWorker":
        return ("the worker running this trial died each time it ran (out of memory, or "
                "killed): " + " ".join(str(exc).split()))
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def _tell(study, trial, result: dict, say) -> None:
    state = result["state"]
    keys = ("metrics", "epochs", "stop_reason", "seconds", "history", "evaluation",
            "resumed_from", "error")
    # One attribute, one write: with SQLite every write is a commit.
    trial.set_user_attr(_ATTR, {k: result[k] for k in keys if result.get(k) is not None})
    try:
        if state == "complete":
            study.tell(trial, result["value"])
        elif state == "pruned":
            study.tell(trial, state=TrialState.PRUNED)
        else:
            study.tell(trial, state=TrialState.FAIL)
    except (ValueError, RuntimeError) as exc:  # another sweep failed it as stale meanwhile
        say(f"trial {trial.number}: could not record its result ({exc})")


def _abandon(study, client, pending) -> None:
    """Interrupted: stop the running trials and queue them again (Optuna's retry callback),
    so that the next run of the sweep takes them up at once."""
    if not pending:
        return
    try:
        client.cancel(list(pending))
    except Exception:  # noqa: BLE001 - the cluster may be gone already
        pass
    retry = study._storage.get_heartbeat_stale_trial_callback()
    for trial in pending.values():
        try:
            frozen = study.tell(trial, state=TrialState.FAIL)
            if retry is not None:
                with _quiet_experimental():
                    retry(study, frozen)
        except Exception:  # noqa: BLE001 - the next run's heartbeat check catches it
            pass


class _Bar:
    """tqdm over the sweep's trials, with the best value so far."""

    def __init__(self, study, total: int, definition: dict):
        from tqdm.auto import tqdm

        self.metric, self.total = definition["metric"], total
        self.bar = tqdm(total=total, desc="trials", unit="trial", dynamic_ncols=True,
                        mininterval=0.2, leave=True)
        self.update(study)

    def update(self, study) -> None:
        finished = [t for t in study.get_trials(deepcopy=False)
                    if t.state in (TrialState.COMPLETE, TrialState.PRUNED)
                    or (t.state == TrialState.FAIL and t.user_attrs.get(_ATTR, {}).get("error"))]
        self.bar.n = min(len(finished), self.total)
        done = [t.value for t in finished if t.state == TrialState.COMPLETE]
        if done:
            best = max(done) if study.direction.name == "MAXIMIZE" else min(done)
            shown = f"{100 * best:.2f}%" if self.metric.endswith("accuracy") else f"{best:.4g}"
            self.bar.set_postfix_str(f"best {self.metric} {shown}", refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


# ======================================================================= one trial
@dataclass(frozen=True)
class _Job:
    """What a worker needs to run one trial (small, picklable)."""

    number: int
    trial_id: int
    network: dict
    fit: dict
    metric: str
    checkpoint: str
    prune: dict | None  # {"storage", "study", "pruner", "max_epochs"} when pruning


def _job(trial, url: str, study_name: str, definition: dict, configure,
         checkpoint_dir: Path, data_key: str) -> _Job:
    network, fit = configure(dict(trial.params))
    settings = json.dumps({"network": network, "fit": fit, "data": data_key},
                          sort_keys=True, default=repr)
    digest = hashlib.sha256(settings.encode()).hexdigest()[:16]
    prune = None
    if definition["prune"] != "none":
        prune = {"storage": url, "study": study_name,
                 "pruner": definition["prune"], "max_epochs": definition["max_epochs"]}
    return _Job(trial.number, trial._trial_id, dict(network), dict(fit), definition["metric"],
                str(checkpoint_dir / f"trial-{digest}.npz"), prune)


class _Loader:
    """A data loader called once per worker process; the data stay in that process."""

    def __init__(self, fn: Callable[[], Any], key: str):
        self.fn, self.key = fn, key

    @property
    def ref(self):
        return self

    def get(self):
        with _CACHE_LOCK:
            if self.key not in _CACHE:
                _CACHE[self.key] = self.fn()
            return _CACHE[self.key]


@dataclass(frozen=True)
class _Scattered:
    """A dataset scattered once to every worker; tasks receive it through ``ref``."""

    key: str
    ref: Any  # distributed.Future


_CACHE: dict[str, Any] = {}  # per worker process: loader key -> dataset
_CACHE_LOCK = threading.Lock()
_STORAGES: dict[str, Any] = {}  # per worker process: storage URL -> RDBStorage


def _split_pairs(data) -> dict[str, tuple]:
    """{"training", "validation", "test"} -> (X, y) for the splits the dataset has."""
    get = (data.get if isinstance(data, Mapping) else
           functools.partial(getattr, data))
    out = {"training": tuple(get("train"))}
    for name in ("validation", "test"):
        try:
            split = get(name)
        except AttributeError:
            split = None
        if split is not None and len(split[1]):
            out[name] = tuple(split)
    return out


def _run_trial(job: _Job, data) -> dict:
    """Run one trial on a worker: ``Network.fit`` with a checkpoint after every epoch,
    resumed when a previous attempt left one.  Never raises: failures are results."""
    import numpy as np

    from .. import checkpoint as ckpt_io
    from ..backend import parse_device
    from ..model import Network
    from ..train import TrainingDiverged

    if isinstance(data, _Loader):
        data = data.get()
    reporter = None
    try:
        splits = _split_pairs(data)
        eval_name = "validation" if "validation" in splits else (
            "test" if "test" in splits else None)
        metric_split = job.metric.rsplit("_", 1)[0]
        if metric_split == "evaluation":
            metric_split = eval_name
        if metric_split not in splits:
            raise ValueError(f"metric {job.metric!r}: the data have no "
                             f"{metric_split or 'evaluation'} split")
        kwargs = dict(job.network)
        kwargs["device"] = parse_device(kwargs.get("backend", "numpy"), kwargs.get("device"))
        net = Network(**kwargs)
        path = Path(job.checkpoint)
        path.parent.mkdir(parents=True, exist_ok=True)
        resume = resumed_from = None
        if path.exists():
            try:
                resumed_from = ckpt_io.load(path, net).epoch
                resume = path
            except (OSError, ValueError):  # unreadable: start again, to the same result
                path.unlink(missing_ok=True)
        if job.prune is not None:
            reporter = _Reporter(job, eval_name)
        t0 = time.perf_counter()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            history = net.fit(*splits["training"], **job.fit,
                              evaluation_data=splits.get(eval_name),
                              callback=reporter, checkpoint=path, resume=resume)
        state = "complete"
        if reporter is not None:
            reporter.report_all(history)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, the sweep goes on
        if isinstance(exc, optuna.TrialPruned) and reporter is not None:
            history, state = reporter.history, "pruned"
        else:
            Path(job.checkpoint).unlink(missing_ok=True)
            hist = getattr(exc, "history", None)
            return {"state": "failed", "error": _describe(exc) if not isinstance(
                exc, TrainingDiverged) else " ".join(str(exc).split()),
                "history": None if hist is None else _curves(hist),
                "epochs": None if hist is None else hist.epochs,
                "stop_reason": None if hist is None else hist.stop_reason}
    metrics = _metrics(net, splits, job, eval_name)
    Path(job.checkpoint).unlink(missing_ok=True)
    out = {"state": state, "metrics": metrics, "value": metrics[_concrete(job.metric,
                                                                          eval_name)],
           "epochs": history.epochs,
           "stop_reason": "pruned" if state == "pruned" else history.stop_reason,
           "seconds": sum(history.seconds), "history": _curves(history),
           "evaluation": eval_name, "resumed_from": resumed_from,
           "wall_seconds": time.perf_counter() - t0}
    return out


def _concrete(metric: str, eval_name: str | None) -> str:
    split, quantity = metric.rsplit("_", 1)
    return f"{eval_name if split == 'evaluation' else split}_{quantity}"


def _metrics(net, splits: dict, job: _Job, eval_name: str | None) -> dict:
    """The final network's accuracies on every split (as ``xmlp train`` reports them:
    correct / n), and the metric's cost when the metric is a cost."""
    out = {}
    for name, (X, y) in splits.items():
        n = len(y)
        out[f"{name}_accuracy"] = round(net.accuracy(X, y) * n) / n
    metric = _concrete(job.metric, eval_name)
    if metric.endswith("_cost"):
        X, y = splits[metric.rsplit("_", 1)[0]]
        out[metric] = net.total_cost(X, y, job.fit.get("lmbda", 0.0), job.fit.get("l1", 0.0))
    return out


def _curves(history) -> dict:
    return {k: list(getattr(history, k)) for k in (
        "training_cost", "training_accuracy", "evaluation_cost", "evaluation_accuracy",
        "seconds", "eta")}


class _Reporter:
    """fit's callback when pruning: reports the metric of each epoch to the trial and asks
    Optuna's pruner whether to stop (``optuna.TrialPruned`` ends the fit)."""

    def __init__(self, job: _Job, eval_name: str | None):
        spec = job.prune
        url = spec["storage"]
        if url not in _STORAGES:
            _STORAGES[url] = optuna.storages.RDBStorage(url, engine_kwargs=_engine_kwargs(url))
        storage = _STORAGES[url]
        study = optuna.load_study(study_name=spec["study"], storage=storage,
                                  sampler=optuna.samplers.RandomSampler(seed=0),
                                  pruner=_pruner(spec["pruner"], spec["max_epochs"]))
        self.trial = optuna.trial.Trial(study, job.trial_id)
        self.reported = set(storage.get_trial(job.trial_id).intermediate_values)
        split, quantity = job.metric.rsplit("_", 1)
        if split not in ("training", "evaluation", eval_name):
            raise ValueError(f"pruning watches the metric every epoch, on the training or the "
                             f"{eval_name} split; {job.metric!r} is measured at the end only")
        self.series = f"{'training' if split == 'training' else 'evaluation'}_{quantity}"
        self.history = None

    def report_all(self, history) -> None:
        self.history = history
        for step, value in enumerate(getattr(history, self.series), start=1):
            if step not in self.reported:  # epochs before a resume were reported then
                self.trial.report(float(value), step)
                self.reported.add(step)

    def __call__(self, epoch: int, history) -> None:
        self.report_all(history)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned after epoch {epoch + 1}")

