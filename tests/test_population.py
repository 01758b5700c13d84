"""Populations (xmlp.Population): every member equals its own Network.fit on every backend,
eager and compiled; per-member options, early stopping, schedules and divergence; the
ensemble; files, pickles and checkpoints; chunks of members; clear errors before training."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

import xmlp

SIZES = [16, 7, 5, 3]  # 16 inputs = 4x4 "images" for the shifts


def _data(n=100, seed=0, real=False):
    rng = np.random.default_rng(seed)
    X = rng.random((n, SIZES[0]))
    if real:
        return X, rng.normal(size=(n, SIZES[-1]))
    return X, rng.integers(0, SIZES[-1], n)


def _single(seed, options, k, X, y, backend="numpy", device=None, compile=None, **net):
    """Member k's own run: Network(seed).fit with the k-th of each per-member option."""
    mine = {key: (v[k] if isinstance(v, list) else v) for key, v in options.items()}
    kw = {} if compile is None else {"compile": compile}
    network = xmlp.Network(SIZES, seed=seed, dtype="float64", backend=backend, device=device,
                           **net)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            history = network.fit(X, y, **mine, **kw)
        message = None
    except xmlp.TrainingDiverged as exc:
        history, message = exc.history, str(exc)
    return network, history, message


def _relative(got, want) -> float:
    return max(float(np.max(np.abs(g - w))) / max(float(np.max(np.abs(w))), 1e-300)
               for g, w in zip(got[0] + got[1], want[0] + want[1]))


# ----------------------------------------------------------------- the acceptance run
def test_every_member_equals_its_single_run(bk, conformance):
    """float64, 100 steps (10 epochs of 10 batches), per-member eta / lmbda / momentum
    (0 included) with dropout: each member within 1e-12 of its own run, same backend."""
    X, y = _data(100)
    seeds = [0, 1, 2, 3]
    options = dict(epochs=10, batch_size=10, eta=[0.5, 0.2, 0.05, 1.0],
                   lmbda=[0.0, 2.0, 0.5, 1.0], momentum=[0.0, 0.6, 0.9, 0.0], dropout=0.2)
    pop = xmlp.Population(SIZES, seeds=seeds, cost="cross-entropy", dtype="float64",
                          backend=bk.name, device=bk.device)
    histories = pop.fit(X, y, **options, **bk.fit_kwargs)
    for k, seed in enumerate(seeds):
        net, want, _ = _single(seed, options, k, X, y, bk.name, bk.device, bk.compile,
                               cost="cross-entropy")
        got = pop[k]
        assert isinstance(got, xmlp.Network) and got.seed == seed
        conformance.check(bk, "float64", "population member vs its own fit",
                          np.concatenate([a.ravel() for a in sum(got.parameters_numpy(), [])]),
                          np.concatenate([a.ravel() for a in sum(net.parameters_numpy(), [])]),
                          1e-12)
        np.testing.assert_allclose(histories[k].training_cost, want.training_cost, rtol=1e-12)
        assert histories[k].training_accuracy == want.training_accuracy
        assert histories[k].eta == want.eta
        assert got.rng.bit_generator.state == net.rng.bit_generator.state


# ----------------------------------------------------------------- every option, per member
CASES = {
    "adam, shifts and flips": (
        dict(cost="log-likelihood", hidden="relu"), [0, 1, 2],
        dict(epochs=3, batch_size=10, optimizer="adam", eta=[0.01, 0.003, 0.02],
             lmbda=[0.5, 0.0, 1.0], shift=1, flip=True)),
    "one seed, a grid of eta (the book's 0.025, 0.25, 2.5)": (
        dict(cost="cross-entropy"), [5, 5, 5],
        dict(epochs=3, batch_size=8, eta=[0.025, 0.25, 2.5], dropout=0.1)),
    "validation split and early stopping per member": (
        dict(), [0, 1, 2, 3],
        dict(epochs=8, batch_size=8, eta=[2.0, 0.5, 4.0, 1.0], validation=0.25,
             early_stopping=[2, 1, 2, 3], momentum=0.3)),
    "Nielsen's schedule on evaluation data": (
        dict(cost="cross-entropy"), [3, 4],
        dict(epochs=6, batch_size=8, eta=[1.0, 8.0], schedule=1, evaluation=True)),
    "a member diverges, the other goes on": (
        dict(cost="quadratic", output="identity"), [0, 1],
        dict(epochs=3, batch_size=10, eta=[0.05, 100.0], real=True)),
    "cosine anneal, L1, Nesterov with momentum 0 in one member": (
        dict(hidden="tanh"), [7, 8],
        dict(epochs=4, batch_size=7, eta=0.3, anneal="cosine", l1=[0.0, 0.3],
             momentum=[0.0, 0.6], nesterov=True)),
}


