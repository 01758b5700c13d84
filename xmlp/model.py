"""The ``Network`` users get: the math of :mod:`xmlp.network` plus ``fit``, ``save`` and
``to_onnx``.

A thin facade that makes the dependency direction visible: the math layer
(:class:`xmlp.network.Network`) knows nothing of training or files; this class adds the
methods that reach up to the training loop (:func:`xmlp.train.fit`) and down to
persistence (:func:`xmlp.io.save`, :func:`xmlp.export.network_to_onnx`), and
:func:`load` builds it from a file.
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

    def to_onnx(self, path: Any = None, *, dtype: Any = None, opset: Any = None) -> Any:
        """The network as an ONNX model (``onnx.ModelProto``), written to ``path`` if given.

        Input ``X`` (N, n_in); outputs ``activations`` (N, n_out), what :meth:`feedforward`
        returns, and for sigmoid / softmax outputs ``class`` (N,), int64, what
        :meth:`predict` returns.  Weights are initializers in the network's dtype, or in
        ``dtype`` ("float32" / "float64"), which is also the input's type.  ``opset``:
        the ONNX opset (default 17).  The model's metadata names xmlp's version, the
        sizes, activations, cost and dtype.  Needs the ``onnx`` extra
        (``pip install 'xmlp[onnx]'``); see :mod:`xmlp.export`.
        """
        from .export import network_to_onnx

        return network_to_onnx(self, path, dtype=dtype, opset=opset)


def load(path: Any, backend: Any = "numpy", device: Any = None, dtype: Any = None) -> Network:
    """Load a network saved by xmlp (JSON or ``.npz``) or by network2.py (JSON).

    ``dtype`` defaults to the saved one (network2 files: float64)."""
    return io.load(path, backend, device, dtype, cls=Network)
