"""A network's parameters as one structure: :class:`Params`, the weights and the biases of
every layer in the core's layout, on the device.

    Params(W=(W^1, ..., W^L), b=(b^1, ..., b^L))      W^l: (n_{l-1}, n_l),  b^l: (n_l,)

so that ``Z^l = A^{l-1} @ W^l + b^l`` (``W^l`` is the transpose of network2's
``weights[l]``, which act on column vectors).  The same structure holds the gradients
(BP3, BP4), an update rule's per-parameter state (velocities, moment estimates) and the best
parameters early stopping keeps.  It is a NamedTuple of tuples, so JAX treats it as a pytree:
``jax.jit``, ``lax.scan`` and ``jax.vmap`` (a leading member axis) take it as it is.

The conversions to and from network2's layout on the host (files, checkpoints, the public
``weights`` / ``biases`` / ``set_parameters``) live here too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from .backend import Backend, to_backend, to_numpy

Array = Any

__all__ = ["Params", "from_network2", "to_network2", "zeros_like"]


class Params(NamedTuple):
    """Per-layer weights ``W`` ((n_in, n_out) each) and biases ``b`` ((n_out,) each)."""

    W: tuple[Array, ...]
    b: tuple[Array, ...]

    def map(self, f: Callable[..., Array], *others: Params) -> Params:
        """``f`` applied to each array and the matching arrays of ``others``, layer by
        layer, weights and biases alike: a new :class:`Params`."""
        return Params(tuple([f(*a) for a in zip(self.W, *[o.W for o in others])]),
                      tuple([f(*a) for a in zip(self.b, *[o.b for o in others])]))

    @property
    def shapes(self) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
        """(W's shape, b's shape) per layer."""
        return [(tuple(W.shape), tuple(b.shape)) for W, b in zip(self.W, self.b)]


def zeros_like(params: Params, xp: Any) -> Params:
    """Zeros of the parameters' shapes, dtype and device."""
    return params.map(xp.zeros_like)


def from_network2(weights: Sequence[Any], biases: Sequence[Any], sizes: Sequence[int],
                  backend: Backend, dtype: Any, names: tuple[str, str] = ("weights", "biases")
                  ) -> Params:
    """network2-layout per-layer arrays (weights (n_out, n_in), biases (n_out, 1) or
    (n_out,)), as NumPy or ``backend`` arrays -> :class:`Params` on ``backend`` in
    ``dtype``.  ``names`` name the two sequences in errors."""
    wname, bname = names
    shapes = list(zip(sizes[1:], sizes[:-1]))
    if len(weights) != len(shapes) or len(biases) != len(shapes):
        raise ValueError(f"expected {len(shapes)} {wname} and {bname} arrays for sizes "
                         f"{list(sizes)}, got {len(weights)} and {len(biases)}")
    Ws, bs = [], []
    for l, ((n_out, n_in), w, b) in enumerate(zip(shapes, weights, biases)):
        w = to_backend(w, backend, dtype, f"{wname}[{l}]")
        b = to_backend(b, backend, dtype, f"{bname}[{l}]")
        if tuple(w.shape) != (n_out, n_in):
            raise ValueError(f"{wname}[{l}] has shape {tuple(w.shape)}, expected "
                             f"{(n_out, n_in)} for sizes {list(sizes)}")
        if tuple(b.shape) not in ((n_out, 1), (n_out,)):
            raise ValueError(f"{bname}[{l}] has shape {tuple(b.shape)}, expected "
                             f"{(n_out, 1)} for sizes {list(sizes)}")
        # Stored as contiguous (n_in, n_out) so that Z = A @ W + b; built on the host.
        w_host = np.ascontiguousarray(to_numpy(w).T)
        Ws.append(backend.xp.asarray(w_host, dtype=dtype, device=backend.device))
        bs.append(backend.xp.reshape(b, (n_out,)))
    return Params(tuple(Ws), tuple(bs))


def to_network2(params: Params) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """:class:`Params` -> host NumPy (weights, biases) in network2's layout."""
    return [to_numpy(W.T) for W in params.W], [to_numpy(b)[:, None] for b in params.b]
