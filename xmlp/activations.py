"""Activation functions sigma(z) and their derivatives, as pure array-API functions:
sigmoid, tanh, relu and identity (hidden layers), softmax, sigmoid, identity and exp
(output layers; exp is the inverse of Poisson regression's log link).

Each activation provides

* ``f(z, xp=None)``: the activation a = sigma(z), elementwise (softmax: along the last axis);
* ``vjp(z, a, g, xp=None)``: the vector-Jacobian product g * sigma'(z), i.e. what BP1/BP2 multiply
  by.  For elementwise activations this is the Hadamard product ``g * sigma'(z)``; it is
  computed from the activation ``a`` the forward pass already has where that is cheaper
  (sigmoid' = a (1 - a), tanh' = 1 - a^2).  For softmax the Jacobian is not diagonal and
  the product is ``a * (g - sum(g * a))``.

The namespace comes from the inputs (``array_namespace``) unless the caller passes the
namespace it already has as ``xp=`` (the training loop does: looking it up costs a few
microseconds per call); nothing here imports NumPy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from array_api_compat import array_namespace

Array = Any

__all__ = ["Activation", "ACTIVATIONS", "get", "sigmoid", "softmax", "log_softmax"]


def sigmoid(z: Array, xp: Any = None) -> Array:
    """sigma(z) = 1 / (1 + e^-z), computed as (1 + tanh(z/2)) / 2: no overflow for any z."""
    xp = array_namespace(z) if xp is None else xp
    return 0.5 + 0.5 * xp.tanh(0.5 * z)


def _sigmoid_vjp(z: Array, a: Array, g: Array, xp: Any = None) -> Array:
    return g * (a * (1.0 - a))  # sigma'(z) = sigma(z) (1 - sigma(z))


def _tanh(z: Array, xp: Any = None) -> Array:
    return (array_namespace(z) if xp is None else xp).tanh(z)


def _tanh_vjp(z: Array, a: Array, g: Array, xp: Any = None) -> Array:
    return g * (1.0 - a * a)  # tanh'(z) = 1 - tanh(z)^2


def _relu(z: Array, xp: Any = None) -> Array:
    return (array_namespace(z) if xp is None else xp).maximum(z, 0.0)


def _relu_vjp(z: Array, a: Array, g: Array, xp: Any = None) -> Array:
    xp = array_namespace(z) if xp is None else xp
    return xp.where(z > 0, g, 0.0)  # relu'(z) = [z > 0]


def _identity(z: Array, xp: Any = None) -> Array:
    return z


def _identity_vjp(z: Array, a: Array, g: Array, xp: Any = None) -> Array:
    return g


def _exp(z: Array, xp: Any = None) -> Array:
    return (array_namespace(z) if xp is None else xp).exp(z)


def _exp_vjp(z: Array, a: Array, g: Array, xp: Any = None) -> Array:
    return g * a  # exp'(z) = exp(z)


def softmax(z: Array, xp: Any = None) -> Array:
    """Softmax along the last axis, shifted by the row maximum so exp never overflows."""
    xp = array_namespace(z) if xp is None else xp
    e = xp.exp(z - xp.max(z, axis=-1, keepdims=True))
    return e / xp.sum(e, axis=-1, keepdims=True)


def log_softmax(z: Array, xp: Any = None) -> Array:
    """log softmax(z) = z - logsumexp(z), stable for any z."""
    xp = array_namespace(z) if xp is None else xp
    m = xp.max(z, axis=-1, keepdims=True)
    return z - m - xp.log(xp.sum(xp.exp(z - m), axis=-1, keepdims=True))


def _softmax_vjp(z: Array, a: Array, g: Array, xp: Any = None) -> Array:
    # J = diag(a) - a a^T per row, so g J = a * (g - <g, a>).
    xp = array_namespace(z) if xp is None else xp
    return a * (g - xp.sum(g * a, axis=-1, keepdims=True))


@dataclass(frozen=True)
class Activation:
    """A named activation: forward ``f`` and the vector-Jacobian product ``vjp``."""

    name: str
    f: Callable[..., Array]  # f(z, xp=None)
    vjp: Callable[..., Array]  # vjp(z, a, g, xp=None)
    elementwise: bool = True

    def __call__(self, z: Array) -> Array:
        return self.f(z)

    def prime(self, z: Array) -> Array:
        """sigma'(z) elementwise (only defined for elementwise activations)."""
        if not self.elementwise:
            raise ValueError(f"{self.name} has a full Jacobian; use vjp(z, a, g)")
        xp = array_namespace(z)
        return self.vjp(z, self.f(z), xp.ones_like(z))


ACTIVATIONS = {
    "sigmoid": Activation("sigmoid", sigmoid, _sigmoid_vjp),
    "tanh": Activation("tanh", _tanh, _tanh_vjp),
    "relu": Activation("relu", _relu, _relu_vjp),
    "identity": Activation("identity", _identity, _identity_vjp),
    "exp": Activation("exp", _exp, _exp_vjp),  # the log link of Poisson regression
    "softmax": Activation("softmax", softmax, _softmax_vjp, elementwise=False),
}
HIDDEN = ("sigmoid", "tanh", "relu", "identity")  # identity: a linear bottleneck layer
OUTPUT = ("sigmoid", "softmax", "identity", "exp")


def get(name: str | Activation, allowed: tuple[str, ...] = tuple(ACTIVATIONS)) -> Activation:
    """Look an activation up by name; unknown or disallowed names raise ValueError."""
    if isinstance(name, Activation):
        name = name.name
    if not isinstance(name, str) or name not in allowed:
        raise ValueError(f"unknown activation {name!r}; choose one of {list(allowed)}")
    return ACTIVATIONS[name]