@pytest.mark.parametrize("label", list(CASES))
def test_members_follow_their_own_options(bk, label):
    net_options, seeds, options = CASES[label]
    options = dict(options)
    evaluation = options.pop("evaluation", False)
    X, y = _data(120, real=options.pop("real", False))
    extra = {"evaluation_data": _data(30, seed=9)} if evaluation else {}
    pop = xmlp.Population(SIZES, seeds=seeds, dtype="float64", backend=bk.name,
                          device=bk.device, **net_options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        histories = pop.fit(X, y, **options, **extra, **bk.fit_kwargs)
    for k, seed in enumerate(seeds):
        net, want, message = _single(seed, {**options, **extra}, k, X, y, bk.name, bk.device,
                                     bk.compile, **net_options)
        got = histories[k]
        assert _relative(pop[k].parameters_numpy(), net.parameters_numpy()) <= 1e-12
        assert (got.stop_reason, got.best_epoch, got.epochs) == \
            (want.stop_reason, want.best_epoch, want.epochs)
        assert got.eta == want.eta and got.evaluation_accuracy == want.evaluation_accuracy
        np.testing.assert_allclose(got.training_cost, want.training_cost, rtol=1e-12)
        assert got.stop_message == message
        assert pop[k].rng.bit_generator.state == net.rng.bit_generator.state
    if "diverges" in label:
        assert [h.stop_reason for h in histories] == ["epochs", "diverged"]
        assert "training diverged in epoch 1" in histories[1].stop_message
    if "early stopping" in label:
        assert {h.stop_reason for h in histories} == {"early_stopping"}
        assert len({h.epochs for h in histories}) > 1  # they stopped at different epochs


def test_chunks_of_members_equal_one_program():
    X, y = _data(60)
    options = dict(epochs=2, batch_size=10, eta=[0.5, 1.0, 2.0, 3.0, 0.1])
    whole = xmlp.Population(SIZES, seeds=range(5), dtype="float64")
    chunked = xmlp.Population(SIZES, seeds=range(5), dtype="float64")
    a = whole.fit(X, y, **options)
    b = chunked.fit(X, y, max_members=2, **options)
    assert [h.training_cost for h in a] == [h.training_cost for h in b]
    for k in range(5):
        assert _relative(whole[k].parameters_numpy(), chunked[k].parameters_numpy()) == 0


# ----------------------------------------------------------------- the ensemble
def test_the_ensemble_averages_and_votes():
    X, y = _data(80)
    pop = xmlp.Population(SIZES, seeds=[0, 1, 2], cost="cross-entropy", dtype="float64")
    pop.fit(X, y, epochs=3, eta=1.0)
    members = [pop[k].feedforward(X) for k in range(3)]
    np.testing.assert_allclose(pop.feedforward(X), np.mean(members, axis=0), rtol=1e-13)
    np.testing.assert_array_equal(pop.predict(X), np.argmax(np.mean(members, axis=0), axis=1))
    votes = np.stack([np.argmax(m, axis=1) for m in members])
    want = np.array([np.bincount(v, minlength=3).argmax() for v in votes.T])
    np.testing.assert_array_equal(pop.predict(X, vote=True), want)
    assert pop.member_accuracy(X, y) == [pop[k].accuracy(X, y) for k in range(3)]
    assert pop.accuracy(X, y) == float(np.mean(pop.predict(X) == y))


# ----------------------------------------------------------------- files and pickles
@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_save_load_and_pickle(tmp_path, suffix):
    X, y = _data(40)
    pop = xmlp.Population(SIZES, seeds=[3, 4], hidden="tanh", cost="cross-entropy")
    pop.fit(X, y, epochs=1, eta=0.5)
    pop.save(tmp_path / "pop", suffix=suffix)
    back = xmlp.load_population(tmp_path / "pop")
    assert back.seeds == [3, 4] and len(back) == 2
    np.testing.assert_array_equal(back.feedforward(X), pop.feedforward(X))
    one = xmlp.load(tmp_path / "pop" / f"member-1{suffix}")  # each member is a network file
    np.testing.assert_array_equal(one.feedforward(X), pop[1].feedforward(X))
    again = pickle.loads(pickle.dumps(pop))
    np.testing.assert_array_equal(again.feedforward(X), pop.feedforward(X))
    assert again[0].rng.bit_generator.state == pop[0].rng.bit_generator.state
    with pytest.raises(FileNotFoundError, match="not a saved population"):
        xmlp.load_population(tmp_path)


def test_checkpoints_resume_to_the_same_members(tmp_path):
    X, y = _data(60)
    options = dict(batch_size=10, eta=[0.5, 0.1], momentum=[0.5, 0.0], dropout=0.1)
    straight = xmlp.Population(SIZES, seeds=[0, 1], dtype="float64")
    straight.fit(X, y, epochs=4, **options)
    first = xmlp.Population(SIZES, seeds=[0, 1], dtype="float64")
    first.fit(X, y, epochs=2, checkpoint=tmp_path / "ckpt", **options)
    resumed = xmlp.Population(SIZES, seeds=[0, 1], dtype="float64")
    histories = resumed.fit(X, y, epochs=4, resume=tmp_path / "ckpt", **options)
    assert [h.epochs for h in histories] == [4, 4]
    for k in range(2):
        assert _relative(resumed[k].parameters_numpy(), straight[k].parameters_numpy()) == 0
    # a member's checkpoint is its own run's: a single network resumes from it
    net = xmlp.Network(SIZES, seed=1, dtype="float64")
    net.fit(X, y, epochs=4, resume=tmp_path / "ckpt" / "member-1.ckpt", batch_size=10,
            eta=0.1, dropout=0.1)
    assert _relative(net.parameters_numpy(), straight[1].parameters_numpy()) == 0


# ----------------------------------------------------------------- refused before training
BAD = [
    ("no member", lambda: xmlp.Population(SIZES, seeds=[]), ValueError, "at least one member"),
    ("seeds not a list", lambda: xmlp.Population(SIZES, seeds=3), TypeError, "sequence"),
    ("negative seed", lambda: xmlp.Population(SIZES, seeds=[0, -1]), ValueError, "seed"),
    ("wrong length", dict(eta=[0.1, 0.2, 0.3]), ValueError, "eta has 3 values .* 2 members"),
    ("batch size cannot vary", dict(batch_size=[10, 20]), ValueError,
     "batch_size cannot vary"),
    ("epochs cannot vary", dict(epochs=[1, 2]), ValueError, "epochs cannot vary"),
    ("optimizer cannot vary", dict(optimizer=["sgd", "adam"]), ValueError,
     "optimizer cannot vary"),
    ("a member's bad value", dict(eta=[0.1, -1.0]), ValueError, "eta must be > 0"),
    ("unknown option", dict(etta=0.1), TypeError, "etta"),
]


@pytest.mark.parametrize("label,call,exc,message", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_refused_before_training(label, call, exc, message):
    X, y = _data(20)
    if callable(call):
        with pytest.raises(exc, match=message):
            call()
        return
    pop = xmlp.Population(SIZES, seeds=[0, 1])
    before = pop.params
    with pytest.raises(exc, match=message):
        pop.fit(X, y, **{"epochs": 1, **call})
    assert pop.params is before
