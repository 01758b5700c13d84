"""Compiled epochs (JAX): the steps of :meth:`xmlp.engine.Engine.epoch` as XLA programs.

``lax.scan`` runs the full mini-batches of an epoch as one program (with a progress bar,
about ``PROGRESS_CALLS`` programs' worth of calls); the short last batch is a program of its
own.  The per-step host numbers (rows, dropout masks, shift codes, the rule's coefficients,
gradient scales, loss factors) are computed on the host as the eager step computes them and
go over in one explicit ``jax.device_put`` per call; nothing else crosses.  Programs are
compiled ahead of time once per process per (network, rule kind, options, shapes) and kept
in ``_PROGRAMS``; JAX's persistent cache (``~/.cache/xmlp/jax``) keeps them across processes.
JAX is imported only inside these functions.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import optim
from .augment import Augment
from .costs import batch_loss, penalty, penalty_factors
from .network import backprop

Array = Any

#: With a progress bar, a compiled epoch runs in about this many calls, so the bar moves.
PROGRESS_CALLS = 50


@dataclass(frozen=True)
class Spec:
    """What a compiled epoch program depends on besides shapes (its cache key)."""

    hidden: Any
    output: Any
    cost: Any
    rule: tuple
    augment: Augment | None
    dropout: bool
    weights: bool
    loss: bool


def run_epoch(engine, data, order, plan, masks, codes, index: int) -> Array | None:
    """One epoch of ``engine`` as compiled programs (see :meth:`xmlp.engine.Engine.epoch`)."""
    import jax

    net, m = engine.net, engine.batch_size
    full = data.n // m  # steps of m rows; a short last batch is a program of its own
    host = host_inputs(engine, data, order, plan, masks, codes)
    calls = [(0, full)]
    if engine.progress is not None and full > 1:
        per = math.ceil(full / PROGRESS_CALLS)
        calls = [(a, min(a + per, full)) for a in range(0, full, per)]
    if full < len(plan):
        calls.append((full, len(plan)))
    calls = [c for c in calls if c[1] > c[0]]
    spec = _spec(engine, data, masks is not None)
    dt = net.dtype
    carry = (net._W, net._b, engine.state.arrays,
             None if engine.loss_scale is None else _zeros(dt, net.device))
    pen = None
    if engine.loss_scale is not None:
        pen = jax.device_put({k: np.asarray(v, dtype=np_dtype(dt))
                              for k, v in penalty_factors(engine.lmbda, engine.l1).items()},
                             net.device)
    consts = (data.X, data.Y, data.weights, data.table, pen)
    for a, z in calls:
        xs = jax.device_put(_steps(host, plan, a, z), net.device)
        program = _program(engine, spec, carry, consts, xs)
        carry = program(carry, consts, xs)
        net._W, net._b = carry[0], carry[1]
        engine.state = optim.State(carry[2], int(plan.t[z - 1]))
        if engine.progress is not None:  # the bar moves as the device gets through them
            jax.block_until_ready(carry)
            engine.progress(index, z, len(plan))
    jax.block_until_ready(carry)  # the epoch's time is the device's, not the dispatch's
    return carry[3]

def host_inputs(engine, data, order, plan, masks, codes) -> dict:
    """Per-row and per-step host arrays of the whole epoch, in the network's dtype."""
    dt = np_dtype(engine.net.dtype)
    rows = {"idx": np.arange(data.n, dtype=np.int64) if order is None
            else np.asarray(order, dtype=np.int64)}
    if masks is not None:
        rows["masks"] = [np.asarray(M, dtype=dt) for M in masks]
    if codes is not None:
        rows["codes"] = np.asarray(codes, dtype=np.int64)
    per_step: dict[str, Any] = {}
    skip = plan.s == 0
    s = np.where(skip, 1.0, plan.s)  # a skipped batch's numbers are never used
    n = s if engine.n is None else np.full_like(s, engine.n)
    t = np.maximum(plan.t, 1) if engine.rule.uses_step else np.ones_like(plan.t)
    # the rule's coefficients for each distinct (decay n, s, t), as the eager step
    keys, inverse = np.unique(np.stack([n, s, t]), axis=1, return_inverse=True)
    inverse = inverse.reshape(-1)
    table = [engine.rule.coefficients(plan.eta, engine._decay(float(kn)), int(kt))
             for kn, _, kt in keys.T]
    per_step["c"] = {key: np.array([c[key] for c in table], dtype=dt)[inverse]
                     for key in table[0]}
    per_step["scale"] = np.array([engine.rule.grad_scale(plan.eta, float(ks))
                                  for ks in keys[1]], dtype=dt)[inverse]
    m = (plan.stop - plan.start).astype(np.float64)
    if engine.loss_scale is not None:  # elementwise: the eager step's host arithmetic
        per_step["lossf"] = np.where(skip, 0.0, engine.loss_scale * m / s).astype(dt)
        per_step["penf"] = np.where(skip, 0.0, m / s).astype(dt)
    if data.weights is not None:
        per_step["keep"] = ~skip
    return {"rows": rows, "steps": per_step}

def _spec(engine, data, dropout: bool) -> Spec:
    net = engine.net
    return Spec(net.hidden, net.output, net.cost, engine.rule.kind, data.augment, dropout,
                 data.weights is not None, engine.loss_scale is not None)

def _program(engine, spec: Spec, carry, consts, xs):
    """The compiled epoch program for these inputs' shapes."""
    return program(engine, spec, lambda: _scan_epoch(spec, engine.rule), carry, consts, xs)

def program(engine, spec: Any, build: Callable, *args):
    """``jax.jit(build())`` compiled for ``args``' shapes, once per process: later
    engines with the same ``spec`` and shapes reuse it.  The time spent compiling is
    added to ``compile_seconds``."""
    import jax

    leaves, tree = jax.tree_util.tree_flatten(args)
    key = (spec, tree, engine.net.device,
           tuple((tuple(x.shape), str(x.dtype)) for x in leaves))
    with _LOCK:
        program = _PROGRAMS.get(key)
    if program is None:
        _persistent_cache()
        start = time.perf_counter()
        program = jax.jit(build()).lower(*args).compile()
        engine.compile_seconds += time.perf_counter() - start
        with _LOCK:
            _PROGRAMS[key] = program
    return program


#: Compiled programs of this process, by (spec, pytree, device, shapes and dtypes).
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


def np_dtype(dtype: Any) -> np.dtype:
    return np.dtype("float64" if "64" in str(dtype) else "float32")


def _zeros(dtype, device):
    """A 0-d zero on the device, by an explicit transfer (``jnp.zeros`` transfers its fill
    value implicitly)."""
    import jax

    return jax.device_put(np.zeros((), dtype=np_dtype(dtype)), device)


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


def _scan_epoch(spec: Spec, rule: optim.Rule):
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
            new_acc = acc + batch_loss(c, pen_now, x["lossf"], x["penf"])
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
