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

Each rule is a small immutable object; its *state* (velocities, moments, step count) is an
explicit :class:`State` that the training loop keeps and checkpoints save, so a run resumed
from a checkpoint takes exactly the steps an uninterrupted run takes.  ``step`` is a pure
function of (parameters, gradients, state, eta): it returns new arrays and mutates nothing,
and its Python scalars are host numbers, so it never synchronises with the device.

Backprop multiplies its output error by ``rule.grad_scale(eta, m)`` before forming the
gradients (a small (m, n_l) product instead of an (n_{l-1}, n_l) one): eta/m for the SGD
family, whose step is then a single subtraction, and 1/m for Adam.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

Array = Any

__all__ = ["Rule", "SGD", "Momentum", "Adam", "State", "Decay", "make", "OPTIMIZERS",
           "ADAM_FORMS"]

OPTIMIZERS = ("sgd", "adam")
ADAM_FORMS = ("algorithm1", "efficient")


@dataclass(frozen=True)
class Decay:
    """The regularisation terms of g: L2 strength ``lmbda`` and L1 strength ``l1``, both
    divided by the training-set size ``n`` (network2's convention)."""

    lmbda: float = 0.0
    l1: float = 0.0
    n: int = 1


@dataclass
class State:
    """A rule's state between steps: per-layer arrays by group name (e.g. ``"vw"`` holds
    one velocity per weight matrix, ``"vb"`` one per bias vector) and the step count."""

    arrays: dict[str, list[Array]] = field(default_factory=dict)
    t: int = 0


class Rule:
    """Base of the update rules.  ``groups`` names the state arrays (ending in "w" for
    weight-shaped, "b" for bias-shaped) that checkpoints save.

    A step has two halves.  :meth:`coefficients` turns (eta, the decay, the step number)
    into the step's scalars on the host, in double precision; :meth:`update` is the array
    arithmetic, which reads its numbers only from those coefficients.  The eager loop
    passes them as Python floats; the compiled loop (:mod:`xmlp.engine`) computes the same
    floats for every step of an epoch, rounds them once to the parameters' dtype (as
    NumPy rounds a Python float that meets a float32 array) and feeds them to the same
    :meth:`update` as traced scalars, so both loops take the same steps and one compiled
    program serves every eta, lmbda, momentum or beta."""

    name: str = ""
    groups: tuple[str, ...] = ()
    uses_step = False  # whether the coefficients depend on the step number t

    @property
    def kind(self) -> tuple:
        """What shapes the arithmetic of :meth:`update` (not its numbers): a compiled
        program is reused by every rule of the same kind."""
        return (self.name,)

    def grad_scale(self, eta: float, m: float) -> float:
        """The factor backprop applies to the summed gradients of an m-example batch."""
        return eta / m

    def init(self, Ws: list[Array], bs: list[Array], xp: Any) -> State:
        """The state before the first step: zeros shaped like the parameters."""
        arrays = {}
        for g in self.groups:
            like = Ws if g.endswith("w") else bs
            arrays[g] = [xp.zeros_like(a) for a in like]
        return State(arrays)

    def coefficients(self, eta: float, decay: Decay, t: int) -> dict[str, float]:
        """The host scalars of step number ``t`` (1 for the first step).  A regularisation
        term whose strength is 0 has no key, and :meth:`update` then skips it."""
        raise NotImplementedError

    def update(self, Ws, bs, gWs, gbs, arrays: dict[str, list[Array]], c, xp: Any):
        """The array half of a step: new (Ws, bs, arrays) from the scaled gradients and
        the coefficients ``c`` (Python floats or 0-d arrays)."""
        raise NotImplementedError

    def step(self, Ws, bs, gWs, gbs, state: State, eta: float, decay: Decay, xp: Any):
        """One update from the scaled gradients (``xp``: the arrays' namespace); returns
        (Ws, bs, state), all new."""
        t = state.t + 1
        Ws, bs, arrays = self.update(Ws, bs, gWs, gbs, state.arrays,
                                     self.coefficients(eta, decay, t), xp)
        return Ws, bs, State(arrays, t)

    def settings(self) -> dict[str, Any]:
        """The rule's hyper-parameters as JSON (checkpoints refuse to resume with others)."""
        return {}


def _decay_terms(c: dict[str, float], decay: Decay, factor: float) -> dict[str, float]:
    """Add ``factor`` times the L2 and L1 strengths over n (only those that are not 0)."""
    if decay.lmbda:
        c["l2"] = factor * decay.lmbda / decay.n
    if decay.l1:
        c["l1"] = factor * decay.l1 / decay.n
    return c


