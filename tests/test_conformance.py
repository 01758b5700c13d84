"""The cross-backend contract (docs/conformance.md): every quantity, on every backend and
dtype, against the NumPy float64 reference, through ``conformance.check`` so that the
deviations land in the report written by ``nox -s conformance``."""

from __future__ import annotations

import numpy as np
import pytest

import xmlp
from xmlp import activations, costs
from xmlp.network import backprop

DTYPES = ["float64", "float32"]

#: Per-operation tolerances (max-norm relative deviation) by dtype; docs/conformance.md
#: explains each.  Whole-run quantities use ``run_tolerance``.
TOL = {
    "float64": {"activation": 1e-14, "activation vjp": 1e-14, "cost": 1e-13,
                "output error": 1e-13, "gradients": 1e-12, "sgd step": 1e-12, "adam step": 1e-12},
    "float32": {"activation": 1e-6, "activation vjp": 1e-6, "cost": 1e-5,
                "output error": 1e-5, "gradients": 1e-4, "sgd step": 1e-5, "adam step": 1e-5},
}


def run_tolerance(case, dtype: str, epochs: int) -> float:
    """Tolerance for weights after whole epochs, against the NumPy float64 run."""
    if dtype == "float32":
        return 1e-3 if epochs == 1 else 1e-2
    if case.name in ("numpy", "array_api_strict"):
        return 1e-12  # the same arithmetic underneath: expected bit-identical
    if "cuda" in str(case.device).lower() or "gpu" in str(case.device).lower() \
            or case.name == "cupy":
        return 1e-9  # GPU BLAS and reductions sum in a different order
    if case.name == "jax":
        return 1e-12  # XLA on CPU: 1.3e-14 after 3 epochs as measured
    return 1e-10  # torch CPU: its own kernels and reduction order


