"""The training loop, :func:`fit`: checks the settings, splits off the validation set, runs
the epochs through the mini-batch engine, records each one, and stops on divergence, early
stopping or the schedule.  What it records and prints is :mod:`xmlp.history`; how eta changes
between epochs and when to stop early, :mod:`xmlp.schedule`; what each epoch draws, runs
and records, :mod:`xmlp.epochs`; the state a checkpoint holds and how a fit resumes from
it, :mod:`xmlp.checkpoint`.

One mini-batch step is network2.py's ``update_mini_batch``: backprop (:mod:`xmlp.network`)
gives the gradients, an update rule (:mod:`xmlp.optim`: SGD with L2 / L1 decay, momentum,
Nesterov, Adam) moves the parameters.  This module decides which examples go into which
step and what is recorded between epochs; it contains no update formula.

Hot path rules: the training set is moved to the device once; each epoch draws one host
permutation, moves it as one index array and gathers every mini-batch with ``take``; no
host synchronisation happens inside the mini-batch loop.  The end of each epoch performs
exactly one device -> host transfer (finiteness of the weights plus the monitored costs
and accuracies).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from . import _validate as check
from . import augment as aug
from . import checkpoint as ckpt_io
from . import optim
from .backend import out_of_memory, to_numpy
from .engine import resolve_compile
from .epochs import Hyper, Loop, epoch_order, record
from .history import MONITORS, History, TrainingDiverged, TrainingInterrupted, monitors, report
from .network import Network
from .schedule import ANNEALS, Tracker, anneal_factor

Array = Any

# History, the two exceptions and epoch_order are re-exported: pickles and code written
# before they moved to xmlp.history / xmlp.epochs name them here.
__all__ = ["fit", "History", "TrainingDiverged", "TrainingInterrupted", "epoch_order",
           "MONITORS", "ANNEALS", "DEFAULT_ETA"]

#: The book's learning rates: chapter 1 (quadratic), chapter 3 (cross-entropy), softmax.
DEFAULT_ETA = {"quadratic": 3.0, "cross-entropy": 0.5, "log-likelihood": 0.5}
#: Adam's usual step size (Kingma & Ba; PyTorch's and scikit-learn's default).
DEFAULT_ETA_ADAM = 0.001


def _split_validation(net: Network, X, labels, Y, validation: float | int):
    n = X.shape[0]
    n_val = int(round(validation * n)) if isinstance(validation, float) else int(validation)
    if not 0 < n_val < n:
        raise ValueError(f"validation={validation!r} leaves {n - n_val} training and "
                         f"{n_val} validation samples; both must be >= 1")
    perm = net.xp.asarray(net.rng.permutation(n), device=net.device)
    tr, va = perm[:n - n_val], perm[n - n_val:]
    take = net.xp.take
    return ((take(X, tr, axis=0), take(labels, tr, axis=0), take(Y, tr, axis=0)),
            (take(X, va, axis=0), take(labels, va, axis=0), take(Y, va, axis=0)))


def fit(net: Network, X: Any, y: Any, *, epochs: int = 30, batch_size: int = 10,
        eta: float | None = None, lmbda: float = 0.0, l1: float = 0.0,
        momentum: float = 0.0, nesterov: bool = False, optimizer: str | optim.Rule = "sgd",
        beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8,
        dropout: float = 0.0, shift: int = 0, flip: bool = False,
        image_shape: tuple[int, int] | None = None,
        evaluation_data: tuple[Any, Any] | None = None, validation: float | int | None = None,
        early_stopping: int | None = None, schedule: int | None = None,
        anneal: str | None = None, monitor: Iterable[str] | None = None,
        verbose: bool | int = False,
        callback: Callable[[int, History], None] | None = None,
        progress: Callable[[int, int, int], None] | None = None,
        checkpoint: Any = None, checkpoint_every: int = 1, resume: Any = None,
        on_divergence: str = "raise", divergence_factor: float | None = 10.0,
        compile: bool | None = None) -> History:
    """Train the network by mini-batch SGD (or Adam) and return the per-epoch history.

    network2.py's ``SGD`` on arrays: each epoch shuffles the training set, runs one
    backpropagation and update per mini-batch, then records the monitored costs and
    accuracies.  The network's parameters are updated in place.

    Parameters
    ----------
    net : xmlp.Network
        The network to train (``Network.fit`` passes itself).
    X : array_like, shape (n, n_in)
        Training features: arrays of the network's backend on its device, or NumPy arrays
        or lists (moved to the device once).
    y : array_like, shape (n,) or (n, n_out)
        Class indices, or one-hot (or regression) targets.
    epochs : int, default 30
        Number of passes over the training set.
    batch_size : int, default 10
        Examples per mini-batch; the last mini-batch of an epoch may be smaller.
    eta : float, optional
        Learning rate.  Default: the book's value for the cost with SGD (3.0 quadratic,
        0.5 otherwise), 0.001 with Adam.
    lmbda : float, default 0.0
        L2 strength, network2's weight decay ``1 - eta lmbda / n``.
    l1 : float, default 0.0
        L1 strength (chapter 3's L1 update, ``W -= eta l1 / n sign(W)``).
    momentum : float, default 0.0
        Momentum coefficient mu in [0, 1) for SGD.
    nesterov : bool, default False
        Nesterov's momentum instead of the classical one.
    optimizer : {"sgd", "adam"} or update rule, default "sgd"
        The update rule, or a rule object of ``xmlp.optim``.
    beta1, beta2, epsilon : float, default 0.9, 0.999, 1e-8
        Adam's decay rates of the moment estimates and its epsilon (Kingma & Ba's
        Algorithm 1).
    dropout : float, default 0.0
        Probability of dropping each hidden neuron during training (inverted dropout).
    shift : int, default 0
        Data augmentation: every epoch each training image moves by up to ``shift``
        pixels in each direction, at random.
    flip : bool, default False
        Data augmentation: every epoch each training image is mirrored left-right with
        probability 1/2.
    image_shape : tuple of int, optional
        (height, width) of the images for ``shift`` and ``flip``; default a square of
        ``sizes[0]`` pixels.
    evaluation_data : tuple of array_like, optional
        ``(X_eval, y_eval)`` evaluated after every epoch.
    validation : float or int, optional
        Instead of ``evaluation_data``: the fraction (or count) of the training rows held
        out at random, drawn from the network's seeded generator.
    early_stopping : int, optional
        Stop after this many epochs without a better evaluation accuracy, and restore
        the best weights.
    schedule : int, optional
        Nielsen's schedule: halve eta after this many epochs without a better evaluation
        accuracy; stop once eta has fallen to 1/128 of its initial value.
    anneal : {"cosine", "linear"}, optional
        A fixed schedule over the epochs that watches nothing: epoch e of E runs at
        ``eta (1 + cos(pi e / E)) / 2`` or ``eta (1 - e / E)``.
    monitor : iterable of str, optional
        Which of "training_cost", "training_accuracy", "evaluation_cost" and
        "evaluation_accuracy" to record each epoch; default all that the data allows.
    verbose : bool or int, default False
        True prints network.py's "Epoch j: c / n" lines; 2 adds network2's cost lines.
    callback : callable, optional
        Called as ``callback(epoch, history)`` after every epoch.
    progress : callable, optional
        Called as ``progress(epoch, batches_done, n_batches)`` after every mini-batch (a
        host-side counter, no device synchronisation); compiled, after each of about 50
        calls per epoch.
    checkpoint : str or os.PathLike, optional
        Write the whole training state to this file, atomically, every
        ``checkpoint_every`` epochs and when training stops.
    checkpoint_every : int, default 1
        Epochs between checkpoints.
    resume : str or os.PathLike, optional
        Continue the fit saved in this checkpoint (give the same data and settings;
        ``epochs`` counts the epochs already done).  A run killed at any moment and
        resumed ends with exactly the weights of an uninterrupted run.
    on_divergence : {"raise", "stop"}, default "raise"
        "stop" returns the history (``stop_reason`` "diverged") instead of raising.
    divergence_factor : float or None, default 10.0
        Training has diverged when the weights or a monitored cost are not finite, or,
        when the training cost is monitored, when it exceeds this factor times the cost
        before training (None: only non-finite values count).
    compile : bool or None, default None
        Run each epoch as one compiled XLA program (the same steps and numbers as the
        eager loop).  None: compiled where the backend can (JAX), eager elsewhere; True:
        compiled; False: eager.  The compilation time is recorded in
        ``History.compile_seconds``.

    Returns
    -------
    History
        The per-epoch record: network2's four monitor lists (accuracies as fractions),
        seconds and eta per epoch, and why training stopped.

    Raises
    ------
    ValueError
        For bad arguments or data (shapes, NaN / inf, labels out of range, empty data),
        naming the argument; for ``compile=True`` on a backend that cannot compile.
    TypeError
        For arrays of another array library than the network's backend.
    TrainingDiverged
        When the weights or a monitored cost become non-finite (the network keeps the
        weights of the last finite epoch), unless ``on_divergence="stop"``.
    TrainingInterrupted
        On Ctrl-C; the network keeps the weights after the last complete mini-batch and
        the exception carries the history of the completed epochs.

    Examples
    --------
    >>> import xmlp
    >>> data = xmlp.datasets.load("mnist-sample")
    >>> net = xmlp.Network([784, 30, 10], cost="cross-entropy", seed=0)
    >>> history = net.fit(*data.train, epochs=2, batch_size=10, eta=0.5,
    ...                   evaluation_data=data.test)
    >>> history.epochs, len(history.evaluation_accuracy)
    (2, 2)
    >>> history.evaluation_accuracy[-1] > 0.8      # of the 1000 test images
    True
    >>> history = net.fit(*data.train, epochs=1, optimizer="adam", lmbda=1.0, dropout=0.1)
    """
    epochs = check.positive_int(epochs, "epochs")
    compiled = resolve_compile(compile, net.backend.name)
    batch_size = check.positive_int(batch_size, "batch_size")
    lmbda = check.non_negative(lmbda, "lmbda")
    l1 = check.non_negative(l1, "l1")
    momentum = check.fraction(momentum, "momentum")
    rule = optim.make(optimizer, momentum=momentum, nesterov=nesterov, beta1=beta1,
                      beta2=beta2, epsilon=epsilon)
    if eta is None:
        eta = DEFAULT_ETA_ADAM if isinstance(rule, optim.Adam) else DEFAULT_ETA[net.cost.name]
    eta = check.positive_float(eta, "eta")
    dropout = check.fraction(dropout, "dropout")
    augment = aug.make(shift, flip, image_shape, net.sizes[0])
    for name, val in (("early_stopping", early_stopping), ("schedule", schedule)):
        if val is not None:
            check.positive_int(val, name)
    if anneal is not None and anneal not in ANNEALS:
        raise ValueError(f"anneal must be one of {list(ANNEALS)} or None, got {anneal!r}")
    if anneal is not None and schedule is not None:
        raise ValueError("anneal and schedule both set eta: give one of them")
    checkpoint_every = check.positive_int(checkpoint_every, "checkpoint_every")
    if on_divergence not in ("raise", "stop"):
        raise ValueError(f"on_divergence must be 'raise' or 'stop', got {on_divergence!r}")
    if evaluation_data is not None and validation is not None:
        raise ValueError("give either evaluation_data or validation, not both")
    saved = None if resume is None else ckpt_io.load(resume, net)
    rng_start = net.rng.bit_generator.state if saved is None else saved.rng_start
    net.rng.bit_generator.state = rng_start  # the validation split is drawn from here

    X = net._features(X)
    labels, Y = net._targets(y, X.shape[0])
    evaluation = None
    if evaluation_data is not None:
        if not (isinstance(evaluation_data, (tuple, list)) and len(evaluation_data) == 2):
            raise TypeError("evaluation_data must be a pair (X_eval, y_eval)")
        X_ev = net._features(evaluation_data[0], "evaluation_data X")
        evaluation = (X_ev, *net._targets(evaluation_data[1], X_ev.shape[0],
                                          "evaluation_data y"))
    elif validation is not None:
        if isinstance(validation, bool) or not isinstance(validation, (int, float)):
            raise TypeError(f"validation must be a fraction or a count, got {validation!r}")
        (X, labels, Y), evaluation = _split_validation(net, X, labels, Y, validation)

    if (early_stopping or schedule) and evaluation is None:
        raise ValueError("early_stopping and schedule watch the evaluation accuracy: pass "
                         "evaluation_data=(X, y) or validation=<fraction>")
    monitor = monitors(monitor, evaluation is not None, bool(early_stopping or schedule))

    n = X.shape[0]
    hyper = Hyper(eta, optim.Decay(lmbda, l1, n), dropout)
    history = History(n_train=n, n_evaluation=0 if evaluation is None else evaluation[0].shape[0])
    loop = Loop(net, X, Y, batch_size, hyper, rule, progress, augment, compiled)
    tracker = Tracker(eta, early_stopping, schedule)
    settings = {"batch_size": batch_size, "eta": eta, "lmbda": lmbda, "l1": l1,
                "momentum": momentum, "nesterov": bool(nesterov), "dropout": dropout,
                "validation": validation, "early_stopping": early_stopping,
                "schedule": schedule, "monitor": list(monitor), "n_train": n,
                **({"anneal": anneal, "anneal_epochs": epochs} if anneal else {}),
                **({"augment": augment.settings()} if augment else {}),
                "n_evaluation": history.n_evaluation, **rule.settings()}
    if divergence_factor is not None:
        divergence_factor = check.positive_float(divergence_factor, "divergence_factor")
        if "training_cost" in monitor and saved is None:
            figures = loop.engine.figures([(X, labels, Y)], lmbda, l1)  # one transfer
            history.initial_training_cost = float(to_numpy(figures)[1])
    start = 0
    if saved is not None:
        loop.state, start = ckpt_io.restore_fit(saved, settings, net, loop.rule, tracker,
                                                history)
        loop.good = (net._W, net._b)
        if history.stop_reason in ("early_stopping", "schedule"):
            return history  # that run had finished
    loop.divergence_limit = (None if divergence_factor is None
                             or history.initial_training_cost is None
                             else divergence_factor * history.initial_training_cost)
    for epoch in range(start, epochs):
        hyper.eta = tracker.eta * anneal_factor(anneal, epoch, epochs)
        with out_of_memory(net.device, f"training epoch {epoch + 1} (mini-batch "
                           f"{batch_size}, {n} samples)", "try a smaller batch_size, "
                           "float32, or fewer/smaller hidden layers"):
            seconds = loop.run_epoch(epoch, history)
        try:
            record(loop, history, epoch, seconds, monitor, (X, labels, Y), evaluation)
        except TrainingDiverged:
            if on_divergence == "raise":
                raise
            return history
        report(history, epoch, verbose, monitor)
        if callback is not None:
            callback(epoch, history)
        stop = tracker.stop(net, history)
        if checkpoint is not None and (stop or epoch + 1 == epochs
                                       or (epoch + 1) % checkpoint_every == 0):
            ckpt_io.save_fit(checkpoint, net, loop.rule, loop.state, tracker, history,
                             settings, rng_start)
        if stop:
            break
    return history
