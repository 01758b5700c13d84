"""xmlp.sklearn: the estimators against scikit-learn's own MLPClassifier / MLPRegressor
(same random_state => same model), array-API dispatch, pickling, the scikit-learn tools
(Pipeline, GridSearchCV, cross_val_score, clone, warm_start) and errors.

The equality table goes through the ``conformance`` fixture ("sklearn ... coefs_" rows)."""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn import neural_network as sk  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import xmlp  # noqa: E402
from xmlp import sklearn as xs  # noqa: E402
from xmlp.backend import same_device  # noqa: E402

#: The issue's bound for "the same model" (coefs_ after a whole fit, float64).
SAME = 1e-10


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _data(n=120, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y3 = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 0.5)  # 3 classes
    multilabel = np.stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 0] * X[:, 1] > 0], 1).astype(int)
    reg = 2 * X[:, 0] + np.sin(X[:, 1])
    return {"X": X, "multiclass": y3, "binary": np.where(y3 > 0, "yes", "no"),
            "multilabel": multilabel, "regression": reg,
            "regression2": np.stack([reg, X[:, 2] * X[:, 3]], 1),
            "counts": np.exp(0.5 * X[:, 0]), "weights": rng.uniform(0.2, 3.0, n)}


DATA = _data()

#: label -> (estimator, target, constructor kwargs, fit kwargs)
TABLE = {
    "adam defaults": ("MLPClassifier", "multiclass", dict(random_state=0), {}),
    "sgd nesterov adaptive": ("MLPClassifier", "multiclass",
                              dict(solver="sgd", learning_rate="adaptive",
                                   learning_rate_init=0.1, tol=1e-2, max_iter=150,
                                   hidden_layer_sizes=(20,), random_state=1), {}),
    "early_stopping": ("MLPClassifier", "multiclass",
                       dict(early_stopping=True, random_state=2), {}),
    "early_stopping binary (stratified)": ("MLPClassifier", "binary",
                                           dict(early_stopping=True, random_state=2), {}),
    "MLPRegressor defaults": ("MLPRegressor", "regression", dict(random_state=5), {}),
    "binary": ("MLPClassifier", "binary", dict(random_state=3), {}),
    "multilabel": ("MLPClassifier", "multilabel", dict(random_state=4, max_iter=100), {}),
    "sgd invscaling, two outputs": ("MLPRegressor", "regression2",
                                    dict(solver="sgd", learning_rate="invscaling",
                                         learning_rate_init=0.05, momentum=0.5,
                                         nesterovs_momentum=False, batch_size=32,
                                         max_iter=40, random_state=6), {}),
    "poisson": ("MLPRegressor", "counts", dict(loss="poisson", max_iter=60, random_state=7),
                {}),
    "sample weights, early stopping": ("MLPRegressor", "regression",
                                       dict(early_stopping=True, batch_size=32, max_iter=40,
                                            activation="tanh", alpha=0.01, random_state=8),
                                       {"sample_weight": DATA["weights"]}),
}


def _fit_pair(name, target, kwargs, fit_kwargs, **ours):
    X, y = DATA["X"], DATA[target]
    theirs = getattr(sk, name)(**kwargs).fit(X, y, **fit_kwargs)
    mine = getattr(xs, name)(**kwargs, **ours).fit(X, y, **fit_kwargs)
    return theirs, mine


def _check_same_model(conformance, case, label, theirs, mine):
    name = case if isinstance(case, str) else case.name
    for a, b in zip(mine.coefs_ + mine.intercepts_, theirs.coefs_ + theirs.intercepts_):
        conformance.check(case, "float64", f"sklearn {label} coefs_", xmlp.to_numpy(a), b, SAME)
    conformance.check(case, "float64", f"sklearn {label} loss_curve_", mine.loss_curve_,
                      theirs.loss_curve_, SAME)
    assert (mine.n_iter_, mine.t_) == (theirs.n_iter_, theirs.t_), name
    assert (mine.n_layers_, mine.n_outputs_, mine.out_activation_) == \
        (theirs.n_layers_, theirs.n_outputs_, theirs.out_activation_)
    if theirs.validation_scores_ is None:
        assert mine.validation_scores_ is None and mine.best_validation_score_ is None
        assert mine.best_loss_ == pytest.approx(theirs.best_loss_, rel=SAME)
    else:
        assert mine.best_loss_ is None
        np.testing.assert_allclose(mine.validation_scores_, theirs.validation_scores_,
                                   rtol=SAME)
    X = DATA["X"]
    if hasattr(theirs, "classes_"):
        np.testing.assert_array_equal(xmlp.to_numpy(mine.predict(X)), theirs.predict(X))
    else:
        np.testing.assert_allclose(xmlp.to_numpy(mine.predict(X)), theirs.predict(X),
                                   rtol=SAME, atol=SAME)


