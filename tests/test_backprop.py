"""Backpropagation against independent oracles: central differences, a step computed by
hand, and the book's per-example loop."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import reference

COMBOS = [("quadratic", "sigmoid"), ("quadratic", "softmax"), ("quadratic", "identity"),
          ("cross-entropy", "sigmoid"), ("log-likelihood", "softmax"), ("poisson", "exp")]
HIDDEN = ["sigmoid", "tanh", "relu", "identity"]
REGS = [dict(), dict(lmbda=0.7), dict(l1=0.3)]


def _data(n=6, n_in=4, n_out=3, seed=1, regression=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in))
    if regression:
        return X, np.abs(rng.normal(size=(n, n_out)))  # >= 0: also Poisson targets
    return X, rng.integers(0, n_out, size=n)


def _numerical_gradient(net, X, y, lmbda=0.0, l1=0.0, h=1e-6):
    """Central differences of total_cost with respect to every weight and bias."""
    weights, biases = net.parameters_numpy()
    params = weights + biases
    grads = []
    for p in params:
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            costs = []
            for sign in (1, -1):
                p[idx] = old + sign * h
                net.set_parameters(weights, biases)
                costs.append(net.total_cost(X, y, lmbda=lmbda, l1=l1))
            p[idx] = old
            g[idx] = (costs[0] - costs[1]) / (2 * h)
        grads.append(g)
    net.set_parameters(weights, biases)
    return grads


def _rel_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300)


@pytest.mark.parametrize("cost,output", COMBOS)
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("reg", REGS, ids=["noreg", "L2", "L1"])
def test_gradient_matches_central_differences(bk, cost, output, hidden, reg):
    """The full SGD step direction (BP1-BP4 + regulariser) is the gradient of total_cost."""
    X, y = _data(regression=output in ("identity", "exp"))
    net = bk.network([4, 5, 3], hidden=hidden, output=output, cost=cost, seed=3)
    before_w, before_b = net.parameters_numpy()
    numeric = _numerical_gradient(net, X, y, **reg)
    eta = 1.0  # one full-batch step: (before - after) / eta is exactly the gradient used
    net.fit(bk.asarray(X), bk.asarray(y, "float64" if y.ndim == 2 else "int64"), epochs=1,
            batch_size=len(X), eta=eta, monitor=(), **reg)
    after_w, after_b = net.parameters_numpy()
    analytic = [(b - a) / eta for b, a in zip(before_w + before_b, after_w + after_b)]
    for num, ana in zip(numeric, analytic):
        assert _rel_error(num, ana) <= 1e-7


@pytest.mark.parametrize("cost,output", COMBOS)
def test_gradients_method_is_summed_backprop(bk, cost, output):
    X, y = _data(n=5, regression=output in ("identity", "exp"))
    net = bk.network([4, 6, 3], output=output, cost=cost, seed=0)
    numeric = _numerical_gradient(net, X, y)  # of the mean cost
    nW, nb = net.gradients(X, y)
    assert all(w.shape == (n_out, n_in) for w, (n_in, n_out)
               in zip(nW, [(4, 6), (6, 3)]))
    for num, ana in zip(numeric, [bk.to_numpy(g) for g in nW + nb]):
        assert _rel_error(num * len(X), ana) <= 1e-7


def test_one_sgd_step_by_hand(bk):
    """A 2-3-2 quadratic sigmoid net, one example, one step, computed with scalar math."""
    W1 = [[0.1, -0.2], [0.4, 0.3], [-0.5, 0.2]]  # network2 layout (n_out, n_in)
    b1 = [0.1, -0.1, 0.05]
    W2 = [[0.3, -0.6, 0.2], [0.7, 0.1, -0.4]]
    b2 = [-0.2, 0.3]
    x, t, eta = [0.5, -1.5], [1.0, 0.0], 2.0

    def s(z):
        return 1 / (1 + math.exp(-z))

    z1 = [sum(W1[j][k] * x[k] for k in range(2)) + b1[j] for j in range(3)]
    a1 = [s(z) for z in z1]
    z2 = [sum(W2[j][k] * a1[k] for k in range(3)) + b2[j] for j in range(2)]
    a2 = [s(z) for z in z2]
    d2 = [(a2[j] - t[j]) * a2[j] * (1 - a2[j]) for j in range(2)]  # BP1
    d1 = [sum(W2[j][k] * d2[j] for j in range(2)) * a1[k] * (1 - a1[k]) for k in range(3)]
    new_W2 = [[W2[j][k] - eta * d2[j] * a1[k] for k in range(3)] for j in range(2)]
    new_W1 = [[W1[j][k] - eta * d1[j] * x[k] for k in range(2)] for j in range(3)]
    new_b2 = [b2[j] - eta * d2[j] for j in range(2)]
    new_b1 = [b1[j] - eta * d1[j] for j in range(3)]

    net = bk.network([2, 3, 2], cost="quadratic", seed=0)
    net.set_parameters([np.array(W1), np.array(W2)],
                       [np.array(b1)[:, None], np.array(b2)[:, None]])
    net.fit(np.array([x]), np.array([t]), epochs=1, batch_size=1, eta=eta, monitor=())
    weights, biases = net.parameters_numpy()
    np.testing.assert_allclose(weights[0], new_W1, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(weights[1], new_W2, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(biases[0].ravel(), new_b1, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(biases[1].ravel(), new_b2, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("cost,lmbda", [("quadratic", 0.0), ("cross-entropy", 5.0)])
def test_vectorized_update_equals_per_example_loop(bk, cost, lmbda):
    """One epoch of mini-batches equals network.py/network2.py's loop over examples."""
    rng = np.random.default_rng(7)
    n, sizes, bs, eta = 23, [6, 5, 4, 3], 5, 0.8
    X = rng.normal(size=(n, 6))
    labels = rng.integers(0, 3, size=n)
    net = bk.network(sizes, cost=cost, seed=11)
    weights, biases = net.parameters_numpy()
    state = np.random.default_rng()
    state.bit_generator.state = net.rng.bit_generator.state
    order = state.permutation(n)  # xmlp.epochs.epoch_order draws exactly this

    net.fit(X, labels, epochs=1, batch_size=bs, eta=eta, lmbda=lmbda, monitor=())

    data = [(X[i][:, None], reference.one_hot_column(labels[i], 3)) for i in order]
    for k in range(0, n, bs):
        weights, biases = reference.update_mini_batch(weights, biases, data[k:k + bs], eta,
                                                      cost, lmbda, n)
    got_w, got_b = net.parameters_numpy()
    for got, want in itertools.chain(zip(got_w, weights), zip(got_b, biases)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
