"""The settings of a fit, once: :class:`FitSettings`, a frozen object that checks itself
against a declared table of constraints when it is made.

Every option of :meth:`xmlp.Network.fit` that decides what training does is a field here,
with its default; the options that hand data or hooks to the fit (``evaluation_data``,
``probe``, ``verbose``, ``callback``, ``progress``, ``checkpoint``, ``resume``) are
arguments of ``xmlp.train.fit`` itself.  :data:`CONSTRAINTS` says what each field accepts, as data,
with the messages users see; checks that relate two fields follow it in
``FitSettings.__post_init__``.  From the settings come the update rule, the regulariser,
the augmentation and the record a fit keeps (``History.settings``, which a checkpoint must
match to be resumed).
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _validate as check
from . import augment as aug
from . import optim
from .history import MONITORS
from .regulariser import Regulariser
from .schedule import ANNEALS

__all__ = ["FitSettings", "CONSTRAINTS", "DEFAULT_ETA", "DEFAULT_ETA_ADAM"]

#: The book's learning rates: chapter 1 (quadratic), chapter 3 (cross-entropy), softmax.
DEFAULT_ETA = {"quadratic": 3.0, "cross-entropy": 0.5, "log-likelihood": 0.5, "poisson": 0.5}
#: Adam's usual step size (Kingma & Ba; PyTorch's and scikit-learn's default).
DEFAULT_ETA_ADAM = 0.001


# -- the kinds of value a field takes: each returns the value normalised or raises ---------

def _optional(rule: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    return lambda value, name: None if value is None else rule(value, name)


def _boolean(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _one_of(*choices: Any) -> Callable[[Any, str], Any]:
    named = [c for c in choices if c is not None]
    if None in choices:
        expected = f"one of {named} or None"
    else:
        expected = " or ".join(map(repr, named))

    def rule(value: Any, name: str) -> Any:
        if isinstance(value, (bool, np.bool_)) or value not in choices:
            raise ValueError(f"{name} must be {expected}, got {value!r}")
        return value
    return rule


def _pixels(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a non-negative number of pixels, got {value!r}")
    return int(value)


def _optimizer(value: Any, name: str) -> str | optim.Rule:
    if isinstance(value, optim.Rule) or value in optim.OPTIMIZERS:
        return value
    raise ValueError(f"unknown optimizer {value!r}; choose one of {list(optim.OPTIMIZERS)}")


def _fraction_or_count(value: Any, name: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a fraction or a count, got {value!r}")
    return int(value) if isinstance(value, numbers.Integral) else float(value)


def _monitor(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a list of monitor names, got {value!r}")
    value = tuple(value)
    for m in value:
        if m not in MONITORS:
            raise ValueError(f"unknown monitor {m!r}; choose from {list(MONITORS)}")
    return value


def _compile(value: Any, name: str) -> bool | None:
    if value is not None and not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True, False or None, got {value!r}")
    return None if value is None else bool(value)


def _image_shape(value: Any, name: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be (height, width), got {value!r}") from None
    return check.positive_int(h, f"{name}[0]"), check.positive_int(w, f"{name}[1]")


#: What each field of :class:`FitSettings` accepts: field -> check(value, name).
CONSTRAINTS: dict[str, Callable[[Any, str], Any]] = {
    "epochs": check.positive_int,
    "batch_size": check.positive_int,
    "eta": _optional(check.positive_float),
    "lmbda": check.non_negative,
    "l1": check.non_negative,
    "momentum": check.fraction,
    "nesterov": _boolean,
    "optimizer": _optimizer,
    "beta1": check.fraction,  # Adam checks its own numbers once more, with its messages
    "beta2": check.fraction,
    "epsilon": check.positive_float,
    "dropout": check.fraction,
    "shift": _pixels,
    "flip": _boolean,
    "image_shape": _optional(_image_shape),
    "validation": _optional(_fraction_or_count),
    "early_stopping": _optional(check.positive_int),
    "schedule": _optional(check.positive_int),
    "anneal": _one_of(None, *ANNEALS),
    "monitor": _optional(_monitor),
    "checkpoint_every": check.positive_int,
    "on_divergence": _one_of("raise", "stop"),
    "divergence_factor": _optional(check.positive_float),
    "compile": _compile,
}


@dataclass(frozen=True)
class FitSettings:
    """What a fit does, checked when it is made (see :meth:`xmlp.Network.fit` for each
    field's meaning; :data:`CONSTRAINTS` for what each accepts).

    Examples
    --------
    >>> from xmlp.settings import FitSettings
    >>> settings = FitSettings(epochs=3, lmbda=5.0, momentum=0.5)
    >>> settings.rule(), settings.regulariser()
    (Momentum(mu=0.5, nesterov=False), Regulariser(lmbda=5.0, l1=0.0, per_batch=False))
    >>> FitSettings(dropout=1.0)
    Traceback (most recent call last):
    ...
    ValueError: dropout must be in [0, 1), got 1.0
    """

    epochs: int = 30
    batch_size: int = 10
    eta: float | None = None
    lmbda: float = 0.0
    l1: float = 0.0
    momentum: float = 0.0
    nesterov: bool = False
    optimizer: str | optim.Rule = "sgd"
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    dropout: float = 0.0
    shift: int = 0
    flip: bool = False
    image_shape: tuple[int, int] | None = None
    validation: float | int | None = None
    early_stopping: int | None = None
    schedule: int | None = None
    anneal: str | None = None
    monitor: tuple[str, ...] | None = None
    checkpoint_every: int = 1
    on_divergence: str = "raise"
    divergence_factor: float | None = 10.0
    compile: bool | None = None

    def __post_init__(self) -> None:
        for name, rule in CONSTRAINTS.items():
            object.__setattr__(self, name, rule(getattr(self, name), name))
        if self.anneal is not None and self.schedule is not None:
            raise ValueError("anneal and schedule both set eta: give one of them")
        self.rule()  # momentum with Adam, Adam's betas and epsilon

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        """The names of the settings, in the order of ``fit``'s signature."""
        return tuple(f.name for f in dataclasses.fields(cls))

    # -- what the settings make -----------------------------------------------------------
    def rule(self) -> optim.Rule:
        """The update rule."""
        return optim.make(self.optimizer, momentum=self.momentum, nesterov=self.nesterov,
                          beta1=self.beta1, beta2=self.beta2, epsilon=self.epsilon)

    def initial_eta(self, cost_name: str) -> float:
        """eta, or the book's value for the cost (Adam's usual one with Adam)."""
        if self.eta is not None:
            return self.eta
        if isinstance(self.rule(), optim.Adam):
            return DEFAULT_ETA_ADAM
        return DEFAULT_ETA[cost_name]

    def regulariser(self) -> Regulariser:
        """network2's L2 / L1 over the training set's size."""
        return Regulariser(self.lmbda, self.l1)

    def augment(self, n_in: int) -> aug.Augment | None:
        """The shifts / flips for a network of ``n_in`` inputs, or None."""
        return aug.make(self.shift, self.flip, self.image_shape, n_in)

    @property
    def watches_evaluation(self) -> bool:
        """Whether early stopping or the schedule watches the evaluation accuracy."""
        return bool(self.early_stopping or self.schedule)

    def record(self, *, eta: float, monitor: tuple[str, ...], n_train: int,
               n_evaluation: int, augment: aug.Augment | None) -> dict[str, Any]:
        """The settings as a fit records them (``History.settings``, checkpoints): what a
        resumed fit must repeat."""
        return {"batch_size": self.batch_size, "eta": eta, "lmbda": self.lmbda,
                "l1": self.l1, "momentum": self.momentum, "nesterov": self.nesterov,
                "dropout": self.dropout, "validation": self.validation,
                "early_stopping": self.early_stopping, "schedule": self.schedule,
                "monitor": list(monitor), "n_train": n_train,
                **({"anneal": self.anneal, "anneal_epochs": self.epochs}
                   if self.anneal else {}),
                **({"augment": augment.settings()} if augment else {}),
                "n_evaluation": n_evaluation, **self.rule().settings()}