@dataclass(frozen=True)
class SGD(Rule):
    """Plain mini-batch SGD: network.py's update, with network2's weight decay."""

    name = "sgd"

    def coefficients(self, eta, decay, t):
        c = _decay_terms({}, decay, eta)  # eta lmbda/n, eta l1/n
        if "l2" in c:
            c["shrink"] = 1.0 - c.pop("l2")
        return c

    def update(self, Ws, bs, sWs, sbs, arrays, c, xp):
        # sW = (eta/m) nabla_W, so eta g_W = sW + eta (lmbda/n) W + eta (l1/n) sign(W).
        new_W, new_b = [], []
        for W, b, sW, sb in zip(Ws, bs, sWs, sbs):
            if "l1" in c:  # the L1 term uses the sign of the weights before the step
                sW = sW + c["l1"] * xp.sign(W)
            new_W.append(c["shrink"] * W - sW if "shrink" in c else W - sW)  # network2 / .py
            new_b.append(b - sb)
        return new_W, new_b, arrays


@dataclass(frozen=True)
class Momentum(Rule):
    """Momentum-based gradient descent (chapter 3), classical or Nesterov's."""

    mu: float = 0.9
    nesterov: bool = False
    name = "momentum"
    groups = ("vw", "vb")

    @property
    def kind(self) -> tuple:
        return (self.name, self.nesterov)

    def coefficients(self, eta, decay, t):
        return _decay_terms({"mu": self.mu}, decay, eta)

    def update(self, Ws, bs, sWs, sbs, arrays, c, xp):
        mu = c["mu"]
        new_W, new_b, new_vW, new_vb = [], [], [], []
        for W, b, sW, sb, vW, vb in zip(Ws, bs, sWs, sbs, arrays["vw"], arrays["vb"]):
            if "l1" in c:
                sW = sW + c["l1"] * xp.sign(W)
            step_W = sW + c["l2"] * W if "l2" in c else sW  # eta g_W
            vW = mu * vW - step_W
            vb = mu * vb - sb
            if self.nesterov:
                W, b = W + mu * vW - step_W, b + mu * vb - sb
            else:
                W, b = W + vW, b + vb
            new_W.append(W)
            new_b.append(b)
            new_vW.append(vW)
            new_vb.append(vb)
        return new_W, new_b, {"vw": new_vW, "vb": new_vb}


@dataclass(frozen=True)
class Adam(Rule):
    """Adam (Kingma & Ba 2015) with bias-corrected moment estimates."""

    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    form: str = "algorithm1"
    name = "adam"
    groups = ("mw", "mb", "sw", "sb")  # first moments, second (squared) moments
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

    def grad_scale(self, eta: float, m: float) -> float:
        return 1.0 / m  # Adam is invariant to the gradient's scale; eta enters at the end

    def coefficients(self, eta, decay, t):
        b1, b2 = self.beta1, self.beta2
        c1, c2 = 1.0 - b1**t, 1.0 - b2**t  # bias corrections
        c = {"b1": b1, "1-b1": 1.0 - b1, "b2": b2, "1-b2": 1.0 - b2, "eps": self.epsilon}
        if self.form == "efficient":
            c["rate"] = eta * math.sqrt(c2) / c1
        else:
            c["rate"], c["root_c2"] = eta / c1, math.sqrt(c2)
        return _decay_terms(c, decay, 1.0)  # lmbda/n, l1/n: Adam scales g itself

    def update(self, Ws, bs, gWs, gbs, arrays, c, xp):
        out: dict[str, list[Array]] = {g: [] for g in self.groups}
        new_W, new_b = [], []
        for l, (W, b, gW, gb) in enumerate(zip(Ws, bs, gWs, gbs)):
            if "l2" in c:
                gW = gW + c["l2"] * W
            if "l1" in c:
                gW = gW + c["l1"] * xp.sign(W)
            for p, g, kind in ((W, gW, "w"), (b, gb, "b")):
                m1 = c["b1"] * arrays["m" + kind][l] + c["1-b1"] * g
                m2 = c["b2"] * arrays["s" + kind][l] + c["1-b2"] * (g * g)
                root = xp.sqrt(m2)
                denom = root + c["eps"] if self.form == "efficient" \
                    else root / c["root_c2"] + c["eps"]
                p = p - c["rate"] * m1 / denom
                out["m" + kind].append(m1)
                out["s" + kind].append(m2)
                (new_W if kind == "w" else new_b).append(p)
        return new_W, new_b, out

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
