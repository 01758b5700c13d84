"""The mini-batch engine: one epoch of steps (gather, backprop, update), eager or compiled.

Every front end trains through this module -- :func:`xmlp.train.fit` (and so ``Network.fit``,
the CLI, sweeps, recipes, the book's interface) and the scikit-learn estimators -- and it
is the only caller of backprop in a loop and of an update rule's step.

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

JAX keeps compiled programs in a persistent cache under xmlp's cache directory
(``~/.cache/xmlp/jax``, ``$XMLP_JAX_CACHE`` to move it, ``XMLP_JAX_CACHE=0`` to turn it off),
so a second process skips the compilation.
"""

from __future__ import annotations

import functools
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import optim
from .augment import Augment
from .network import Network, backprop, dataset_sums

Array = Any

__all__ = ["Engine", "Data", "compiles", "resolve_compile", "COMPILING_BACKENDS",
           "penalty", "penalty_factors"]

#: Backends whose epochs can be compiled.
COMPILING_BACKENDS = ("jax",)
#: With a progress bar, a compiled epoch runs in about this many calls, so the bar moves.
PROGRESS_CALLS = 50


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

    lmbda, l1 : the decay's strengths.  ``n`` : the decay's divisor (network2: the training
        set's size); None divides by each batch's size or weight sum (scikit-learn).
    loss_scale : when given, :meth:`epoch` also returns scikit-learn's summed batch losses
        (each batch's ``loss_scale`` x mean cost plus the penalty 0.5 lmbda |W|^2 + l1 |W|,
        all over s, times its size), as a 0-d device array.
    progress : called as ``progress(epoch, batches_done, n_batches)`` after each step
        (eager) or each call of the compiled program.
    compiled : run the epochs as compiled programs (JAX only; :func:`resolve_compile`).
    state : the rule's state to continue from (default: ``rule.init``).

    After every step (eager) or call (compiled) ``net._W``, ``net._b`` and ``self.state``
    hold the parameters and state so far, so an interrupted epoch keeps them.
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

            host = a if dtype is None else np.asarray(a, dtype=_np_dtype(dtype))
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
            return self._compiled_epoch(data, order, plan, masks, codes, index)
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
                acc = acc + _batch_loss(cost, pen, self.loss_scale * m / s, m / s)
            Ws, bs, state = rule.step(Ws, bs, gW, gb, state, eta, self._decay(s), xp)
            net._W, net._b, self.state = Ws, bs, state
            if self.progress is not None:
                self.progress(index, j + 1, len(plan))
        return acc

    # ------------------------------------------------------------------ compiled
    def _compiled_epoch(self, data: Data, order, plan, masks, codes,
                        index: int) -> Array | None:
        import jax

        net, m = self.net, self.batch_size
        full = data.n // m  # steps of m rows; a short last batch is a program of its own
        host = self._host_inputs(data, order, plan, masks, codes)
        calls = [(0, full)]
        if self.progress is not None and full > 1:
            per = math.ceil(full / PROGRESS_CALLS)
            calls = [(a, min(a + per, full)) for a in range(0, full, per)]
        if full < len(plan):
            calls.append((full, len(plan)))
        calls = [c for c in calls if c[1] > c[0]]
        spec = self._spec(data, masks is not None)
        dt = net.dtype
        carry = (net._W, net._b, self.state.arrays,
                 None if self.loss_scale is None else _zeros(dt, net.device))
        pen = None
        if self.loss_scale is not None:
            pen = jax.device_put({k: np.asarray(v, dtype=_np_dtype(dt))
                                  for k, v in penalty_factors(self.lmbda, self.l1).items()},
                                 net.device)
        consts = (data.X, data.Y, data.weights, data.table, pen)
        for a, z in calls:
            xs = jax.device_put(_steps(host, plan, a, z), net.device)
            program = self._program(spec, carry, consts, xs)
            carry = program(carry, consts, xs)
            net._W, net._b = carry[0], carry[1]
            self.state = optim.State(carry[2], int(plan.t[z - 1]))
            if self.progress is not None:  # the bar moves as the device gets through them
                jax.block_until_ready(carry)
                self.progress(index, z, len(plan))
        jax.block_until_ready(carry)  # the epoch's time is the device's, not the dispatch's
        return carry[3]

    def _host_inputs(self, data: Data, order, plan, masks, codes) -> dict:
        """Per-row and per-step host arrays of the whole epoch, in the network's dtype."""
        dt = _np_dtype(self.net.dtype)
        rows = {"idx": np.arange(data.n, dtype=np.int64) if order is None
                else np.asarray(order, dtype=np.int64)}
        if masks is not None:
            rows["masks"] = [np.asarray(M, dtype=dt) for M in masks]
        if codes is not None:
            rows["codes"] = np.asarray(codes, dtype=np.int64)
        per_step: dict[str, Any] = {}
        skip = plan.s == 0
        s = np.where(skip, 1.0, plan.s)  # a skipped batch's numbers are never used
        n = s if self.n is None else np.full_like(s, self.n)
        t = np.maximum(plan.t, 1) if self.rule.uses_step else np.ones_like(plan.t)
        # the rule's coefficients for each distinct (decay n, s, t), as the eager step
        keys, inverse = np.unique(np.stack([n, s, t]), axis=1, return_inverse=True)
        inverse = inverse.reshape(-1)
        table = [self.rule.coefficients(plan.eta, self._decay(float(kn)), int(kt))
                 for kn, _, kt in keys.T]
        per_step["c"] = {key: np.array([c[key] for c in table], dtype=dt)[inverse]
                         for key in table[0]}
        per_step["scale"] = np.array([self.rule.grad_scale(plan.eta, float(ks))
                                      for ks in keys[1]], dtype=dt)[inverse]
        m = (plan.stop - plan.start).astype(np.float64)
        if self.loss_scale is not None:  # elementwise: the eager step's host arithmetic
            per_step["lossf"] = np.where(skip, 0.0, self.loss_scale * m / s).astype(dt)
            per_step["penf"] = np.where(skip, 0.0, m / s).astype(dt)
        if data.weights is not None:
            per_step["keep"] = ~skip
        return {"rows": rows, "steps": per_step}

    def _spec(self, data: Data, dropout: bool) -> _Spec:
        net = self.net
        return _Spec(net.hidden, net.output, net.cost, self.rule.kind, data.augment, dropout,
                     data.weights is not None, self.loss_scale is not None)

    def _program(self, spec: _Spec, carry, consts, xs):
        """The compiled epoch program for these inputs' shapes."""
        return self._compiled(spec, lambda: _scan_epoch(spec, self.rule), carry, consts, xs)

    def _compiled(self, spec: Any, build: Callable, *args):
        """``jax.jit(build())`` compiled for ``args``' shapes, once per process: later
        engines with the same ``spec`` and shapes reuse it.  The time spent compiling is
        added to ``compile_seconds``."""
        import jax

        leaves, tree = jax.tree_util.tree_flatten(args)
        key = (spec, tree, self.net.device,
               tuple((tuple(x.shape), str(x.dtype)) for x in leaves))
        with _LOCK:
            program = _PROGRAMS.get(key)
        if program is None:
            _persistent_cache()
            start = time.perf_counter()
            program = jax.jit(build()).lower(*args).compile()
            self.compile_seconds += time.perf_counter() - start
            with _LOCK:
                _PROGRAMS[key] = program
        return program

    # ------------------------------------------------------------------ monitors
    def figures(self, sets: Sequence[tuple[Array, Array, Array]], lmbda: float,
                l1: float) -> Array:
        """The end-of-epoch numbers as one device vector: the sum of the squared weights
        (finite iff every weight is), then for each (X, labels, Y) in ``sets`` its mean
        cost plus network2's regularisation term and its number of correct answers.
        Compiled with the epochs when they are."""
        net = self.net
        pens = [_penalty_coefficients(lmbda, l1, X.shape[0]) for X, _, _ in sets]
        if not self.compiled:
            return _figures(net._W, net._b, list(sets), pens, net.hidden, net.output,
                            net.cost, net.xp)
        pens = [{k: self._put(np.asarray(v), net.dtype) for k, v in p.items()} for p in pens]
        core = dict(hidden=net.hidden, output=net.output, cost=net.cost, xp=net.xp)
        args = (net._W, net._b, list(sets), pens)
        program = self._compiled(("figures", net.hidden, net.output, net.cost),
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


@dataclass(frozen=True)
class _Spec:
    """What a compiled epoch program depends on besides shapes (its cache key)."""

    hidden: Any
    output: Any
    cost: Any
    rule: tuple
    augment: Augment | None
    dropout: bool
    weights: bool
    loss: bool


_PROGRAMS: dict = {}
_LOCK = threading.Lock()
_CACHE_SET = False


def _persistent_cache() -> None:
    """Point JAX's persistent compilation cache at xmlp's cache directory, once per process,
    unless the user configured one (or set ``XMLP_JAX_CACHE=0``)."""
    global _CACHE_SET
    if _CACHE_SET:
        return
    _CACHE_SET = True
    import jax

    where = os.environ.get("XMLP_JAX_CACHE")
    if where == "0" or jax.config.jax_compilation_cache_dir:
        return
    if not where:
        from .datasets.fetch import cache_dir

        where = str(cache_dir("jax"))
    try:
        jax.config.update("jax_compilation_cache_dir", where)
        # xmlp's programs compile in a fraction of a second to a few seconds: keep them all
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    except Exception:  # an unwritable home, an old JAX: compile as usual
        pass


def _np_dtype(dtype: Any) -> np.dtype:
    return np.dtype("float64" if "64" in str(dtype) else "float32")


def _zeros(dtype, device):
    """A 0-d zero on the device, by an explicit transfer (``jnp.zeros`` transfers its fill
    value implicitly)."""
    import jax

    return jax.device_put(np.zeros((), dtype=_np_dtype(dtype)), device)


def _steps(host: dict, plan, a: int, z: int) -> dict:
    """The host inputs of steps a..z (full batches of m rows, or the one short last batch),
    shaped (steps, m, ...) for the scan."""
    k0, k1 = int(plan.start[a]), int(plan.stop[z - 1])
    count, rows = z - a, (k1 - k0) // (z - a)
    rows_in = host["rows"]
    xs = {"idx": rows_in["idx"][k0:k1].reshape(count, rows)}
    if "masks" in rows_in:
        xs["masks"] = [M[k0:k1].reshape(count, rows, M.shape[1]) for M in rows_in["masks"]]
    if "codes" in rows_in:
        xs["codes"] = rows_in["codes"][k0:k1].reshape(count, rows)
    steps = host["steps"]
    xs["scale"] = steps["scale"][a:z]
    xs["c"] = {k: v[a:z] for k, v in steps["c"].items()}
    for key in ("lossf", "penf", "keep"):
        if key in steps:
            xs[key] = steps[key][a:z]
    return xs


def _scan_epoch(spec: _Spec, rule: optim.Rule):
    """The function compiled for an epoch's steps: ``lax.scan`` of one step."""
    import jax
    import jax.numpy as xp

    hidden, output, cost = spec.hidden, spec.output, spec.cost

    def step(carry, x, consts):
        Ws, bs, arrays, acc = carry
        X, Y, w, table, pen = consts
        idx = x["idx"]
        Xb, Yb = xp.take(X, idx, axis=0), xp.take(Y, idx, axis=0)
        if spec.augment is not None:
            Xb = spec.augment.apply(Xb, x["codes"], table, xp)
        wb = xp.take(w, idx, axis=0) if spec.weights else None
        mb = x.get("masks")
        if spec.loss:
            pen_now = penalty(Ws, pen, xp)  # of the weights before the step
            gW, gb, c = backprop(Ws, bs, Xb, Yb, hidden, output, cost, mb, scale=x["scale"],
                                 xp=xp, weights=wb, return_cost=True)
            new_acc = acc + _batch_loss(c, pen_now, x["lossf"], x["penf"])
        else:
            gW, gb = backprop(Ws, bs, Xb, Yb, hidden, output, cost, mb, scale=x["scale"],
                              xp=xp, weights=wb)
            new_acc = acc
        new = (*rule.update(Ws, bs, gW, gb, arrays, x["c"], xp), new_acc)
        if spec.weights:  # a batch of weight 0 leaves everything as it was
            new = jax.tree_util.tree_map(lambda a, b: xp.where(x["keep"], a, b), new, carry)
        return new

    def epoch(carry, consts, xs):
        def body(carry, x):
            return step(carry, x, consts), None

        return jax.lax.scan(body, carry, xs)[0]

    return epoch


def penalty_factors(alpha: float, l1: float) -> dict[str, float]:
    """scikit-learn's penalty 0.5 alpha |W|^2 + l1 |W|_1: its factors that are not 0."""
    k = {}
    if alpha:
        k["l2"] = 0.5 * alpha
    if l1:
        k["l1"] = l1
    return k


def penalty(Ws, k: dict, xp):
    """scikit-learn's penalty k["l2"] |W|^2 + k["l1"] |W|_1 of the weights (None when both
    are 0); the factors are Python floats (eager) or 0-d arrays (compiled)."""
    total = None
    for W in Ws:
        flat = xp.reshape(W, (-1,))
        if "l2" in k:
            term = k["l2"] * xp.vecdot(flat, flat)
            total = term if total is None else total + term
        if "l1" in k:
            term = k["l1"] * xp.sum(xp.abs(flat))
            total = term if total is None else total + term
    return total


def _batch_loss(cost, penalty, cost_factor, penalty_factor):
    """scikit-learn's batch loss (mean cost + penalty / s) times the batch size m."""
    loss = cost * cost_factor
    return loss if penalty is None else loss + penalty * penalty_factor


def _penalty_coefficients(lmbda: float, l1: float, n: int) -> dict[str, float]:
    """network2's regularisation term's factors for a data set of n examples."""
    c = {}
    if lmbda:
        c["l2"] = 0.5 * lmbda / n
    if l1:
        c["l1"] = l1 / n
    return c


def _figures(Ws, bs, sets, pens, hidden, output, cost, xp):
    values = [sum(xp.sum(W * W) for W in Ws)]  # finite iff every weight is finite
    for (X, labels, Y), pen in zip(sets, pens):
        cost_sum, correct = dataset_sums(Ws, bs, X, labels, Y, hidden, output, cost, xp)
        value = cost_sum / X.shape[0]
        penalty = None
        for W in Ws:
            if "l2" in pen:
                term = pen["l2"] * xp.sum(W * W)
                penalty = term if penalty is None else penalty + term
            if "l1" in pen:
                term = pen["l1"] * xp.sum(xp.abs(W))
                penalty = term if penalty is None else penalty + term
        values += [value if penalty is None else value + penalty,
                   xp.astype(correct, value.dtype)]  # a count: exact below 2**24
    return xp.stack(values)
