"""The book-compatible front end: network.py's and network2.py's interfaces and data format,
checked against the book's own per-example algorithm (tests/reference.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import reference

import xmlp
from xmlp import nielsen


def _book_data(n, n_in=6, n_out=3, seed=0, vectorized=True):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in))
    labels = rng.integers(0, n_out, n)
    if vectorized:
        return [(x[:, None], reference.one_hot_column(t, n_out)) for x, t in zip(X, labels)]
    return [(x[:, None], int(t)) for x, t in zip(X, labels)]


def _order(net, n):
    state = np.random.default_rng()
    state.bit_generator.state = net.net.rng.bit_generator.state
    return state.permutation(n)


def test_network2_one_epoch_equals_the_book_update(bk):
    """Same initial weights, same mini-batches: network2's equations one example at a time
    (column vectors, summed nablas, weight decay 1 - eta lmbda / n) give the same weights."""
    n, bs, eta, lmbda = 27, 4, 0.5, 3.0
    data = _book_data(n)
    net = nielsen.Network2([6, 7, 5, 3], cost=nielsen.CrossEntropyCost, backend=bk.name,
                           device=bk.device, seed=1, **bk.fit_kwargs)
    weights, biases = net.weights, net.biases
    assert [w.shape for w in weights] == [(7, 6), (5, 7), (3, 5)]
    assert [b.shape for b in biases] == [(7, 1), (5, 1), (3, 1)]
    order = _order(net, n)
    net.SGD(data, 1, bs, eta, lmbda=lmbda)
    shuffled = [data[i] for i in order]
    for k in range(0, n, bs):
        weights, biases = reference.update_mini_batch(weights, biases, shuffled[k:k + bs],
                                                      eta, "cross-entropy", lmbda, n)
    for got, want in itertools.chain(zip(net.weights, weights), zip(net.biases, biases)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_network_sgd_prints_book_lines_and_evaluates(capsys):
    train, test = _book_data(60), _book_data(20, seed=1, vectorized=False)
    net = nielsen.Network([6, 5, 3], seed=0)
    net.SGD(train, 2, 10, 3.0, test_data=test)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Epoch 0: ") and lines[1].endswith(" / 20")
    correct = net.evaluate(test)
    want = sum(int(np.argmax(net.feedforward(x)) == y) for x, y in test)
    assert correct == want
    assert net.feedforward(test[0][0]).shape == (3, 1)


def test_network_without_test_data_prints_complete(capsys):
    nielsen.Network([6, 3], seed=0).SGD(_book_data(10), 1, 5, 1.0)
    assert capsys.readouterr().out.strip() == "Epoch 0 complete"


def test_network2_monitoring_returns_four_lists_with_counts():
    train, valid = _book_data(50), _book_data(30, seed=2, vectorized=False)
    net = nielsen.Network2([6, 8, 3], seed=0)
    ec, ea, tc, ta = net.SGD(train, 3, 10, 0.5, lmbda=1.0, evaluation_data=valid,
                             monitor_evaluation_cost=True, monitor_evaluation_accuracy=True,
                             monitor_training_cost=True, monitor_training_accuracy=True)
    assert len(ec) == len(ea) == len(tc) == len(ta) == 3
    assert all(isinstance(a, int) and 0 <= a <= 30 for a in ea)
    assert all(isinstance(a, int) and 0 <= a <= 50 for a in ta)
    assert ea[-1] == net.accuracy(valid)
    assert ta[-1] == net.accuracy(train, convert=True)
    assert tc[-1] == pytest.approx(net.total_cost(train, 1.0))


def test_network2_save_load_and_book_cost_classes(tmp_path):
    net = nielsen.Network2([6, 4, 3], cost=nielsen.QuadraticCost, seed=3)
    net.save(tmp_path / "n.json")
    back = nielsen.load(tmp_path / "n.json")
    assert back.cost is nielsen.QuadraticCost
    for a, b in zip(back.weights + back.biases, net.weights + net.biases):
        np.testing.assert_array_equal(a, b)
    a, y = np.array([[0.2], [0.9]]), np.array([[0.0], [1.0]])
    assert nielsen.CrossEntropyCost.fn(a, y) == pytest.approx(-np.log(0.8) - np.log(0.9))
    np.testing.assert_allclose(nielsen.CrossEntropyCost.delta(None, a, y), a - y)


def test_large_weight_initializer_is_network_py_scale():
    net = nielsen.Network2([400, 300, 10], seed=0)
    assert np.std(net.weights[0]) == pytest.approx(1 / np.sqrt(400), rel=0.05)
    net.large_weight_initializer()
    assert np.std(net.weights[0]) == pytest.approx(1.0, rel=0.05)
    net.default_weight_initializer()
    assert np.std(net.weights[0]) == pytest.approx(1 / np.sqrt(400), rel=0.05)


def test_bad_book_data_is_refused():
    with pytest.raises(ValueError, match="training_data is empty"):
        nielsen.Network([6, 3]).SGD([], 1, 10, 1.0)
    with pytest.raises(ValueError, match="pairs of column vectors"):
        nielsen.Network([6, 3]).SGD([(np.zeros((6, 1)), "cat")], 1, 10, 1.0)


def test_nielsen_networks_are_xmlp_networks():
    net = nielsen.Network2([6, 3], backend="numpy", seed=0)
    assert isinstance(net.net, xmlp.Network) and net.net.init == "normalized"
    assert nielsen.Network([6, 3]).net.init == "large"


def test_book_data_is_the_books_format_and_reads_back():
    rng = np.random.default_rng(3)
    X, y = rng.random((5, 6)), rng.integers(0, 3, 5)
    train = nielsen.book_data(X, y, one_hot=True, n_classes=3)
    test = nielsen.book_data(X, y)
    assert train[0][0].shape == (6, 1) and train[0][1].shape == (3, 1)
    assert all(int(np.argmax(t)) == label for (_, t), label in zip(train, y))
    assert [label for _, label in test] == y.tolist()
    X_back, y_back = nielsen._rows(test, "test_data")
    np.testing.assert_array_equal(X_back, X)
    np.testing.assert_array_equal(y_back, y)


def test_network2_sgd_prints_network2_monitoring_lines(capsys):
    rng = np.random.default_rng(0)
    X, y = rng.random((30, 4)), rng.integers(0, 3, 30)
    net = nielsen.Network2([4, 5, 3], seed=0)
    ev_cost, ev_acc, tr_cost, tr_acc = net.SGD(
        nielsen.book_data(X, y), 2, 10, 0.5,
        evaluation_data=nielsen.book_data(X[:20], y[:20], one_hot=False),
        monitor_evaluation_accuracy=True, monitor_training_cost=True)
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == ["Epoch 0 training complete",
                         f"Cost on training data: {tr_cost[0]}",
                         f"Accuracy on evaluation data: {ev_acc[0]} / 20"]
    assert lines[3] == "Epoch 1 training complete" and len(lines) == 6

