"""The mini-batch engine (xmlp.engine): compiled epochs take the eager loop's steps.

Compiled (JAX, jax.jit + lax.scan) against eager NumPy float64 on tiny networks, for every
option the eager loop has; the compile choice and its errors; eta changing without a new
compilation; no host transfer inside an epoch; progress and Ctrl-C; checkpoints."""

from __future__ import annotations

import numpy as np
import pytest

import xmlp
from xmlp import compiled, engine, optim
from xmlp.history import TrainingInterrupted
from xmlp.regulariser import Regulariser

SIZES = [16, 7, 5, 3]  # 16 inputs = 4x4 "images" for shifts and flips
N = 53  # batch 10: five full batches and a short one of 3


@pytest.fixture()
def jax_case():
    import conftest

    return conftest._case("jax", "cpu-compiled")


def _data(n=N, seed=0, targets="labels"):
    rng = np.random.default_rng(seed)
    X = rng.random((n, SIZES[0]))
    if targets == "labels":
        return X, rng.integers(0, SIZES[-1], n)
    if targets == "counts":
        return X, rng.poisson(1.5, (n, SIZES[-1])).astype(float)
    return X, rng.normal(size=(n, SIZES[-1]))


def _close(got, want, tol):
    for g, w in zip(sum(got, []), sum(want, [])):
        scale = max(float(np.max(np.abs(w))), 1e-300)
        assert float(np.max(np.abs(g - w))) / scale <= tol


# ----------------------------------------------------------------- the choice
def test_compile_choice_and_its_errors():
    assert engine.resolve_compile(None, "jax") is True
    assert engine.resolve_compile(None, "numpy") is False
    assert engine.resolve_compile(False, "jax") is False
    with pytest.raises(ValueError, match="jax"):
        engine.resolve_compile(True, "torch")
    with pytest.raises(TypeError, match="compile"):
        engine.resolve_compile("yes", "jax")
    net = xmlp.Network([4, 3, 2], seed=0)
    before = net.parameters_numpy()
    with pytest.raises(ValueError, match="compile=True needs a backend that compiles"):
        net.fit(*_data(10, targets="labels")[:1], np.zeros(10, int), compile=True)
    _close(net.parameters_numpy(), before, 0.0)  # refused before any step


# ----------------------------------------------------------------- same numbers
CASES = {
    "sigmoid quadratic sgd": dict(net=dict(hidden="sigmoid", cost="quadratic", init="large"),
                                  fit=dict(eta=3.0)),
    "tanh cross-entropy, L2 L1 nesterov dropout": dict(
        net=dict(hidden="tanh", cost="cross-entropy"),
        fit=dict(eta=0.5, lmbda=2.0, l1=0.3, momentum=0.6, nesterov=True, dropout=0.3)),
    "relu softmax adam, L2 dropout shifts flips": dict(
        net=dict(hidden="relu", cost="log-likelihood"),
        fit=dict(optimizer="adam", eta=0.01, lmbda=1.0, dropout=0.2, shift=1, flip=True)),
    "identity output, momentum and L1": dict(
        net=dict(hidden="sigmoid", cost="quadratic", output="identity"),
        fit=dict(eta=0.05, momentum=0.5, l1=0.5), targets="real"),
    "poisson, scikit-learn's adam": dict(
        net=dict(hidden="tanh", cost="poisson"),
        fit=dict(optimizer=optim.Adam(0.8, 0.99, 1e-6, form="efficient"), eta=0.01,
                 lmbda=0.5), targets="counts"),
}


@pytest.mark.parametrize("label", list(CASES))
def test_compiled_epochs_equal_eager_numpy(jax_case, label):
    """Two epochs of batch 10 on 53 rows (full batches scanned, the short one apart)."""
    case = CASES[label]
    X, y = _data(targets=case.get("targets", "labels"))
    kw = dict(epochs=2, batch_size=10, **case["fit"])
    ref = xmlp.Network(SIZES, dtype="float64", seed=3, **case["net"])
    net = xmlp.Network(SIZES, dtype="float64", seed=3, backend="jax", **case["net"])
    want = ref.fit(X, y, **kw)
    got = net.fit(X, y, compile=True, **kw)
    _close(net.parameters_numpy(), ref.parameters_numpy(), 1e-12)
    np.testing.assert_allclose(got.training_cost, want.training_cost, rtol=1e-12)
    assert got.training_accuracy == want.training_accuracy
    assert got.compile_seconds >= 0 and want.compile_seconds == 0


