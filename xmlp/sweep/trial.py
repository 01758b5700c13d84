"""One trial, as it runs on a Dask worker: an ordinary ``Network.fit`` with a checkpoint after
every epoch (resumed when an earlier attempt left one), reporting each epoch to Optuna's
pruner when pruning, and returning its metrics, curves or error as a small picklable result.

Dask workers unpickle what they run from here by name (``_run_trial``, ``_Job``,
``_Loader``): these must stay importable at this path."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from ..history import History
from .space import _concrete
from .study import _engine_kwargs, _pruner


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


_CACHE: dict[str, Any] = {}  # per worker process: loader key -> dataset
_CACHE_LOCK = threading.Lock()
_STORAGES: dict[str, Any] = {}  # per worker process: storage URL -> RDBStorage


def _split_pairs(data) -> dict[str, tuple]:
    """{"training", "validation", "test"} -> (X, y) for the splits the dataset has."""
    def get(name: str) -> Any:
        return data.get(name) if isinstance(data, Mapping) else getattr(data, name, None)

    out = {"training": tuple(get("train"))}
    for name in ("validation", "test"):
        split = get(name)
        if split is not None and len(split[1]):
            out[name] = tuple(split)
    return out


def _prepare(job: _Job, data) -> tuple[dict[str, tuple], str | None]:
    """The data's splits and the name of the one each epoch is evaluated on; refuses a
    metric on a split the data lack."""
    splits = _split_pairs(data)
    eval_name = "validation" if "validation" in splits else (
        "test" if "test" in splits else None)
    metric_split: str | None = job.metric.rsplit("_", 1)[0]
    if metric_split == "evaluation":
        metric_split = eval_name
    if metric_split is None or metric_split not in splits:
        raise ValueError(f"metric {job.metric!r}: the data have no "
                         f"{metric_split or 'evaluation'} split")
    return splits, eval_name


def _run_trial(job: _Job, data) -> dict:
    """Run one trial on a worker: ``Network.fit`` with a checkpoint after every epoch,
    resumed when a previous attempt left one.  Never raises: failures are results."""
    import numpy as np

    from .. import checkpoint as ckpt_io
    from ..backend import parse_device
    from ..history import TrainingDiverged
    from ..model import Network

    if isinstance(data, _Loader):
        data = data.get()
    reporter = None
    try:
        splits, eval_name = _prepare(job, data)
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
                              evaluation_data=None if eval_name is None else splits[eval_name],
                              callback=reporter, checkpoint=path, resume=resume)
        state = "complete"
        if reporter is not None:
            reporter.report_all(history)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, the sweep goes on
        if (isinstance(exc, optuna.TrialPruned) and reporter is not None
                and reporter.history is not None):  # pruned after reporting an epoch
            history, state = reporter.history, "pruned"
        else:
            Path(job.checkpoint).unlink(missing_ok=True)
            hist = getattr(exc, "history", None)
            return _failed(_describe(exc) if not isinstance(exc, TrainingDiverged)
                           else " ".join(str(exc).split()), hist)
    Path(job.checkpoint).unlink(missing_ok=True)
    return _finished(net, history, state, splits, job, eval_name, resumed_from, t0)


def _finished(net, history: History, state: str, splits: dict, job: _Job,
              eval_name: str | None, resumed_from: int | None, t0: float) -> dict:
    """The result of a trial that completed or was pruned: ``net`` is its network then."""
    metrics = _metrics(net, splits, job, eval_name)
    return {"state": state, "metrics": metrics,
            "value": metrics[_concrete(job.metric, eval_name)],
            "epochs": history.epochs,
            "stop_reason": "pruned" if state == "pruned" else history.stop_reason,
            "seconds": sum(history.seconds), "history": _curves(history),
            "evaluation": eval_name, "resumed_from": resumed_from,
            "wall_seconds": time.perf_counter() - t0}


def _failed(error: str, history: History | None) -> dict:
    """The result of a trial that raised or diverged, with its curves up to then."""
    return {"state": "failed", "error": error,
            "history": None if history is None else _curves(history),
            "epochs": None if history is None else history.epochs,
            "stop_reason": None if history is None else history.stop_reason}


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


def _describe(exc: BaseException) -> str:
    if type(exc).__name__ == "KilledWorker":
        return ("the worker running this trial died each time it ran (out of memory, or "
                "killed): " + " ".join(str(exc).split()))
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def _pruning_study(job: _Job) -> optuna.Study:
    """The sweep's study as a worker opens it to report epochs and ask the pruner (one
    storage per worker process and URL)."""
    spec = job.prune
    assert spec is not None  # opened for pruned sweeps only
    url = spec["storage"]
    if url not in _STORAGES:
        _STORAGES[url] = optuna.storages.RDBStorage(url, engine_kwargs=_engine_kwargs(url))
    return optuna.load_study(study_name=spec["study"], storage=_STORAGES[url],
                             sampler=optuna.samplers.RandomSampler(seed=0),
                             pruner=_pruner(spec["pruner"], spec["max_epochs"]))


class _Reporter:
    """fit's callback when pruning: reports the metric of each epoch to the trial and asks
    Optuna's pruner whether to stop (``optuna.TrialPruned`` ends the fit)."""

    def __init__(self, job: _Job, eval_name: str | None, study: optuna.Study | None = None):
        study = study or _pruning_study(job)
        self.trial = optuna.trial.Trial(study, job.trial_id)
        self.reported = set(study._storage.get_trial(job.trial_id).intermediate_values)
        split, quantity = job.metric.rsplit("_", 1)
        if split not in ("training", "evaluation", eval_name):
            raise ValueError(f"pruning watches the metric every epoch, on the training or the "
                             f"{eval_name} split; {job.metric!r} is measured at the end only")
        self.series = f"{'training' if split == 'training' else 'evaluation'}_{quantity}"
        self.history: History | None = None

    def report_all(self, history: History) -> None:
        self.history = history
        for step, value in enumerate(getattr(history, self.series), start=1):
            if step not in self.reported:  # epochs before a resume were reported then
                self.trial.report(float(value), step)
                self.reported.add(step)

    def __call__(self, epoch: int, history) -> None:
        self.report_all(history)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned after epoch {epoch + 1}")
