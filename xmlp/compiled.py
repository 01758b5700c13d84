"""Compiled epochs (JAX): ``jax.lax.scan`` over the one training step (:mod:`xmlp.step`).

The full mini-batches of an epoch are one XLA program (with a progress bar, about
``PROGRESS_CALLS`` programs' worth of calls); the short last batch is a program of its own.
The per-step host inputs (rows, dropout masks, shift codes, the step's numbers) are made on
the host by ``epoch_inputs``, exactly as the eager loop uses them, and go over in one
explicit ``jax.device_put`` per call; nothing else crosses.  Programs are compiled ahead of
time once per process per (what the step's arithmetic is, shapes) and kept in
``_PROGRAMS``; JAX's persistent cache (``~/.cache/xmlp/jax``, ``$XMLP_JAX_CACHE`` to move
it, ``XMLP_JAX_CACHE=0`` to turn it off) keeps them across processes.  JAX is imported only
inside these functions.

Everything here is a function of its arguments: :class:`xmlp.engine.Engine` decides what
to run and keeps the state.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from ._cache import cache_dir
from .backend import dtype_name
from .step import Data, Numbers, Plan, Spec, gather, step

Array = Any

#: With a progress bar, a compiled epoch runs in about this many calls, so the bar moves.
PROGRESS_CALLS = 50


class StepInputs(NamedTuple):
    """What each step of a scan reads, stacked on a leading step axis: the rows (idx), the
    masks and codes of those rows, the step's numbers and (with sample weights) whether
    the step is taken at all."""

    idx: Any
    masks: Any
    codes: Any
    numbers: Numbers
    keep: Any


class EpochInputs(NamedTuple):
    """An epoch's host inputs: per row (in visiting order) and per step."""

    idx: np.ndarray
    masks: list[np.ndarray] | None
    codes: np.ndarray | None
    numbers: Numbers  # one array per number, one entry per step
    keep: np.ndarray | None
    start: list[int]
    stop: list[int]

    def steps(self, a: int, z: int) -> StepInputs:
        """The inputs of steps a..z (full batches of m rows, or the one short last batch),
        shaped (steps, m, ...) for the scan -- (steps, K, m, ...) with a member axis."""
        k0, k1 = self.start[a], self.stop[z - 1]
        count = z - a
        rows = (k1 - k0) // count

        def per_row(x: np.ndarray, axis: int) -> np.ndarray:
            """Rows k0..k1 of the row axis ``axis``, split into steps, the step axis first."""
            ax = axis % x.ndim
            x = x[(slice(None),) * ax + (slice(k0, k1),)]
            x = x.reshape(*x.shape[:ax], count, rows, *x.shape[ax + 1:])
            return np.moveaxis(x, ax, 0)

        return StepInputs(per_row(self.idx, -1),
                          None if self.masks is None else [per_row(M, -2) for M in self.masks],
                          None if self.codes is None else per_row(self.codes, -1),
                          _tree_map(lambda v: v[a:z], self.numbers),
                          None if self.keep is None else self.keep[a:z])


def host_dtype(dtype: Any) -> np.dtype:
    """The NumPy dtype of a backend's float dtype."""
    return np.dtype(dtype_name(dtype))


def epoch_inputs(plan: Plan, order: np.ndarray | None, masks: Sequence[np.ndarray] | None,
                 codes: np.ndarray | None, dtype: Any, batch_size: int,
                 weighted: bool) -> EpochInputs:
    """Per-row and per-step host arrays of the whole epoch; the numbers in the network's
    dtype (rounded once, as NumPy rounds a Python float that meets an array of it)."""
    dt = host_dtype(dtype)
    n = plan.stop[-1]
    idx = np.arange(n, dtype=np.int64) if order is None else np.asarray(order, np.int64)
    which = np.asarray(plan.which)
    stacked = _tree_map(lambda *v: np.asarray(v, dtype=dt)[which], *plan.numbers)
    return EpochInputs(idx, None if masks is None else [np.asarray(M, dt) for M in masks],
                       None if codes is None else np.asarray(codes, np.int64), stacked,
                       np.asarray(plan.s) != 0 if weighted else None, plan.start, plan.stop)


