"""Update rules: how one mini-batch's gradient moves the parameters.

For a mini-batch of m examples out of n, with the summed gradients ``nabla_W``, ``nabla_b``
from backprop (BP3, BP4), every rule descends the regularised per-example gradient::

    g_W = nabla_W / m + (lmbda / n) W + (l1 / n) sign(W)        g_b = nabla_b / m

(network2.py's L2 term and chapter 3's L1 term; the bias is not regularised), and differs
only in what it does with g::

    SGD        W <- W - eta g                 (= (1 - eta lmbda/n) W - (eta/m) nabla_W)
    Momentum   v <- mu v - eta g;   W <- W + v
    Nesterov   v <- mu v - eta g;   W <- W + mu v - eta g
    Adam       m1 <- b1 m1 + (1 - b1) g;   m2 <- b2 m2 + (1 - b2) g*g;   t <- t + 1
               W <- W - eta m1_hat / (sqrt(m2_hat) + eps)
                   with m1_hat = m1 / (1 - b1^t),  m2_hat = m2 / (1 - b2^t)

Adam is Kingma & Ba's Algorithm 1 (``form="algorithm1"``, what ``torch.optim.Adam`` does).
``form="efficient"`` is the reordering the paper gives at the end of its section 2,
eta_t = eta sqrt(1 - b2^t) / (1 - b1^t) and W <- W - eta_t m1 / (sqrt(m2) + eps), which
scikit-learn's ``solver="adam"`` uses; the two differ only in where epsilon enters.

Each rule is a small immutable object in two halves.  :meth:`Rule.coefficients` turns eta
and the step number into the step's scalars on the host, in double precision;
:meth:`Rule.update` is the array arithmetic, a pure function of (parameters, gradient,
state, coefficients) that returns new arrays and mutates nothing.  The state between steps
is a small typed structure per rule (:class:`SGDState`, :class:`MomentumState`,
:class:`AdamState`: NamedTuples of :class:`~xmlp.params.Params`, so pytrees); the training
loop keeps it and checkpoints save it, so a run resumed from a checkpoint takes exactly the
steps an uninterrupted run takes.  The step count lives beside it, on the host.

The gradient a rule receives is already the regularised one, multiplied by
:meth:`Rule.scale`: the training step (:mod:`xmlp.step`) has backprop multiply its output
error by ``scale(eta) / m`` (a small (m, n_l) product instead of an (n_{l-1}, n_l) one) and
adds the regulariser's gradient (:mod:`xmlp.regulariser`) times the same scale -- eta for
the SGD family, whose step is then ``W - g``, and 1 for Adam.  No rule knows about
regularisation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

from .params import Params, zeros_like

Array = Any
Coefficients = dict[str, Any]  # name -> a host float, or a 0-d array in a compiled step

__all__ = ["Rule", "SGD", "Momentum", "Adam", "SGDState", "MomentumState", "AdamState",
           "RuleState", "make", "OPTIMIZERS", "ADAM_FORMS"]

OPTIMIZERS = ("sgd", "adam")
ADAM_FORMS = ("algorithm1", "efficient")


class SGDState(NamedTuple):
    """Plain SGD keeps nothing between steps."""


class MomentumState(NamedTuple):
    """The velocity v of every parameter."""

    velocity: Params


class AdamState(NamedTuple):
    """Adam's first and second (squared) moment estimates of every parameter."""

    moment1: Params
    moment2: Params


RuleState = SGDState | MomentumState | AdamState


class Rule:
    """Base of the update rules.

    The eager loop passes the coefficients as Python floats; the compiled loop
    (:mod:`xmlp.compiled`) computes the same floats for every step of an epoch, rounds them
    once to the parameters' dtype (as NumPy rounds a Python float that meets a float32
    array) and feeds them to the same :meth:`update` as traced scalars, so both loops take
    the same steps and one compiled program serves every eta, momentum or beta."""

    name: str = ""
    uses_step = False  # whether the coefficients depend on the step number t
    #: Whether the update is W <- W - g, so that the L2 gradient term can be folded into a
    #: factor of W (coefficient ``keep``): :func:`xmlp.step.numbers` does the folding.
    folds_l2 = False

    @property
    def kind(self) -> tuple:
        """What shapes the arithmetic of :meth:`update` (not its numbers): a compiled
        program is reused by every rule of the same kind."""
        return (self.name,)

    def scale(self, eta: float) -> float:
        """The factor of the mean gradient (and of the regulariser's gradient) the rule
        receives: eta for the SGD family, so that its step is a single subtraction."""
        return eta

    def init(self, params: Params, xp: Any) -> Any:
        """The state before the first step."""
        raise NotImplementedError

    def coefficients(self, eta: float, t: int) -> Coefficients:
        """The host scalars of step number ``t`` (1 for the first step)."""
        raise NotImplementedError

    def update(self, params: Params, grads: Params, state: Any, c: Coefficients,
               xp: Any) -> tuple[Params, Any]:
        """The array half of a step: new (params, state) from the scaled, regularised
        gradient ``grads`` and the coefficients ``c`` (Python floats or 0-d arrays)."""
        raise NotImplementedError

    def settings(self) -> dict[str, Any]:
        """The rule's hyper-parameters as JSON (checkpoints refuse to resume with others)."""
        return {}


