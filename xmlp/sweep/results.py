"""The results of a sweep: the table of its study's trials, best first, and
:class:`SweepResult` (the study, that table, CSV output)."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import optuna
from optuna.trial import TrialState

from .space import SPLITS, _concrete
from .study import _ATTR, _superseded

_STATE = {TrialState.COMPLETE: "complete", TrialState.PRUNED: "pruned",
          TrialState.FAIL: "failed", TrialState.RUNNING: "running",
          TrialState.WAITING: "waiting"}
_ORDER = {"complete": 0, "pruned": 1, "failed": 2, "running": 3, "waiting": 4}


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