def calls(plan: Plan, batch_size: int, progress: bool) -> list[tuple[int, int]]:
    """The epoch's calls as step ranges [a, z): the full batches (in about
    ``PROGRESS_CALLS`` calls with a progress bar), then the short last batch."""
    full = sum(1 for k, z in zip(plan.start, plan.stop) if z - k == batch_size)
    out = [(0, full)]
    if progress and full > 1:
        per = math.ceil(full / PROGRESS_CALLS)
        out = [(a, min(a + per, full)) for a in range(0, full, per)]
    if full < len(plan):
        out.append((full, len(plan)))
    return [c for c in out if c[1] > c[0]]


def scan_epoch(spec: Spec) -> Callable:
    """The function compiled for an epoch's steps: ``lax.scan`` of gather + step."""
    import jax
    import jax.numpy as xp

    def body(carry, x: StepInputs, data: Data):
        params, rule_state, loss = carry
        batch = gather(data, x.idx, x.codes, x.masks, spec.augment, xp)
        params, rule_state, batch_loss = step(spec, params, rule_state, batch, x.numbers, xp)
        new = (params, rule_state, loss if batch_loss is None else loss + batch_loss)
        if x.keep is not None:  # a batch of weight 0 leaves everything as it was
            new = jax.tree_util.tree_map(lambda a, b: xp.where(x.keep, a, b), new, carry)
        return new

    def epoch(carry, data: Data, xs: StepInputs):
        return jax.lax.scan(lambda c, x: (body(c, x, data), None), carry, xs)[0]

    return epoch


def program(key: Any, build: Callable[[], Callable], *args: Any) -> tuple[Callable, float]:
    """``jax.jit(build())`` compiled for ``args``' structure, shapes and dtypes, once per
    process (later calls with the same ``key`` and shapes reuse it); returns it with the
    seconds this call spent compiling (0 when it was compiled before)."""
    import jax

    leaves, tree = jax.tree_util.tree_flatten(args)
    full_key = (key, tree, tuple((tuple(x.shape), str(x.dtype)) for x in leaves))
    with _LOCK:
        compiled = _PROGRAMS.get(full_key)
    if compiled is not None:
        return compiled, 0.0
    _persistent_cache()
    start = time.perf_counter()
    compiled = jax.jit(build()).lower(*args).compile()
    seconds = time.perf_counter() - start
    with _LOCK:
        _PROGRAMS[full_key] = compiled
    return compiled, seconds


def put(tree: Any, device: Any) -> Any:
    """Host arrays (any pytree of them) onto ``device``: one explicit transfer."""
    import jax

    return jax.device_put(tree, device)


def zeros(dtype: Any, device: Any) -> Array:
    """A 0-d zero on the device, by an explicit transfer (``jnp.zeros`` transfers its fill
    value implicitly)."""
    return put(np.zeros((), dtype=host_dtype(dtype)), device)


def wait(tree: Any) -> None:
    """Block until the device has computed ``tree``."""
    import jax

    jax.block_until_ready(tree)


#: Compiled programs of this process, by (key, pytree, shapes and dtypes).
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
    if where == "0" or getattr(jax.config, "jax_compilation_cache_dir", None):
        return
    try:
        jax.config.update("jax_compilation_cache_dir", where or str(cache_dir("jax")))
        # xmlp's programs compile in a fraction of a second to a few seconds: keep them all
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    except Exception:  # an unwritable home, an old JAX: compile as usual
        pass


def _tree_map(f: Callable, *trees: Any) -> Any:
    """``f`` over the leaves of NamedTuples / dicts / lists of numbers (None kept)."""
    first = trees[0]
    if first is None:
        return None
    if isinstance(first, dict):
        return {k: _tree_map(f, *(t[k] for t in trees)) for k in first}
    if isinstance(first, tuple) and hasattr(first, "_fields"):
        return type(first)(*(_tree_map(f, *parts) for parts in zip(*trees)))
    if isinstance(first, (list, tuple)):
        return type(first)(_tree_map(f, *parts) for parts in zip(*trees))
    return f(*trees)
