"""Chapter 5's speed of learning: ``Network.learning_speed`` and the ``learning_speed``
monitor of ``fit`` against the book's per-example loop (tests/reference.py), on every
backend, eager and compiled; what the monitor records, on which rows, and when."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import reference

import xmlp
from xmlp.history import PROBE_ROWS

SIZES = [12, 9, 8, 7, 4]
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


def _data(n=40, seed=0, sizes=SIZES):
    rng = np.random.default_rng(seed)
    return rng.random((n, sizes[0])), rng.integers(0, sizes[-1], n)


def book_speeds(weights, biases, X, y, cost, n_classes):
    """generate_gradient.py's numbers: network2's per-example ``backprop`` bias gradients
    averaged over the rows, and the length of each layer's average (every layer here)."""
    total = [np.zeros(b.shape) for b in biases]
    for x, label in zip(X, y):
        nabla_b, _ = reference.backprop(weights, biases, x[:, None],
                                        reference.one_hot_column(label, n_classes), cost)
        total = [t + g for t, g in zip(total, nabla_b)]
    return np.array([np.linalg.norm(t / len(X)) for t in total])


@pytest.mark.parametrize("cost", ["cross-entropy", "quadratic"])
def test_the_monitor_equals_the_book_s_loop(bk, conformance, cost):
    """Network.learning_speed and every epoch of History.learning_speed (eager, or compiled
    with the other monitors on JAX) are the book's averaged per-example gradients, 1e-10."""
    X, y = _data()
    probe = (X[:25], y[:25])
    net = bk.network(SIZES, cost=cost, seed=3)
    speed = net.learning_speed(bk.asarray(probe[0]), probe[1])
    assert xmlp.backend.resolve(bk.name).xp is net.xp
    assert speed.shape == (len(SIZES) - 1,) and speed.dtype == net.dtype
    assert xmlp.backend.same_device(speed.device, bk.device)
    want = [book_speeds(*net.parameters_numpy(), *probe, cost, SIZES[-1])]
    conformance.check(bk, "float64", f"learning speed ({cost}) vs the book's loop",
                      bk.to_numpy(speed), want[0], 1e-10)

    def before_next(epoch, history):  # the speeds the next epoch starts from
        want.append(book_speeds(*net.parameters_numpy(), *probe, cost, SIZES[-1]))

    history = net.fit(X, y, epochs=3, batch_size=10, eta=0.5, lmbda=1.0,
                      monitor=["training_cost", "learning_speed"], probe=probe,
                      callback=before_next)
    got = np.array(history.learning_speed).T  # (epochs, layers)
    assert got.shape == (3, len(SIZES) - 1)
    conformance.check(bk, "float64", f"learning speed per epoch ({cost}) vs the book's loop",
                      got, np.array(want[:3]), 1e-10)


def test_recorded_before_each_epoch_on_the_first_1000_rows():
    data = xmlp.datasets.load("mnist-sample", dtype="float64")
    X, y = data.train
    net = xmlp.Network([784, 30, 30, 10], cost="cross-entropy", seed=0, dtype="float64")
    first = xmlp.to_numpy(net.learning_speed(X[:PROBE_ROWS], y[:PROBE_ROWS]))
    seen = []
    history = net.fit(X[:1500], y[:1500], epochs=2, batch_size=100, eta=0.1, dropout=0.5,
                      monitor=["learning_speed"],
                      callback=lambda e, h: seen.append(
                          xmlp.to_numpy(net.learning_speed(X[:PROBE_ROWS], y[:PROBE_ROWS]))))
    assert PROBE_ROWS == 1000 and len(history.learning_speed) == 3
    assert all(len(layer) == 2 for layer in history.learning_speed)
    np.testing.assert_allclose(np.array(history.learning_speed).T, [first, seen[0]],
                               rtol=1e-12)  # no dropout on the probe, before each epoch
    assert history.training_cost == []  # only what was asked for
    assert net.fit(X[:100], y[:100], epochs=1, batch_size=50).learning_speed == []  # off by default
    before = xmlp.to_numpy(net.learning_speed(X[:30], y[:30]))  # fewer rows than 1000
    small = net.fit(X[:30], y[:30], epochs=1, batch_size=10, monitor=["learning_speed"])
    np.testing.assert_allclose([s[0] for s in small.learning_speed], before, rtol=1e-12)


def test_probe_errors_and_progress_lines(capsys):
    X, y = _data(30)
    net = xmlp.Network(SIZES, cost="cross-entropy", seed=0)
    with pytest.raises(ValueError, match="add 'learning_speed' to monitor"):
        net.fit(X, y, epochs=1, probe=(X, y))
    with pytest.raises(TypeError, match="probe must be a pair"):
        net.fit(X, y, epochs=1, monitor=["learning_speed"], probe=X)
    with pytest.raises(ValueError, match="probe X"):
        net.fit(X, y, epochs=1, monitor=["learning_speed"], probe=(X[:, :3], y))
    with pytest.raises(ValueError, match="unknown monitor 'speed'"):
        net.fit(X, y, epochs=1, monitor=["speed"])
    net.fit(X, y, epochs=1, monitor=["training_cost", "learning_speed"], verbose=2)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Epoch 0 training complete" and out[1].startswith("Cost on training")
    label, _, speeds = out[2].partition(": ")
    assert label == "Speed of learning before this epoch (hidden layers, output layer)"
    assert len(speeds.split(", ")) == len(SIZES) - 1