@pytest.mark.parametrize("label", list(TABLE))
def test_same_random_state_same_model(conformance, label):
    theirs, mine = _fit_pair(*TABLE[label])
    _check_same_model(conformance, "numpy", label, theirs, mine)


@pytest.mark.parametrize("label", ["adam defaults", "early_stopping"])
def test_same_model_on_every_backend(bk, conformance, label):
    """The estimator computing on another backend (data moved there, results back)."""
    theirs, mine = _fit_pair(*TABLE[label], backend=bk.name, device=bk.device,
                             **bk.fit_kwargs)
    assert mine.network_.backend.name == bk.name
    assert same_device(mine.network_.device, bk.device)
    assert isinstance(mine.coefs_[0], np.ndarray)  # the input's namespace: NumPy
    _check_same_model(conformance, bk, label, theirs, mine)


@pytest.mark.parametrize("label", [k for k in TABLE if TABLE[k][2].get("solver") != "lbfgs"])
def test_same_model_compiled(conformance, label):
    """Every stochastic row of the equality table with compiled epochs (JAX)."""
    import conftest

    case = conftest._case("jax", "cpu-compiled")
    theirs, mine = _fit_pair(*TABLE[label], backend="jax", compile=True)
    assert mine.history_.compile_seconds >= 0.0
    _check_same_model(conformance, case, label, theirs, mine)


def test_zero_weight_batches_are_skipped_compiled_as_eager():
    """Batches whose sample weights are all 0 take no step (nor count for Adam)."""
    import conftest

    conftest._case("jax", "cpu-compiled")
    X, y = DATA["X"], DATA["multiclass"]
    w = DATA["weights"].copy()
    w[:40] = 0.0  # with shuffle=False and batch 20: the first two batches
    fits = [xs.MLPClassifier(hidden_layer_sizes=(6,), batch_size=20, shuffle=False,
                             max_iter=5, alpha=0.01, random_state=0, **kw).fit(
                                 X, y, sample_weight=w)
            for kw in ({}, {"backend": "jax", "compile": True})]
    for a, b in zip(fits[0].coefs_ + fits[0].intercepts_, fits[1].coefs_ + fits[1].intercepts_):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(fits[1].loss_curve_, fits[0].loss_curve_, rtol=1e-12)
    assert fits[0]._solver.t == fits[1]._solver.t == 5 * 4


def test_compile_needs_a_compiling_backend():
    X, y = DATA["X"], DATA["multiclass"]
    with pytest.raises(ValueError, match="jax"):
        xs.MLPClassifier(max_iter=2, compile=True).fit(X, y)
    with pytest.raises(ValueError, match="compile"):
        xs.MLPClassifier(max_iter=2, compile="yes").fit(X, y)


def test_adaptive_schedule_was_exercised():
    theirs, mine = _fit_pair(*TABLE["sgd nesterov adaptive"])
    assert mine._solver.learning_rate == theirs._optimizer.learning_rate <= 1e-6
    assert mine.n_iter_ < 150


@pytest.mark.parametrize("name,target", [("MLPClassifier", "multiclass"),
                                         ("MLPRegressor", "regression")])
def test_lbfgs_same_predictions_and_loss(conformance, name, target):
    kwargs = dict(solver="lbfgs", max_iter=40, hidden_layer_sizes=(15,), random_state=9)
    theirs, mine = _fit_pair(name, target, kwargs, {})
    conformance.check("numpy", "float64", f"sklearn lbfgs {name} loss_", [mine.loss_],
                      [theirs.loss_], 1e-6)
    X = DATA["X"]
    if name == "MLPClassifier":
        np.testing.assert_array_equal(mine.predict(X), theirs.predict(X))
        got, want = mine.predict_proba(X), theirs.predict_proba(X)
    else:
        got, want = mine.predict(X), theirs.predict(X)
    conformance.check("numpy", "float64", f"sklearn lbfgs {name} predictions", got, want, 1e-6)
    assert mine.n_iter_ == theirs.n_iter_ and mine.t_ == theirs.t_ == 0
    assert not hasattr(mine, "loss_curve_") and not hasattr(mine, "best_loss_")


