"""Training end to end: learning on real digits, cross-backend agreement, the regularisers,
schedules and early stopping, purity and the history."""

from __future__ import annotations

import numpy as np
import pytest

import xmlp
from xmlp.backend import same_device


@pytest.fixture(scope="module")
def sample():
    return xmlp.datasets.load("mnist-sample", dtype="float64")


def test_learns_the_sample_to_88_percent(bk, sample):
    """The issue's acceptance run: [784, 30, 10] cross-entropy, 10 epochs, batch 10."""
    net = bk.network([784, 30, 10], cost="cross-entropy", seed=0)
    history = net.fit(*sample.train, epochs=10, batch_size=10, eta=0.5,
                      evaluation_data=sample.test)
    assert history.epochs == 10
    assert history.evaluation_accuracy[-1] >= 0.88
    assert net.accuracy(*sample.test) == pytest.approx(history.evaluation_accuracy[-1])


def _one_epoch(case, X, y, **kwargs):
    net = case.network([784, 20, 10], cost="cross-entropy", seed=5)
    net.fit(X, y, epochs=1, batch_size=10, eta=0.5, monitor=(), **kwargs)
    return net.parameters_numpy()


@pytest.mark.parametrize("extras", [{}, {"lmbda": 2.0, "momentum": 0.5, "dropout": 0.2}],
                         ids=["plain", "regularised"])
def test_one_epoch_matches_numpy_float64(other_bk, sample, extras):
    """Same seed, float64, one epoch: strict to 1e-12, everyone else to 1e-10."""
    import conftest

    X, y = sample.train.X[:1000], sample.train.y[:1000]
    reference = _one_epoch(conftest.BackendCase("numpy", None, "cpu"), X, y, **extras)
    got = _one_epoch(other_bk, X, y, **extras)
    tol = 1e-12 if other_bk.name == "array_api_strict" else 1e-10
    for g, r in zip(got[0] + got[1], reference[0] + reference[1]):
        np.testing.assert_allclose(g, r, rtol=0, atol=tol)


def test_same_seed_same_initial_weights_on_every_backend(bk):
    mine = bk.network([5, 4, 3], seed=42).parameters_numpy()
    ref = xmlp.Network([5, 4, 3], seed=42, dtype="float64").parameters_numpy()
    for a, b in zip(mine[0] + mine[1], ref[0] + ref[1]):
        np.testing.assert_array_equal(a, b)


def test_outputs_keep_namespace_device_dtype(bk):
    import array_api_compat

    for dtype in ("float32", "float64"):
        net = bk.network([6, 5, 3], dtype=dtype, seed=0)
        X = bk.asarray(np.random.default_rng(0).random((7, 6)), dtype)
        for out in (net.feedforward(X), net.weights[0], net.biases[1]):
            assert array_api_compat.array_namespace(out) is net.xp
            assert same_device(array_api_compat.device(out), bk.device)
            assert out.dtype == getattr(net.xp, dtype)
        assert tuple(net.feedforward(X).shape) == (7, 3)
        pred = net.predict(X)
        assert pred.dtype == net.xp.int64 and tuple(pred.shape) == (7,)
        assert same_device(array_api_compat.device(pred), bk.device)


def test_training_leaves_read_only_inputs_untouched(bk):
    rng = np.random.default_rng(3)
    X, y = rng.random((40, 6)), rng.integers(0, 3, 40)
    X_copy, y_copy = X.copy(), y.copy()
    X.flags.writeable = False
    y.flags.writeable = False
    net = bk.network([6, 5, 3], seed=0)
    net.fit(X, y, epochs=2, batch_size=7, eta=0.3, lmbda=0.1, momentum=0.3, dropout=0.3,
            validation=0.25)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)


def test_history_has_network2_lists_and_timings(sample):
    net = xmlp.Network([784, 10, 10], cost="cross-entropy", seed=0)
    X, y = sample.train.X[:500], sample.train.y[:500]
    h = net.fit(X, y, epochs=3, eta=0.5, lmbda=1.0, evaluation_data=sample.test)
    ec, ea, tc, ta = h  # network2's return order
    assert ec is h.evaluation_cost and ta is h.training_accuracy
    assert all(len(lst) == 3 for lst in (ec, ea, tc, ta, h.seconds, h.eta))
    assert all(0 <= a <= 1 for a in ea + ta)
    assert h.eta == [0.5, 0.5, 0.5] and all(s > 0 for s in h.seconds)
    assert tc[-1] == pytest.approx(net.total_cost(X, y, lmbda=1.0), rel=1e-5)
    assert ea[-1] == pytest.approx(net.accuracy(*sample.test))


