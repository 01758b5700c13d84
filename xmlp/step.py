"""THE mini-batch step, written once: a pure function from (parameters, the rule's state, one
mini-batch, the step's host numbers) to (new parameters, new state, the batch loss).

    grads   = backprop(params, X_b, Y_b, masks_b, weights_b, scale)          BP1-BP4
    grads  += the regulariser's gradient (its factors already times the rule's scale)
    params, state = rule.update(params, grads, state, the rule's coefficients)

Every path that trains runs it: the eager epoch is a Python loop over it
(:class:`xmlp.engine.Engine`), the compiled epoch is ``jax.lax.scan`` over the same function
(:mod:`xmlp.compiled`), for ``Network.fit`` and the scikit-learn estimators alike.  It holds
no object state, moves nothing between host and device and never branches on an array's
value: its Python ``if``\\s read only what is fixed for a program (the :class:`Spec`, which
inputs are present), so it traces once under ``jax.jit`` and maps over a leading member
axis under ``jax.vmap`` (per-member parameters, state and numbers).

The host numbers of a step (:class:`Numbers`) are computed by :func:`numbers`, in double
precision, from eta, the step number, the batch's size or weight sum and the regulariser;
the eager loop passes them as Python floats, the compiled loop as arrays rounded once to the
parameters' dtype, so both take the same steps and one compiled program serves every eta,
strength and momentum.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .activations import Activation
from .augment import Augment
from .costs import Cost
from .network import backprop
from .optim import Coefficients, Rule
from .params import Params
from .regulariser import Factors, Regulariser, add_gradient, term

Array = Any

__all__ = ["Spec", "Data", "Batch", "Numbers", "LossNumbers", "Plan", "gather", "step",
           "numbers", "plan"]


@dataclass(frozen=True)
class Spec:
    """What a step's arithmetic is, as opposed to its numbers: the network's activations
    and cost, the update rule and the augmentation.  ``key`` is what a compiled
    program depends on (a rule's kind, not its hyper-parameters)."""

    hidden: Activation
    output: Activation
    cost: Cost
    rule: Rule
    augment: Augment | None = None

    @property
    def key(self) -> tuple:
        return (self.hidden, self.output, self.cost, self.rule.kind, self.augment)


class Data(NamedTuple):
    """A training set on the device: features (n, n_in), targets (n, n_out), the sample
    weights (n,) when given, and the augmentation's pixel table when there is one."""

    X: Array
    Y: Array
    weights: Array | None = None
    table: Array | None = None


class Batch(NamedTuple):
    """One mini-batch of m rows: features, targets, sample weights (or None) and one
    inverted-dropout mask (m, n_l) per hidden layer (or None)."""

    X: Array
    Y: Array
    weights: Array | None = None
    masks: Sequence[Array] | None = None


class LossNumbers(NamedTuple):
    """scikit-learn's batch loss times the batch's m rows: ``cost`` times the summed cost
    plus ``count`` times the regularisation term with factors ``term``."""

    cost: Any
    count: Any
    term: Factors


class Numbers(NamedTuple):
    """A step's host numbers: backprop's ``scale`` (the rule's scale over the batch's size
    or weight sum), the rule's coefficients, the regulariser's gradient factors, and the
    loss factors when the loss is asked for."""

    scale: Any
    rule: Coefficients
    decay: Factors
    loss: LossNumbers | None = None


def gather(data: Data, rows: Any, codes: Array | None, masks: Sequence[Array] | None,
           augment: Augment | None, xp: Any) -> Batch:
    """The mini-batch of ``rows`` (a slice of the stored order, an index array, or one index
    array per member (K, m)), shifted / flipped by ``codes`` when there is an
    augmentation."""
    if isinstance(rows, slice):
        X, Y = data.X[rows, ...], data.Y[rows, ...]
        w = None if data.weights is None else data.weights[rows]
    elif rows.ndim == 2:  # one order per member: (K, m) rows -> (K, m, ...) batches
        flat = xp.reshape(rows, (-1,))
        X = xp.reshape(xp.take(data.X, flat, axis=0), (*rows.shape, data.X.shape[-1]))
        Y = xp.reshape(xp.take(data.Y, flat, axis=0), (*rows.shape, data.Y.shape[-1]))
        w = None  # sample weights are the estimators', which train one network
    else:
        X, Y = xp.take(data.X, rows, axis=0), xp.take(data.Y, rows, axis=0)
        w = None if data.weights is None else xp.take(data.weights, rows, axis=0)
    if augment is not None and codes is not None:
        X = augment.apply(X, codes, data.table, xp)
    return Batch(X, Y, w, masks)


def step(spec: Spec, params: Params, state: Any, batch: Batch, numbers: Numbers,
         xp: Any) -> tuple[Params, Any, Array | None]:
    """One mini-batch step: (new params, new rule state, the batch loss or None)."""
    out = backprop(params, batch.X, batch.Y, spec.hidden, spec.output, spec.cost,
                   batch.masks, scale=numbers.scale, xp=xp, weights=batch.weights,
                   return_cost=numbers.loss is not None)
    loss = None
    if numbers.loss is None:
        grads = out
    else:
        grads, cost = out
        loss = cost * numbers.loss.cost
        penalty = term(params.W, numbers.loss.term, xp)  # of the weights before the step
        if penalty is not None:
            loss = loss + penalty * numbers.loss.count
    grads = add_gradient(grads, params, numbers.decay, xp)
    params, state = spec.rule.update(params, grads, state, numbers.rule, xp)
    return params, state, loss


def numbers(rule: Rule, reg: Regulariser, eta: float, t: int, s: float, n: int,
            m: int | None = None, loss_scale: float | None = None) -> Numbers:
    """The host numbers of step ``t`` (1 for the first) on a batch of ``m`` rows whose size
    or weight sum is ``s``, out of ``n`` training rows.  With ``loss_scale`` the step also
    returns scikit-learn's batch loss (``loss_scale`` x the mean cost plus the term, over
    s), times m."""
    scale = rule.scale(eta)
    N = reg.divisor(n, s)
    loss = None
    if loss_scale is not None:
        assert m is not None
        loss = LossNumbers(loss_scale * m / s, float(m), reg.term_factors(N))
    coefficients, decay = rule.coefficients(eta, t), reg.gradient_factors(N, scale)
    if rule.folds_l2 and "l2" in decay:  # W - (g + k W) = (1 - k) W - g: network2's form
        coefficients["keep"], decay = reg.fold(decay)
    return Numbers(scale / s, coefficients, decay, loss)


@dataclass(frozen=True)
class Plan:
    """An epoch's batches on the host, one entry per batch in visiting order: its rows
    [start, stop), its size or weight sum s (0: skipped), the step count t after it, and
    which of ``numbers`` (one per distinct (s, t)) its step uses."""

    start: list[int]
    stop: list[int]
    s: list[float]
    t: list[int]
    which: list[int]
    numbers: list[Numbers]

    def __len__(self) -> int:
        return len(self.start)


def plan(make: Callable[[int, float, int], Numbers], n: int, batch_size: int, t0: int,
         uses_step: bool, weights: np.ndarray | None = None) -> Plan:
    """The plan of an epoch over ``n`` rows in batches of ``batch_size``, starting after
    ``t0`` steps; ``weights``: the host sample weights in visiting order.  ``make(m, s, t)``
    gives the numbers of step t on a batch of m rows of size or weight sum s (e.g.
    :func:`numbers` with the rule, the regulariser and eta bound); ``uses_step``: whether
    they depend on t."""
    start = np.arange(0, n, batch_size)
    stop = np.minimum(start + batch_size, n)
    if weights is None:
        s = (stop - start).astype(np.float64)
    else:
        s = np.array([float(np.sum(weights[k:z])) for k, z in zip(start, stop)])
    t = t0 + np.cumsum(s != 0)  # a batch whose weights are all 0 is skipped
    # one set of numbers per distinct (m, s, t) -- t only where the rule's numbers use it
    keys = zip((stop - start).tolist(), s.tolist(),
               np.maximum(t, 1).tolist() if uses_step else [1] * len(t))
    index: dict[tuple[int, float, int], int] = {}
    which = [index.setdefault(key, len(index)) for key in keys]
    table = [make(km, ks or 1.0, kt) for km, ks, kt in index]  # a skipped batch's: unused
    return Plan(start.tolist(), stop.tolist(), s.tolist(), t.tolist(), which, table)