def test_a_resumed_fit_records_the_same_speeds(tmp_path):
    X, y = _data(60, seed=2)
    kw = dict(batch_size=10, eta=0.5, monitor=["learning_speed"], probe=(X[:20], y[:20]))
    whole = xmlp.Network(SIZES, cost="cross-entropy", seed=1, dtype="float64")
    want = whole.fit(X, y, epochs=4, **kw).learning_speed
    part = xmlp.Network(SIZES, cost="cross-entropy", seed=1, dtype="float64")
    part.fit(X, y, epochs=2, checkpoint=tmp_path / "c.npz", **kw)
    again = xmlp.Network(SIZES, cost="cross-entropy", seed=1, dtype="float64")
    got = again.fit(X, y, epochs=4, resume=tmp_path / "c.npz", **kw).learning_speed
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_the_compiled_monitor_moves_nothing_inside(monkeypatch):
    """With a probe, the end-of-epoch numbers are still one program and one transfer."""
    jax = pytest.importorskip("jax")
    from xmlp import epochs as epochs_module
    from xmlp.engine import Engine
    from xmlp.optim import make

    X, y = _data(50)
    fetched = []
    real = epochs_module.to_numpy
    monkeypatch.setattr(epochs_module, "to_numpy", lambda a: fetched.append(a) or real(a))
    net = xmlp.Network(SIZES, cost="cross-entropy", seed=0, backend="jax", dtype="float64")
    after = []
    history = net.fit(X, y, epochs=3, batch_size=10, eta=0.5, compile=True,
                      monitor=["training_cost", "learning_speed"],
                      callback=lambda e, h: after.append(len(fetched)))
    assert np.diff(after).tolist() == [1, 1]  # one transfer per epoch
    assert fetched[-1].shape == (1 + 2 + len(SIZES) - 1,)  # |W|^2, cost, correct, speeds
    assert len(history.learning_speed[0]) == 3
    engine = Engine(net, make("sgd"), 10, compiled=True)
    Xd, Yd = net.features(X), net.targets(y, len(y))[1]
    engine.measure(net.params, [], probe=(Xd, Yd))  # compiles (outside the guard)
    with jax.transfer_guard("disallow"):
        out = engine.measure(net.params, [], probe=(Xd, Yd))
    np.testing.assert_allclose(xmlp.to_numpy(out)[1:],
                               xmlp.to_numpy(net.learning_speed(X, y)), rtol=1e-12)


def _first_rows_speeds(X, y, sizes, seeds=range(10)):
    """(seeds, layers) speeds at initialisation, network2's defaults, float64."""
    return np.array([xmlp.to_numpy(xmlp.Network(sizes, cost="cross-entropy", seed=s,
                                                dtype="float64").learning_speed(X, y))
                     for s in seeds])


@pytest.mark.parametrize("dataset", ["mnist-sample", "fashion-mnist"])
def test_the_first_of_four_hidden_layers_learns_30x_slower(dataset):
    """Chapter 5: the first hidden layer of [784, 30, 30, 30, 30, 10] learns at least 30
    times slower than the last at initialisation (the book: 0.003 vs 0.285), averaged over
    seeds 0-9 on the first 1000 training rows."""
    if dataset == "fashion-mnist" and not DEBIAN_FASHION.is_dir():
        pytest.skip("apt-get install dataset-fashion-mnist")
    X, y = xmlp.datasets.load(dataset, dtype="float64", download=False).train
    mean = _first_rows_speeds(X[:1000], y[:1000], [784, 30, 30, 30, 30, 10]).mean(axis=0)
    hidden = mean[:-1]
    assert np.all(np.diff(hidden) > 0)  # each hidden layer slower than the next
    assert hidden[-1] / hidden[0] >= 30


def test_the_speeds_before_a_diverging_epoch_are_kept():
    """An exploding network: the speeds it started the diverging epoch with are recorded,
    one per epoch as ``seconds`` are."""
    X, y = _data(40)
    net = xmlp.Network(SIZES, hidden="relu", init="large", cost="cross-entropy", seed=0,
                       dtype="float64")
    want = xmlp.to_numpy(net.learning_speed(X, y))
    history = net.fit(X, y, epochs=5, batch_size=40, eta=50.0, on_divergence="stop",
                      monitor=["training_cost", "learning_speed"])
    assert history.stop_reason == "diverged"
    assert [len(layer) for layer in history.learning_speed] == [history.epochs] * 4
    np.testing.assert_allclose([layer[0] for layer in history.learning_speed], want,
                               rtol=1e-12)