def test_verbose_prints_network_py_lines(capsys, sample):
    net = xmlp.Network([784, 10, 10], seed=0)
    net.fit(sample.train.X[:200], sample.train.y[:200], epochs=2, evaluation_data=sample.test,
            verbose=True)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["Epoch 0", "Epoch 1"]
    assert all(line.endswith(" / 1000") for line in lines)


def test_verbose_2_prints_network2_monitoring_lines(capsys, sample):
    net = xmlp.Network([784, 10, 10], cost="cross-entropy", seed=0)
    X, y = sample.train.X[:200], sample.train.y[:200]
    h = net.fit(X, y, epochs=1, eta=0.5, evaluation_data=sample.test, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "Epoch 0 training complete", "Cost on training data", "Accuracy on training data",
        "Cost on evaluation data", "Accuracy on evaluation data"]
    assert lines[1] == f"Cost on training data: {h.training_cost[0]}"
    assert lines[2] == f"Accuracy on training data: {round(h.training_accuracy[0] * 200)} / 200"
    correct = round(net.accuracy(*sample.test) * 1000)
    assert lines[4] == f"Accuracy on evaluation data: {correct} / 1000"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_history_holds_exact_fractions_and_python_floats(sample, dtype):
    net = xmlp.Network([784, 10, 10], cost="cross-entropy", seed=0, dtype=dtype)
    X, y = sample.train.X[:300], sample.train.y[:300]
    h = net.fit(X, y, epochs=2, eta=0.5, evaluation_data=sample.test)
    for acc, n in ((h.evaluation_accuracy, 1000), (h.training_accuracy, 300)):
        assert all(type(a) is float and a == round(a * n) / n for a in acc)
    assert h.evaluation_accuracy[-1] == net.accuracy(*sample.test)  # 0.887, not 0.8870000243
    assert all(type(c) is float for c in h.training_cost + h.evaluation_cost)


def test_momentum_changes_the_trajectory_and_still_learns(sample):
    X, y = sample.train
    kw = dict(epochs=3, batch_size=20, eta=0.1, evaluation_data=sample.test, monitor=None)
    plain = xmlp.Network([784, 30, 10], cost="cross-entropy", seed=1).fit(X, y, **kw)
    mom = xmlp.Network([784, 30, 10], cost="cross-entropy", seed=1).fit(X, y, momentum=0.9,
                                                                        **kw)
    nest = xmlp.Network([784, 30, 10], cost="cross-entropy", seed=1).fit(
        X, y, momentum=0.9, nesterov=True, **kw)
    assert mom.evaluation_accuracy[-1] > plain.evaluation_accuracy[-1]
    assert nest.evaluation_accuracy[-1] > plain.evaluation_accuracy[-1]
    assert mom.evaluation_accuracy != nest.evaluation_accuracy


def test_l2_shrinks_weights(sample):
    X, y = sample.train.X[:1000], sample.train.y[:1000]
    norms = []
    for lmbda in (0.0, 50.0):
        net = xmlp.Network([784, 30, 10], cost="cross-entropy", seed=2)
        net.fit(X, y, epochs=2, eta=0.5, lmbda=lmbda, monitor=())
        norms.append(sum(float(np.sum(w ** 2)) for w in net.parameters_numpy()[0]))
    assert norms[1] < 0.5 * norms[0]


def test_dropout_masks_are_applied_and_seeded(sample):
    X, y = sample.train.X[:300], sample.train.y[:300]
    runs = []
    for p in (0.0, 0.5, 0.5):
        net = xmlp.Network([784, 30, 10], cost="cross-entropy", seed=4, dtype="float64")
        net.fit(X, y, epochs=1, eta=0.5, dropout=p, monitor=())
        runs.append(net.parameters_numpy()[0][0])
    assert not np.allclose(runs[0], runs[1])
    np.testing.assert_array_equal(runs[1], runs[2])


