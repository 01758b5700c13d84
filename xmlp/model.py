"""The ``Network`` users get: the math of :mod:`xmlp.network` plus ``fit`` and ``save``.

A thin facade that makes the dependency direction visible: the math layer
(:class:`xmlp.network.Network`) knows nothing of training or files; this class adds the
two methods that reach up to the training loop (:func:`xmlp.train.fit`) and down to
persistence (:func:`xmlp.io.save`), and :func:`load` builds it from a file.
"""

from __future__ import annotations

from typing import Any

from . import io, network, train

__all__ = ["Network", "load"]


class Network(network.Network):
    __doc__ = network.Network.__doc__

    def fit(self, X: Any, y: Any, **kwargs: Any) -> train.History:
        """Train by mini-batch SGD (or Adam); see :func:`xmlp.train.fit` for the arguments."""
        return train.fit(self, X, y, **kwargs)

    def save(self, path: Any) -> None:
        """Save as network2-compatible JSON (``.json``) or as ``.npz``; see :mod:`xmlp.io`."""
        io.save(self, path)


def load(path: Any, backend: Any = "numpy", device: Any = None, dtype: Any = None) -> Network:
    """Load a network saved by xmlp (JSON or ``.npz``) or by network2.py (JSON).

    ``dtype`` defaults to the saved one (network2 files: float64)."""
    return io.load(path, backend, device, dtype, cls=Network)
