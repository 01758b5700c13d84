"""How eta changes between epochs, in one owner: :class:`Schedule` holds the fit's learning
rate.  Nielsen's schedule halves it when the evaluation accuracy stops improving and stops at
1/128 of it; early stopping stops after epochs without improvement and restores the best
parameters; the fixed cosine / linear anneals scale it over the epochs and watch nothing."""

from __future__ import annotations

import math
from typing import Any

from .history import History

__all__ = ["ANNEALS", "anneal_factor", "Schedule"]

ANNEALS = ("cosine", "linear")  # fixed learning-rate schedules over the epochs


def anneal_factor(anneal: str | None, epoch: int, epochs: int) -> float:
    """The factor of eta in 0-based ``epoch`` of ``epochs`` under ``anneal`` (1.0 for None)."""
    if anneal is None:
        return 1.0
    t = epoch / epochs
    return (1 + math.cos(math.pi * t)) / 2 if anneal == "cosine" else 1 - t


class Schedule:
    """The learning rate of every epoch, early stopping and Nielsen's schedule.

    :meth:`eta` gives an epoch's learning rate (the base rate, halved by the schedule, times
    the anneal's factor); :meth:`stop` is called after each recorded epoch with the
    network (whose parameters it may keep or restore) and the history."""

    def __init__(self, eta: float, early_stopping: int | None = None,
                 schedule: int | None = None, anneal: str | None = None, epochs: int = 1):
        self.eta0 = self.base = eta
        self.early_stopping, self.schedule = early_stopping, schedule
        self.anneal, self.epochs = anneal, epochs
        self.best = -math.inf
        self.best_params: Any = None
        self.since_best = 0  # epochs without improvement (early stopping)
        self.since_change = 0  # epochs without improvement since the last halving

    def eta(self, epoch: int) -> float:
        """The learning rate of 0-based ``epoch``."""
        return self.base * anneal_factor(self.anneal, epoch, self.epochs)

    def state(self) -> dict:
        """What a checkpoint keeps (besides the best parameters)."""
        return {"eta": self.base, "best": None if self.best == -math.inf else self.best,
                "since_best": self.since_best, "since_change": self.since_change}

    def load_state(self, state: dict, best_params: Any) -> None:
        self.base, self.since_best = state["eta"], state["since_best"]
        self.since_change = state["since_change"]
        self.best = -math.inf if state["best"] is None else state["best"]
        self.best_params = best_params

    def stop(self, net: Any, history: History) -> bool:
        """Whether to stop after the epoch ``history`` just recorded."""
        if not (self.early_stopping or self.schedule):
            return False
        acc = history.evaluation_accuracy[-1]
        if acc > self.best:
            self.best, self.since_best, self.since_change = acc, 0, 0
            self.best_params = net.params  # immutable arrays: keeping them is free
            history.best_epoch = history.epochs - 1
        else:
            self.since_best += 1
            self.since_change += 1
        if self.early_stopping and self.since_best >= self.early_stopping:
            net.params = self.best_params
            history.stop_reason = "early_stopping"
            return True
        if self.schedule and self.since_change >= self.schedule:
            self.base /= 2
            self.since_change = 0
            if self.base <= self.eta0 / 128:
                history.stop_reason = "schedule"
                return True
        return False