def test_early_stopping_restores_best_weights():
    rng = np.random.default_rng(0)
    X, y = rng.random((60, 5)), rng.integers(0, 3, 60)  # noise: accuracy stalls quickly
    Xv, yv = rng.random((40, 5)), rng.integers(0, 3, 40)
    net = xmlp.Network([5, 8, 3], cost="cross-entropy", seed=0, dtype="float64")
    h = net.fit(X, y, epochs=200, batch_size=10, eta=2.0, evaluation_data=(Xv, yv),
                early_stopping=3)
    assert h.stop_reason == "early_stopping"
    assert h.epochs == h.best_epoch + 4
    assert net.accuracy(Xv, yv) == pytest.approx(max(h.evaluation_accuracy))


def test_schedule_halves_eta_and_stops_at_one_128th():
    rng = np.random.default_rng(1)
    X, y = rng.random((60, 5)), rng.integers(0, 3, 60)
    net = xmlp.Network([5, 8, 3], cost="cross-entropy", seed=0)
    h = net.fit(X, y, epochs=500, batch_size=10, eta=1.0, validation=0.3, schedule=2)
    assert h.stop_reason == "schedule"
    assert h.eta[0] == 1.0 and min(h.eta) == 1.0 / 64
    assert all(b in (a, a / 2) for a, b in zip(h.eta, h.eta[1:]))


@pytest.mark.parametrize("anneal", ["cosine", "linear"])
def test_anneal_sets_each_epochs_eta_without_evaluation_data(anneal):
    rng = np.random.default_rng(1)
    X, y = rng.random((60, 5)), rng.integers(0, 3, 60)
    net = xmlp.Network([5, 8, 3], cost="cross-entropy", seed=0)
    h = net.fit(X, y, epochs=4, batch_size=10, eta=0.8, anneal=anneal)
    want = {"cosine": [0.8, 0.8 * (1 + 2**-0.5) / 2, 0.4, 0.8 * (1 - 2**-0.5) / 2],
            "linear": [0.8, 0.6, 0.4, 0.2]}[anneal]
    assert h.eta == pytest.approx(want, rel=1e-15)
    assert h.stop_reason == "epochs" and h.epochs == 4


def test_anneal_and_augmentation_change_the_updates_and_resume_exactly(tmp_path):
    rng = np.random.default_rng(2)
    X, y = rng.random((80, 9)), rng.integers(0, 3, 80)  # 3x3 "images"
    kw = dict(epochs=3, batch_size=10, eta=0.5, momentum=0.5)
    more = dict(anneal="cosine", shift=1, flip=True)

    def trained(**extra):
        net = xmlp.Network([9, 8, 3], cost="cross-entropy", dtype="float64", seed=0)
        net.fit(X, y, **{**kw, **extra})
        return net

    plain, cosine, both = trained(), trained(anneal="cosine"), trained(**more)
    assert not np.array_equal(plain.parameters_numpy()[0][0], cosine.parameters_numpy()[0][0])
    assert not np.array_equal(both.parameters_numpy()[0][0], cosine.parameters_numpy()[0][0])
    ckpt = tmp_path / "anneal.ckpt"

    def ctrl_c_in_second_epoch(epoch, done, total):
        if (epoch, done) == (1, 2):
            raise KeyboardInterrupt

    with pytest.raises(xmlp.TrainingInterrupted):
        trained(**more, checkpoint=ckpt, progress=ctrl_c_in_second_epoch)
    resumed = trained(**more, resume=ckpt)
    for got, want in zip(sum(resumed.parameters_numpy(), []),
                         sum(both.parameters_numpy(), [])):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="anneal_epochs: 3 -> 5"):
        trained(**{**more, "epochs": 5}, resume=ckpt)
    with pytest.raises(ValueError, match="augment: .*'shift': 1.* -> None"):
        trained(anneal="cosine", resume=ckpt)


def test_anneal_is_checked():
    X, y = np.zeros((10, 5)), np.zeros(10, dtype=int)
    net = xmlp.Network([5, 4, 3], cost="cross-entropy", seed=0)
    with pytest.raises(ValueError, match="anneal must be one of .'cosine', 'linear'."):
        net.fit(X, y, epochs=1, anneal="step")
    with pytest.raises(ValueError, match="anneal and schedule both set eta"):
        net.fit(X, y, epochs=1, anneal="cosine", schedule=2, validation=0.5)


