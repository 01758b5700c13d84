"""The network: parameters, feedforward and backpropagation (BP1-BP4 in matrix form).

Examples are rows.  For a mini-batch of m examples, layer l computes

    Z^l = A^{l-1} @ W^l + b^l          W^l: (n_{l-1}, n_l),  b^l: (n_l,),  Z^l: (m, n_l)
    A^l = sigma(Z^l)

so ``W^l`` is the transpose of network2's ``weights[l]`` (which act on column vectors).
Backpropagation, in the book's numbering:

    BP1  delta^L = nabla_a C (.) sigma'(Z^L)            (the cost's ``delta``)
    BP2  delta^l = (delta^{l+1} @ W^{l+1}.T) (.) sigma'(Z^l)
    BP3  dC/db^l = sum over the batch of delta^l
    BP4  dC/dW^l = A^{l-1}.T @ delta^l

The gradients returned are *sums* over the mini-batch, as network.py's ``nabla_b`` and
``nabla_w`` are; the update divides by the batch size.

This is the math layer: it knows nothing of training loops, update rules or files.  The
``Network`` users get (``xmlp.Network``, ``xmlp.model``) adds ``fit`` and ``save`` on top.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np
from array_api_compat import array_namespace

from . import _validate as check
from . import activations, costs
from .activations import Activation
from .backend import (
    Backend,
    device_name,
    dtype_name,
    out_of_memory,
    parse_device,
    resolve,
    resolve_dtype,
    same_device,
    to_numpy,
)
from .costs import Cost
from .init import INITIALISERS, initial_parameters
from .params import Params, from_network2, to_network2
from .regulariser import Regulariser

Array = Any
NetworkT = TypeVar("NetworkT", bound="Network")

__all__ = ["Network", "forward", "backprop", "chunks", "dataset_sums", "learning_speed"]

#: Rows per chunk when a whole data set is fed forward (bounds device memory).
EVAL_CHUNK = 8192


def chunks(n: int, size: int) -> list[tuple[int, int]]:
    """[(start, stop), ...] covering range(n) in steps of ``size``; the last may be short.
    (The standard leaves out-of-bounds slice stops unspecified, so stops are clipped.)"""
    return [(k, min(k + size, n)) for k in range(0, n, size)]


def forward(params: Params, X: Array, hidden: Activation, output: Activation,
            masks: Sequence[Array] | None = None, xp: Any = None
            ) -> tuple[list[Array], list[Array], list[Array]]:
    """Feed X (m, n_0) forward; return the per-layer (inputs, Z, A) lists for backprop.

    ``inputs[l]`` is the activation entering layer l (X for l = 0, after dropout for
    hidden layers), ``Z[l]`` its weighted input and ``A[l]`` its activation before dropout.
    ``masks[l]`` (optional, one per hidden layer) multiplies hidden activations: inverted
    dropout masks already scaled by 1/(1 - p).

    With a leading member axis (a population: W (K, n_in, n_out), b (K, 1, n_out)), X is
    one mini-batch (m, n_0) for every member or one per member (K, m, n_0), and every
    result gains the member axis; nothing else changes.
    """
    xp = array_namespace(X) if xp is None else xp
    last = len(params.W) - 1
    inputs, Z, A = [], [], []
    a = X
    for l, (W, b) in enumerate(zip(params.W, params.b)):
        inputs.append(a)
        z = a @ W + b  # (m, n_l), or (K, m, n_l)
        a = (output if l == last else hidden).f(z, xp)
        Z.append(z)
        A.append(a)
        if masks is not None and l < last:
            a = a * masks[l]
    return inputs, Z, A


def backprop(params: Params, X: Array, Y: Array, hidden: Activation, output: Activation,
             cost: Cost, masks: Sequence[Array] | None = None, scale: Any = 1.0,
             xp: Any = None, weights: Array | None = None, return_cost: bool = False
             ) -> Any:
    """Gradients of the summed cost over the mini-batch, times ``scale``: a
    :class:`~xmlp.params.Params` of (nabla_W, nabla_b) per layer.

    The trainer passes ``scale = eta / m``: multiplying the small (m, n_l) error instead of
    the (n_{l-1}, n_l) gradient makes the SGD step a single subtraction per parameter.

    ``weights`` (m,), optional: per-example weights w_x; the summed cost is then
    sum_x w_x C_x, so row x of delta^L is multiplied by w_x.  ``return_cost=True`` also
    returns that summed cost (unscaled, a 0-d array on the device) from the same forward
    pass: (gradients, cost).

    With a member axis (see :func:`forward`) every gradient has its parameter's shape,
    ``scale`` may be one number per member ((K, 1, 1)) and the cost is one per member.
    """
    xp = array_namespace(X, Y) if xp is None else xp
    inputs, Z, A = forward(params, X, hidden, output, masks, xp)
    L = len(params.W)
    nabla_W: list[Array] = [None] * L
    nabla_b: list[Array] = [None] * L
    delta = cost.delta(Z[-1], A[-1], Y, output, xp)  # BP1, (m, n_L)
    if weights is not None:
        delta = delta * weights[:, None]
    unscaled = isinstance(scale, (int, float)) and scale == 1.0  # a traced scale multiplies
    for l in range(L - 1, -1, -1):
        scaled = delta if unscaled else scale * delta
        nabla_b[l] = xp.reshape(xp.sum(scaled, axis=-2), params.b[l].shape)  # BP3, (n_l,)
        nabla_W[l] = xp.matrix_transpose(inputs[l]) @ scaled  # BP4, (n_{l-1}, n_l)
        if l > 0:
            g = delta @ xp.matrix_transpose(params.W[l])  # (m, n_{l-1})
            if masks is not None:
                g = g * masks[l - 1]  # dropped neurons pass no error back
            delta = hidden.vjp(Z[l - 1], A[l - 1], g, xp)  # BP2
    grads = Params(tuple(nabla_W), tuple(nabla_b))
    if not return_cost:
        return grads
    c = cost.fn(Z[-1], A[-1], Y, xp)  # (m,)
    return grads, xp.sum(c if weights is None else c * weights, axis=-1)


def dataset_sums(params: Params, X: Array, labels: Array, Y: Array, hidden: Activation,
                 output: Activation, cost: Cost, xp: Any, rows: Array | None = None
                 ) -> tuple[Array, Array]:
    """Device scalars (sum of C_x, number of argmax outputs equal to ``labels``, int64) over
    a whole data set (n >= 1), fed forward in chunks of ``EVAL_CHUNK`` rows.

    With a member axis (see :func:`forward`) the sums are one per member (K,), over the
    whole data set, or, with ``rows`` (K, n) int64, over each member's own rows of it; the
    chunks then shrink so that a layer's activations for all members stay near
    ``EVAL_CHUNK`` x 512 numbers whatever K."""
    size = EVAL_CHUNK
    if params.W[0].ndim == 3:
        members, widest = params.W[0].shape[0], max(W.shape[-1] for W in params.W)
        size = max(1, min(EVAL_CHUNK, EVAL_CHUNK * 512 // (members * widest)))
    n = X.shape[0] if rows is None else rows.shape[-1]
    cost_sum = correct = None
    for i, j in chunks(n, size):
        if rows is None:
            Xc, labels_c, Yc = X[i:j, ...], labels[i:j], Y[i:j, ...]
        else:  # each member's rows i..j of its own set
            idx = xp.reshape(rows[:, i:j], (-1,))
            shape = (rows.shape[0], j - i)
            Xc = xp.reshape(xp.take(X, idx, axis=0), (*shape, X.shape[-1]))
            Yc = xp.reshape(xp.take(Y, idx, axis=0), (*shape, Y.shape[-1]))
            labels_c = xp.reshape(xp.take(labels, idx, axis=0), shape)
        _, Z, A = forward(params, Xc, hidden, output, xp=xp)
        c = xp.sum(cost.fn(Z[-1], A[-1], Yc, xp), axis=-1)
        hits = xp.sum(xp.astype(xp.argmax(A[-1], axis=-1) == labels_c, xp.int64), axis=-1)
        cost_sum = c if cost_sum is None else cost_sum + c
        correct = hits if correct is None else correct + hits
    return cost_sum, correct


def learning_speed(params: Params, X: Array, Y: Array, hidden: Activation, output: Activation,
                   cost: Cost, xp: Any) -> Array:
    """Chapter 5's speed of learning of every layer: a device vector (L,) whose entry l is
    the length ``||(1/n) sum_x dC_x/db^l||`` of the mean over the n >= 1 rows of (X, Y) of
    the bias gradient (BP3), hidden layers first, the output layer last.

    This is what the book's ``generate_gradient.py`` computes with network2's per-example
    ``backprop`` (it prints the hidden layers' entries); here it is the summed gradient of
    :func:`backprop`, fed forward in chunks of ``EVAL_CHUNK`` rows, without dropout and
    without a regularisation term (L2 and L1 do not touch the biases).  Pure, with no host
    transfer: the monitors compute it on the device, compiled with them on JAX."""
    n = X.shape[0]
    total: list[Array] = []
    for i, j in chunks(n, EVAL_CHUNK):
        nabla_b = backprop(params, X[i:j, :], Y[i:j, :], hidden, output, cost, xp=xp).b
        total = list(nabla_b) if not total else [t + g for t, g in zip(total, nabla_b)]
    return xp.stack([xp.sqrt(xp.sum(g * g)) / n for g in total])  # ||sum|| / n = ||mean||


class Network:
    """A fully connected feedforward network: parameters, feedforward and backprop.

    Parameters
    ----------
    sizes : sequence of int
        Neurons per layer, input first, e.g. ``[784, 30, 10]``.
    hidden : {"sigmoid", "tanh", "relu", "identity"}, default "sigmoid"
        Activation of the hidden layers.
    output : {"sigmoid", "softmax", "identity", "exp"} or None, default None
        Output activation; None picks the one the cost goes with (softmax for
        log-likelihood, exp for poisson, sigmoid otherwise).
    cost : {"quadratic", "cross-entropy", "log-likelihood", "poisson"}, default "quadratic"
        "cross-entropy" goes with sigmoid outputs, "log-likelihood" with softmax outputs,
        "poisson" with exp outputs (Poisson regression, half the deviance).
    init : {"normalized", "large", "glorot", "he"}, default "normalized"
        Initial weights: network2's N(0, 1/n_in), network.py's N(0, 1), Glorot or He.
    backend : str or module, default "numpy"
        "numpy", "cupy", "torch", "jax", "array_api_strict" or an array-API namespace
        module.
    device : object, optional
        The backend's device (default: the namespace's default device), e.g. "cuda:1".
    dtype : {"float32", "float64"}, default "float32"
        Floating-point type of the parameters and computations.
    seed : int or None, default None
        Seeds the host ``numpy.random.Generator`` that draws the initial weights,
        the mini-batch order and the dropout masks: the same seed gives the same run on
        every backend.

    Raises
    ------
    ValueError
        For unknown names, sizes that are not positive integers, or a cost and output
        that do not go together.
    xmlp.BackendUnavailable
        When the backend is not installed or the device does not exist.

    See Also
    --------
    xmlp.load : Build a network from a saved file.

    Examples
    --------
    >>> import xmlp
    >>> net = xmlp.Network([784, 30, 10], cost="cross-entropy", seed=0)
    >>> net.sizes
    [784, 30, 10]
    >>> [w.shape for w in net.weights]       # network2's layout: (n_out, n_in)
    [(30, 784), (10, 30)]
    >>> data = xmlp.datasets.load("mnist-sample")
    >>> net.predict(data.test.X[:5]).shape
    (5,)
    """

    def __init__(self, sizes: Sequence[int], hidden: str = "sigmoid", output: str | None = None,
                 cost: str | Cost = "quadratic", init: str = "normalized",
                 backend: Any = "numpy", device: Any = None, dtype: Any = "float32",
                 seed: int | None = None):
        self._configure(sizes, hidden, output, cost, init, backend, device, dtype, seed)
        weights, biases = initial_parameters(self.sizes, init, self.rng)
        self.set_parameters(weights, [b[:, None] for b in biases])

    @classmethod
    def from_parameters(cls: type[NetworkT], sizes: Sequence[int], weights: Sequence[Any],
                        biases: Sequence[Any], **kwargs: Any) -> NetworkT:
        """A network with these weights and biases (network2's layout, as
        :meth:`set_parameters` takes them) and no random draw first: a loaded file costs
        its own arrays only.  ``kwargs`` are the constructor's other arguments."""
        net = cls.__new__(cls)
        bound = inspect.signature(Network.__init__).bind(net, sizes, **kwargs)
        bound.apply_defaults()  # the constructor's defaults, kept in one place
        net._configure(*list(bound.arguments.values())[1:])
        net.set_parameters(weights, biases)
        return net

    def _configure(self, sizes, hidden, output, cost, init, backend, device, dtype,
                   seed) -> None:
        """Everything the constructor sets but the parameters."""
        self.sizes = _check_sizes(sizes)
        self.cost = costs.get(cost)
        self.hidden = activations.get(hidden, activations.HIDDEN)
        self.output = activations.get(output or costs.default_output(self.cost),
                                      activations.OUTPUT)
        if self.output.name not in self.cost.outputs:
            raise ValueError(
                f"cost {self.cost.name!r} goes with output {list(self.cost.outputs)}, "
                f"not {self.output.name!r}; pick a matching output or cost")
        if init not in INITIALISERS:
            raise ValueError(f"unknown init {init!r}; choose one of {list(INITIALISERS)}")
        self.init = init
        self.backend: Backend = resolve(backend, device)
        self.dtype = resolve_dtype(self.backend.xp, dtype)
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    # ----------------------------------------------------------------- parameters
    @property
    def xp(self) -> Any:
        """The array-API namespace the network computes with."""
        return self.backend.xp

    @property
    def device(self) -> Any:
        """The device the parameters live on."""
        return self.backend.device

    @property
    def params(self) -> Params:
        """The parameters as one structure on the device, in the core's layout:
        ``Params(W, b)`` with ``W[l]`` of shape (n_l, n_{l+1}) and ``b[l]`` of shape
        (n_{l+1},) (:mod:`xmlp.params`).  This is what the training step, the update rules
        and checkpoints work on; assigning a :class:`~xmlp.params.Params` of the same
        shapes, dtype and backend replaces them (no copy, no host transfer)."""
        return self._params

    @params.setter
    def params(self, params: Params) -> None:
        if not isinstance(params, Params):
            raise TypeError(f"params must be an xmlp.params.Params, got {type(params).__name__}"
                            "; use set_parameters() for network2-layout arrays")
        want = [((n_in, n_out), (n_out,)) for n_in, n_out in zip(self.sizes, self.sizes[1:])]
        if params.shapes != want:
            raise ValueError(f"params have shapes {params.shapes}; the network {self.sizes} "
                             f"needs {want}")
        if any(a.dtype != self.dtype for a in (*params.W, *params.b)):
            raise TypeError(f"params must be {dtype_name(self.dtype)} arrays of the network's "
                            "backend; use set_parameters() to convert")
        self._params = params

    @property
    def weights(self) -> list[Array]:
        """network2's ``weights``: one (n_out, n_in) array per layer, on the backend."""
        return [W.T for W in self._params.W]

    @property
    def biases(self) -> list[Array]:
        """network2's ``biases``: one (n_out, 1) column per layer, on the backend."""
        return [b[:, None] for b in self._params.b]

    def set_parameters(self, weights: Sequence[Any], biases: Sequence[Any]) -> None:
        """Set weights ((n_out, n_in) each) and biases ((n_out, 1) or (n_out,)) as network2
        lays them out, from NumPy or this backend's arrays (converted to dtype/device)."""
        self._params = from_network2(weights, biases, self.sizes, self.backend, self.dtype)

    def parameters_numpy(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(weights, biases) in network2's layout as host NumPy arrays."""
        return to_network2(self._params)

    def to(self, backend: Any = "numpy", device: Any = None, dtype: Any = None) -> Network:
        """A copy of this network on another backend / device / dtype."""
        other = type(self).__new__(type(self))
        other.__dict__.update(self.__dict__)
        other.backend = resolve(backend, device)
        other.dtype = resolve_dtype(other.backend.xp, dtype or dtype_name(self.dtype))
        other.rng = np.random.default_rng()
        other.rng.bit_generator.state = self.rng.bit_generator.state
        other.set_parameters(*self.parameters_numpy())
        return other

    # ----------------------------------------------------------------- inputs
    def features(self, X: Any, what: str = "X") -> Array:
        """``X`` checked (2-D, this network's inputs, finite) and on the backend, in the
        network's dtype and on its device: what the other methods compute with."""
        return check.features(X, self.backend, self.dtype, self.sizes[0], what)

    def targets(self, y: Any, n: int, what: str = "y") -> tuple[Array, Array]:
        """``y`` for n examples checked and on the backend: (labels (n,) int64, the target
        matrix (n, n_out) the cost is evaluated on).  Class indices or one-hot rows, or any
        finite values when the output is identity / exp (regression)."""
        return check.targets(y, self.backend, self.dtype, n, self.sizes[-1],
                             regression=self.output.name in ("identity", "exp"), what=what)

    # ----------------------------------------------------------------- inference
    def outputs(self, X: Array, batch_size: int | None = None) -> Array:
        """Output activations a^L (n, n_out) of ``X`` already checked and on the device
        (:meth:`features`), without dropout; ``batch_size`` feeds it forward in chunks of
        that many rows."""
        if batch_size is None or batch_size >= X.shape[0]:
            return forward(self._params, X, self.hidden, self.output, xp=self.xp)[2][-1]
        parts = [forward(self._params, X[i:j, :], self.hidden, self.output, xp=self.xp)[2][-1]
                 for i, j in chunks(X.shape[0], batch_size)]
        return self.xp.concat(parts, axis=0)

    def feedforward(self, X: Any, batch_size: int | None = None) -> Array:
        """Output activations a^L, shape (n, n_out), on the network's backend.

        ``batch_size`` feeds the examples forward in chunks of that many rows (to bound
        memory on a GPU); the result is the same."""
        step = None if batch_size is None else check.positive_int(batch_size, "batch_size")
        X = self.features(X)
        hint = "pass a smaller batch_size= to predict / feedforward to work in chunks"
        with out_of_memory(self.device, f"feeding {X.shape[0]} samples forward", hint):
            return self.outputs(X, step)

    predict_proba = feedforward

    def predict(self, X: Any, batch_size: int | None = None) -> Array:
        """Class indices (argmax of the output), int64, on the network's backend."""
        return self.xp.argmax(self.feedforward(X, batch_size), axis=1)

    def accuracy(self, X: Any, y: Any) -> float:
        """Fraction of examples whose argmax output equals the label."""
        X = self.features(X)
        labels, Y = self.targets(y, X.shape[0])
        correct = dataset_sums(self._params, X, labels, Y, self.hidden, self.output,
                               self.cost, self.xp)[1]
        return int(to_numpy(correct)) / X.shape[0]

    def total_cost(self, X: Any, y: Any, lmbda: float = 0.0, l1: float = 0.0) -> float:
        """network2's ``total_cost``: mean C_x plus the regularisation term (over the n
        examples given)."""
        reg = Regulariser(check.non_negative(lmbda, "lmbda"), check.non_negative(l1, "l1"))
        X = self.features(X)
        labels, Y = self.targets(y, X.shape[0])
        n = X.shape[0]
        cost = dataset_sums(self._params, X, labels, Y, self.hidden, self.output, self.cost,
                            self.xp)[0] / n
        term = reg.value(self._params.W, n, self.xp)
        return float(to_numpy(cost if term is None else cost + term))

    def gradients(self, X: Any, y: Any) -> tuple[list[Array], list[Array]]:
        """Gradients of the summed cost over (X, y), in network2's layout per layer."""
        X = self.features(X)
        _, Y = self.targets(y, X.shape[0])
        grads = backprop(self._params, X, Y, self.hidden, self.output, self.cost, xp=self.xp)
        return [w.T for w in grads.W], [b[:, None] for b in grads.b]

    def learning_speed(self, X: Any, y: Any) -> Array:
        """Chapter 5's speed of learning of each layer on (X, y): the length of the mean
        over the rows of dC_x/db^l, one number per layer, hidden layers first and the
        output layer last -- a vector (L,) in the network's dtype, on its device
        (:func:`learning_speed`).  ``fit(monitor=[..., "learning_speed"])`` records it
        before every epoch.

        Examples
        --------
        >>> import xmlp
        >>> data = xmlp.datasets.load("mnist-sample")
        >>> net = xmlp.Network([784, 30, 30, 30, 30, 10], cost="cross-entropy", seed=0)
        >>> speed = xmlp.to_numpy(net.learning_speed(data.train.X[:1000], data.train.y[:1000]))
        >>> speed.shape, bool(speed[0] < speed[3] / 10)    # the first hidden layer is slow
        ((5,), True)
        """
        X = self.features(X)
        _, Y = self.targets(y, X.shape[0])
        return learning_speed(self._params, X, Y, self.hidden, self.output, self.cost,
                              self.xp)

    # ----------------------------------------------------------------- pickling
    def __getstate__(self) -> dict:
        """Everything but the backend module: the backend and device travel by name and the
        parameters as host NumPy arrays, so pickles and deep copies work on every backend."""
        state = self.__dict__.copy()
        del state["backend"], state["_params"]
        state["dtype"] = dtype_name(self.dtype)
        state["backend_name"] = self.backend.name
        state["device_name"] = device_name(self.device)
        state["parameters"] = self.parameters_numpy()
        return state

    def __setstate__(self, state: dict) -> None:
        """Rebuild on the named backend; raises :class:`xmlp.BackendUnavailable` (with the
        command that installs it) when that backend is missing here."""
        state = dict(state)
        name, device = state.pop("backend_name"), state.pop("device_name")
        weights, biases = state.pop("parameters")
        self.__dict__.update(state)
        self.backend = resolve(name)
        if not same_device(device, self.backend.device):
            self.backend = resolve(name, parse_device(self.backend, device))
        self.dtype = resolve_dtype(self.backend.xp, state["dtype"])
        self.set_parameters(weights, biases)

    def __repr__(self) -> str:
        return (f"Network({self.sizes}, hidden={self.hidden.name!r}, "
                f"output={self.output.name!r}, cost={self.cost.name!r}, "
                f"backend={self.backend.name!r}, device={self.device!r}, "
                f"dtype={dtype_name(self.dtype)!r})")


def _check_sizes(sizes: Any) -> list[int]:
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
        raise TypeError(f"sizes must be a list of layer widths, got {sizes!r}")
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least two layers (input and output), got {list(sizes)}")
    return [check.positive_int(s, f"sizes[{i}]") for i, s in enumerate(sizes)]