def test_warm_start_and_partial_fit_as_in_sklearn(conformance):
    X, y = DATA["X"], DATA["multiclass"]
    kw = dict(random_state=3, max_iter=5, warm_start=True, solver="sgd")
    theirs, mine = sk.MLPClassifier(**kw), xs.MLPClassifier(**kw)
    for _ in range(3):
        theirs.fit(X, y)
        mine.fit(X, y)
        assert (mine.n_iter_, mine.t_, len(mine.loss_curve_)) == \
            (theirs.n_iter_, theirs.t_, len(theirs.loss_curve_))
    theirs.partial_fit(X[:50], y[:50])
    mine.partial_fit(X[:50], y[:50])
    _check_same_model(conformance, "numpy", "warm_start then partial_fit", theirs, mine)
    theirs, mine = sk.MLPRegressor(random_state=4), xs.MLPRegressor(random_state=4)
    for k in range(0, 120, 30):
        theirs.partial_fit(X[k:k + 30], DATA["regression"][k:k + 30])
        mine.partial_fit(X[k:k + 30], DATA["regression"][k:k + 30])
    _check_same_model(conformance, "numpy", "partial_fit", theirs, mine)


def test_partial_fit_classes_and_warm_start_classes():
    X, y = DATA["X"], DATA["multiclass"]
    est = xs.MLPClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        est.partial_fit(X, y)
    est.partial_fit(X[:20], np.zeros(20, dtype=int), classes=[0, 1, 2])
    np.testing.assert_array_equal(est.classes_, [0, 1, 2])
    with pytest.raises(ValueError, match="not the same as on last call"):
        est.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="classes not in"):
        est.partial_fit(X, y + 5)
    warm = xs.MLPClassifier(warm_start=True, max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="warm_start can only be used"):
        warm.fit(X, y % 2)
    assert not hasattr(xs.MLPClassifier(solver="lbfgs"), "partial_fit")
    with pytest.raises(ValueError, match="early_stopping"):
        xs.MLPRegressor(early_stopping=True).partial_fit(X, DATA["regression"])


def test_clone_keeps_parameters_and_drops_the_fit():
    est = xs.MLPClassifier(hidden_layer_sizes=(7, 3), alpha=0.5, backend="numpy",
                           dropout=0.1, l1=0.01, random_state=2).fit(DATA["X"],
                                                                      DATA["multiclass"])
    other = clone(est)
    assert other.get_params() == est.get_params()
    assert not hasattr(other, "network_") and not hasattr(other, "coefs_")
    params = set(xs.MLPRegressor().get_params())
    assert set(sk.MLPRegressor().get_params()) <= params
    assert set(sk.MLPClassifier().get_params()) <= set(xs.MLPClassifier().get_params())
    assert params - set(sk.MLPRegressor().get_params()) == {"backend", "device", "init",
                                                            "dropout", "l1", "compile"}


def test_fitted_attributes_shapes_and_network():
    est = xs.MLPClassifier(hidden_layer_sizes=(6, 4), max_iter=3, random_state=0)
    est.fit(DATA["X"], DATA["multiclass"])
    assert [c.shape for c in est.coefs_] == [(5, 6), (6, 4), (4, 3)]
    assert [b.shape for b in est.intercepts_] == [(6,), (4,), (3,)]
    assert (est.n_layers_, est.n_outputs_, est.out_activation_) == (4, 3, "softmax")
    assert est.n_features_in_ == 5 and len(est.loss_curve_) == est.n_iter_ == 3
    assert isinstance(est.network_, xmlp.Network) and est.network_.sizes == [5, 6, 4, 3]
    assert est.history_.training_cost == est.loss_curve_ and len(est.history_.seconds) == 3
    np.testing.assert_allclose(est.predict_proba(DATA["X"]).sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.exp(est.predict_log_proba(DATA["X"])),
                               est.predict_proba(DATA["X"]), rtol=1e-12)


def test_network_is_saveable_with_xmlp(tmp_path):
    est = xs.MLPRegressor(loss="poisson", hidden_layer_sizes=(6,), activation="identity",
                          max_iter=5, random_state=0).fit(DATA["X"], DATA["counts"])
    est.network_.save(tmp_path / "net.json")
    net = xmlp.load(tmp_path / "net.json")
    assert (net.hidden.name, net.output.name, net.cost.name) == ("identity", "exp", "poisson")
    np.testing.assert_allclose(net.feedforward(DATA["X"])[:, 0], est.predict(DATA["X"]),
                               rtol=1e-14)


