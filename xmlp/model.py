"""The ``Network`` users get: the math of :mod:`xmlp.network` plus ``fit``, ``save`` and
``to_onnx``.

A thin facade that makes the dependency direction visible: the math layer
(:class:`xmlp.network.Network`) knows nothing of training or files; this class adds the
methods that reach up to the training loop (:func:`xmlp.train.fit`) and down to
persistence (:func:`xmlp.io.save`, :func:`xmlp.export.network_to_onnx`), and
:func:`load` builds it from a file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from . import io, network, optim, train
from .history import History
from .settings import FitSettings

__all__ = ["Network", "load"]


class Network(network.Network):
    __doc__ = network.Network.__doc__

    def fit(self, X: Any, y: Any, *, epochs: int = 30, batch_size: int = 10,
            eta: float | None = None, lmbda: float = 0.0, l1: float = 0.0,
            momentum: float = 0.0, nesterov: bool = False,
            optimizer: str | optim.Rule = "sgd", beta1: float = 0.9, beta2: float = 0.999,
            epsilon: float = 1e-8, dropout: float = 0.0, shift: int = 0, flip: bool = False,
            image_shape: tuple[int, int] | None = None,
            evaluation_data: tuple[Any, Any] | None = None,
            validation: float | int | None = None, early_stopping: int | None = None,
            schedule: int | None = None, anneal: str | None = None,
            monitor: Iterable[str] | None = None, probe: tuple[Any, Any] | None = None,
            verbose: bool | int = False,
            callback: Callable[[int, History], None] | None = None,
            progress: Callable[[int, int, int], None] | None = None,
            checkpoint: Any = None, checkpoint_every: int = 1, resume: Any = None,
            on_divergence: str = "raise", divergence_factor: float | None = 10.0,
            compile: bool | None = None) -> History:
        """Train the network by mini-batch SGD (or Adam) and return the per-epoch history.

        network2.py's ``SGD`` on arrays: each epoch shuffles the training set, runs one
        backpropagation and update per mini-batch, then records the monitored costs and
        accuracies.  The network's parameters are updated in place.

        Parameters
        ----------
        X : array_like, shape (n, n_in)
            Training features: arrays of the network's backend on its device, or NumPy arrays
            or lists (moved to the device once).
        y : array_like, shape (n,) or (n, n_out)
            Class indices, or one-hot (or regression) targets.
        epochs : int, default 30
            Number of passes over the training set.
        batch_size : int, default 10
            Examples per mini-batch; the last mini-batch of an epoch may be smaller.
        eta : float, optional
            Learning rate.  Default: the book's value for the cost with SGD (3.0 quadratic,
            0.5 otherwise), 0.001 with Adam.
        lmbda : float, default 0.0
            L2 strength, network2's weight decay ``1 - eta lmbda / n``.
        l1 : float, default 0.0
            L1 strength (chapter 3's L1 update, ``W -= eta l1 / n sign(W)``).
        momentum : float, default 0.0
            Momentum coefficient mu in [0, 1) for SGD.
        nesterov : bool, default False
            Nesterov's momentum instead of the classical one.
        optimizer : {"sgd", "adam"} or update rule, default "sgd"
            The update rule, or a rule object of ``xmlp.optim``.
        beta1, beta2, epsilon : float, default 0.9, 0.999, 1e-8
            Adam's decay rates of the moment estimates and its epsilon (Kingma & Ba's
            Algorithm 1).
        dropout : float, default 0.0
            Probability of dropping each hidden neuron during training (inverted dropout).
        shift : int, default 0
            Data augmentation: every epoch each training image moves by up to ``shift``
            pixels in each direction, at random.
        flip : bool, default False
            Data augmentation: every epoch each training image is mirrored left-right with
            probability 1/2.
        image_shape : tuple of int, optional
            (height, width) of the images for ``shift`` and ``flip``; default a square of
            ``sizes[0]`` pixels.
        evaluation_data : tuple of array_like, optional
            ``(X_eval, y_eval)`` evaluated after every epoch.
        validation : float or int, optional
            Instead of ``evaluation_data``: the fraction (or count) of the training rows held
            out at random, drawn from the network's seeded generator.
        early_stopping : int, optional
            Stop after this many epochs without a better evaluation accuracy, and restore
            the best weights.
        schedule : int, optional
            Nielsen's schedule: halve eta after this many epochs without a better evaluation
            accuracy; stop once eta has fallen to 1/128 of its initial value.
        anneal : {"cosine", "linear"}, optional
            A fixed schedule over the epochs that watches nothing: epoch e of E runs at
            ``eta (1 + cos(pi e / E)) / 2`` or ``eta (1 - e / E)``.
        monitor : iterable of str, optional
            Which of "training_cost", "training_accuracy", "evaluation_cost" and
            "evaluation_accuracy" to record each epoch; default all that the data allows.
            "learning_speed" (never on by default) records chapter 5's speed of learning
            of each layer before every epoch in ``History.learning_speed``
            (:meth:`learning_speed`), computed on the device with the other monitors.
        probe : tuple of array_like, optional
            ``(X_probe, y_probe)``: the rows the learning speed is measured on, without
            dropout (default: the first 1000 training rows, the book's choice).
        verbose : bool or int, default False
            True prints network.py's "Epoch j: c / n" lines; 2 adds network2's cost lines.
        callback : callable, optional
            Called as ``callback(epoch, history)`` after every epoch.
        progress : callable, optional
            Called as ``progress(epoch, batches_done, n_batches)`` after every mini-batch (a
            host-side counter, no device synchronisation); compiled, after each of about 50
            calls per epoch.
        checkpoint : str or os.PathLike, optional
            Write the whole training state to this file, atomically, every
            ``checkpoint_every`` epochs and when training stops.
        checkpoint_every : int, default 1
            Epochs between checkpoints.
        resume : str or os.PathLike, optional
            Continue the fit saved in this checkpoint (give the same data and settings;
            ``epochs`` counts the epochs already done).  A run killed at any moment and
            resumed ends with exactly the weights of an uninterrupted run.
        on_divergence : {"raise", "stop"}, default "raise"
            "stop" returns the history (``stop_reason`` "diverged") instead of raising.
        divergence_factor : float or None, default 10.0
            Training has diverged when the weights or a monitored cost are not finite, or,
            when the training cost is monitored, when it exceeds this factor times the larger
            of the training cost before this fit and that of a network that knows nothing
            (every parameter zero): a network that continues training is not stopped for
            returning to an untrained network's cost (None: only non-finite values count).
        compile : bool or None, default None
            Run each epoch as one compiled XLA program (the same steps and numbers as the
            eager loop).  None: compiled where the backend can (JAX), eager elsewhere; True:
            compiled; False: eager.  The compilation time is recorded in
            ``History.compile_seconds``.

        Returns
        -------
        History
            The per-epoch record: network2's four monitor lists (accuracies as fractions),
            the speeds of learning when monitored, seconds and eta per epoch, the seconds
            spent compiling and moving the data to the device, the settings, and why
            training stopped.

        Raises
        ------
        ValueError
            For bad arguments or data (shapes, NaN / inf, labels out of range, empty data),
            naming the argument; for ``compile=True`` on a backend that cannot compile.
        TypeError
            For arrays of another array library than the network's backend.
        TrainingDiverged
            When the weights or a monitored cost become non-finite (the network keeps the
            weights of the last finite epoch), unless ``on_divergence="stop"``.
        TrainingInterrupted
            On Ctrl-C; the network keeps the weights after the last complete mini-batch and
            the exception carries the history of the completed epochs.

        Examples
        --------
        >>> import xmlp
        >>> data = xmlp.datasets.load("mnist-sample")
        >>> net = xmlp.Network([784, 30, 10], cost="cross-entropy", seed=0)
        >>> history = net.fit(*data.train, epochs=2, batch_size=10, eta=0.5,
        ...                   evaluation_data=data.test)
        >>> history.epochs, len(history.evaluation_accuracy)
        (2, 2)
        >>> history.evaluation_accuracy[-1] > 0.8      # of the 1000 test images
        True
        >>> history = net.fit(*data.train, epochs=1, optimizer="adam", lmbda=1.0, dropout=0.1)
        """
        given = locals()
        settings = FitSettings(**{name: given[name] for name in FitSettings.fields()})
        return train.fit(self, X, y, settings, evaluation_data=evaluation_data,
                         verbose=verbose, callback=callback, progress=progress,
                         checkpoint=checkpoint, resume=resume, probe=probe)

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
