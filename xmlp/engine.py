"""The mini-batch engine: one epoch of steps (gather, backprop, update), eager or compiled.

Every front end trains through this module -- :meth:`xmlp.Network.fit` (``xmlp.train.fit``,
and so the CLI, sweeps, recipes, the book's interface) and the scikit-learn estimators --
and it is the only caller of backprop in a loop and of an update rule's step.

An epoch is fixed by what the host drew for it: the visiting order, the dropout masks, the
shift/flip codes (all from the front end's seeded generator), and the learning rate.  From
those, the parameters and the rule's state, the engine takes ``ceil(n / m)`` steps, each one

    idx = order[k:k+m];  X_b = X[idx] (shifted/flipped);  Y_b = Y[idx]
    nabla_W, nabla_b = backprop(W, b, X_b, Y_b, masks[k:k+m], scale=rule.grad_scale(eta, s))
    W, b, state = rule.step(W, b, nabla_W, nabla_b, state, eta, Decay(lmbda, l1, n or s))

where s is the batch's size, or the sum of its sample weights (scikit-learn's convention,
in which a batch of weight 0 is skipped and the decay is per batch).

Two ways to run it, with the same numbers:

* **eager** -- a Python loop, one array operation at a time, on every backend;
* **compiled** -- on JAX: the steps of an epoch are one XLA program (``jax.lax.scan`` over
  the full mini-batches; the short last batch is a program of its own), compiled once per
  (network shapes, batch size, options) per process and reused by every later fit.  The
  rule's scalars for every step are computed on the host exactly as the eager step computes
  them (:meth:`xmlp.optim.Rule.coefficients`) and passed in, so eta, lmbda or momentum change
  between epochs and fits without recompiling.  Nothing moves between host and device
  inside an epoch: the epoch's draws go over in one explicit transfer before it starts.

The compiled half lives in :mod:`xmlp.compiled`.  JAX keeps compiled programs in a persistent
cache under xmlp's cache directory (``~/.cache/xmlp/jax``, ``$XMLP_JAX_CACHE`` to move it,
``XMLP_JAX_CACHE=0`` to turn it off), so a second process skips the compilation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import compiled, optim
from .augment import Augment
from .costs import batch_loss, penalty, penalty_factors, regularisation, regularisation_factors
from .network import Network, backprop, dataset_sums

Array = Any

__all__ = ["Engine", "Data", "compiles", "resolve_compile", "COMPILING_BACKENDS",
           "penalty", "penalty_factors"]

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


@dataclass
class Data:
    """A fit's training set on the device: features (n, n_in), targets (n, n_out) and,
    when given, sample weights (device, and a host copy: batch sums are host numbers) and
    the shift/flip pixel table."""

    X: Array
    Y: Array
    weights: Array | None = None
    weights_host: np.ndarray | None = None
    augment: Augment | None = None
    table: Array | None = None

    @property
    def n(self) -> int:
        return self.X.shape[0]


class Engine:
    """Runs epochs of mini-batch steps on ``net``'s parameters with ``rule``.

    After every step (eager) or call (compiled) ``net._W``, ``net._b`` and ``self.state``
    hold the parameters and state so far, so an interrupted epoch keeps them.

    Parameters
    ----------
    net : Network
        The network whose parameters are trained.
    rule : xmlp.optim.Rule
        The update rule.
    batch_size : int
        The mini-batch size.
    lmbda, l1 : float, default 0.0
        The decay's strengths.
    n : int, optional
        The decay's divisor (network2: the training set's size); None divides by each
        batch's size or weight sum (scikit-learn).
    loss_scale : float, optional
        When given, :meth:`epoch` also returns scikit-learn's summed batch losses (each
        batch's ``loss_scale`` x mean cost plus the penalty ``0.5 lmbda |W|^2 + l1 |W|``,
        all over s, times its size), as a 0-d device array.
    progress : callable, optional
        Called as ``progress(epoch, batches_done, n_batches)`` after each step (eager) or
        each call of the compiled program.
    compiled : bool, default False
        Run the epochs as compiled programs (JAX only; :func:`resolve_compile`).
    state : xmlp.optim.State, optional
        The rule's state to continue from (default: ``rule.init``).

    Raises
    ------
    ValueError
        With ``compiled=True`` on a backend that cannot compile.
    """

    def __init__(self, net: Network, rule: optim.Rule, batch_size: int, *, lmbda: float = 0.0,
                 l1: float = 0.0, n: int | None = None, loss_scale: float | None = None,
                 progress: Callable[[int, int, int], None] | None = None,
                 compiled: bool = False, state: optim.State | None = None):
        self.net, self.rule, self.batch_size = net, rule, batch_size
        self.lmbda, self.l1, self.n, self.loss_scale = lmbda, l1, n, loss_scale
        self.progress = progress
        self.compiled = resolve_compile(True, net.backend.name) if compiled else False
        self.state = rule.init(net._W, net._b, net.xp) if state is None else state
        self.compile_seconds = 0.0  # spent compiling programs this engine needed

    # ------------------------------------------------------------------ data
    def data(self, X: Array, Y: Array, weights: np.ndarray | None = None,
             augment: Augment | None = None) -> Data:
        """The training set for :meth:`epoch` (X, Y already on the device; ``weights``
        host sample weights, moved once)."""
        net = self.net
        w = None if weights is None else self._put(np.asarray(weights), net.dtype)
        table = None if augment is None else self._put(augment.table())
        return Data(X, Y, w, None if weights is None else np.asarray(weights), augment, table)

    def _put(self, a: np.ndarray, dtype: Any = None) -> Array:
        """One host array onto the network's device (an explicit transfer under JAX)."""
        net = self.net
        if self.compiled:
            import jax

            host = a if dtype is None else np.asarray(a, dtype=compiled.np_dtype(dtype))
            return jax.device_put(host, net.device)
        if dtype is None:
            return net.xp.asarray(a, device=net.device)
        return net.xp.asarray(a, dtype=dtype, device=net.device)

    # ------------------------------------------------------------------ one epoch
    def epoch(self, data: Data, order: np.ndarray | None, eta: float,
              masks: Sequence[np.ndarray] | None = None, codes: np.ndarray | None = None,
              index: int = 0) -> Array | None:
        """One pass over ``data`` in ``order`` (host indices; None: as stored) at learning
        rate ``eta``.  ``masks``: one host (n, n_l) array per hidden layer, inverted-dropout
        masks in visiting order (batch k uses rows k..k+m); ``codes``: (n,) shift/flip codes.
        Returns the summed batch losses (with ``loss_scale``) or None."""
        plan = self._plan(data, order, eta)
        if self.compiled:
            return compiled.run_epoch(self, data, order, plan, masks, codes, index)
        return self._eager_epoch(data, order, plan, masks, codes, index)

    def _plan(self, data: Data, order, eta: float) -> _Plan:
        """The epoch's batches with their host numbers: rows, s, and the step count t."""
        start = np.arange(0, data.n, self.batch_size)
        stop = np.minimum(start + self.batch_size, data.n)
        sw = data.weights_host
        if sw is None:
            s = (stop - start).astype(np.float64)
        else:
            w = sw if order is None else sw[order]
            s = np.array([float(np.sum(w[k:z])) for k, z in zip(start, stop)])
        t = self.state.t + np.cumsum(s != 0)  # a batch whose weights are all 0 is skipped
        return _Plan(start, stop, s, t, eta)

    def _decay(self, s: float) -> optim.Decay:
        return optim.Decay(self.lmbda, self.l1, s if self.n is None else self.n)

    def _eager_epoch(self, data: Data, order, plan, masks, codes, index: int) -> Array | None:
        net, xp, rule = self.net, self.net.xp, self.rule
        if order is not None:  # one index array, moved once
            order = self._put(np.asarray(order))
        if masks is not None:
            masks = [self._put(M, net.dtype) for M in masks]
        if codes is not None:
            codes = self._put(codes)
        acc = None if self.loss_scale is None else xp.zeros((), dtype=net.dtype,
                                                            device=net.device)
        factors = penalty_factors(self.lmbda, self.l1)
        Ws, bs, state = net._W, net._b, self.state
        for j in range(len(plan)):
            k, stop, s = int(plan.start[j]), int(plan.stop[j]), float(plan.s[j])
            m, eta = stop - k, plan.eta
            if s == 0:
                continue
            if order is None:
                Xb, Yb = data.X[k:stop, ...], data.Y[k:stop, ...]
                wb = None if data.weights is None else data.weights[k:stop]
            else:
                idx = order[k:stop]
                Xb, Yb = xp.take(data.X, idx, axis=0), xp.take(data.Y, idx, axis=0)
                wb = None if data.weights is None else xp.take(data.weights, idx, axis=0)
            if codes is not None:
                Xb = data.augment.apply(Xb, codes[k:stop], data.table, xp)
            mb = None if masks is None else [M[k:stop, :] for M in masks]
            if acc is None:
                gW, gb = backprop(Ws, bs, Xb, Yb, net.hidden, net.output, net.cost, mb,
                                  scale=rule.grad_scale(eta, s), xp=xp, weights=wb)
            else:
                pen = penalty(Ws, factors, xp)  # of the weights before the step
                gW, gb, cost = backprop(Ws, bs, Xb, Yb, net.hidden, net.output, net.cost,
                                        mb, scale=rule.grad_scale(eta, s), xp=xp,
                                        weights=wb, return_cost=True)
                acc = acc + batch_loss(cost, pen, self.loss_scale * m / s, m / s)
            Ws, bs, state = rule.step(Ws, bs, gW, gb, state, eta, self._decay(s), xp)
            net._W, net._b, self.state = Ws, bs, state
            if self.progress is not None:
                self.progress(index, j + 1, len(plan))
        return acc

    # ------------------------------------------------------------------ compiled
    # ------------------------------------------------------------------ monitors
    def figures(self, sets: Sequence[tuple[Array, Array, Array]], lmbda: float,
                l1: float) -> Array:
        """The end-of-epoch numbers as one device vector: the sum of the squared weights
        (finite iff every weight is), then for each (X, labels, Y) in ``sets`` its mean
        cost plus network2's regularisation term and its number of correct answers.
        Compiled with the epochs when they are."""
        net = self.net
        pens = [regularisation_factors(lmbda, l1, X.shape[0]) for X, _, _ in sets]
        if not self.compiled:
            return _figures(net._W, net._b, list(sets), pens, net.hidden, net.output,
                            net.cost, net.xp)
        pens = [{k: self._put(np.asarray(v), net.dtype) for k, v in p.items()} for p in pens]
        core = dict(hidden=net.hidden, output=net.output, cost=net.cost, xp=net.xp)
        args = (net._W, net._b, list(sets), pens)
        program = compiled.program(self, ("figures", net.hidden, net.output, net.cost),
                                   lambda: functools.partial(_figures, **core), *args)
        return program(*args)


@dataclass(frozen=True)
class _Plan:
    """An epoch's batches (host arrays, one entry per batch) and its learning rate."""

    start: np.ndarray  # first row of each batch (in visiting order)
    stop: np.ndarray
    s: np.ndarray  # size, or the sum of the batch's sample weights (0: skipped)
    t: np.ndarray  # the rule's step count after each batch
    eta: float

    def __len__(self) -> int:
        return len(self.start)


def _figures(Ws, bs, sets, pens, hidden, output, cost, xp):
    values = [sum(xp.sum(W * W) for W in Ws)]  # finite iff every weight is finite
    for (X, labels, Y), pen in zip(sets, pens):
        cost_sum, correct = dataset_sums(Ws, bs, X, labels, Y, hidden, output, cost, xp)
        value = cost_sum / X.shape[0]
        term = regularisation(Ws, pen, xp)
        values += [value if term is None else value + term,
                   xp.astype(correct, value.dtype)]  # a count: exact below 2**24
    return xp.stack(values)
