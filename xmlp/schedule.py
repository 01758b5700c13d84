"""How eta changes between epochs: Nielsen's schedule (halve eta when the evaluation
accuracy stops improving, stop at 1/128 of it), early stopping with the best weights kept,
and the fixed cosine / linear anneals that watch nothing."""

from __future__ import annotations

import math

from .history import History

__all__ = ["ANNEALS", "anneal_factor", "Tracker"]

ANNEALS = ("cosine", "linear")  # fixed learning-rate schedules over the epochs


def anneal_factor(anneal: str | None, epoch: int, epochs: int) -> float:
    """The factor of eta in 0-based ``epoch`` of ``epochs`` under ``anneal`` (1.0 for None)."""
    if anneal is None:
        return 1.0
    t = epoch / epochs
    return (1 + math.cos(math.pi * t)) / 2 if anneal == "cosine" else 1 - t


class Tracker:
    """Early stopping and Nielsen's learning-rate schedule on the evaluation accuracy.

    ``eta`` is the current base learning rate; :meth:`stop` is called after each recorded
    epoch with the network (whose weights it may keep or restore) and the history."""

    def __init__(self, eta: float, early_stopping: int | None, schedule: int | None):
        self.eta0 = self.eta = eta
        self.early_stopping, self.schedule = early_stopping, schedule
        self.best = -math.inf
        self.best_params = None
        self.since_best = 0  # epochs without improvement (early stopping)
        self.since_change = 0  # epochs without improvement since the last halving

    def state(self) -> dict:
        return {"eta": self.eta, "best": None if self.best == -math.inf else self.best,
                "since_best": self.since_best, "since_change": self.since_change}

    def load_state(self, state: dict, best_params) -> None:
        self.eta, self.since_best = state["eta"], state["since_best"]
        self.since_change = state["since_change"]
        self.best = -math.inf if state["best"] is None else state["best"]
        self.best_params = best_params

    def stop(self, net, history: History) -> bool:
        if not (self.early_stopping or self.schedule):
            return False
        acc = history.evaluation_accuracy[-1]
        if acc > self.best:
            self.best, self.since_best, self.since_change = acc, 0, 0
            self.best_params = (net._W, net._b)  # immutable arrays: keeping them is free
            history.best_epoch = history.epochs - 1
        else:
            self.since_best += 1
            self.since_change += 1
        if self.early_stopping and self.since_best >= self.early_stopping:
            net._W, net._b = self.best_params
            history.stop_reason = "early_stopping"
            return True
        if self.schedule and self.since_change >= self.schedule:
            self.eta /= 2
            self.since_change = 0
            if self.eta <= self.eta0 / 128:
                history.stop_reason = "schedule"
                return True
        return False
