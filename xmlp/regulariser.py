"""The regularisation term, once: L2 and L1 on the weights (never the biases), its value and
its gradient, in either of two conventions.

For a divisor N the term added to the cost and its gradient are::

    R(W)  = (lmbda / 2N) sum_l ||W^l||^2 + (l1 / N) sum_l |W^l|_1
    dR/dW = (lmbda / N) W + (l1 / N) sign(W)

and the conventions differ only in N:

* **network2** (``Network.fit``, ``total_cost``, the monitors): N is the number of examples
  -- the training set's size n in every step (network2's weight decay ``1 - eta lmbda / n``),
  and the size of the data set a cost is reported for;
* **scikit-learn** (``per_batch=True``, the estimators' ``alpha``): N is each mini-batch's
  size, or the sum of its sample weights (its loss is the batch's mean cost plus
  ``0.5 alpha ||W||^2 / N``).

Every path takes the term from here: the training step (its gradient, and scikit-learn's
batch loss), L-BFGS's full-batch loss and gradient, the end-of-epoch monitors and
``Network.total_cost``.  For plain SGD, whose update is ``W - g``, the L2 gradient is
folded into a factor of the weights (:meth:`Regulariser.fold`: network2's
``(1 - eta lmbda / n) W``), which saves the step one pass over the weights.

The strengths become host numbers (:meth:`Regulariser.gradient_factors`,
:meth:`Regulariser.term_factors`: only the non-zero ones, so a strength of 0 costs nothing),
and the array halves (:func:`add_gradient`, :func:`term`) read nothing else, so one compiled
program serves every strength.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .params import Params

Array = Any
Factors = Mapping[str, Any]  # "l2" / "l1" -> a host float, or a 0-d array in a compiled step

__all__ = ["Regulariser", "add_gradient", "term"]


@dataclass(frozen=True)
class Regulariser:
    """L2 strength ``lmbda`` and L1 strength ``l1``; ``per_batch`` picks scikit-learn's
    divisor (each batch's size or weight sum) over network2's (the training set's size)."""

    lmbda: float = 0.0
    l1: float = 0.0
    per_batch: bool = False

    def __bool__(self) -> bool:
        return bool(self.lmbda or self.l1)

    def divisor(self, n: float, s: float) -> float:
        """N for a step on a batch of size (or weight sum) ``s`` from ``n`` training rows."""
        return s if self.per_batch else n

    def gradient_factors(self, N: float, scale: float = 1.0) -> dict[str, float]:
        """The gradient's host factors ``scale lmbda / N`` and ``scale l1 / N`` (those not 0);
        ``scale`` is the update rule's (eta for the SGD family, whose gradient arrives
        multiplied by eta; 1 for Adam)."""
        k = {}
        if self.lmbda:
            k["l2"] = scale * self.lmbda / N
        if self.l1:
            k["l1"] = scale * self.l1 / N
        return k

    def term_factors(self, N: float) -> dict[str, float]:
        """The term's host factors ``lmbda / 2N`` and ``l1 / N`` (those not 0)."""
        k = {}
        if self.lmbda:
            k["l2"] = 0.5 * self.lmbda / N
        if self.l1:
            k["l1"] = self.l1 / N
        return k

    @staticmethod
    def fold(k: dict[str, float]) -> tuple[float, dict[str, float]]:
        """For an update ``W <- W - g`` (plain SGD): the L2 gradient factor of ``k`` folded
        into a factor of the weights, ``W - (g + k_l2 W) = (1 - k_l2) W - g``; returns
        (that factor, the factors left for the gradient)."""
        rest = dict(k)
        return 1.0 - rest.pop("l2", 0.0), rest

    def value(self, Ws: Sequence[Array], N: float, xp: Any) -> Array | None:
        """R(W) for divisor N, a 0-d device array (None when both strengths are 0)."""
        return term(Ws, self.term_factors(N), xp)


def add_gradient(grads: Params, params: Params, k: Factors, xp: Any) -> Params:
    """``grads`` with the term's gradient ``k["l2"] W + k["l1"] sign(W)`` added to the
    weights' (the sign of the weights before the step); the biases' are unchanged."""
    if not k:
        return grads
    Ws = []
    for g, W in zip(grads.W, params.W):
        if "l2" in k:
            g = g + k["l2"] * W
        if "l1" in k:
            g = g + k["l1"] * xp.sign(W)
        Ws.append(g)
    return Params(tuple(Ws), grads.b)


def term(Ws: Sequence[Array], k: Factors, xp: Any) -> Array | None:
    """``k["l2"] sum ||W||^2 + k["l1"] sum |W|_1`` over the weight matrices (None when ``k``
    is empty)."""
    total = None
    for W in Ws:
        if "l2" in k:
            t = k["l2"] * xp.sum(W * W)
            total = t if total is None else total + t
        if "l1" in k:
            t = k["l1"] * xp.sum(xp.abs(W))
            total = t if total is None else total + t
    return total