def test_scikit_learn_tools_agree_with_scikit_learn():
    """Pipeline, cross_val_score and GridSearchCV (two worker processes) give the numbers
    scikit-learn's estimator gives: the models are equal."""
    X, y = DATA["X"], DATA["multiclass"]
    kw = dict(hidden_layer_sizes=(10,), max_iter=30, random_state=0)
    ours = Pipeline([("scale", StandardScaler()), ("mlp", xs.MLPClassifier(**kw))]).fit(X, y)
    theirs = Pipeline([("scale", StandardScaler()), ("mlp", sk.MLPClassifier(**kw))]).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-10)
    np.testing.assert_array_equal(cross_val_score(xs.MLPClassifier(**kw), X, y, cv=3),
                                  cross_val_score(sk.MLPClassifier(**kw), X, y, cv=3))
    grid = {"alpha": [1e-4, 3.0]}
    ours = GridSearchCV(xs.MLPClassifier(**kw), grid, cv=2, n_jobs=2).fit(X, y)
    theirs = GridSearchCV(sk.MLPClassifier(**kw), grid, cv=2).fit(X, y)
    assert ours.best_params_ == theirs.best_params_
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"],
                               theirs.cv_results_["mean_test_score"], rtol=1e-12)
    assert isinstance(ours.best_estimator_, xs.MLPClassifier)


# ----------------------------------------------------------------------------- dispatch
def _relaxed_strict():
    """scikit-learn's validation helpers need data-dependent shapes and boolean indexing
    (conftest switches them off for the core, which needs neither)."""
    import contextlib

    try:
        import array_api_strict
    except ImportError:
        return contextlib.nullcontext()
    return array_api_strict.ArrayAPIStrictFlags(data_dependent_shapes=True,
                                                boolean_indexing=True)


@pytest.mark.parametrize("name,target", [("MLPClassifier", "multiclass"),
                                         ("MLPRegressor", "regression")])
def test_array_api_dispatch_trains_on_the_inputs_namespace_and_device(other_bk, conformance,
                                                                      name, target):
    kw = dict(hidden_layer_sizes=(8,), max_iter=15, random_state=0)
    X, y = DATA["X"], DATA[target]
    reference = getattr(xs, name)(**kw).fit(X, y)
    Xb = other_bk.asarray(X)
    yb = other_bk.asarray(y, "int64" if y.dtype.kind == "i" else "float64")
    est = getattr(xs, name)(**kw, **other_bk.fit_kwargs)
    with sklearn.config_context(array_api_dispatch=True), _relaxed_strict():
        est.fit(Xb, yb)
        outputs = {"predict": est.predict(Xb)}
        if name == "MLPClassifier":
            outputs["predict_proba"] = est.predict_proba(Xb)
            outputs["predict_log_proba"] = est.predict_log_proba(Xb)
        with pytest.raises(ValueError, match="must use the same namespace"):
            est.predict(X)  # NumPy input to a model fitted on another namespace
    net = est.network_
    assert net.backend.name == other_bk.name and same_device(net.device, other_bk.device)
    xp = other_bk.xp
    for method, out in outputs.items():
        assert type(out) is type(Xb), method
        assert out.device == Xb.device, method
        want = getattr(reference, method)(X)
        if method == "predict" and name == "MLPClassifier":
            np.testing.assert_array_equal(other_bk.to_numpy(out), want)
        else:
            conformance.check(other_bk, "float64", f"sklearn dispatch {method}",
                              other_bk.to_numpy(out), want, SAME)
    for a, b in zip(est.coefs_ + est.intercepts_, reference.coefs_ + reference.intercepts_):
        assert a.device == Xb.device and xp.isdtype(a.dtype, "real floating")
        conformance.check(other_bk, "float64", "sklearn dispatch coefs_", other_bk.to_numpy(a),
                          b, SAME)
    if name == "MLPClassifier":
        assert est.classes_.device == Xb.device


def test_dispatch_requires_scipy_array_api():
    """The honest precondition of the dispatch tests: conftest set SCIPY_ARRAY_API=1 before
    SciPy was imported, so scikit-learn accepts array_api_dispatch=True here."""
    with sklearn.config_context(array_api_dispatch=True):
        assert sklearn.get_config()["array_api_dispatch"]


