"""A front end with the book's interfaces: network.py's ``Network`` and network2.py's
``Network2``, taking the book's data format and method signatures, running on xmlp's
vectorized engine on any backend.

Data format (as ``mnist_loader.load_data_wrapper`` returns it): ``training_data`` is a list
(or iterator) of ``(x, y)`` with x a (784, 1) column and y a (10, 1) one-hot column;
``test_data`` / ``validation_data`` hold ``(x, label)`` with an integer label.

Differences from the book's code, all deliberate: the mini-batch update is vectorized
(equal to the per-example sum up to floating-point rounding); shuffling uses a seeded
``numpy.random.Generator`` (``seed=``) instead of ``random.shuffle``; network2's
``early_stopping_n`` restores the best weights when it stops.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from . import model
from .backend import to_numpy
from .init import initial_parameters
from .model import Network as _Network

__all__ = ["Network", "Network2", "QuadraticCost", "CrossEntropyCost", "book_data", "load"]


class QuadraticCost:
    """network2.py's QuadraticCost (column vectors, NumPy) -- also names the xmlp cost."""

    name = "quadratic"

    @staticmethod
    def fn(a, y):
        return 0.5 * np.linalg.norm(a - y) ** 2

    @staticmethod
    def delta(z, a, y):
        return (a - y) * a * (1 - a)


class CrossEntropyCost:
    """network2.py's CrossEntropyCost (column vectors, NumPy) -- also names the xmlp cost."""

    name = "cross-entropy"

    @staticmethod
    def fn(a, y):
        return np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a)))

    @staticmethod
    def delta(z, a, y):
        return a - y


def book_data(X: Any, y: Any, one_hot: bool = False, n_classes: int = 10) -> list[tuple]:
    """(X (n, n_in), labels (n,)) -> the book's list of ``(x, y)`` pairs: x an (n_in, 1)
    column; y an (n_classes, 1) one-hot column (``one_hot=True``: training data, as
    ``load_data_wrapper``'s) or the integer label (validation / test data).

    >>> from xmlp import datasets, nielsen
    >>> data = datasets.load("mnist-sample", dtype="float64")
    >>> training_data = nielsen.book_data(*data.train, one_hot=True)
    >>> x, y = training_data[0]
    >>> x.shape, y.shape, len(training_data)
    ((784, 1), (10, 1), 4000)
    >>> nielsen.book_data(*data.test)[0][1]      # test data: the integer label
    0
    """
    X, y = np.asarray(X), np.asarray(y)
    if one_hot:
        Y = np.eye(n_classes, dtype=X.dtype)[y]
        return [(x.reshape(-1, 1), t.reshape(-1, 1)) for x, t in zip(X, Y)]
    return [(x.reshape(-1, 1), int(label)) for x, label in zip(X, y)]


def _rows(data: Iterable[tuple[Any, Any]], what: str) -> tuple[np.ndarray, np.ndarray]:
    """Book-format pairs -> (X (n, n_in), y (n,) labels or (n, n_out) targets)."""
    pairs = list(data)
    if not pairs:
        raise ValueError(f"{what} is empty")
    try:
        X = np.stack([np.asarray(to_numpy(x)).reshape(-1) for x, _ in pairs])
        first = np.asarray(to_numpy(pairs[0][1]))
        if first.ndim == 0:
            y = np.asarray([int(to_numpy(t)) for _, t in pairs], dtype=np.int64)
        else:
            y = np.stack([np.asarray(to_numpy(t)).reshape(-1) for _, t in pairs])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be a list of (x, y) pairs of column vectors "
                         f"(y a one-hot column or an int label): {exc}") from exc
    return X, y