def test_validation_early_stopping_and_schedule_compiled(jax_case):
    X, y = _data(120, seed=1)
    kw = dict(epochs=6, batch_size=8, eta=2.0, validation=0.25, early_stopping=2,
              momentum=0.3)
    ref = xmlp.Network(SIZES, dtype="float64", seed=4)
    net = xmlp.Network(SIZES, dtype="float64", seed=4, backend="jax")
    want, got = ref.fit(X, y, **kw), net.fit(X, y, compile=True, **kw)
    assert (got.epochs, got.best_epoch, got.stop_reason) == \
        (want.epochs, want.best_epoch, want.stop_reason)
    assert got.evaluation_accuracy == want.evaluation_accuracy
    np.testing.assert_allclose(got.evaluation_cost, want.evaluation_cost, rtol=1e-12)
    _close(net.parameters_numpy(), ref.parameters_numpy(), 1e-12)
    kw = dict(epochs=5, batch_size=8, eta=4.0, validation=30, schedule=1)
    want = xmlp.Network(SIZES, dtype="float64", seed=5).fit(X, y, **kw)
    got = xmlp.Network(SIZES, dtype="float64", seed=5, backend="jax").fit(X, y, **kw)
    assert got.eta == want.eta and len(set(got.eta)) > 1  # the schedule did halve eta


# ----------------------------------------------------------------- compiled once
def test_eta_and_hyper_parameters_change_without_recompiling(jax_case):
    X, y = _data(40, seed=2)
    net = xmlp.Network(SIZES, seed=0, backend="jax", dtype="float64")
    first = net.fit(X, y, epochs=1, batch_size=10, eta=0.5, momentum=0.5, lmbda=1.0,
                    compile=True)
    programs = len(compiled._PROGRAMS)
    # cosine annealing: a new eta every epoch; other values of momentum and lmbda
    other = xmlp.Network(SIZES, seed=1, backend="jax", dtype="float64")
    again = other.fit(X, y, epochs=3, batch_size=10, eta=0.9, momentum=0.8, lmbda=3.0,
                      anneal="cosine", compile=True)
    assert len(compiled._PROGRAMS) == programs, "a new eta / momentum / lmbda recompiled"
    assert again.compile_seconds == 0.0 and len(set(again.eta)) == 3
    assert first.compile_seconds >= 0.0
    # a new batch size is a new shape: compiled once more
    other.fit(X, y, epochs=1, batch_size=4, eta=0.5, momentum=0.5, lmbda=1.0, compile=True)
    assert len(compiled._PROGRAMS) > programs


# ----------------------------------------------------------------- a member axis
def test_the_step_maps_over_a_member_axis(jax_case):
    """The one step under jax.vmap over two members -- their own parameters, momentum
    velocities and host numbers (eta, L2 / L1 factors, backprop's scale, mu), the same
    mini-batch -- gives each member's single step, to 1e-12."""
    import jax
    import jax.numpy as jnp

    from xmlp import step as steps

    X, y = _data(10, seed=6)
    nets = [xmlp.Network(SIZES, dtype="float64", seed=seed, backend="jax",
                         cost="cross-entropy") for seed in (0, 1)]
    net = nets[0]
    rng = np.random.default_rng(7)
    masks = [jnp.asarray((rng.random((10, w)) >= 0.3) / 0.7) for w in SIZES[1:-1]]
    batch = steps.Batch(net.features(X), net.targets(y, 10)[1], None, masks)
    spec = steps.Spec(net.hidden, net.output, net.cost, optim.Momentum())
    members = [(optim.Momentum(0.5), Regulariser(1.0, 0.1), 0.4, 53),
               (optim.Momentum(0.9), Regulariser(3.0, 0.02), 0.05, 40)]
    numbers = [steps.numbers(rule, reg, eta, 1, 10.0, n, 10, loss_scale=1.0)
               for rule, reg, eta, n in members]
    # velocities that are not zero: one step of each member first, eagerly
    states = []
    for member, nums in zip(nets, numbers):
        state = spec.rule.init(member.params, jnp)
        states.append(steps.step(spec, member.params, state, batch, nums, jnp)[1])

    def stack(*trees):
        return jax.tree_util.tree_map(lambda *a: jnp.stack([jnp.asarray(v, jnp.float64)
                                                            for v in a]), *trees)

    mapped = jax.vmap(lambda p, s, nums: steps.step(spec, p, s, batch, nums, jnp))
    params, state, loss = mapped(stack(*(m.params for m in nets)), stack(*states),
                                 stack(*numbers))
    for k, member in enumerate(nets):
        want = steps.step(spec, member.params, states[k], batch, numbers[k], jnp)
        got = jax.tree_util.tree_map(lambda a, k=k: a[k], (params, state, loss))
        for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
            g, w = np.asarray(g), np.asarray(w)
            assert np.max(np.abs(g - w)) <= 1e-12 * max(np.max(np.abs(w)), 1e-300)
    assert not np.allclose(np.asarray(params.W[0][0]), np.asarray(params.W[0][1]))


# ----------------------------------------------------------------- no host transfer
def test_no_host_transfer_inside_a_compiled_epoch(jax_case):
    import jax

    X, y = _data(64, seed=3)
    for loss_scale, weights in ((None, None), (1.0, np.linspace(0.0, 2.0, 64))):
        _epochs_under_the_guard(jax, X, y, loss_scale, weights)