def test_divergence_raises_and_keeps_finite_weights(sample):
    net = xmlp.Network([784, 30, 10], cost="quadratic", output="identity", seed=0)
    X, y = sample.train.X[:500], np.eye(10)[sample.train.y[:500]]
    with pytest.raises(xmlp.TrainingDiverged, match="epoch 1 with eta=100"):
        net.fit(X, y, epochs=3, eta=100.0)
    assert all(np.isfinite(w).all() for w in net.parameters_numpy()[0])


def test_continued_training_is_not_called_diverged(sample):
    """docs/guide/training.md: a network trained to a low cost (SGD, then Adam) trains on at a
    larger eta; its cost rises to more than 10x its starting cost, but stays far below an
    untrained network's, which is no divergence (the guard compares with the larger)."""
    net = xmlp.Network([784, 30, 10], cost="cross-entropy", seed=0)
    net.fit(*sample.train, epochs=10, eta=0.5, lmbda=0.1)
    net.fit(*sample.train, epochs=10, optimizer="adam", eta=0.001)
    again = net.fit(*sample.train, epochs=2, eta=4.0)
    assert again.stop_reason == "epochs" and again.epochs == 2
    assert max(again.training_cost) > 10 * again.initial_training_cost  # the old limit
    # a real blow-up is still caught in its first epoch
    with pytest.raises(xmlp.TrainingDiverged, match="epoch 1 .*larger of the cost before"):
        net.fit(*sample.train, epochs=2, eta=1000.0)


def test_the_guard_compares_with_an_untrained_networks_cost(sample):
    from xmlp.epochs import uninformed_cost

    X, y = sample.train.X[:200], sample.train.y[:200]
    for cost, output, want in (("cross-entropy", "sigmoid", 10 * np.log(2)),
                               ("log-likelihood", "softmax", np.log(10)),
                               ("quadratic", "sigmoid", 0.5 * (9 * 0.25 + 0.25))):
        net = xmlp.Network([784, 10], cost=cost, output=output, dtype="float64")
        assert uninformed_cost(net, net.targets(y, 200)[1]) == pytest.approx(want, rel=1e-12)
        net.set_parameters([np.zeros((10, 784))], [np.zeros(10)])
        assert net.total_cost(X, y) == pytest.approx(want, rel=1e-12)


def test_the_data_is_placed_before_the_first_epochs_clock(bk, monkeypatch):
    """fit waits for the training set to be on the device (JAX places it asynchronously)
    and records that time apart from the epochs'."""
    import xmlp.train

    events = []
    real_wait = xmlp.train.wait
    monkeypatch.setattr(xmlp.train, "wait", lambda *t: (events.append("wait"), real_wait(*t)))
    rng = np.random.default_rng(4)
    X, y = rng.random((30, 6)), rng.integers(0, 3, 30)
    net = bk.network([6, 5, 3], seed=0)
    history = net.fit(X, y, epochs=2, batch_size=10, validation=6,
                      progress=lambda *a: events.append("step"))
    assert events[0] == "wait" and events.count("wait") == 1 and "step" in events
    assert history.transfer_seconds > 0 and isinstance(history.transfer_seconds, float)


def test_params_is_the_door_to_the_parameters(bk):
    import array_api_compat

    from xmlp.params import Params

    net = bk.network([6, 5, 3], seed=0, dtype="float64")
    p = net.params
    assert isinstance(p, Params) and p.shapes == [((6, 5), (5,)), ((5, 3), (3,))]
    assert all(array_api_compat.array_namespace(a) is net.xp for a in (*p.W, *p.b))
    doubled = p.map(lambda a: 2 * a)
    net.params = doubled
    assert net.params is doubled
    np.testing.assert_allclose(net.parameters_numpy()[0][0], 2 * bk.to_numpy(p.W[0]).T)
    with pytest.raises(ValueError, match="needs"):
        net.params = Params(p.W[:1], p.b[:1])
    with pytest.raises(TypeError, match="set_parameters"):
        net.params = (p.W, p.b)
    with pytest.raises(TypeError, match="float64"):
        net.params = p.map(lambda a: net.xp.astype(a, net.xp.float32))
