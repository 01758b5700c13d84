"""What a ``fit`` records and reports: the per-epoch :class:`History`, the monitors it may
hold, network.py's and network2.py's progress lines, and the two ways a fit ends early with
an exception (:class:`TrainingDiverged`, :class:`TrainingInterrupted`), which carry it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

__all__ = ["History", "TrainingDiverged", "TrainingInterrupted", "MONITORS", "PROBE_ROWS",
           "monitors", "report"]

#: network2's four monitors (the default: those the data allows), then chapter 5's speed of
#: learning of each layer, recorded when asked for.
MONITORS = ("training_cost", "training_accuracy", "evaluation_cost", "evaluation_accuracy",
            "learning_speed")
#: Rows of the training set that ``learning_speed`` is measured on unless a probe is given
#: (the book's: the first 1000 training images).
PROBE_ROWS = 1000


@dataclass
class History:
    """Per-epoch record of a ``fit``.

    The four lists of costs and accuracies are network2.py's (costs per example incl.
    regularisation; accuracies as fractions); iterating yields them in network2's return
    order: evaluation cost, evaluation accuracy, training cost, training accuracy.  A list
    stays empty when its monitor is off.

    Attributes
    ----------
    training_cost, training_accuracy : list of float
        Cost and accuracy on the training data after each epoch.
    evaluation_cost, evaluation_accuracy : list of float
        Cost and accuracy on the evaluation data after each epoch.
    seconds : list of float
        Training time per epoch.
    eta : list of float
        Learning rate used in each epoch.
    n_train, n_evaluation : int
        Sizes of the training and evaluation data.
    best_epoch : int or None
        0-based, when early stopping / a schedule tracked it.
    initial_training_cost : float or None
        Before the first epoch (divergence check).
    compile_seconds : float
        Compiling the epoch programs (``compile=True``), not in ``seconds``.
    transfer_seconds : float
        Moving the training and evaluation data to the device and waiting until it is
        there, before the first epoch (not in ``seconds``).
    settings : dict
        The fit's settings as it recorded them (eta, lmbda, batch size, the rule's
        hyper-parameters, ...): what a resumed fit must repeat.
    learning_speed : list of list of float
        With the ``learning_speed`` monitor: one list per layer (hidden layers first, the
        output layer last), the layer's speed of learning before each epoch, as chapter 5
        records it -- the length of the mean of dC_x/db^l over the probe rows (the first
        1000 training rows unless ``fit`` was given ``probe=``).
    stop_reason : str
        Why the fit stopped: ``"epochs"``, ``"early_stopping"``, ``"schedule"``,
        ``"interrupted"`` or ``"diverged"``.
    stop_message : str or None
        For a member of a population that diverged: what the single run's
        :class:`TrainingDiverged` says.
    epochs : int
        Epochs completed (the length of ``seconds``).

    Examples
    --------
    >>> import xmlp
    >>> data = xmlp.datasets.load("mnist-sample")
    >>> net = xmlp.Network([784, 30, 10], seed=0)
    >>> history = net.fit(*data.train, epochs=3, batch_size=10, eta=3.0,
    ...                   evaluation_data=data.test)
    >>> history.epochs, history.n_train, history.n_evaluation, history.stop_reason
    (3, 4000, 1000, 'epochs')
    >>> evaluation_cost, evaluation_accuracy, training_cost, training_accuracy = history
    >>> len(evaluation_accuracy), evaluation_accuracy[-1] > 0.8
    (3, True)
    """

    training_cost: list[float] = field(default_factory=list)
    training_accuracy: list[float] = field(default_factory=list)
    evaluation_cost: list[float] = field(default_factory=list)
    evaluation_accuracy: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # training time per epoch
    eta: list[float] = field(default_factory=list)  # learning rate used in each epoch
    n_train: int = 0
    n_evaluation: int = 0
    best_epoch: int | None = None  # 0-based, when early stopping / a schedule tracked it
    initial_training_cost: float | None = None  # before the first epoch (divergence check)
    compile_seconds: float = 0.0  # compiling the epoch programs (compile=True), not in seconds
    stop_reason: str = "epochs"
    transfer_seconds: float = 0.0  # moving the data to the device, not in seconds
    settings: dict = field(default_factory=dict)
    stop_message: str | None = None  # a population member's TrainingDiverged
    learning_speed: list[list[float]] = field(default_factory=list)  # per layer, per epoch

    @property
    def epochs(self) -> int:
        """Epochs completed (the length of ``seconds``)."""
        return len(self.seconds)

    def __iter__(self):
        yield from (self.evaluation_cost, self.evaluation_accuracy,
                    self.training_cost, self.training_accuracy)

    def as_dict(self) -> dict:
        """The record as a dict of its fields (``dataclasses.asdict``)."""
        return asdict(self)

    def __setstate__(self, state: dict) -> None:
        """Unpickle, with the defaults of fields that pickles of earlier versions lack."""
        self.__dict__.update(History().__dict__)
        self.__dict__.update(state)


class TrainingDiverged(FloatingPointError):
    """The cost or the weights became NaN/inf; the network keeps its last finite weights."""

    def __init__(self, message: str, history: History):
        super().__init__(message)
        self.history = history


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``fit``: the network holds the weights after the last whole mini-batch
    and ``history`` the completed epochs."""

    def __init__(self, history: History):
        super().__init__("training interrupted")
        self.history = history


