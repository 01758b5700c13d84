"""The epochs of a fit: what the host draws for each one (the visiting order, the dropout
masks, the shift/flip codes, all from the network's seeded generator), the run through the
mini-batch engine, and the end-of-epoch record -- one device -> host transfer of the
monitored figures, with the divergence check that rolls the weights back.
:func:`xmlp.train.fit` drives them."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from . import augment as aug
from . import optim
from .backend import to_numpy
from .engine import Engine
from .history import History, TrainingDiverged, TrainingInterrupted
from .network import Network

__all__ = ["epoch_order", "dropout_masks", "Hyper", "Loop", "record"]


def epoch_order(rng: np.random.Generator, n: int) -> np.ndarray:
    """The order in which an epoch visits the n training examples (host, int64)."""
    return rng.permutation(n)


@dataclass
class Hyper:
    """A fit's step settings; ``eta`` changes between epochs."""

    eta: float  # this epoch's learning rate (the schedule may halve it)
    decay: optim.Decay  # L2 / L1 strengths over n
    dropout: float

    @property
    def n(self) -> int:
        return self.decay.n

    @property
    def lmbda(self) -> float:
        return self.decay.lmbda

    @property
    def l1(self) -> float:
        return self.decay.l1


def dropout_masks(net: Network, rng: np.random.Generator, n: int, p: float
                   ) -> list[np.ndarray]:
    """One epoch of inverted-dropout masks per hidden layer, (n, n_l), scaled by 1/(1-p).

    Drawn on the host (same masks on every backend) in visiting order; the engine moves
    them once per epoch and mini-batch k uses rows [k, k+m)."""
    return [(rng.random((n, width)) >= p) / (1.0 - p) for width in net.sizes[1:-1]]


class Loop:
    """Runs a fit's epochs through the mini-batch engine, drawing each epoch's order,
    dropout masks and shift/flip codes from the network's generator."""

    def __init__(self, net: Network, X, Y, batch_size: int, hyper: Hyper, rule: optim.Rule,
                 progress, augment: aug.Augment | None = None, compiled: bool = False):
        self.net, self.hyper, self.augment = net, hyper, augment
        self.engine = Engine(net, rule, batch_size, lmbda=hyper.lmbda, l1=hyper.l1,
                             n=hyper.n, progress=progress, compiled=compiled)
        self.data = self.engine.data(X, Y, augment=augment)
        self.good = (net._W, net._b)  # weights after the last finite epoch
        self.divergence_limit: float | None = None  # training cost above this: diverged

    @property
    def rule(self) -> optim.Rule:
        return self.engine.rule

    @property
    def state(self) -> optim.State:
        return self.engine.state

    @state.setter
    def state(self, state: optim.State) -> None:
        self.engine.state = state

    def run_epoch(self, epoch: int, history: History) -> float:
        """One epoch; returns its training seconds (compilation not counted: the history's
        ``compile_seconds`` holds that)."""
        net, h = self.net, self.hyper
        start, compiling = time.perf_counter(), self.engine.compile_seconds
        order = epoch_order(net.rng, h.n)
        masks = dropout_masks(net, net.rng, h.n, h.dropout) if h.dropout else None
        codes = None if self.augment is None else self.augment.draw(net.rng, h.n)
        try:
            self.engine.epoch(self.data, order, h.eta, masks, codes, epoch)
        except KeyboardInterrupt:
            history.stop_reason = "interrupted"
            raise TrainingInterrupted(history) from None
        finally:
            history.compile_seconds = self.engine.compile_seconds
        return time.perf_counter() - start - (self.engine.compile_seconds - compiling)


def record(loop: Loop, history: History, epoch: int, seconds_train: float,
            monitor, train, evaluation) -> None:
    """Fetch this epoch's numbers in one transfer; roll back and raise on divergence."""
    net, h = loop.net, loop.hyper
    sets = [data for prefix, data in (("training", train), ("evaluation", evaluation))
            if any(m.startswith(prefix) for m in monitor)]
    fetched = to_numpy(loop.engine.figures(sets, h.lmbda, h.l1)).tolist()
    history.compile_seconds = loop.engine.compile_seconds
    history.seconds.append(seconds_train)
    history.eta.append(h.eta)
    exploded = (loop.divergence_limit is not None and "training_cost" in monitor
                and fetched[1] > loop.divergence_limit)
    if exploded or not all(math.isfinite(v) for v in fetched):
        net._W, net._b = loop.good
        history.stop_reason = "diverged"
        raise TrainingDiverged(
            f"training diverged in epoch {epoch + 1} with eta={h.eta:g}: "
            + (f"the training cost rose to {fetched[1]:.4g}, more than "
               f"{loop.divergence_limit:.4g} (divergence_factor x the cost before training)"
               if exploded else "the weights or the cost became NaN/inf")
            + ". The network keeps the weights of the last good epoch; try a smaller eta.",
            history)
    loop.good = (net._W, net._b)
    it = iter(fetched[1:])
    sizes = {"training": train[0].shape[0],
             "evaluation": None if evaluation is None else evaluation[0].shape[0]}
    for prefix in ("training", "evaluation"):
        if any(m.startswith(prefix) for m in monitor):
            cost, acc = float(next(it)), round(next(it)) / sizes[prefix]  # count / n, exact
            if f"{prefix}_cost" in monitor:
                getattr(history, f"{prefix}_cost").append(cost)
            if f"{prefix}_accuracy" in monitor:
                getattr(history, f"{prefix}_accuracy").append(acc)
