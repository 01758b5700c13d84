"""The mini-batch engine: epochs of the one training step (:func:`xmlp.step.step`), eager or
compiled, for :meth:`xmlp.Network.fit` and the scikit-learn estimators alike.

An epoch is fixed by what the host drew for it -- the visiting order, the dropout masks,
the shift/flip codes (all from the front end's seeded generator) -- and by its learning
rate.  From those the engine makes the epoch's :class:`~xmlp.step.Plan` on the host: the
rows of each batch, its size s (or the sum of its sample weights: scikit-learn's
convention, in which a batch of weight 0 is skipped), the step count t after it, and the
step's host numbers (:func:`xmlp.step.numbers`, once per distinct (s, t)).  Then it takes
``ceil(n / m)`` steps from its :class:`TrainState`, one of two ways with the same numbers:

* **eager** -- a Python loop over :func:`~xmlp.step.gather` and :func:`~xmlp.step.step`,
  one array operation at a time, on every backend;
* **compiled** -- on JAX, ``lax.scan`` over the same two functions (:mod:`xmlp.compiled`):
  the full mini-batches are one XLA program, the short last batch a program of its own,
  each compiled once per (network shapes, batch size, options) per process and reused by
  every later fit.  The host numbers go over with the epoch's draws in one explicit
  transfer per call, so nothing moves between host and device inside an epoch, and eta,
  the regularisation strengths or momentum change between epochs and fits without
  recompiling.

The engine never writes into a network: it reads the network's public settings and
parameters once, keeps the current :class:`TrainState` in ``Engine.state`` (after every
step eager, after every call compiled, so an interrupted epoch keeps its last whole step)
and the caller puts ``state.params`` back with ``net.params = ...``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from . import compiled
from .augment import Augment
from .network import Network, dataset_sums, learning_speed
from .optim import Rule
from .params import Params
from .regulariser import Regulariser, term
from .step import Data, Numbers, Plan, Spec, gather, plan, step
from .step import numbers as _numbers

Array = Any

__all__ = ["Engine", "TrainState", "TrainingSet", "compiles", "resolve_compile",
           "COMPILING_BACKENDS"]

#: Backends whose epochs can be compiled.
COMPILING_BACKENDS = ("jax",)


def compiles(backend_name: str) -> bool:
    """Whether epochs on this backend can be compiled."""
    return backend_name in COMPILING_BACKENDS


def resolve_compile(compile: bool | None, backend_name: str) -> bool:
    """``fit(compile=...)``: None = compiled where the backend can, else eager; True on a
    backend that cannot is a ValueError naming those that can; False = eager."""
    if compile is None:
        return compiles(backend_name)
    if not isinstance(compile, (bool, np.bool_)):
        raise TypeError(f"compile must be True, False or None, got {compile!r}")
    if compile and not compiles(backend_name):
        raise ValueError(f"compile=True needs a backend that compiles "
                         f"({', '.join(COMPILING_BACKENDS)}); backend {backend_name!r} runs "
                         "eagerly: use compile=None or False, or backend='jax'")
    return bool(compile)


class TrainState(NamedTuple):
    """Where training stands between steps: the parameters, the rule's state (both on the
    device) and the number of steps taken (a host number: Adam's bias corrections)."""

    params: Params
    rule: Any
    t: int = 0


@dataclass(frozen=True)
class TrainingSet:
    """A training set for :meth:`Engine.epoch`: the arrays on the device, and the sample
    weights on the host too (each batch's weight sum is a host number)."""

    data: Data
    weights: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.data.X.shape[0])