def _epochs_under_the_guard(jax, X, y, loss_scale, weights):
    net = xmlp.Network(SIZES, seed=0, backend="jax", dtype="float64")
    Xd, Yd = net.features(X), net.targets(y, 64)[1]
    calls = []
    eng = engine.Engine(net, optim.Adam(), 10,
                        regulariser=Regulariser(1.0, 0.1, per_batch=weights is not None),
                        augment=xmlp.augment.make(1, True, None, 16), loss_scale=loss_scale,
                        compiled=True, progress=lambda *a: calls.append(a))
    data = eng.data(Xd, Yd, weights)
    rng = np.random.default_rng(0)

    def draws():
        return (rng.permutation(64), [(rng.random((64, w)) >= 0.2) / 0.8
                                      for w in SIZES[1:-1]], eng.spec.augment.draw(rng, 64))

    order, masks, codes = draws()
    eng.epoch(data, order, 0.01, masks, codes)  # compiles (outside the guard)
    with jax.transfer_guard("disallow"):
        order, masks, codes = draws()
        out = eng.epoch(data, order, 0.005, masks, codes, index=1)
        with pytest.raises(Exception, match="[Dd]isallowed"):  # the guard is on
            jax.numpy.asarray(np.ones(2)) + 1
    assert calls[-1] == (1, 7, 7)
    assert (out is None) == (loss_scale is None)


# ----------------------------------------------------------------- progress, Ctrl-C
def test_progress_moves_and_ctrl_c_keeps_the_last_whole_call(jax_case):
    X, y = _data(400, seed=4)
    kw = dict(epochs=1, batch_size=4, eta=0.5, momentum=0.5, monitor=())
    seen = []
    net = xmlp.Network(SIZES, seed=0, backend="jax", dtype="float64")
    net.fit(X, y, compile=True, progress=lambda e, done, total: seen.append((done, total)),
            **kw)
    assert 1 < len(seen) <= compiled.PROGRESS_CALLS + 1
    assert [d for d, _ in seen] == sorted({d for d, _ in seen}) and seen[-1] == (100, 100)
    stop_at = seen[len(seen) // 2][0]

    def interrupt(epoch, done, total):
        if done >= stop_at:
            raise KeyboardInterrupt

    results = []
    for backend, compile in (("jax", True), ("numpy", False)):
        net = xmlp.Network(SIZES, seed=0, backend=backend, dtype="float64")
        with pytest.raises(TrainingInterrupted) as info:
            net.fit(X, y, compile=compile, progress=interrupt, **kw)
        assert info.value.history.stop_reason == "interrupted"
        results.append(net.parameters_numpy())
    _close(*results, 1e-12)  # compiled stopped after the same whole step as eager


# ----------------------------------------------------------------- checkpoints
def test_compiled_checkpoint_resumes_to_the_same_weights(jax_case, tmp_path):
    X, y = _data(60, seed=5)
    kw = dict(batch_size=10, eta=0.01, optimizer="adam", dropout=0.2, lmbda=1.0)
    whole = xmlp.Network(SIZES, seed=2, backend="jax", dtype="float64")
    whole.fit(X, y, epochs=3, compile=True, **kw)
    part = xmlp.Network(SIZES, seed=2, backend="jax", dtype="float64")
    path = tmp_path / "run.ckpt"
    part.fit(X, y, epochs=1, compile=True, checkpoint=path, **kw)
    resumed = xmlp.Network(SIZES, seed=2, backend="jax", dtype="float64")
    resumed.fit(X, y, epochs=3, compile=True, resume=path, **kw)
    _close(resumed.parameters_numpy(), whole.parameters_numpy(), 0.0)
    eager = xmlp.Network(SIZES, seed=2, dtype="float64")  # a compiled checkpoint, eagerly
    eager.fit(X, y, epochs=3, resume=path, **kw)
    _close(eager.parameters_numpy(), whole.parameters_numpy(), 1e-12)


# ----------------------------------------------------------------- the run
def test_chapter_one_run_on_fashion_mnist_compiled_equals_numpy(jax_case):
    """network.py's chapter-1 settings with momentum and dropout, one epoch (100 steps) on
    Fashion-MNIST's first 1 000 images: compiled weights within 1e-10 of NumPy float64's
    (measured 3.7e-14; longer runs of these chaotic settings drift apart on any backend)."""
    try:
        data = xmlp.datasets.load("fashion-mnist", download=False, dtype="float64")
    except xmlp.datasets.DatasetNotFound:
        pytest.skip("Fashion-MNIST is not on disk (apt-get install dataset-fashion-mnist)")
    X, y = data.train.X[:1000], data.train.y[:1000]
    kw = dict(epochs=1, batch_size=10, eta=3.0, momentum=0.5, dropout=0.1)
    nets = [xmlp.Network([784, 30, 10], cost="quadratic", init="large", backend=backend,
                         dtype="float64", seed=0) for backend in ("numpy", "jax")]
    nets[0].fit(X, y, **kw)
    nets[1].fit(X, y, compile=True, **kw)
    ref, got = nets[0].parameters_numpy()[0], nets[1].parameters_numpy()[0]
    worst = max(float(np.max(np.abs(g - r))) for g, r in zip(got, ref))
    assert worst / max(float(np.max(np.abs(r))) for r in ref) <= 1e-10
