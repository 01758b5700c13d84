"""Training a population: K networks of one shape as one program, each member equal to its
own ``Network.fit``.

The members' parameters are stacked on a leading member axis (``Params`` with W (K, n_in,
n_out), b (K, 1, n_out)); the one training step (:mod:`xmlp.step`) runs on them unchanged --
the math broadcasts over the member axis -- eagerly as one batched operation per array
operation (no Python loop over members inside a step), or compiled as one ``lax.scan``.

What makes each member equal to its single run: every member keeps its own seeded
generator and draws from it, on the host, exactly what its run would draw (the validation
split, then per epoch the visiting order, its dropout masks, its shift codes); its host
numbers (eta, the L2 / L1 factors, momentum, Adam's coefficients) are its own, one per
member in every step's :class:`~xmlp.step.Numbers` ((K, 1, 1) arrays); its history,
schedule, early stopping and divergence guard are its own.  A member that stops (early
stopping, the schedule, divergence) is *frozen*: its numbers become those of no step (eta
0, no decay, no momentum), which leaves its parameters exactly as they are, so the program
runs on without recompiling; the fit ends when every member has stopped or the epochs are
done.  A member that diverged gets the parameters of its last good epoch back, and its
history says what the single run's ``TrainingDiverged`` would have said.

Where every member has the same seed (a grid of hyper-parameters), they draw the same order:
the mini-batch is gathered once and every member's first layer multiplies the same rows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import checkpoint as ckpt_io
from . import optim
from .backend import out_of_memory, to_numpy, wait
from .engine import Engine, TrainState, resolve_compile
from .epochs import dropout_masks, epoch_order
from .history import History, monitors
from .params import Params
from .regulariser import Regulariser
from .schedule import Schedule
from .settings import FitSettings
from .step import Numbers

Array = Any
DataSet = tuple[Array, Array, Array, Array | None]  # (X, labels, Y, each member's rows)

__all__ = ["VARYING", "member_settings", "fit_members"]

#: The fit options that may take one value per member.
VARYING = ("eta", "lmbda", "l1", "momentum", "dropout", "early_stopping", "schedule",
           "divergence_factor")
#: Coefficients that must be the same for every member (the rule's arithmetic).
_SHARED = ("epochs", "batch_size", "optimizer", "nesterov", "beta1", "beta2", "epsilon",
           "shift", "flip", "image_shape", "validation", "anneal", "monitor",
           "checkpoint_every", "on_divergence", "compile")
#: What a frozen member's numbers become: no step at all (its parameters stay as they are).
_NO_STEP = {"mu": 0.0, "rate": 0.0, "keep": 1.0}


def member_settings(k: int, options: dict[str, Any]) -> list[FitSettings]:
    """One :class:`~xmlp.settings.FitSettings` per member from ``fit``'s options, where each
    of :data:`VARYING` is one value for all or a sequence of ``k``; checked here, before
    any training."""
    unknown = sorted(set(options) - set(FitSettings.fields()))
    if unknown:
        raise TypeError(f"fit() got unexpected keyword arguments {unknown}")
    per_member: list[dict[str, Any]] = [{} for _ in range(k)]
    for name, value in options.items():
        many = isinstance(value, (list, tuple, np.ndarray)) and not (
            name in ("monitor", "image_shape") and not _is_nested(value))
        if many and name not in VARYING:
            raise ValueError(f"{name} cannot vary between the members of a population "
                             f"(give one value for all); the options that can: "
                             f"{', '.join(VARYING)}")
        if many and len(value) != k:
            raise ValueError(f"{name} has {len(value)} values for a population of {k} "
                             f"members; give one value, or one per member")
        for j in range(k):
            per_member[j][name] = value[j] if many else value
    settings = [FitSettings(**opts) for opts in per_member]
    kinds = {s.rule().kind[0] if s.rule().name != "momentum" else "sgd" for s in settings}
    if len(kinds) > 1:
        raise ValueError("every member of a population trains with the same optimizer")
    return settings


def _is_nested(value: Any) -> bool:
    return len(value) > 0 and isinstance(value[0], (list, tuple, np.ndarray))


def _population_rule(settings: Sequence[FitSettings]) -> tuple[optim.Rule, list[optim.Rule]]:
    """The rule whose arithmetic every member's step runs, and each member's own rule for
    its numbers: momentum in any member makes it momentum for all (mu = 0 for the others,
    which takes plain SGD's step)."""
    rules: list[optim.Rule] = [s.rule() for s in settings]
    if any(isinstance(r, optim.Momentum) for r in rules):
        nesterov = settings[0].nesterov
        rules = [optim.Momentum(s.momentum, nesterov) for s in settings]
        return optim.Momentum(0.0, nesterov), rules
    return rules[0], rules


def stack_numbers(members: Sequence[Numbers], frozen: Sequence[bool]) -> Numbers:
    """The members' host numbers as one :class:`~xmlp.step.Numbers` of (K, 1, 1) arrays; a
    number a member lacks is the neutral one (0 for a decay factor, 1 for SGD's ``keep``),
    and a frozen member's take no step."""
    def column(values: list[float]) -> np.ndarray:
        return np.asarray(values, dtype=np.float64).reshape(-1, 1, 1)

    def table(dicts: Sequence[Mapping[str, Any]], neutral: dict[str, float], default: float,
              stop: dict[str, float]) -> dict[str, np.ndarray]:
        keys = sorted({key for d in dicts for key in d})
        return {key: column([stop.get(key, d.get(key, neutral.get(key, default)))
                             if f and key in stop else d.get(key, neutral.get(key, default))
                             for d, f in zip(dicts, frozen)]) for key in keys}

    scale = column([0.0 if f else float(m.scale) for m, f in zip(members, frozen)])
    rule = table([m.rule for m in members], {"keep": 1.0}, 0.0, _NO_STEP)
    decay = table([m.decay for m in members], {}, 0.0, {"l2": 0.0, "l1": 0.0})
    return Numbers(scale, rule, decay, None)


class PopulationEngine(Engine):
    """The engine for a population: per-member numbers, stacked ((K, 1, 1) arrays), and
    per-member regularisation factors for the monitors."""

    def __init__(self, population: Any, rule: optim.Rule, members: list[optim.Rule],
                 regularisers: list[Regulariser], batch_size: int, **kwargs: Any):
        super().__init__(population, rule, batch_size, **kwargs)
        self.members, self.regularisers = members, regularisers
        self.frozen = [False] * len(members)

    def numbers(self, eta: Any, n: int) -> Callable[[int, float, int], Numbers]:
        from .step import numbers as one

        rules, regs, frozen = self.members, self.regularisers, list(self.frozen)

        def make(m: int, s: float, t: int) -> Numbers:
            return stack_numbers([one(r, g, e, t, s, n, m) for r, g, e in zip(rules, regs, eta)],
                                 frozen)
        return make

    def term_factors(self, n: int) -> dict[str, Any]:
        dicts = [reg.term_factors(n) for reg in self.regularisers]
        keys = sorted({key for d in dicts for key in d})
        return {key: np.asarray([d.get(key, 0.0) for d in dicts]) for key in keys}

    def on_device(self, numbers: Any) -> Any:
        if isinstance(numbers, np.ndarray):
            return self.put(numbers, self.dtype)
        if isinstance(numbers, dict):
            return {k: self.on_device(v) for k, v in numbers.items()}
        if isinstance(numbers, tuple):
            return type(numbers)(*(self.on_device(v) for v in numbers))
        return numbers


@dataclass
class _Member:
    """What one member of a fit keeps on the host."""

    settings: FitSettings
    history: History
    schedule: Schedule
    rng_start: dict
    rows: np.ndarray | None = None  # its training rows of X (a validation split), or None
    limit: float | None = None  # a training cost above this: diverged
    stopped: bool = False
    good: Any = None  # its parameters after its last finite epoch (a slice, host-owned)


def fit_members(pop: Any, X: Any, y: Any, options: dict[str, Any], *,
                evaluation_data: Any = None, verbose: bool | int = False,
                callback: Callable[[int, list[History]], None] | None = None,
                progress: Callable[[int, int, int], None] | None = None,
                checkpoint: Any = None, resume: Any = None) -> list[History]:
    """Train every member of ``pop`` (a :class:`xmlp.Population`) on (X, y); return one
    history per member.  See :meth:`xmlp.Population.fit`."""
    K = len(pop)
    settings = member_settings(K, options)
    first = settings[0]
    compiled = resolve_compile(first.compile, pop.backend.name)
    rule, rules = _population_rule(settings)
    regs = [s.regulariser() for s in settings]
    xp = pop.xp

    start_transfer = time.perf_counter()
    Xd = pop.template.features(X)
    labels, Y = pop.template.targets(y, Xd.shape[0])
    n_all = Xd.shape[0]
    evaluation = None
    if evaluation_data is not None and first.validation is not None:
        raise ValueError("give either evaluation_data or validation, not both")
    if evaluation_data is not None:
        if not (isinstance(evaluation_data, (tuple, list)) and len(evaluation_data) == 2):
            raise TypeError("evaluation_data must be a pair (X_eval, y_eval)")
        X_ev = pop.template.features(evaluation_data[0], "evaluation_data X")
        evaluation = (X_ev, *pop.template.targets(evaluation_data[1], X_ev.shape[0],
                                                  "evaluation_data y"))
    wait(Xd, labels, Y, evaluation)
    transfer_seconds = time.perf_counter() - start_transfer

    rngs = pop.rngs
    saved = None if resume is None else _load_checkpoints(pop, resume)
    members: list[_Member] = []
    validation: list[np.ndarray] = []  # each member's validation rows of X
    for k, s in enumerate(settings):
        rng_start = rngs[k].bit_generator.state if saved is None else saved[k].rng_start
        rngs[k].bit_generator.state = rng_start
        rows = None
        if s.validation is not None:  # the member's own split, as its single run draws it
            n_val = int(round(s.validation * n_all)) if isinstance(s.validation, float) \
                else int(s.validation)
            if not 0 < n_val < n_all:
                raise ValueError(f"validation={s.validation!r} leaves {n_all - n_val} training "
                                 f"and {n_val} validation samples; both must be >= 1")
            perm = rngs[k].permutation(n_all)
            rows = perm[:n_all - n_val]
            validation.append(perm[n_all - n_val:])
        members.append(_Member(s, History(), Schedule(
            s.initial_eta(pop.cost.name), s.early_stopping, s.schedule, s.anneal, s.epochs),
            rng_start, rows))
    has_evaluation = evaluation is not None or bool(validation)
    monitor = monitors(first.monitor, has_evaluation, any(s.watches_evaluation for s in settings))
    if "learning_speed" in monitor:
        raise ValueError("the learning_speed monitor is for one network: train the member "
                         "you want to watch with Network.fit(monitor=[..., "
                         "'learning_speed']), or call pop[k].learning_speed(X, y)")

    # the sets the monitors measure: shared arrays, or each member's rows of X
    train_set: DataSet = (Xd, labels, Y, None)
    eval_set: DataSet | None = None if evaluation is None else (*evaluation, None)
    n_train, n_evaluation = n_all, 0 if evaluation is None else int(evaluation[0].shape[0])
    if validation:
        train_rows = np.stack([m.rows for m in members if m.rows is not None])
        n_train, n_evaluation = train_rows.shape[1], len(validation[0])
        train_set = (Xd, labels, Y, xp.asarray(train_rows, device=pop.device))
        eval_set = (Xd, labels, Y, xp.asarray(np.stack(validation), device=pop.device))

    augment = first.augment(pop.sizes[0])
    engine = PopulationEngine(pop, rule, rules, regs, first.batch_size, augment=augment,
                              progress=progress, compiled=compiled)
    data = engine.data(Xd, Y)
    for m in members:
        m.history = History(n_train=n_train, n_evaluation=n_evaluation,
                            settings=m.settings.record(
                                eta=m.schedule.eta0, monitor=monitor, n_train=n_train,
                                n_evaluation=n_evaluation, augment=augment))
    start = 0
    if saved is not None:
        start = _restore(pop, engine, members, saved, rules)
    for m in members:
        m.history.transfer_seconds = transfer_seconds
    _begin(pop, engine, members, monitor, train_set, saved is not None)

    shared_order = (len(set(pop.seeds)) == 1 and not validation
                    and len({s.dropout for s in settings}) == 1)
    for epoch in range(start, first.epochs):
        active = [k for k, m in enumerate(members) if not m.stopped]
        if not active:
            break
        engine.frozen = [m.stopped for m in members]
        etas = [m.schedule.eta(epoch) for m in members]
        order, masks, codes = _draws(members, rngs, n_train, pop.sizes, augment,
                                     shared_order)
        clock, compiling = time.perf_counter(), engine.compile_seconds
        with out_of_memory(pop.device, f"training epoch {epoch + 1} of {K} members "
                           f"(mini-batch {first.batch_size}, {n_train} samples)",
                           "use fewer members at once (max_members=), a smaller batch_size "
                           "or float32"):
            try:
                engine.epoch(data, order, etas, masks, codes, epoch)
            finally:
                pop.params = engine.state.params
        seconds = time.perf_counter() - clock - (engine.compile_seconds - compiling)
        _record(pop, engine, members, epoch, etas, seconds, monitor, train_set, eval_set,
                active)
        running = [k for k in active if not members[k].stopped]  # not diverged just now
        for k in running:
            _report(members[k].history, k, epoch, verbose, monitor)
        if callback is not None:  # as Network.fit: before early stopping / the schedule
            callback(epoch, [m.history for m in members])
        for k in running:
            m = members[k]
            if m.schedule.stop(_MemberView(pop, k), m.history):
                m.stopped = True
        engine.state = engine.state._replace(params=pop.params)
        last = epoch + 1 == first.epochs
        if checkpoint is not None and (last or (epoch + 1) % first.checkpoint_every == 0
                                       or any(members[k].stopped for k in active)):
            _save_checkpoints(pop, engine, members, rules, checkpoint, active)
    return [m.history for m in members]


def _draws(members: list[_Member], rngs: list[np.random.Generator], n: int,
           sizes: list[int], augment: Any, shared: bool):
    """The epoch's draws of every member from its own generator: the order of its training
    rows (as rows of X), its dropout masks and shift codes.  A stopped member draws nothing
    (its run has ended).  ``shared``: every member has the same seed and dropout rate, so
    their draws are the same: drawn once, (n,)-shaped, and every active generator moved on
    as its own draw would have moved it."""
    K = len(members)
    active = [k for k, m in enumerate(members) if not m.stopped]
    if shared:
        k0 = active[0]
        order = epoch_order(rngs[k0], n)
        p = members[k0].settings.dropout
        masks = dropout_masks(sizes[1:-1], rngs[k0], n, p) if p else None
        codes = None if augment is None else augment.draw(rngs[k0], n)
        for k in active[1:]:
            rngs[k].bit_generator.state = rngs[k0].bit_generator.state
        return order, masks, codes
    orders = np.empty((K, n), dtype=np.int64)
    member_masks: list[list[np.ndarray] | None] = []
    codes_all = np.zeros((K, n), dtype=np.int64)
    for k, (m, rng) in enumerate(zip(members, rngs)):
        if m.stopped:
            orders[k] = np.arange(n) if m.rows is None else m.rows
            member_masks.append(None)
            continue
        order = epoch_order(rng, n)
        orders[k] = order if m.rows is None else m.rows[order]
        p = m.settings.dropout
        member_masks.append(dropout_masks(sizes[1:-1], rng, n, p) if p else None)
        if augment is not None:
            codes_all[k] = augment.draw(rng, n)
    masks = _member_masks(member_masks, sizes, n)
    return orders, masks, None if augment is None else codes_all


def _member_masks(member_masks, sizes, n):
    """(K, n, width) masks per hidden layer: each member's own, ones for a member without
    dropout; None when no member drops out."""
    if all(mm is None for mm in member_masks):
        return None
    out = []
    for layer, width in enumerate(sizes[1:-1]):
        out.append(np.stack([np.ones((n, width)) if mm is None else mm[layer]
                             for mm in member_masks]))
    return out


class _MemberView:
    """One member's parameters as ``Schedule.stop`` reads and restores them."""

    def __init__(self, pop: Any, k: int):
        self.pop, self.k = pop, k

    @property
    def params(self) -> Params:
        return self.pop.member_params(self.k)

    @params.setter
    def params(self, params: Params) -> None:
        self.pop.set_member_params(self.k, params)


def _begin(pop, engine, members, monitor, train_set, resumed: bool) -> None:
    """Each member's divergence limit, as its single run sets it (xmlp.epochs: the larger
    of the cost before the fit and an all-zero network's, times the factor)."""
    if "training_cost" not in monitor:
        return
    wanted = [m.settings.divergence_factor is not None for m in members]
    if not any(wanted):
        return
    xp = pop.xp
    if not resumed:
        before = to_numpy(engine.measure(pop.params, [_set(train_set)], rows=[train_set[3]]))
        for k, m in enumerate(members):
            m.history.initial_training_cost = float(np.reshape(before[1], (-1,))[k]) \
                if wanted[k] else None
    Y = train_set[2]
    Z = xp.zeros_like(Y)
    per_row = pop.cost.fn(Z, pop.output.f(Z, xp), Y, xp)  # (n,): knowing nothing
    costs = to_numpy(per_row)
    for k, m in enumerate(members):
        if not wanted[k] or m.history.initial_training_cost is None:
            continue
        mine = costs if m.rows is None else costs[m.rows]
        uninformed = float(np.sum(mine)) / len(mine)
        m.limit = m.settings.divergence_factor * max(m.history.initial_training_cost,
                                                     uninformed)
        m.good = pop.member_params(k)


def _set(data):
    return data[:3]


def _record(pop, engine, members, epoch, etas, seconds, monitor, train_set, eval_set,
            active) -> None:
    """One transfer of every member's numbers; each member's record and divergence check,
    as xmlp.epochs does for one network."""
    sets = [(prefix, data) for prefix, data in (("training", train_set),
                                               ("evaluation", eval_set))
            if data is not None and any(mm.startswith(prefix) for mm in monitor)]
    fetched = to_numpy(engine.measure(pop.params, [_set(d) for _, d in sets],
                                      rows=[d[3] for _, d in sets]))
    fetched = np.reshape(fetched, (fetched.shape[0], -1))  # (values, K)
    history_compile = engine.compile_seconds
    for k in active:
        m = members[k]
        values = fetched[:, k].tolist()
        h = m.history
        h.compile_seconds = history_compile
        h.seconds.append(seconds)
        h.eta.append(etas[k])
        exploded = (m.limit is not None and "training_cost" in monitor
                    and values[1] > m.limit)
        if exploded or not all(math.isfinite(v) for v in values):
            pop.set_member_params(k, m.good)
            m.stopped = True
            h.stop_reason = "diverged"
            h.stop_message = (
                f"training diverged in epoch {epoch + 1} with eta={etas[k]:g}: "
                + (f"the training cost rose to {values[1]:.4g}, more than {m.limit:.4g} "
                   "(divergence_factor x the larger of the cost before this fit and an "
                   "untrained network's)"
                   if exploded else "the weights or the cost became NaN/inf")
                + ". The network keeps the weights of the last good epoch; try a smaller eta.")
            continue
        m.good = pop.member_params(k)
        for (prefix, data), cost, correct in zip(sets, values[1::2], values[2::2]):
            n = data[0].shape[0] if data[3] is None else data[3].shape[-1]
            if f"{prefix}_cost" in monitor:
                getattr(h, f"{prefix}_cost").append(float(cost))
            if f"{prefix}_accuracy" in monitor:
                getattr(h, f"{prefix}_accuracy").append(round(correct) / n)


def _report(history: History, k: int, epoch: int, verbose: bool | int, monitor) -> None:
    if verbose and history.evaluation_accuracy:
        correct = round(history.evaluation_accuracy[-1] * history.n_evaluation)
        print(f"Member {k} epoch {epoch}: {correct} / {history.n_evaluation}")
    elif verbose:
        print(f"Member {k} epoch {epoch} complete")


# -- checkpoints: one single-network checkpoint per member ----------------------------------

def _member_path(directory: Any, k: int):
    from pathlib import Path

    return Path(directory) / f"member-{k}.ckpt"


def _save_checkpoints(pop, engine, members, rules, directory, which) -> None:
    """The checkpoints of the members in ``which`` (those that ran this epoch: a member
    that stopped earlier keeps the checkpoint of its last epoch)."""
    from pathlib import Path

    Path(directory).mkdir(parents=True, exist_ok=True)
    state = engine.state
    for k in which:
        m, net = members[k], pop[k]
        rule_state = _slice_tree(state.rule, k, pop.xp)
        ckpt_io.save_fit(_member_path(directory, k), net, rules[k],
                         TrainState(net.params, rule_state, state.t), m.schedule, m.history,
                         m.rng_start)


def _load_checkpoints(pop, directory):
    return [ckpt_io.load(_member_path(directory, k), pop[k]) for k in range(len(pop))]


def _restore(pop, engine, members, saved, rules) -> int:
    """Every member back to its checkpoint; returns the epochs done (a member that had
    stopped may have stopped at an earlier one)."""
    finished = ("early_stopping", "schedule", "diverged")
    running = {s.epoch for s in saved if s.history.get("stop_reason") not in finished}
    if len(running) > 1:
        raise ValueError(f"resume: the members' checkpoints are at different epochs "
                         f"{sorted(running)}; resume from one population's checkpoints")
    epochs = running or {max(s.epoch for s in saved)}
    states = []
    for k, (m, s) in enumerate(zip(members, saved)):
        net = pop[k]
        state, _ = ckpt_io.restore_fit(s, net, rules[k], m.schedule, m.history)
        pop.set_member_params(k, net.params)
        pop.rngs[k].bit_generator.state = net.rng.bit_generator.state
        states.append((state.rule, state.t))
        m.stopped = m.history.stop_reason in finished
        m.good = pop.member_params(k)
    rule_state = _stack_trees([r for r, _ in states], pop.xp)
    engine.state = TrainState(pop.params, rule_state, states[0][1])
    return epochs.pop()


def _slice_tree(tree: Any, k: int, xp: Any) -> Any:
    """Member k of a stacked rule state (b arrays are (K, 1, n): their row)."""
    if isinstance(tree, Params):
        return Params(tuple(W[k] for W in tree.W), tuple(b[k, 0, ...] for b in tree.b))
    if isinstance(tree, tuple):
        return type(tree)(*(_slice_tree(v, k, xp) for v in tree))
    return tree


def _stack_trees(trees: list[Any], xp: Any) -> Any:
    first = trees[0]
    if isinstance(first, Params):
        return Params(tuple(xp.stack([t.W[l] for t in trees]) for l in range(len(first.W))),
                      tuple(xp.stack([t.b[l] for t in trees])[:, None, :]
                            for l in range(len(first.b))))
    if isinstance(first, tuple):
        return type(first)(*(_stack_trees([t[i] for t in trees], xp)
                             for i in range(len(first))))
    return first
