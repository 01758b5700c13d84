"""The golden record: short fits whose final parameters and losses were saved from main at
6e8f91d (``tests/data/golden/record.npz``), before the training step was rewritten once.

A change to the training path must reproduce them: NumPy within 1e-12 relative (so that
another CPU's BLAS still passes), JAX compiled within 1e-12 of what JAX compiled gave.  The
matrix (float64, at most 100 steps each):

* ``Network.fit``: every rule (SGD, momentum, Nesterov, Adam in both forms) x no / L2 / L1
  regularisation x dropout or not x shifts (with flips) or not, on four network kinds in
  turn (sigmoid quadratic, tanh cross-entropy, relu log-likelihood, identity output), plus
  validation with early stopping, Nielsen's schedule, a cosine anneal, evaluation data and
  a second ``fit`` continuing the first;
* the estimators' stochastic solvers (sgd with the three learning-rate schedules, momentum
  and Nesterov, adam) with L2, L1, dropout, early stopping and sample weights (some 0), and
  L-BFGS with and without sample weights, for the classifier and the regressor.

``python tests/test_golden.py`` writes the record again: do it only on purpose, from a
commit whose numbers are the reference.
"""

from __future__ import annotations

import itertools
import pathlib
import sys
import warnings

import numpy as np
import pytest

import xmlp
from xmlp import optim

RECORD = pathlib.Path(__file__).resolve().parent / "data" / "golden" / "record.npz"
SIZES = [16, 7, 5, 3]  # 16 inputs = 4x4 "images" for the shifts
N = 53  # batch 10: five full batches and a short one of 3

RULES = {
    "sgd": dict(eta=0.5),
    "momentum": dict(eta=0.2, momentum=0.6),
    "nesterov": dict(eta=0.2, momentum=0.6, nesterov=True),
    "adam": dict(optimizer="adam", eta=0.01),
    "adam-efficient": dict(optimizer=optim.Adam(0.8, 0.99, 1e-6, form="efficient"),
                           eta=0.01),
}
REGULARISERS = {"none": {}, "l2": dict(lmbda=2.0), "l1": dict(l1=0.3)}
NETWORKS = [
    (dict(hidden="sigmoid", cost="quadratic"), "labels"),
    (dict(hidden="tanh", cost="cross-entropy"), "labels"),
    (dict(hidden="relu", cost="log-likelihood"), "labels"),
    (dict(hidden="sigmoid", cost="quadratic", output="identity"), "real"),
]


def _data(n=N, seed=0, targets="labels"):
    rng = np.random.default_rng(seed)
    X = rng.random((n, SIZES[0]))
    if targets == "labels":
        return X, rng.integers(0, SIZES[-1], n)
    return X, rng.normal(size=(n, SIZES[-1]))


def fit_cases() -> dict[str, dict]:
    """name -> {"net": Network options, "fits": [fit options, ...], "targets": kind}."""
    cases = {}
    matrix = itertools.product(RULES, REGULARISERS, (0.0, 0.25), (0, 1))
    for i, (rule, reg, dropout, shift) in enumerate(matrix):
        net, targets = NETWORKS[i % len(NETWORKS)]
        fit = dict(epochs=3, batch_size=10, **RULES[rule], **REGULARISERS[reg])
        if dropout:
            fit["dropout"] = dropout
        if shift:
            fit.update(shift=shift, flip=True)
        cases[f"fit-{rule}-{reg}-dropout{dropout:g}-shift{shift}"] = dict(
            net=net, fits=[fit], targets=targets, seed=i)
    cases["fit-validation-early-stopping"] = dict(
        net=NETWORKS[0][0], targets="labels", seed=100, n=120,
        fits=[dict(epochs=8, batch_size=8, eta=2.0, validation=0.25, early_stopping=2,
                   momentum=0.3, lmbda=1.0)])
    cases["fit-schedule"] = dict(
        net=NETWORKS[1][0], targets="labels", seed=101, n=120,
        fits=[dict(epochs=6, batch_size=8, eta=1.0, validation=30, schedule=1, l1=0.1)])
    cases["fit-anneal-evaluation-data"] = dict(
        net=NETWORKS[2][0], targets="labels", seed=102, evaluation=True,
        fits=[dict(epochs=4, batch_size=7, eta=0.3, anneal="cosine", momentum=0.5,
                   dropout=0.1, lmbda=0.5)])
    cases["fit-continued"] = dict(
        net=NETWORKS[1][0], targets="labels", seed=103,
        fits=[dict(epochs=2, batch_size=10, optimizer="adam", eta=0.01, lmbda=1.0),
              dict(epochs=2, batch_size=10, eta=0.5, momentum=0.4, shift=1)])
    return cases


def run_fit(case: dict, backend: str = "numpy", compile: bool | None = None) -> dict:
    """Final parameters (network2 layout) and the histories' monitored numbers."""
    X, y = _data(case.get("n", N), seed=case["seed"] % 7, targets=case["targets"])
    net = xmlp.Network(SIZES, dtype="float64", seed=case["seed"], backend=backend,
                       **case["net"])
    out: dict[str, np.ndarray] = {}
    for k, kw in enumerate(case["fits"]):
        if case.get("evaluation"):
            kw = dict(kw, evaluation_data=_data(20, seed=9, targets=case["targets"]))
        history = net.fit(X, y, compile=compile, **kw)
        for name in ("training_cost", "evaluation_cost", "training_accuracy",
                     "evaluation_accuracy", "eta"):
            out[f"history{k}.{name}"] = np.asarray(getattr(history, name), dtype=np.float64)
        out[f"history{k}.best_epoch"] = np.asarray(
            -1 if history.best_epoch is None else history.best_epoch)
    weights, biases = net.parameters_numpy()
    for l, (w, b) in enumerate(zip(weights, biases)):
        out[f"w{l}"], out[f"b{l}"] = w, b
    return out


# -- the estimators ------------------------------------------------------------------------

def estimator_cases() -> dict[str, dict]:
    """name -> {"kind": classifier / regressor, "params": ..., "weights": bool}."""
    base = dict(hidden_layer_sizes=(7, 5), batch_size=16, random_state=0, max_iter=6,
                tol=0.0)
    sgd = dict(base, solver="sgd", learning_rate_init=0.05)
    cases = {
        "sgd-constant-nesterov": dict(sgd, alpha=1e-3),
        "sgd-invscaling-momentum": dict(sgd, learning_rate="invscaling",
                                        nesterovs_momentum=False, l1=1e-3),
        "sgd-adaptive-plain": dict(sgd, learning_rate="adaptive", momentum=0.0, tol=0.01,
                                   n_iter_no_change=1, alpha=1e-2),
        "sgd-dropout": dict(sgd, dropout=0.2, activation="tanh"),
        "sgd-early-stopping": dict(sgd, learning_rate_init=0.2, early_stopping=True,
                                   validation_fraction=0.2, n_iter_no_change=2),
        "adam": dict(base, solver="adam", learning_rate_init=0.01, alpha=1e-2, l1=1e-3),
        "adam-early-stopping": dict(base, solver="adam", learning_rate_init=0.01,
                                    early_stopping=True, activation="logistic"),
        "lbfgs": dict(base, solver="lbfgs", max_iter=15, alpha=1e-2),
        "lbfgs-l1": dict(base, solver="lbfgs", max_iter=15, alpha=1e-3, l1=1e-3),
    }
    out = {}
    for name, params in cases.items():
        for kind in ("classifier", "regressor"):
            for weights in (False, True):
                out[f"{kind}-{name}{'-weighted' if weights else ''}"] = dict(
                    kind=kind, params=params, weights=weights)
    return out