@dataclass(frozen=True)
class SGD(Rule):
    """Plain mini-batch SGD: network.py's update, and network2's with L2.

    ``W <- W - eta g``.  With L2, :func:`xmlp.step.numbers` folds the regulariser's term
    eta (lmbda / n) W into the factor ``keep = 1 - eta lmbda / n``, which gives network2's
    own form ``W <- (1 - eta lmbda / n) W - (eta / m) nabla_W`` -- one pass over the weights
    fewer than adding the term to the gradient first."""

    name = "sgd"
    folds_l2 = True

    def init(self, params: Params, xp: Any) -> SGDState:
        return SGDState()

    def coefficients(self, eta: float, t: int) -> Coefficients:
        return {}

    def update(self, params: Params, grads: Params, state: SGDState, c: Coefficients,
               xp: Any) -> tuple[Params, SGDState]:
        b = tuple([p - g for p, g in zip(params.b, grads.b)])  # grads = eta g
        if "keep" not in c:
            return Params(tuple([p - g for p, g in zip(params.W, grads.W)]), b), state
        keep = c["keep"]
        return Params(tuple([keep * p - g for p, g in zip(params.W, grads.W)]), b), state


@dataclass(frozen=True)
class Momentum(Rule):
    """Momentum-based gradient descent (chapter 3), classical or Nesterov's."""

    mu: float = 0.9
    nesterov: bool = False
    name = "momentum"

    @property
    def kind(self) -> tuple:
        return (self.name, self.nesterov)

    def init(self, params: Params, xp: Any) -> MomentumState:
        return MomentumState(zeros_like(params, xp))

    def coefficients(self, eta: float, t: int) -> Coefficients:
        return {"mu": self.mu}

    def update(self, params: Params, grads: Params, state: MomentumState, c: Coefficients,
               xp: Any) -> tuple[Params, MomentumState]:
        mu = c["mu"]
        velocity = state.velocity.map(lambda v, g: mu * v - g, grads)  # grads = eta g
        if self.nesterov:
            new = params.map(lambda p, v, g: p + mu * v - g, velocity, grads)
        else:
            new = params.map(lambda p, v: p + v, velocity)
        return new, MomentumState(velocity)


@dataclass(frozen=True)
class Adam(Rule):
    """Adam (Kingma & Ba 2015) with bias-corrected moment estimates."""

    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    form: str = "algorithm1"
    name = "adam"
    uses_step = True  # the bias corrections

    def __post_init__(self):
        for what, beta in (("beta1", self.beta1), ("beta2", self.beta2)):
            if isinstance(beta, bool) or not isinstance(beta, (int, float)) \
                    or not 0.0 <= beta < 1.0:
                raise ValueError(f"{what} must be in [0, 1), got {beta!r}")
        if isinstance(self.epsilon, bool) or not isinstance(self.epsilon, (int, float)) \
                or not self.epsilon > 0 or not math.isfinite(self.epsilon):
            raise ValueError(f"epsilon must be a positive number, got {self.epsilon!r}")
        if self.form not in ADAM_FORMS:
            raise ValueError(f"Adam form must be one of {list(ADAM_FORMS)}, got {self.form!r}")

    @property
    def kind(self) -> tuple:
        return (self.name, self.form)

    def scale(self, eta: float) -> float:
        return 1.0  # Adam is invariant to the gradient's scale; eta enters at the end

    def init(self, params: Params, xp: Any) -> AdamState:
        return AdamState(zeros_like(params, xp), zeros_like(params, xp))

    def coefficients(self, eta: float, t: int) -> Coefficients:
        b1, b2 = self.beta1, self.beta2
        c1, c2 = 1.0 - b1**t, 1.0 - b2**t  # bias corrections
        c = {"b1": b1, "1-b1": 1.0 - b1, "b2": b2, "1-b2": 1.0 - b2, "eps": self.epsilon}
        if self.form == "efficient":
            c["rate"] = eta * math.sqrt(c2) / c1
        else:
            c["rate"], c["root_c2"] = eta / c1, math.sqrt(c2)
        return c

    def update(self, params: Params, grads: Params, state: AdamState, c: Coefficients,
               xp: Any) -> tuple[Params, AdamState]:
        m1 = state.moment1.map(lambda m, g: c["b1"] * m + c["1-b1"] * g, grads)
        m2 = state.moment2.map(lambda s, g: c["b2"] * s + c["1-b2"] * (g * g), grads)
        if self.form == "efficient":
            def move(p, m, s):
                return p - c["rate"] * m / (xp.sqrt(s) + c["eps"])
        else:
            def move(p, m, s):
                return p - c["rate"] * m / (xp.sqrt(s) / c["root_c2"] + c["eps"])
        return params.map(move, m1, m2), AdamState(m1, m2)

    def settings(self) -> dict[str, Any]:
        return {"optimizer": "adam", "beta1": self.beta1, "beta2": self.beta2,
                "epsilon": self.epsilon, "adam_form": self.form}


def make(optimizer: str | Rule = "sgd", *, momentum: float = 0.0, nesterov: bool = False,
         beta1: float = 0.9, beta2: float = 0.999, epsilon: float = 1e-8) -> Rule:
    """The rule for ``fit``'s options: "sgd" (momentum > 0 gives :class:`Momentum`),
    "adam", or a :class:`Rule` object used as it is."""
    if isinstance(optimizer, Rule):
        return optimizer
    if optimizer == "sgd":
        return Momentum(momentum, bool(nesterov)) if momentum else SGD()
    if optimizer == "adam":
        if momentum or nesterov:
            raise ValueError("momentum / nesterov apply to optimizer='sgd'; Adam's own "
                             "momentum is beta1")
        return Adam(beta1, beta2, epsilon)
    raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {list(OPTIMIZERS)}")