def _z(seed=0, shape=(16, 10)):
    """Pre-activations including saturated values (|z| up to 80)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=3.0, size=shape)
    z[0, :] = np.linspace(-80, 80, shape[1])
    return z


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(activations.ACTIVATIONS))
def test_activation_and_vjp(bk, conformance, name, dtype):
    act = activations.ACTIVATIONS[name]
    z, g = _z(1), _z(2)
    ref_a = act.f(z)
    ref_v = act.vjp(z, ref_a, g)
    zz, gg = bk.asarray(z, dtype), bk.asarray(g, dtype)
    a = act.f(zz)
    v = act.vjp(zz, a, gg)
    assert a.dtype == zz.dtype and v.dtype == zz.dtype
    conformance.check(bk, dtype, "activation", bk.to_numpy(a), ref_a, TOL[dtype]["activation"])
    conformance.check(bk, dtype, "activation vjp", bk.to_numpy(v), ref_v,
                      TOL[dtype]["activation vjp"])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cost_name", list(costs.COSTS))
def test_cost_and_output_error(bk, conformance, cost_name, dtype):
    cost = costs.COSTS[cost_name]
    z = _z(3)
    y = np.eye(10)[np.random.default_rng(4).integers(0, 10, 16)]
    for out in cost.outputs:
        act = activations.ACTIVATIONS[out]
        ref_c = cost.fn(z, act.f(z), y)
        ref_d = cost.delta(z, act.f(z), y, act)
        zz, yy = bk.asarray(z, dtype), bk.asarray(y, dtype)
        aa = act.f(zz)
        c, d = cost.fn(zz, aa, yy), cost.delta(zz, aa, yy, act)
        assert np.all(np.isfinite(bk.to_numpy(c))), "saturated outputs must give finite costs"
        conformance.check(bk, dtype, "cost", bk.to_numpy(c), ref_c, TOL[dtype]["cost"])
        conformance.check(bk, dtype, "output error", bk.to_numpy(d), ref_d,
                          TOL[dtype]["output error"])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu", "identity"])
@pytest.mark.parametrize("cost,output", [("quadratic", "sigmoid"), ("quadratic", "identity"),
                                         ("cross-entropy", "sigmoid"),
                                         ("log-likelihood", "softmax"), ("poisson", "exp")])
def test_gradients(bk, conformance, cost, output, hidden, dtype):
    rng = np.random.default_rng(5)
    X, labels = rng.random((32, 12)), rng.integers(0, 4, 32)
    masks = [(rng.random((32, 9)) > 0.3) / 0.7]
    ref = xmlp.Network([12, 9, 4], hidden=hidden, output=output, cost=cost, seed=6,
                       dtype="float64")
    net = ref.to(bk.name, bk.device, dtype)
    Y = np.eye(4)[labels]
    for m in (None, masks):
        r = backprop(ref.params, X, Y, ref.hidden, ref.output, ref.cost, m)
        g = backprop(net.params, bk.asarray(X, dtype), bk.asarray(Y, dtype), net.hidden,
                     net.output, net.cost, None if m is None else [bk.asarray(m[0], dtype)])
        for got, want in zip(g[0] + g[1], r[0] + r[1]):
            conformance.check(bk, dtype, "gradients", bk.to_numpy(got), want,
                              TOL[dtype]["gradients"])


@pytest.mark.parametrize("dtype", DTYPES)
def test_one_sgd_step_with_every_regulariser(bk, conformance, dtype):
    rng = np.random.default_rng(8)
    X, y = rng.random((10, 12)), rng.integers(0, 4, 10)
    kw = dict(epochs=1, batch_size=10, eta=0.7, lmbda=3.0, l1=0.5, momentum=0.6,
              nesterov=True, dropout=0.25, monitor=())
    ref = xmlp.Network([12, 9, 4], cost="cross-entropy", seed=9, dtype="float64")
    net = bk.move(ref, dtype)
    ref.fit(X, y, **kw)
    net.fit(X, y, **kw)
    for got, want in zip(sum(net.parameters_numpy(), []), sum(ref.parameters_numpy(), [])):
        conformance.check(bk, dtype, "sgd step", got, want, TOL[dtype]["sgd step"])


@pytest.mark.parametrize("dtype", DTYPES)
def test_three_adam_steps_with_every_regulariser(bk, conformance, dtype):
    rng = np.random.default_rng(10)
    X, y = rng.random((30, 12)), rng.integers(0, 4, 30)
    kw = dict(epochs=1, batch_size=10, eta=0.01, lmbda=3.0, l1=0.5, optimizer="adam",
              dropout=0.25, monitor=())
    ref = xmlp.Network([12, 9, 4], cost="cross-entropy", seed=11, dtype="float64")
    net = bk.move(ref, dtype)
    ref.fit(X, y, **kw)
    net.fit(X, y, **kw)
    for got, want in zip(sum(net.parameters_numpy(), []), sum(ref.parameters_numpy(), [])):
        conformance.check(bk, dtype, "adam step", got, want, TOL[dtype]["adam step"])


@pytest.fixture(scope="module")
def sample():
    return xmlp.datasets.load("mnist-sample", dtype="float64")


@pytest.fixture(scope="module")
def trajectories(sample):
    """NumPy float64 reference weights after 1 and 3 epochs (plain and all regularisers)."""
    out = {}
    for label, kw in _RUNS.items():
        net = xmlp.Network([784, 30, 10], cost="cross-entropy", seed=0, dtype="float64")
        for epoch in range(3):
            net.fit(*sample.train, **kw)
            if epoch in (0, 2):
                out[label, epoch + 1] = sum(net.parameters_numpy(), [])
    return out


_RUNS = {
    "epoch": dict(epochs=1, batch_size=10, eta=0.5, monitor=()),
    "fit, all regularisers": dict(epochs=1, batch_size=10, eta=0.5, lmbda=5.0, l1=0.1,
                                  momentum=0.5, nesterov=True, dropout=0.2, monitor=()),
    "adam, L2 and dropout": dict(epochs=1, batch_size=10, eta=0.002, lmbda=5.0,
                                 optimizer="adam", dropout=0.2, monitor=()),
    # No momentum here: momentum with shifted and mirrored batches amplifies the backends'
    # last-bit differences ~100-fold over three epochs (3e-13 on JAX), this run stays ~4e-15.
    "shifts and flips": dict(epochs=1, batch_size=10, eta=0.5, shift=2, flip=True,
                             monitor=()),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("label", list(_RUNS))
def test_trajectory_after_1_and_3_epochs(bk, conformance, sample, trajectories, label, dtype):
    net = bk.network([784, 30, 10], cost="cross-entropy", seed=0, dtype=dtype)
    X, y = bk.asarray(sample.train.X, dtype), sample.train.y
    for epoch in range(3):
        net.fit(X, y, **_RUNS[label])
        if epoch in (0, 2):
            got = sum(net.parameters_numpy(), [])
            quantity = f"{label} x{epoch + 1}"
            for g, r in zip(got, trajectories[label, epoch + 1]):
                conformance.check(bk, dtype, quantity, g, r, run_tolerance(bk, dtype, epoch + 1))


def test_float32_accuracy_within_half_a_point_after_10_epochs(bk, conformance, sample):
    accs = {}
    for dtype in ("float64", "float32"):
        net = bk.network([784, 30, 10], cost="cross-entropy", seed=0, dtype=dtype)
        net.fit(*sample.train, epochs=10, batch_size=10, eta=0.5, monitor=())
        accs[dtype] = net.accuracy(*sample.test)
    conformance.check(bk, "float32", "test accuracy after 10 epochs (points)",
                      [100 * accs["float32"]], [100 * accs["float64"]], 0.5, relative=False)