# ----------------------------------------------------------------------------- pickling
@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_fitted_estimator_round_trip_on_every_backend(bk, how):
    X, y = DATA["X"], DATA["multiclass"]
    est = xs.MLPClassifier(hidden_layer_sizes=(6,), max_iter=3, solver="sgd",
                           backend=bk.name, device=bk.device, random_state=0,
                           **bk.fit_kwargs).fit(X, y)
    other = pickle.loads(pickle.dumps(est)) if how == "pickle" else copy.deepcopy(est)
    assert other.network_.backend.name == bk.name and same_device(other.network_.device, bk.device)
    np.testing.assert_array_equal(other.predict_proba(X), est.predict_proba(X))
    np.testing.assert_array_equal(other.predict(X), est.predict(X))
    # the optimizer's state (momentum velocities) travelled too: training goes on alike
    est.partial_fit(X, y)
    other.partial_fit(X, y)
    for a, b in zip(other.coefs_, est.coefs_):
        np.testing.assert_array_equal(a, b)


def test_dispatched_estimator_pickles_by_backend_name(other_bk):
    X, y = DATA["X"], DATA["multiclass"]
    est = xs.MLPClassifier(hidden_layer_sizes=(6,), max_iter=3, random_state=0,
                           **other_bk.fit_kwargs)
    Xb, yb = other_bk.asarray(X), other_bk.asarray(y, "int64")
    with sklearn.config_context(array_api_dispatch=True), _relaxed_strict():
        est.fit(Xb, yb)
        other = pickle.loads(pickle.dumps(est))
        got, want = other.predict_proba(Xb), est.predict_proba(Xb)
    assert type(got) is type(Xb) and got.device == Xb.device
    np.testing.assert_array_equal(other_bk.to_numpy(got), other_bk.to_numpy(want))
    assert other.classes_.device == Xb.device


def test_unpickling_without_the_backend_names_the_fix(monkeypatch):
    est = xs.MLPRegressor(hidden_layer_sizes=(3,), max_iter=2).fit(DATA["X"],
                                                                    DATA["regression"])
    data = pickle.dumps(est)

    def missing(name, device=None):
        raise xmlp.BackendUnavailable(
            f"backend {name!r} is not installed; install it with: pip install 'xmlp[torch]'")

    monkeypatch.setattr("xmlp.network.resolve", missing)
    with pytest.raises(xmlp.BackendUnavailable, match=r"pip install 'xmlp\[torch\]'"):
        pickle.loads(data)


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize("params,match", [
    (dict(solver="newton"), "'solver' parameter"),
    (dict(activation="softplus"), "'activation' parameter"),
    (dict(hidden_layer_sizes=(3, 0)), "hidden_layer_sizes must be > 0"),
    (dict(learning_rate="cyclic"), "'learning_rate' parameter"),
    (dict(alpha=-1.0), "'alpha' parameter"),
    (dict(batch_size=0), "'batch_size' parameter"),
    (dict(momentum=1.5), "'momentum' parameter"),
    (dict(beta_1=1.0), "'beta_1' parameter"),
    (dict(validation_fraction=1.0), "'validation_fraction' parameter"),
    (dict(max_iter=0), "'max_iter' parameter"),
    (dict(init="zeros"), "'init' parameter"),
    (dict(dropout=1.0), "'dropout' parameter"),
    (dict(solver="lbfgs", dropout=0.5), "dropout needs a stochastic solver"),
    (dict(backend="tensorflow"), "unknown backend"),
])
def test_bad_parameters_raise_value_errors(params, match):
    with pytest.raises(ValueError, match=match):
        xs.MLPClassifier(**params).fit(DATA["X"], DATA["multiclass"])


def test_bad_data_gets_scikit_learns_errors():
    X, y = DATA["X"], DATA["multiclass"]
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        xs.MLPClassifier().fit(bad, y)
    est = xs.MLPClassifier(max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        est.predict(bad)
    with pytest.raises(ValueError, match="features"):
        est.predict(X[:, :3])
    with pytest.raises(ValueError, match="Unknown label type"):
        xs.MLPClassifier().fit(X, X[:, 0])
    with pytest.raises(NotFittedError):
        xs.MLPRegressor().predict(X)
    with pytest.raises(ValueError, match="non-negative"):
        xs.MLPRegressor(loss="poisson").fit(X, -DATA["counts"])
    with pytest.raises(ValueError, match="sample_weight"):
        xs.MLPRegressor().fit(X, DATA["regression"], sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="non-finite parameter weights"), \
            np.errstate(over="ignore", invalid="ignore"):
        xs.MLPRegressor(solver="sgd", learning_rate_init=10.0, max_iter=5).fit(
            X, 1e6 * DATA["regression"])


def test_import_xmlp_does_not_import_scikit_learn():
    import subprocess
    import sys

    code = "import xmlp, sys; assert 'sklearn' not in sys.modules; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr
