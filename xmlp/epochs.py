"""The epochs of a fit: what the host draws for each one (the visiting order, the dropout
masks, the shift/flip codes, all from the network's seeded generator), the run through the
mini-batch engine, and the end-of-epoch record -- one device -> host transfer of the
monitored numbers, with the divergence check that rolls the parameters back.
:func:`xmlp.train.fit` drives them.

The divergence guard: training has diverged when the weights or a monitored cost are not
finite, or, when the training cost is monitored, when it exceeds ``divergence_factor``
times the larger of (a) the training cost before this fit and (b) the training cost of a
network that knows nothing -- every weight and bias zero, so that every output is the output
activation of 0 (0.5 per sigmoid, 1/n per softmax, 0 for identity outputs).  (b) keeps a
network that continues training, whose starting cost is already low, from being called
diverged when its cost rises to where an untrained network's is (a new learning rate, shifted
images); a cost ten times worse than knowing nothing is divergence whatever came before.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .backend import to_numpy
from .engine import Engine, TrainState
from .history import History, TrainingDiverged, TrainingInterrupted
from .network import Network
from .optim import Rule
from .settings import FitSettings

Array = Any
DataSet = tuple[Array, Array, Array]  # (X, labels, Y) on the device

__all__ = ["epoch_order", "dropout_masks", "Epochs", "uninformed_cost"]


def epoch_order(rng: np.random.Generator, n: int) -> np.ndarray:
    """The order in which an epoch visits the n training examples (host, int64)."""
    return rng.permutation(n)


def dropout_masks(widths: Sequence[int], rng: np.random.Generator, n: int, p: float
                  ) -> list[np.ndarray]:
    """One epoch of inverted-dropout masks per hidden layer of these ``widths``, (n, width),
    scaled by 1/(1-p).

    Drawn on the host (same masks on every backend) in visiting order; the engine moves
    them once per epoch and mini-batch k uses rows [k, k+m)."""
    return [(rng.random((n, width)) >= p) / (1.0 - p) for width in widths]


def uninformed_cost(net: Network, Y: Array) -> float:
    """The mean cost on targets ``Y`` of a network whose parameters are all zero."""
    xp = net.xp
    Z = xp.zeros_like(Y)
    return float(to_numpy(xp.sum(net.cost.fn(Z, net.output.f(Z, xp), Y, xp)))) / Y.shape[0]


class Epochs:
    """A fit's epochs: the draws, the engine run and the record of each."""

    def __init__(self, net: Network, train: DataSet, evaluation: DataSet | None,
                 settings: FitSettings, rule: Rule, monitor: tuple[str, ...],
                 progress: Callable[[int, int, int], None] | None, compiled: bool,
                 probe: tuple[Array, Array] | None = None):
        self.net, self.settings, self.monitor = net, settings, monitor
        self.probe = probe  # (X, Y) on the device: the learning speed's rows, or None
        self.speed: list[float] = []  # the speeds before the next epoch
        self.train, self.evaluation = train, evaluation
        self.augment = settings.augment(net.sizes[0])
        self.engine = Engine(net, rule, settings.batch_size,
                             regulariser=settings.regulariser(), augment=self.augment,
                             progress=progress, compiled=compiled)
        self.data = self.engine.data(train[0], train[2])
        self.good = net.params  # after the last finite epoch
        self.limit: float | None = None  # a training cost above this: diverged

    @property
    def n(self) -> int:
        return self.data.n

    def begin(self, history: History, resumed: bool) -> None:
        """Measure what the divergence guard compares with (see the module docstring), and
        the speeds of learning before the first epoch."""
        if self.probe is not None:  # resumed too: the speeds of the parameters it resumes
            self.speed = to_numpy(self.engine.measure(self.net.params, [],
                                                      probe=self.probe)).tolist()[1:]
        factor = self.settings.divergence_factor
        if factor is None or "training_cost" not in self.monitor:
            return
        if not resumed:
            before = to_numpy(self.engine.measure(self.net.params, [self.train]))
            history.initial_training_cost = float(before[1])
        start = history.initial_training_cost
        if start is not None:
            self.limit = factor * max(start, uninformed_cost(self.net, self.train[2]))

    def resume(self, state: TrainState) -> None:
        """Continue from a checkpoint's state (the network holds its parameters)."""
        self.engine.state = state
        self.good = state.params

    def run(self, epoch: int, eta: float, history: History) -> None:
        """Train one epoch at ``eta`` and record it; raises TrainingDiverged (parameters of
        the last good epoch restored) or TrainingInterrupted (those of the last whole
        step kept)."""
        net, engine = self.net, self.engine
        start, compiling = time.perf_counter(), engine.compile_seconds
        order = epoch_order(net.rng, self.n)
        masks = (dropout_masks(net.sizes[1:-1], net.rng, self.n, self.settings.dropout)
                 if self.settings.dropout else None)
        codes = None if self.augment is None else self.augment.draw(net.rng, self.n)
        try:
            engine.epoch(self.data, order, eta, masks, codes, epoch)
        except KeyboardInterrupt:
            history.stop_reason = "interrupted"
            raise TrainingInterrupted(history) from None
        finally:
            net.params = engine.state.params
            history.compile_seconds = engine.compile_seconds
        seconds = time.perf_counter() - start - (engine.compile_seconds - compiling)
        self._record(epoch, eta, seconds, history)

    def _record(self, epoch: int, eta: float, seconds: float, history: History) -> None:
        """Fetch this epoch's numbers in one transfer; roll back and raise on divergence."""
        net, monitor = self.net, self.monitor
        sets = [(prefix, data) for prefix, data in (("training", self.train),
                                                   ("evaluation", self.evaluation))
                if data is not None and any(m.startswith(prefix) for m in monitor)]
        fetched = to_numpy(self.engine.measure(net.params, [d for _, d in sets],
                                               probe=self.probe)).tolist()
        fetched, speed = fetched[:1 + 2 * len(sets)], fetched[1 + 2 * len(sets):]
        history.compile_seconds = self.engine.compile_seconds
        history.seconds.append(seconds)
        history.eta.append(eta)
        if self.probe is not None:  # the speeds before this epoch, as chapter 5 records them
            if not history.learning_speed:  # (kept when the epoch diverges, as seconds are)
                history.learning_speed = [[] for _ in self.speed]
            for layer, v in zip(history.learning_speed, self.speed):
                layer.append(v)
            self.speed = speed
        exploded = (self.limit is not None and "training_cost" in monitor
                    and fetched[1] > self.limit)
        if exploded or not all(math.isfinite(v) for v in fetched):
            net.params = self.good
            history.stop_reason = "diverged"
            raise TrainingDiverged(
                f"training diverged in epoch {epoch + 1} with eta={eta:g}: "
                + (f"the training cost rose to {fetched[1]:.4g}, more than {self.limit:.4g} "
                   "(divergence_factor x the larger of the cost before this fit and an "
                   "untrained network's)"
                   if exploded else "the weights or the cost became NaN/inf")
                + ". The network keeps the weights of the last good epoch; try a smaller eta.",
                history)
        self.good = net.params
        for (prefix, data), (cost, correct) in zip(sets, zip(fetched[1::2], fetched[2::2])):
            if f"{prefix}_cost" in monitor:
                getattr(history, f"{prefix}_cost").append(float(cost))
            if f"{prefix}_accuracy" in monitor:  # count / n, exact
                getattr(history, f"{prefix}_accuracy").append(round(correct) / data[0].shape[0])