def run_estimator(case: dict, backend: str = "numpy", compile: bool | None = None) -> dict:
    from xmlp.sklearn import MLPClassifier, MLPRegressor

    rng = np.random.default_rng(11)
    X = rng.random((90, 6))
    if case["kind"] == "classifier":
        y, cls = (X[:, :3].sum(1) > 1.5).astype(int) + (X[:, 3] > 0.5), MLPClassifier
    else:
        y, cls = X @ rng.standard_normal(6) + 0.1 * rng.standard_normal(90), MLPRegressor
    sw = None
    if case["weights"]:
        sw = rng.random(90) * 2.0
        sw[::9] = 0.0  # whole batches of weight 0 happen too (batch 16: rows 0, 9, ...)
        sw[16:32] = 0.0
    est = cls(backend=backend, compile=compile, **case["params"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y, sample_weight=sw)
    out = {"loss": np.asarray(est.loss_, dtype=np.float64)}
    if getattr(est, "loss_curve_", None) is not None:
        out["loss_curve"] = np.asarray(est.loss_curve_, dtype=np.float64)
    if getattr(est, "validation_scores_", None) is not None:
        out["validation_scores"] = np.asarray(est.validation_scores_, dtype=np.float64)
    for l, (W, b) in enumerate(zip(est.coefs_, est.intercepts_)):
        out[f"W{l}"] = np.asarray(xmlp.to_numpy(W), dtype=np.float64)
        out[f"b{l}"] = np.asarray(xmlp.to_numpy(b), dtype=np.float64)
    return out


# -- the comparison ------------------------------------------------------------------------

FLAVOURS = {"numpy": ("numpy", None), "jax-compiled": ("jax", True)}


def _record() -> dict[str, np.ndarray]:
    with np.load(RECORD) as f:
        return {k: f[k] for k in f.files}


@pytest.fixture(scope="module")
def record():
    return _record()


def _flavour(name: str):
    if name == "jax-compiled":
        import conftest

        conftest._case("jax", "cpu-compiled")  # skips unless JAX was asked for / is here
    return FLAVOURS[name]


def _compare(got: dict, record: dict, prefix: str, rtol: float) -> None:
    want = {k[len(prefix):]: v for k, v in record.items() if k.startswith(prefix)}
    assert want, f"no record for {prefix!r}"
    assert sorted(got) == sorted(want), f"{prefix}: recorded {sorted(want)}, got {sorted(got)}"
    for key, w in want.items():
        g = got[key]
        assert g.shape == w.shape, f"{prefix}{key}: shape {g.shape}, recorded {w.shape}"
        if w.size == 0:
            continue
        scale = max(float(np.max(np.abs(w))), 1e-300)
        err = float(np.max(np.abs(g - w))) / scale
        assert err <= rtol, f"{prefix}{key}: relative difference {err:.3g} > {rtol:g}"


@pytest.mark.parametrize("flavour", list(FLAVOURS))
@pytest.mark.parametrize("name", list(fit_cases()))
def test_fit_reproduces_the_record(record, name, flavour):
    backend, compile = _flavour(flavour)
    got = run_fit(fit_cases()[name], backend, compile)
    _compare(got, record, f"{flavour}/{name}/", 1e-12)


def _estimator_runs() -> list[tuple[str, str]]:
    """(name, flavour) pairs: L-BFGS has no compiled epochs (its steps are SciPy's)."""
    return [(name, flavour) for flavour in FLAVOURS for name, case in estimator_cases().items()
            if not (FLAVOURS[flavour][1] and case["params"]["solver"] == "lbfgs")]


@pytest.mark.parametrize(("name", "flavour"), _estimator_runs())
def test_estimator_reproduces_the_record(record, name, flavour):
    pytest.importorskip("sklearn")
    backend, compile = _flavour(flavour)
    got = run_estimator(estimator_cases()[name], backend, compile)
    _compare(got, record, f"{flavour}/{name}/", 1e-12)


def test_the_record_covers_the_matrix(record):
    """Every case has its record, and the matrix is the one described above."""
    fits, ests = fit_cases(), estimator_cases()
    assert len(fits) == 5 * 3 * 2 * 2 + 4 and len(ests) == 9 * 2 * 2
    runs = [(name, flavour) for flavour in FLAVOURS for name in fits] + _estimator_runs()
    assert len(runs) == 2 * len(fits) + 2 * len(ests) - 8
    for name, flavour in runs:
        assert any(k.startswith(f"{flavour}/{name}/") for k in record), (flavour, name)


def write() -> None:
    """Run every case and write the record (numpy, and jax compiled)."""
    out = {}
    for flavour, (backend, compile) in FLAVOURS.items():
        for name, case in fit_cases().items():
            for key, value in run_fit(case, backend, compile).items():
                out[f"{flavour}/{name}/{key}"] = value
    for name, flavour in _estimator_runs():
        backend, compile = FLAVOURS[flavour]
        for key, value in run_estimator(estimator_cases()[name], backend, compile).items():
            out[f"{flavour}/{name}/{key}"] = value
    RECORD.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(RECORD, **out)
    print(f"wrote {len(out)} arrays to {RECORD}")


if __name__ == "__main__":
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    write()