class Network:
    """network.py's Network: quadratic cost, sigmoid neurons, N(0, 1) initialisation.

    ``backend``, ``device``, ``dtype``, ``seed`` are :class:`xmlp.Network`'s; ``compile``
    is ``fit``'s (None: compiled epochs on JAX, eager elsewhere).

    >>> from xmlp import datasets, nielsen
    >>> data = datasets.load("mnist-sample", dtype="float64")
    >>> training_data = nielsen.book_data(*data.train, one_hot=True)
    >>> test_data = nielsen.book_data(*data.test)
    >>> net = nielsen.Network([784, 30, 10], seed=0)
    >>> history = net.SGD(training_data, 2, 10, 3.0)   # epochs, mini_batch_size, eta
    Epoch 0 complete
    Epoch 1 complete
    >>> net.evaluate(test_data) > 500                  # of 1000 test images
    True
    """

    _cost = "quadratic"
    _init = "large"

    def __init__(self, sizes: list[int], backend: Any = "numpy", device: Any = None,
                 dtype: Any = "float64", seed: int | None = None,
                 compile: bool | None = None):
        self.net = _Network(sizes, cost=self._cost, init=self._init, backend=backend,
                            device=device, dtype=dtype, seed=seed)
        self.compile = compile
        self.num_layers = len(sizes)
        self.sizes = self.net.sizes

    # weights / biases in the book's layout, as host NumPy arrays so book code runs.
    @property
    def weights(self) -> list[np.ndarray]:
        return self.net.parameters_numpy()[0]

    @weights.setter
    def weights(self, value: list[Any]) -> None:
        self.net.set_parameters(value, self.biases)

    @property
    def biases(self) -> list[np.ndarray]:
        return self.net.parameters_numpy()[1]

    @biases.setter
    def biases(self, value: list[Any]) -> None:
        self.net.set_parameters(self.weights, value)

    def feedforward(self, a: Any) -> np.ndarray:
        """Output for one input column (n_in, 1) -> (n_out, 1), as NumPy."""
        x = np.asarray(to_numpy(a)).reshape(1, -1)
        return to_numpy(self.net.feedforward(x)).reshape(-1, 1)

    def SGD(self, training_data, epochs, mini_batch_size, eta, test_data=None):
        """network.py's SGD; prints "Epoch j: c / n" per epoch when test_data is given."""
        X, y = _rows(training_data, "training_data")
        evaluation = _rows(test_data, "test_data") if test_data is not None else None
        monitor = ("evaluation_accuracy",) if evaluation is not None else ()
        return self.net.fit(X, y, epochs=epochs, batch_size=mini_batch_size, eta=eta,
                            evaluation_data=evaluation, monitor=monitor, verbose=True,
                            compile=self.compile)

    def evaluate(self, test_data) -> int:
        """Number of test inputs for which the network outputs the correct label."""
        X, y = _rows(test_data, "test_data")
        return round(self.net.accuracy(X, y) * X.shape[0])


class Network2(Network):
    """network2.py's Network: a choice of cost, N(0, 1/n_in) weights, L2, monitoring."""

    _init = "normalized"

    def __init__(self, sizes: list[int], cost: Any = CrossEntropyCost, backend: Any = "numpy",
                 device: Any = None, dtype: Any = "float64", seed: int | None = None,
                 compile: bool | None = None):
        self._cost = getattr(cost, "name", cost)
        super().__init__(sizes, backend=backend, device=device, dtype=dtype, seed=seed,
                         compile=compile)
        self.cost = cost

    def default_weight_initializer(self) -> None:
        self._reinit("normalized")

    def large_weight_initializer(self) -> None:
        self._reinit("large")

    def _reinit(self, init: str) -> None:
        weights, biases = initial_parameters(self.sizes, init, self.net.rng)
        self.net.set_parameters(weights, [b[:, None] for b in biases])
        self.net.init = init

    def SGD(self, training_data, epochs, mini_batch_size, eta, lmbda=0.0,
            evaluation_data=None, monitor_evaluation_cost=False,
            monitor_evaluation_accuracy=False, monitor_training_cost=False,
            monitor_training_accuracy=False, early_stopping_n=0):
        """network2.py's SGD; returns (evaluation_cost, evaluation_accuracy, training_cost,
        training_accuracy), accuracies as counts of correct examples like network2."""
        X, y = _rows(training_data, "training_data")
        evaluation = (_rows(evaluation_data, "evaluation_data")
                      if evaluation_data is not None else None)
        flags = {"evaluation_cost": monitor_evaluation_cost,
                 "evaluation_accuracy": monitor_evaluation_accuracy or early_stopping_n > 0,
                 "training_cost": monitor_training_cost,
                 "training_accuracy": monitor_training_accuracy}
        history = self.net.fit(X, y, epochs=epochs, batch_size=mini_batch_size, eta=eta,
                               lmbda=lmbda, evaluation_data=evaluation,
                               early_stopping=early_stopping_n or None,
                               monitor=[k for k, v in flags.items() if v],
                               verbose=2,  # "Epoch j training complete" + monitored lines
                               compile=self.compile)
        n_train = X.shape[0]
        n_eval = 0 if evaluation is None else evaluation[0].shape[0]
        return (history.evaluation_cost,
                [round(a * n_eval) for a in history.evaluation_accuracy],
                history.training_cost,
                [round(a * n_train) for a in history.training_accuracy])

    def accuracy(self, data, convert=False) -> int:
        """Number of correct examples (``convert`` is accepted for network2 compatibility:
        one-hot or integer labels are both recognised)."""
        return self.evaluate(data)

    def total_cost(self, data, lmbda, convert=False) -> float:
        """network2's total cost including the L2 term, n = len(data)."""
        X, y = _rows(data, "data")
        return self.net.total_cost(X, y, lmbda=lmbda)

    def save(self, filename) -> None:
        """network2's JSON format (sizes, weights, biases, cost) plus xmlp's keys."""
        self.net.save(filename)


def load(filename, backend: Any = "numpy", device: Any = None) -> Network2:
    """network2.py's ``load``: a saved network as a Network2 (float64)."""
    net = model.load(filename, backend=backend, device=device, dtype="float64")
    out = Network2.__new__(Network2)
    out.net, out.sizes, out.num_layers = net, net.sizes, len(net.sizes)
    out._cost = net.cost.name
    out.cost = {"quadratic": QuadraticCost, "cross-entropy": CrossEntropyCost}.get(
        net.cost.name, net.cost.name)
    return out
