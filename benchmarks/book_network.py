"""The book's algorithm, per example: network.py's ``update_mini_batch`` / ``backprop``.

Michael Nielsen's network.py (chapter 1) and network2.py (chapter 3), ported to Python 3
for the benchmarks: every example is a column vector (n, 1), ``backprop`` runs on one
example at a time and ``update_mini_batch`` sums the per-example gradients of a mini-batch
before taking one step.  Kept as the book writes it (same loops, same list comprehensions,
same ``np.dot`` on columns) because the point is to time *that* algorithm; the only
additions are

* the cross-entropy output error (network2's ``CrossEntropyCost.delta`` = a - y) and its
  L2 weight decay ``(1 - eta lmbda / n) w``, so chapter 3's configuration runs too;
* a ``dtype`` (the book is float64 throughout) and ``set_parameters`` to start from the
  same weights as the other contenders;
* ``sgd_epoch(order)`` visiting the examples in a given order instead of
  ``random.shuffle`` (same mini-batches as the other contenders);
* ``accuracy``: evaluation is not timed, so it is vectorised (the book's ``evaluate``
  loops over examples; the answer is the same).

Biases are (n_out, 1) columns and weights (n_out, n_in), network.py's layout.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BookNetwork"]


def sigmoid(z):
    """The sigmoid function (network.py's)."""
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    """Derivative of the sigmoid function."""
    return sigmoid(z) * (1 - sigmoid(z))


class BookNetwork:
    """network.py's ``Network`` with network2's cross-entropy cost and L2 as options."""

    def __init__(self, sizes, cost="quadratic", dtype="float64", seed=None):
        if cost not in ("quadratic", "cross-entropy"):
            raise ValueError(f"the book's per-example loop has quadratic and cross-entropy "
                             f"costs, not {cost!r}")
        self.num_layers = len(sizes)
        self.sizes = list(sizes)
        self.cost = cost
        self.dtype = np.dtype(dtype)
        rng = np.random.default_rng(seed)
        self.biases = [rng.standard_normal((y, 1)).astype(self.dtype) for y in sizes[1:]]
        self.weights = [rng.standard_normal((y, x)).astype(self.dtype)
                        for x, y in zip(sizes[:-1], sizes[1:])]

    def set_parameters(self, weights, biases):
        """Start from given weights ((n_out, n_in)) and biases ((n_out, 1))."""
        self.weights = [np.array(w, dtype=self.dtype) for w in weights]
        self.biases = [np.array(b, dtype=self.dtype).reshape(-1, 1) for b in biases]

    def feedforward(self, a):
        """Return the output of the network if ``a`` is input."""
        for b, w in zip(self.biases, self.weights):
            a = sigmoid(np.dot(w, a) + b)
        return a

    def sgd_epoch(self, training_data, order, mini_batch_size, eta, lmbda=0.0, n=None):
        """One epoch of network.py's ``SGD``: the examples ``training_data[i]`` for i in
        ``order``, in mini-batches of ``mini_batch_size``.  ``n`` is the training-set size
        in the L2 decay (default: ``len(order)``)."""
        n = len(order) if n is None else n
        mini_batches = [[training_data[i] for i in order[k:k + mini_batch_size]]
                        for k in range(0, len(order), mini_batch_size)]
        for mini_batch in mini_batches:
            self.update_mini_batch(mini_batch, eta, lmbda, n)

    def update_mini_batch(self, mini_batch, eta, lmbda=0.0, n=1):
        """Update the network's weights and biases by applying gradient descent using
        backpropagation to a single mini batch (a list of tuples ``(x, y)``)."""
        nabla_b = [np.zeros(b.shape, dtype=self.dtype) for b in self.biases]
        nabla_w = [np.zeros(w.shape, dtype=self.dtype) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
            nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
        if lmbda:  # network2.py
            self.weights = [(1 - eta * (lmbda / n)) * w - (eta / len(mini_batch)) * nw
                            for w, nw in zip(self.weights, nabla_w)]
        else:  # network.py
            self.weights = [w - (eta / len(mini_batch)) * nw
                            for w, nw in zip(self.weights, nabla_w)]
        self.biases = [b - (eta / len(mini_batch)) * nb
                       for b, nb in zip(self.biases, nabla_b)]

    def backprop(self, x, y):
        """Return a tuple ``(nabla_b, nabla_w)`` representing the gradient for the cost
        function C_x, layer by layer."""
        nabla_b = [np.zeros(b.shape, dtype=self.dtype) for b in self.biases]
        nabla_w = [np.zeros(w.shape, dtype=self.dtype) for w in self.weights]
        # feedforward
        activation = x
        activations = [x]  # list to store all the activations, layer by layer
        zs = []  # list to store all the z vectors, layer by layer
        for b, w in zip(self.biases, self.weights):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        # backward pass
        if self.cost == "quadratic":
            delta = self.cost_derivative(activations[-1], y) * sigmoid_prime(zs[-1])
        else:  # network2.py's CrossEntropyCost.delta
            delta = activations[-1] - y
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].transpose())
        for l in range(2, self.num_layers):
            z = zs[-l]
            sp = sigmoid_prime(z)
            delta = np.dot(self.weights[-l + 1].transpose(), delta) * sp
            nabla_b[-l] = delta
            nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
        return (nabla_b, nabla_w)

    def cost_derivative(self, output_activations, y):
        """Return the vector of partial derivatives dC_x/da for the output activations."""
        return output_activations - y

    def accuracy(self, X, labels):
        """Fraction of rows of X (n, n_in) whose argmax output equals the label."""
        a = np.asarray(X, dtype=self.dtype).T
        for b, w in zip(self.biases, self.weights):
            a = sigmoid(np.dot(w, a) + b)
        return float(np.mean(np.argmax(a, axis=0) == np.asarray(labels)))


def training_data(X, Y, dtype="float64"):
    """network.py's ``training_data``: a list of (x, y) column-vector pairs."""
    X = np.asarray(X, dtype=dtype)
    Y = np.asarray(Y, dtype=dtype)
    return [(X[i].reshape(-1, 1), Y[i].reshape(-1, 1)) for i in range(X.shape[0])]
