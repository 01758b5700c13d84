"""Weight initialisers.  All randomness is drawn on the host from a seeded
``numpy.random.Generator`` in float64 and only then moved to the backend, so the same seed
gives the same initial network on every backend and dtype.

Draw order mirrors network2.py's ``default_weight_initializer``: first every bias vector,
then every weight matrix, each weight matrix drawn in network2's (n_out, n_in) layout.

=============  ==========================  ==================
name           weights w (n_out x n_in)    biases b
=============  ==========================  ==================
"normalized"   N(0, 1/n_in)  (network2)    N(0, 1)
"large"        N(0, 1)       (network.py)  N(0, 1)
"glorot"       U(+-sqrt(6/(n_in+n_out)))   0
"he"           N(0, 2/n_in)                0
=============  ==========================  ==================
"""

from __future__ import annotations

import numpy as np

__all__ = ["INITIALISERS", "initial_parameters"]

INITIALISERS = ("normalized", "large", "glorot", "he")


def initial_parameters(
    sizes: list[int], init: str, rng: np.random.Generator
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Host float64 weights (network2 layout, (n_out, n_in)) and biases ((n_out,))."""
    if init not in INITIALISERS:
        raise ValueError(f"unknown init {init!r}; choose one of {list(INITIALISERS)}")
    pairs = list(zip(sizes[:-1], sizes[1:]))
    if init in ("normalized", "large"):
        biases = [rng.standard_normal(n_out) for _, n_out in pairs]
    else:
        biases = [np.zeros(n_out) for _, n_out in pairs]
    weights = [_weights(init, n_in, n_out, rng) for n_in, n_out in pairs]
    return weights, biases


def _weights(init: str, n_in: int, n_out: int, rng: np.random.Generator) -> np.ndarray:
    if init == "normalized":
        return rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
    if init == "large":
        return rng.standard_normal((n_out, n_in))
    if init == "glorot":
        limit = np.sqrt(6.0 / (n_in + n_out))
        return rng.uniform(-limit, limit, size=(n_out, n_in))
    return rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in)  # he
