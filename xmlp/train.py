"""The training loop, :func:`fit`: the body of :meth:`xmlp.Network.fit`.  It puts the data on
the device (and splits off the validation set), runs the epochs, reports them, and stops on
divergence, early stopping or the schedule, checkpointing as it goes.

What the settings are and accept is :mod:`xmlp.settings`; what each epoch draws, runs and
records, :mod:`xmlp.epochs`; the mini-batch steps, :mod:`xmlp.engine` and :mod:`xmlp.step`;
how eta changes between epochs, :mod:`xmlp.schedule`; what is recorded and printed,
:mod:`xmlp.history`; the state a checkpoint holds and how a fit resumes from it,
:mod:`xmlp.checkpoint`.  This module contains no update formula.

Hot path rules: the training set is moved to the device once (and waited for, so that the
first epoch's time is the epoch's: ``History.transfer_seconds`` holds the move); each epoch
draws one host permutation, moves it as one index array and gathers every mini-batch with
``take``; no host synchronisation happens inside the mini-batch loop.  The end of each
epoch performs exactly one device -> host transfer (finiteness of the weights plus the
monitored costs and accuracies, and the speeds of learning when monitored).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from . import checkpoint as ckpt_io
from .backend import out_of_memory, wait
from .engine import resolve_compile
from .epochs import DataSet, Epochs
from .history import PROBE_ROWS, History, TrainingDiverged, monitors, report
from .network import Network
from .schedule import Schedule
from .settings import FitSettings

__all__ = ["fit"]


def fit(net: Network, X: Any, y: Any, settings: FitSettings | None = None, *,
        evaluation_data: tuple[Any, Any] | None = None, verbose: bool | int = False,
        callback: Callable[[int, History], None] | None = None,
        progress: Callable[[int, int, int], None] | None = None,
        checkpoint: Any = None, resume: Any = None, probe: tuple[Any, Any] | None = None,
        **options: Any) -> History:
    """Train ``net`` on (X, y) with ``settings`` (or the :class:`~xmlp.settings.FitSettings`
    made from ``options``) and return the history; :meth:`xmlp.Network.fit` documents every
    argument."""
    if settings is None:
        settings = FitSettings(**options)
    elif options:
        raise TypeError(f"give the settings or options {sorted(options)}, not both")
    compiled = resolve_compile(settings.compile, net.backend.name)
    saved = None if resume is None else ckpt_io.load(resume, net)
    rng_start = net.rng.bit_generator.state if saved is None else saved.rng_start
    net.rng.bit_generator.state = rng_start  # the validation split is drawn from here
    start_transfer = time.perf_counter()
    train, evaluation = _data(net, X, y, evaluation_data, settings.validation)
    transfer_seconds = time.perf_counter() - start_transfer
    monitor = monitors(settings.monitor, evaluation is not None, settings.watches_evaluation)
    rule, eta = settings.rule(), settings.initial_eta(net.cost.name)
    epochs = Epochs(net, train, evaluation, settings, rule, monitor, progress, compiled,
                    _probe(net, train, probe, monitor))
    n_evaluation = 0 if evaluation is None else int(evaluation[0].shape[0])
    history = History(n_train=epochs.n, n_evaluation=n_evaluation, settings=settings.record(
        eta=eta, monitor=monitor, n_train=epochs.n, n_evaluation=n_evaluation,
        augment=epochs.augment))
    schedule = Schedule(eta, settings.early_stopping, settings.schedule, settings.anneal,
                        settings.epochs)
    start = 0
    if saved is not None:
        state, start = ckpt_io.restore_fit(saved, net, rule, schedule, history)
        epochs.resume(state)
        if history.stop_reason in ("early_stopping", "schedule"):
            return history  # that run had finished
    history.transfer_seconds = transfer_seconds
    epochs.begin(history, resumed=saved is not None)
    for epoch in range(start, settings.epochs):
        try:
            with out_of_memory(net.device, f"training epoch {epoch + 1} (mini-batch "
                               f"{settings.batch_size}, {epochs.n} samples)", "try a smaller "
                               "batch_size, float32, or fewer/smaller hidden layers"):
                epochs.run(epoch, schedule.eta(epoch), history)
        except TrainingDiverged:
            if settings.on_divergence == "raise":
                raise
            return history
        report(history, epoch, verbose, monitor)
        if callback is not None:
            callback(epoch, history)
        stop = schedule.stop(net, history)
        if checkpoint is not None and (stop or epoch + 1 == settings.epochs
                                       or (epoch + 1) % settings.checkpoint_every == 0):
            ckpt_io.save_fit(checkpoint, net, rule, epochs.engine.state, schedule, history,
                             rng_start)
        if stop:
            break
    return history


def _data(net: Network, X: Any, y: Any, evaluation_data: Any,
          validation: float | int | None) -> tuple[DataSet, DataSet | None]:
    """The training set and the evaluation set (given, or split off at random), checked
    and on the device, waited for."""
    if evaluation_data is not None and validation is not None:
        raise ValueError("give either evaluation_data or validation, not both")
    X = net.features(X)
    train: DataSet = (X, *net.targets(y, X.shape[0]))
    evaluation = None
    if evaluation_data is not None:
        if not (isinstance(evaluation_data, (tuple, list)) and len(evaluation_data) == 2):
            raise TypeError("evaluation_data must be a pair (X_eval, y_eval)")
        X_ev = net.features(evaluation_data[0], "evaluation_data X")
        evaluation = (X_ev, *net.targets(evaluation_data[1], X_ev.shape[0],
                                         "evaluation_data y"))
    elif validation is not None:
        train, evaluation = _split_validation(net, train, validation)
    wait(train, evaluation)
    return train, evaluation


def _probe(net: Network, train: DataSet, probe: Any, monitor: tuple[str, ...]
           ) -> tuple[Any, Any] | None:
    """The rows the learning speed is measured on, (X, Y) on the device: ``probe`` checked,
    or the first ``PROBE_ROWS`` training rows; None when the speed is not monitored."""
    if "learning_speed" not in monitor:
        if probe is not None:
            raise ValueError("probe= is what the learning_speed monitor measures on: add "
                             "'learning_speed' to monitor, or leave probe out")
        return None
    if probe is None:
        rows = min(PROBE_ROWS, int(train[0].shape[0]))  # the standard leaves stops past
        return train[0][:rows, :], train[2][:rows, :]  # the end unspecified
    if not (isinstance(probe, (tuple, list)) and len(probe) == 2):
        raise TypeError("probe must be a pair (X_probe, y_probe)")
    X = net.features(probe[0], "probe X")
    return X, net.targets(probe[1], X.shape[0], "probe y")[1]


def _split_validation(net: Network, data: DataSet, validation: float | int
                      ) -> tuple[DataSet, DataSet]:
    n = data[0].shape[0]
    n_val = int(round(validation * n)) if isinstance(validation, float) else int(validation)
    if not 0 < n_val < n:
        raise ValueError(f"validation={validation!r} leaves {n - n_val} training and "
                         f"{n_val} validation samples; both must be >= 1")
    perm = net.xp.asarray(net.rng.permutation(n), device=net.device)
    tr, va = perm[:n - n_val], perm[n - n_val:]
    X, labels, Y = data
    take = net.xp.take
    return ((take(X, tr, axis=0), take(labels, tr, axis=0), take(Y, tr, axis=0)),
            (take(X, va, axis=0), take(labels, va, axis=0), take(Y, va, axis=0)))
