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


def _method_doc(doc: str | None) -> str | None:
    """``train.fit``'s docstring without its ``net`` parameter: the method's docstring."""
    if doc is None:  # python -OO
        return None
    lines = doc.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("net : "))
    end = start + 1
    while lines[end].startswith(" " * 8):
        end += 1
    return "".join(lines[:start] + lines[end:])


class Network(network.Network):
    __doc__ = network.Network.__doc__

    def fit(self, X: Any, y: Any, **kwargs: Any) -> train.History:
        return train.fit(self, X, y, **kwargs)

    fit.__doc__ = _method_doc(train.fit.__doc__)

    def save(self, path: Any) -> None:
        """Save the network to a file, atomically.

        Parameters
        ----------
        path : str or os.PathLike
            ``.npz`` writes NumPy's archive format (read back with ``allow_pickle=False``);
            any other suffix writes network2.py's JSON format plus xmlp's own keys
            (activations, initialisation, dtype), which network2.py itself can read.

        See Also
        --------
        xmlp.load : Read it back, on any backend.

        Examples
        --------
        >>> import os, tempfile, xmlp
        >>> net = xmlp.Network([4, 3, 2], seed=0)
        >>> path = os.path.join(tempfile.mkdtemp(), "net.json")
        >>> net.save(path)
        >>> xmlp.load(path).sizes
        [4, 3, 2]
        """
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


def load(path: Any, backend: Any = "numpy", device: Any = None, dtype: Any = None, *,
         max_parameters: int | None = None) -> Network:
    """Load a network saved by xmlp (JSON or ``.npz``) or by network2.py (JSON).

    Parameters
    ----------
    path : str or os.PathLike
        The file :meth:`Network.save` or network2.py's ``save`` wrote.
    backend : str or module, default "numpy"
        The backend to load onto, whichever one saved the file.
    device : object, optional
        The backend's device (default: the namespace's default device).
    dtype : {"float32", "float64"} or None, default None
        None keeps the saved dtype (network2.py's files: float64).
    max_parameters : int, optional
        Refuse a file whose ``sizes`` describe more parameters than this, before anything
        is allocated (default: ``$XMLP_MAX_PARAMETERS``, else 2**27, 1 GiB in float64; a
        JSON file may hold a quarter as many numbers).

    Returns
    -------
    Network
        The network, with the saved sizes, activations, cost and parameters.

    Raises
    ------
    ValueError
        When the file is damaged, is not a network file, its arrays do not match its
        ``sizes`` or hold NaN / infinite values, or it describes more parameters than
        ``max_parameters``.
    OSError
        When the file cannot be read.
    xmlp.BackendUnavailable
        When the backend is not installed.

    Examples
    --------
    >>> import os, tempfile, xmlp
    >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
    >>> xmlp.Network([784, 30, 10], dtype="float64", seed=0).save(path)
    >>> net = xmlp.load(path)
    >>> net.sizes, net.cost.name, net.weights[0].dtype
    ([784, 30, 10], 'quadratic', dtype('float64'))
    """
    return io.load(path, backend, device, dtype, cls=Network, max_parameters=max_parameters)
