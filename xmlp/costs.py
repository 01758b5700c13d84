"""Cost functions: the per-example cost C_x and the output error delta^L (BP1).

Rows are examples.  ``z`` is the output layer's weighted input z^L, ``a = sigma(z^L)`` its
activation, ``y`` the one-hot (or real-valued) target; all of shape (n, n_out).

* quadratic        C_x = 1/2 ||a - y||^2                 delta^L = (a - y) * sigma'(z^L)
* cross-entropy    C_x = -sum[y ln a + (1-y) ln(1-a)]     delta^L = a - y   (sigmoid output)
* log-likelihood   C_x = -sum y ln a  (= -ln a_y)         delta^L = a - y   (softmax output)
* poisson          C_x = sum[a - y ln a + y ln y - y]    delta^L = a - y   (exp output, y >= 0)

The Poisson cost is half the Poisson deviance (0 for a perfect fit), with a = e^z, so
ln a = z: it is evaluated from z too.

Cross-entropy and log-likelihood are evaluated from z, not from a: ln sigma(z) =
-softplus(-z) and ln softmax(z) = z - logsumexp(z), so saturated outputs give finite
costs (network2 needs ``np.nan_to_num`` for that) and delta^L is exactly a - y.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from array_api_compat import array_namespace

from .activations import Activation, log_softmax

Array = Any

__all__ = ["Cost", "COSTS", "get", "softplus"]


def softplus(z: Array, xp: Any = None) -> Array:
    """ln(1 + e^z) without overflow: max(z, 0) + ln(1 + e^-|z|)."""
    xp = array_namespace(z) if xp is None else xp
    return xp.maximum(z, 0.0) + xp.log1p(xp.exp(-xp.abs(z)))


def _quadratic_fn(z: Array, a: Array, y: Array, xp: Any = None) -> Array:
    xp = array_namespace(a) if xp is None else xp
    d = a - y
    return 0.5 * xp.sum(d * d, axis=-1)


def _quadratic_delta(z: Array, a: Array, y: Array, act: Activation, xp: Any = None) -> Array:
    return act.vjp(z, a, a - y, xp)


def _cross_entropy_fn(z: Array, a: Array, y: Array, xp: Any = None) -> Array:
    # -[y ln s(z) + (1-y) ln(1-s(z))] = y softplus(-z) + (1-y) softplus(z) = softplus(z) - y z
    xp = array_namespace(z) if xp is None else xp
    return xp.sum(softplus(z, xp) - y * z, axis=-1)


def _log_likelihood_fn(z: Array, a: Array, y: Array, xp: Any = None) -> Array:
    xp = array_namespace(z) if xp is None else xp
    return -xp.sum(y * log_softmax(z, xp), axis=-1)


def _poisson_fn(z: Array, a: Array, y: Array, xp: Any = None) -> Array:
    # half deviance y ln(y / a) - y + a, with ln a = z and 0 ln 0 = 0
    xp = array_namespace(z) if xp is None else xp
    positive = y > 0
    y_ln_y = xp.where(positive, y * xp.log(xp.where(positive, y, 1.0)), 0.0)
    return xp.sum(a - y * z + y_ln_y - y, axis=-1)


def _a_minus_y(z: Array, a: Array, y: Array, act: Activation, xp: Any = None) -> Array:
    return a - y


@dataclass(frozen=True)
class Cost:
    """A named cost: per-example value ``fn(z, a, y)`` and output error ``delta``."""

    name: str
    fn: Callable[..., Array]  # fn(z, a, y, xp=None) -> shape (n,)
    delta: Callable[..., Array]  # BP1: delta(z, a, y, output, xp=None) -> (n, n_out)
    outputs: tuple[str, ...]  # output activations this cost is defined with
    network2_name: str  # class name in network2.py's save format


COSTS = {
    "quadratic": Cost("quadratic", _quadratic_fn, _quadratic_delta,
                      ("sigmoid", "softmax", "identity"), "QuadraticCost"),
    "cross-entropy": Cost("cross-entropy", _cross_entropy_fn, _a_minus_y,
                          ("sigmoid",), "CrossEntropyCost"),
    "log-likelihood": Cost("log-likelihood", _log_likelihood_fn, _a_minus_y,
                           ("softmax",), "LogLikelihoodCost"),
    "poisson": Cost("poisson", _poisson_fn, _a_minus_y, ("exp",), "PoissonCost"),
}
_BY_NETWORK2_NAME = {c.network2_name: c for c in COSTS.values()}
_ALIASES = {"cross_entropy": "cross-entropy", "crossentropy": "cross-entropy",
            "log_likelihood": "log-likelihood", "mse": "quadratic"}


def get(name: str | Cost) -> Cost:
    """Look a cost up by name (also network2's class names such as 'CrossEntropyCost')."""
    if isinstance(name, Cost):
        return name
    if isinstance(name, str):
        if name in _BY_NETWORK2_NAME:
            return _BY_NETWORK2_NAME[name]
        key = _ALIASES.get(name.lower(), name.lower())
        if key in COSTS:
            return COSTS[key]
    raise ValueError(f"unknown cost {name!r}; choose one of {list(COSTS)}")


def default_output(cost: Cost) -> str:
    """The output activation a cost is usually paired with (softmax for log-likelihood)."""
    return cost.outputs[0]