class Engine:
    """Runs epochs of mini-batch steps for ``net`` with ``rule``.

    Parameters
    ----------
    net : Network
        The network trained (its activations, cost, backend, dtype and device, and its
        parameters to start from); the engine never writes into it.
    rule : xmlp.optim.Rule
        The update rule.
    batch_size : int
        The mini-batch size.
    regulariser : xmlp.regulariser.Regulariser, optional
        L2 / L1 and their convention (default: none).
    augment : xmlp.augment.Augment, optional
        Random shifts / flips of every mini-batch (the codes come with each epoch).
    loss_scale : float, optional
        When given, :meth:`epoch` also returns scikit-learn's summed batch losses (each
        batch's ``loss_scale`` x mean cost plus the regularisation term, times its size),
        as a 0-d device array.
    progress : callable, optional
        Called as ``progress(epoch, batches_done, n_batches)`` after each step (eager) or
        each call of the compiled program.
    compiled : bool, default False
        Run the epochs as compiled programs (a backend that compiles: JAX).
    state : TrainState, optional
        Where to continue from (default: the network's parameters, ``rule.init``, step 0).
    """

    def __init__(self, net: Network, rule: Rule, batch_size: int, *,
                 regulariser: Regulariser | None = None, augment: Augment | None = None,
                 loss_scale: float | None = None,
                 progress: Callable[[int, int, int], None] | None = None,
                 compiled: bool = False, state: TrainState | None = None):
        if compiled and not compiles(net.backend.name):
            raise ValueError(f"compiled epochs need a backend that compiles, not "
                             f"{net.backend.name!r}")
        self.spec = Spec(net.hidden, net.output, net.cost, rule, augment)
        self.regulariser = regulariser or Regulariser()
        self.batch_size, self.loss_scale, self.progress = batch_size, loss_scale, progress
        self.compiled = compiled
        self.xp, self.dtype, self.device = net.xp, net.dtype, net.device
        params = net.params
        self.state = TrainState(params, rule.init(params, net.xp)) if state is None else state
        self.compile_seconds = 0.0  # spent compiling programs this engine needed

    @property
    def rule(self) -> Rule:
        return self.spec.rule

    # ------------------------------------------------------------------ data
    def put(self, a: np.ndarray, dtype: Any = None) -> Array:
        """One host array onto the device (an explicit transfer when compiled)."""
        if self.compiled:
            return compiled.put(a if dtype is None else np.asarray(a, compiled.host_dtype(dtype)),
                                self.device)
        if dtype is None:
            return self.xp.asarray(a, device=self.device)
        return self.xp.asarray(a, dtype=dtype, device=self.device)

    def data(self, X: Array, Y: Array, weights: np.ndarray | None = None) -> TrainingSet:
        """The training set for :meth:`epoch`: X, Y already on the device; ``weights``
        host sample weights (moved once)."""
        w = None if weights is None else np.asarray(weights)
        augment = self.spec.augment
        return TrainingSet(Data(X, Y, None if w is None else self.put(w, self.dtype),
                                None if augment is None else self.put(augment.table())), w)

    # ------------------------------------------------------------------ one epoch
    def epoch(self, data: TrainingSet, order: np.ndarray | None, eta: Any,
              masks: Sequence[np.ndarray] | None = None, codes: np.ndarray | None = None,
              index: int = 0) -> Array | None:
        """One pass over ``data`` in ``order`` (host indices; None: as stored; (K, n): one
        order per member) at learning rate ``eta`` (one per member for a population).
        ``masks``: one host (n, n_l) array per hidden layer ((K, n, n_l) per member),
        inverted-dropout masks in visiting order (batch k uses rows k..k+m); ``codes``:
        (n,) shift/flip codes.  Advances ``state``; returns the summed batch losses
        (with ``loss_scale``) or None."""
        w = data.weights
        n = data.n if order is None else order.shape[-1]  # rows of the set, or of each member's
        epoch_plan = plan(self.numbers(eta, n), n, self.batch_size, self.state.t,
                          self.rule.uses_step, w if w is None or order is None else w[order])
        run = self._compiled_epoch if self.compiled else self._eager_epoch
        return run(data.data, order, epoch_plan, masks, codes, index)

    def numbers(self, eta: Any, n: int) -> Callable[[int, float, int], Numbers]:
        """``make(m, s, t)``: the host numbers of a step at learning rate ``eta`` on ``n``
        training rows (see :func:`xmlp.step.plan`)."""
        rule, reg, loss_scale = self.rule, self.regulariser, self.loss_scale

        def make(m: int, s: float, t: int) -> Numbers:
            return _numbers(rule, reg, eta, t, s, n, m, loss_scale)
        return make

    def term_factors(self, n: int) -> dict[str, Any]:
        """The regularisation term's factors for a data set of n rows (the monitors')."""
        return self.regulariser.term_factors(n)

    def on_device(self, numbers: Numbers) -> Numbers:
        """A step's numbers as the eager loop passes them (host floats stay floats)."""
        return numbers

    def _eager_epoch(self, data: Data, order, plan: Plan, masks, codes, index: int):
        xp, spec = self.xp, self.spec
        order = None if order is None else self.put(np.asarray(order))
        masks = None if masks is None else [self.put(M, self.dtype) for M in masks]
        codes = None if codes is None else self.put(codes)
        loss = None if self.loss_scale is None else xp.zeros((), dtype=self.dtype,
                                                             device=self.device)
        params, rule_state = self.state.params, self.state.rule
        steps, progress = len(plan), self.progress
        numbers = [self.on_device(nums) for nums in plan.numbers]
        for j, (k, z, s, t, which) in enumerate(zip(plan.start, plan.stop, plan.s, plan.t,
                                                   plan.which)):
            if s == 0:
                continue
            rows = slice(k, z) if order is None else order[..., k:z]
            batch = gather(data, rows, None if codes is None else codes[..., k:z],
                           None if masks is None else [M[..., k:z, :] for M in masks],
                           spec.augment, xp)
            params, rule_state, batch_loss = step(spec, params, rule_state, batch,
                                                  numbers[which], xp)
            if batch_loss is not None:
                loss = loss + batch_loss
            self.state = TrainState(params, rule_state, t)
            if progress is not None:
                progress(index, j + 1, steps)
        return loss

    def _compiled_epoch(self, data: Data, order, plan: Plan, masks, codes, index: int):
        loss = None if self.loss_scale is None else compiled.zeros(self.dtype, self.device)
        carry = (self.state.params, self.state.rule, loss)
        inputs = compiled.epoch_inputs(plan, order, masks, codes, self.dtype,
                                       self.batch_size, data.weights is not None)
        for a, z in compiled.calls(plan, self.batch_size, self.progress is not None):
            xs = compiled.put(inputs.steps(a, z), self.device)
            program, seconds = compiled.program(
                ("epoch", self.spec.key, self.device), lambda: compiled.scan_epoch(self.spec),
                carry, data, xs)
            self.compile_seconds += seconds
            carry = program(carry, data, xs)
            self.state = TrainState(carry[0], carry[1], plan.t[z - 1])
            if self.progress is not None:  # the bar moves as the device gets through them
                compiled.wait(carry)
                self.progress(index, z, len(plan))
        compiled.wait(carry)  # the epoch's time is the device's, not the dispatch's
        return carry[2]

    # ------------------------------------------------------------------ monitors
    def measure(self, params: Params, sets: Sequence[tuple[Array, Array, Array]], *,
                rows: Sequence[Array | None] | None = None,
                probe: tuple[Array, Array] | None = None) -> Array:
        """The end-of-epoch numbers as one device vector: the sum of the squared weights
        (finite iff every weight is), then for each (X, labels, Y) in ``sets`` its mean cost
        plus the regularisation term (network2's, over that set's size) and its number of
        correct answers, then with a ``probe`` (X, Y) the L layers' speeds of learning on
        it (:func:`xmlp.network.learning_speed`).  Compiled with the epochs when they are.

        With a member axis, one column per member: (values, K); ``rows[i]``, when given,
        (K, n_i) rows of set i for each member (a population's own validation splits)."""
        rows = [None] * len(sets) if rows is None else list(rows)
        factors = [self.term_factors(X.shape[0] if r is None else r.shape[-1])
                   for (X, _, _), r in zip(sets, rows)]
        factors = [{k: self.put(np.asarray(v), self.dtype) if isinstance(v, np.ndarray)
                    or self.compiled else v for k, v in f.items()} for f in factors]
        measure = functools.partial(_measure, hidden=self.spec.hidden,
                                    output=self.spec.output, cost=self.spec.cost, xp=self.xp)
        if not self.compiled:
            return measure(params, list(sets), factors, rows, probe)
        key = ("measure", self.spec.hidden, self.spec.output, self.spec.cost, self.device)
        program, seconds = compiled.program(key, lambda: measure, params, list(sets), factors,
                                            rows, probe)
        self.compile_seconds += seconds
        return program(params, list(sets), factors, rows, probe)


def _measure(params: Params, sets, factors, rows, probe, hidden, output, cost,
             xp) -> Array:
    # finite iff every weight is finite (one per member, with a member axis)
    values = [sum(xp.sum(W * W, axis=(-2, -1)) for W in params.W)]
    for (X, labels, Y), k, r in zip(sets, factors, rows):
        cost_sum, correct = dataset_sums(params, X, labels, Y, hidden, output, cost, xp, r)
        value = cost_sum / (X.shape[0] if r is None else r.shape[-1])
        penalty = term(params.W, k, xp)
        values += [value if penalty is None else value + penalty,
                   xp.astype(correct, value.dtype)]  # a count: exact below 2**24
    if probe is not None:  # chapter 5's speeds of learning, one per layer
        speeds = learning_speed(params, probe[0], probe[1], hidden, output, cost, xp)
        return xp.concat([xp.stack(values), speeds])
    return xp.stack(values)