def monitors(monitor: Iterable[str] | None, has_evaluation: bool,
             watched: bool = False) -> tuple[str, ...]:
    """The monitors of a fit: ``monitor`` checked, or (None) all that the data allows.

    ``watched``: early stopping or a schedule watches the evaluation accuracy, so it must
    be among them."""
    if watched and not has_evaluation:
        raise ValueError("early_stopping and schedule watch the evaluation accuracy: pass "
                         "evaluation_data=(X, y) or validation=<fraction>")
    if monitor is None:
        return MONITORS[:4] if has_evaluation else MONITORS[:2]
    monitor = tuple(monitor)
    for m in monitor:
        if m not in MONITORS:
            raise ValueError(f"unknown monitor {m!r}; choose from {list(MONITORS)}")
        if m.startswith("evaluation") and not has_evaluation:
            raise ValueError(f"monitor {m!r} needs evaluation_data or validation")
    if watched and "evaluation_accuracy" not in monitor:
        raise ValueError("early_stopping and schedule watch the evaluation accuracy: add "
                         "'evaluation_accuracy' to monitor (or leave monitor=None)")
    return monitor


def report(history: History, epoch: int, verbose: bool | int, monitor) -> None:
    """network.py's progress line, or at verbose=2 network2.py's monitoring lines:

        Epoch 0 training complete
        Cost on training data: 0.4871...
        Accuracy on training data: 46211 / 50000
        Cost on evaluation data: 0.6120...
        Accuracy on evaluation data: 9541 / 10000
    """
    if not verbose:
        return
    if verbose < 2:
        if history.evaluation_accuracy:
            correct = round(history.evaluation_accuracy[-1] * history.n_evaluation)
            print(f"Epoch {epoch}: {correct} / {history.n_evaluation}")
        else:
            print(f"Epoch {epoch} complete")
        return
    print(f"Epoch {epoch} training complete")
    n = {"training": history.n_train, "evaluation": history.n_evaluation}
    for m in sorted(monitor, key=MONITORS.index):  # network2's order
        if m == "learning_speed":  # chapter 5's line: the speeds before this epoch
            print("Speed of learning before this epoch (hidden layers, output layer): "
                  + ", ".join(f"{layer[-1]:.3g}" for layer in history.learning_speed))
            continue
        what, kind = m.split("_")
        value = getattr(history, m)[-1]
        shown = f"{round(value * n[what])} / {n[what]}" if kind == "accuracy" else value
        print(f"{kind.capitalize()} on {what} data: {shown}")
