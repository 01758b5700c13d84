"""The book's own algorithm, written here as an independent oracle.

network.py / network2.py's ``update_mini_batch`` and ``backprop``, ported to Python 3 and
to an explicit mini-batch (no shuffling): one example at a time, column vectors, the
gradients summed over the mini-batch, then the (weight-decayed) step.  Nothing from xmlp is
imported here.
"""

from __future__ import annotations

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


def backprop(weights, biases, x, y, cost):
    """network.py's backprop: (nabla_b, nabla_w) for one example (x, y columns)."""
    nabla_b = [np.zeros(b.shape) for b in biases]
    nabla_w = [np.zeros(w.shape) for w in weights]
    activation = x
    activations = [x]
    zs = []
    for b, w in zip(biases, weights):
        z = np.dot(w, activation) + b
        zs.append(z)
        activation = sigmoid(z)
        activations.append(activation)
    if cost == "quadratic":
        delta = (activations[-1] - y) * sigmoid_prime(zs[-1])
    else:  # network2's CrossEntropyCost.delta
        delta = activations[-1] - y
    nabla_b[-1] = delta
    nabla_w[-1] = np.dot(delta, activations[-2].transpose())
    for l in range(2, len(weights) + 1):
        z = zs[-l]
        sp = sigmoid_prime(z)
        delta = np.dot(weights[-l + 1].transpose(), delta) * sp
        nabla_b[-l] = delta
        nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
    return nabla_b, nabla_w


def update_mini_batch(weights, biases, mini_batch, eta, cost="quadratic", lmbda=0.0, n=1):
    """network2's update_mini_batch (network.py's when lmbda = 0): new (weights, biases)."""
    nabla_b = [np.zeros(b.shape) for b in biases]
    nabla_w = [np.zeros(w.shape) for w in weights]
    for x, y in mini_batch:
        delta_nabla_b, delta_nabla_w = backprop(weights, biases, x, y, cost)
        nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
        nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
    m = len(mini_batch)
    weights = [(1 - eta * (lmbda / n)) * w - (eta / m) * nw for w, nw in zip(weights, nabla_w)]
    biases = [b - (eta / m) * nb for b, nb in zip(biases, nabla_b)]
    return weights, biases


def one_hot_column(label, n_classes=10):
    e = np.zeros((n_classes, 1))
    e[label] = 1.0
    return e
