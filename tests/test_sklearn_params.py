"""xmlp.sklearn's parameters against scikit-learn's own estimators: the constraint table (every
kind of value scikit-learn accepts is accepted, every value it refuses is refused with the same
exception and message) and the edge cases of fitting (early stopping on a tiny validation set,
``n_iter_no_change=np.inf``, ``tol=0``, ``batch_size`` larger than the data, ``shuffle=False``,
``warm_start`` with ``max_iter`` raised, ``partial_fit`` with unseen classes, ``max_fun``).

scikit-learn's estimator is the reference throughout: no expected message is written here."""

from __future__ import annotations

import copy
import re
import warnings
from numbers import Integral, Real

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn import neural_network as sk  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.utils._param_validation import (  # noqa: E402
    HasMethods,
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
    _ArrayLikes,
    _Booleans,
    _InstancesOf,
    _NoneConstraint,
    _RandomStates,
    _VerboseHelper,
    make_constraint,
    validate_parameter_constraints,
)

from xmlp import sklearn as xs  # noqa: E402

NAMES = ["MLPClassifier", "MLPRegressor"]
#: Small and quick: every fit below is a few epochs of a 3-neuron network on 40 samples.
BASE = dict(hidden_layer_sizes=(3,), max_iter=3, random_state=0)


def _data(name, n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    # non-negative regression targets: loss="poisson" takes them too
    y = (X[:, 0] > 0).astype(int) if name == "MLPClassifier" else np.abs(X[:, 0] - X[:, 1])
    return X, y


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


class BadType:
    """A value of no type any parameter accepts (one instance: the same repr in both)."""

    def __repr__(self):
        return "BadType()"


# ----------------------------------------------------------------------------- values
def _valid_values(constraint) -> list:
    """One value of every kind the constraint accepts (both ends of an interval that has
    them, a value inside, each option)."""
    c = make_constraint(constraint)
    if isinstance(c, Interval):
        step = 1 if c.type is Integral else 0.25
        lo = c.left if c.left is not None else (c.right if c.right is not None else 0) - 10
        hi = c.right if c.right is not None else lo + 10
        values = [lo if c.left is not None and c.closed in ("left", "both") else lo + step,
                  hi if c.right is not None and c.closed in ("right", "both") else hi - step,
                  (lo + hi) // 2 if c.type is Integral else (lo + hi) / 2]
        return [v for v in dict.fromkeys(values) if c.is_satisfied_by(v)]
    if isinstance(c, Options):  # StrOptions too
        return sorted(c.options, key=str)
    if isinstance(c, _Booleans):
        return [True, False, np.bool_(True)]
    if isinstance(c, _VerboseHelper):
        return [0, 2, True]
    if isinstance(c, _RandomStates):
        return [None, 0, np.random.RandomState(1)]
    if isinstance(c, _ArrayLikes):
        return [(4, 2), [3], np.array([2, 3])]
    if isinstance(c, _NoneConstraint):
        return [None]
    if isinstance(c, HasMethods):
        return [np]
    if isinstance(c, _InstancesOf):
        return {str: ["numpy"], type(np): [np]}[c.type]
    raise NotImplementedError(f"no valid value for {c!r}")


def _invalid_values(constraint) -> list:
    """Values just outside the constraint (an interval's open or outside ends, a wrong
    option, a wrong type of number)."""
    c = make_constraint(constraint)
    if isinstance(c, Interval):
        step = 1 if c.type is Integral else 1e-3
        values = []
        if c.left is not None:
            values.append(c.left - step)
            if c.closed in ("right", "neither"):
                values.append(c.left)
        if c.right is not None:
            values.append(c.right + step)
            if c.closed in ("left", "neither"):
                values.append(c.right)
        if c.type is Integral:
            values.append((c.left or 0) + 1.5)  # a float inside the bounds
        else:
            values.append(float("nan"))
        return values
    if isinstance(c, StrOptions):
        return ["not-an-option", 1]
    if isinstance(c, Options):
        return [-np.inf]
    if isinstance(c, _Booleans):
        return ["yes", 1]
    if isinstance(c, _VerboseHelper):
        return [-1, 0.5]
    if isinstance(c, _RandomStates):
        return [-1, "seed"]
    if isinstance(c, _ArrayLikes):
        return ["3"]
    return []


def _table(name):
    return getattr(xs, name)._parameter_constraints


def _cases(valid: bool):
    for name in NAMES:
        for param, constraints in _table(name).items():
            if constraints == "no_validation":
                continue
            values = []
            for c in constraints:
                values += _valid_values(c) if valid else _invalid_values(c)
            if not valid:  # refused by every constraint of the parameter, and of no type
                values = [v for v in values
                          if not any(make_constraint(c).is_satisfied_by(v) for c in constraints)]
                values.append(BadType())
            for value in values:
                text = repr(value) if isinstance(value, (str, Real, tuple, list, type(None))) \
                    else type(value).__name__
                yield pytest.param(name, param, value, id=f"{name}-{param}={text}")


def _outcome(est, X, y):
    """None when fit accepts the estimator, else (exception type, message with the class
    name written as {cls})."""
    try:
        est.fit(X, y)
    except Exception as exc:  # noqa: BLE001 - the exception is what is compared
        return type(exc), str(exc).replace(type(est).__name__, "{cls}")
    return None


def _pair(name, param, value, **kwargs):
    """(scikit-learn's estimator or None for xmlp's own parameters, xmlp's estimator)."""
    kw = {**BASE, **kwargs, param: value}
    mine = getattr(xs, name)(**kw)
    if param not in getattr(sk, name)._parameter_constraints:
        return None, mine
    return getattr(sk, name)(**{**kw, param: copy.deepcopy(value)}), mine


# ----------------------------------------------------------------------------- the table
@pytest.mark.parametrize("name", NAMES)
def test_the_table_is_scikit_learns_plus_xmlps_own(name):
    table, theirs = _table(name), getattr(sk, name)._parameter_constraints
    for param, constraints in theirs.items():
        assert table[param] is constraints, param  # taken from scikit-learn, not restated
    mine = getattr(xs, name)()
    assert set(table) == set(mine.get_params())  # every parameter has its constraint
    own = set(table) - set(theirs)
    assert own >= {"backend", "device", "init", "dropout", "l1", "compile"}


@pytest.mark.parametrize("name,param,value", list(_cases(valid=True)))
def test_every_kind_of_valid_value_is_accepted(name, param, value):
    X, y = _data(name)
    kwargs = {}
    if param == "output" and value is not None:
        kwargs = {"cost": "quadratic"}  # output= chooses the quadratic cost's output layer
    if param == "compile" and value:
        pytest.importorskip("jax")
        kwargs = {"backend": "jax"}  # compiled epochs need a compiling backend
    theirs, mine = _pair(name, param, value, **kwargs)
    if theirs is None:  # xmlp's own parameter
        assert _outcome(mine, X, y) is None
    else:
        assert _outcome(mine, X, y) == _outcome(theirs, X, y)


@pytest.mark.parametrize("name,param,value", list(_cases(valid=False)))
def test_every_invalid_value_is_refused_with_scikit_learns_error(name, param, value):
    X, y = _data(name)
    theirs, mine = _pair(name, param, value)
    got = _outcome(mine, X, y)
    assert got is not None and got[0] is InvalidParameterError
    assert xs.InvalidParameterError is InvalidParameterError
    assert re.match(rf"The '{param}' parameter of {{cls}} must be .* Got .* instead\.$",
                    got[1]), got[1]
    if theirs is not None:
        assert got == _outcome(theirs, X, y)
    else:  # xmlp's own: the message scikit-learn's machinery writes for its constraints
        with pytest.raises(InvalidParameterError) as want:
            validate_parameter_constraints(_table(name), {param: value}, caller_name=name)
        assert got[1] == str(want.value).replace(name, "{cls}")


@pytest.mark.parametrize("name", NAMES)
def test_partial_fit_validates_like_scikit_learn(name):
    X, y = _data(name)
    kwargs = {"classes": np.unique(y)} if name == "MLPClassifier" else {}
    for est in (getattr(sk, name)(**BASE, alpha=-1.0), getattr(xs, name)(**BASE, alpha=-1.0)):
        with pytest.raises(InvalidParameterError, match="'alpha' parameter"):
            est.partial_fit(X, y, **kwargs)
        est.set_params(alpha=0.0).partial_fit(X, y, **kwargs)
        est.set_params(alpha=-1.0).partial_fit(X, y)  # fitted: not checked again


# ----------------------------------------------------------------------------- edges
@pytest.mark.parametrize("name,target,n", [
    ("MLPRegressor", "values", 2), ("MLPRegressor", "values", 10),
    ("MLPClassifier", "multilabel", 10),  # not stratified: a split of 1 is possible
    ("MLPClassifier", "labels", 2),  # stratified: the split itself refuses
])
def test_early_stopping_refuses_a_validation_set_under_two_samples(name, target, n):
    X, y = _data(name, n=n)
    if target == "multilabel":
        y = np.stack([np.arange(n) % 2, np.arange(n) // 2 % 2], axis=1)
    elif target == "labels":
        y = np.arange(n) % 2
    theirs, mine = _pair(name, "early_stopping", True)
    want = _outcome(theirs, X, y)
    assert want is not None and _outcome(mine, X, y) == want
    if target != "labels":
        assert want[1].startswith("The validation set is too small")


def _same_fit(name, kwargs, X=None, y=None, fits=1, between=None):
    """Fit scikit-learn's estimator and xmlp's with the same arguments (``fits`` times, with
    ``between(est, i)`` before each later fit); compare models, counters and warnings."""
    if X is None:
        X, y = _data(name, n=60)
    ests = [getattr(sk, name)(**kwargs), getattr(xs, name)(**kwargs)]
    for i in range(fits):
        caught = []
        for est in ests:
            if i and between is not None:
                between(est, i)
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                est.fit(X, y)
            caught.append(sorted((type(x.message).__name__, str(x.message)) for x in w
                                 if issubclass(x.category, (ConvergenceWarning, UserWarning))))
        theirs, mine = ests
        assert caught[1] == caught[0], f"fit {i}"
        assert (mine.n_iter_, mine.t_ if hasattr(theirs, "t_") else None) == \
            (theirs.n_iter_, getattr(theirs, "t_", None)), f"fit {i}"
        # L-BFGS amplifies last-bit differences of the gradient over its iterations
        rtol, atol = (1e-6, 1e-8) if kwargs.get("solver") == "lbfgs" else (1e-10, 1e-12)
        assert mine.loss_ == pytest.approx(theirs.loss_, rel=rtol)
        if hasattr(theirs, "loss_curve_"):
            np.testing.assert_allclose(mine.loss_curve_, theirs.loss_curve_, rtol=rtol)
        for a, b in zip(mine.coefs_ + mine.intercepts_, theirs.coefs_ + theirs.intercepts_):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
    return ests


@pytest.mark.parametrize("name", NAMES)
def test_n_iter_no_change_inf_runs_exactly_max_iter_epochs(name):
    theirs, mine = _same_fit(name, dict(hidden_layer_sizes=(4,), max_iter=25, tol=1e9,
                                        n_iter_no_change=np.inf, random_state=1))
    assert mine.n_iter_ == 25


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_n_iter_no_change_inf_under_warm_start(solver):
    def more(est, i):
        est.set_params(max_iter=est.max_iter + 5)

    _same_fit("MLPClassifier", dict(hidden_layer_sizes=(4,), max_iter=5, solver=solver,
                                    n_iter_no_change=np.inf, warm_start=True, random_state=2,
                                    learning_rate="adaptive"), fits=3, between=more)


@pytest.mark.parametrize("name", NAMES)
def test_warm_start_with_max_iter_raised_between_fits(name):
    # each fit runs up to the new max_iter and warns when it hits it; t_ and loss_curve_ go
    # on, n_iter_ counts the epochs of the last fit -- as scikit-learn's estimator does
    def more(est, i):
        est.set_params(max_iter=est.max_iter * 2)

    _same_fit(name, dict(hidden_layer_sizes=(4,), max_iter=4, warm_start=True,
                         random_state=3), fits=3, between=more)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kwargs", [
    dict(tol=0.0), dict(shuffle=False), dict(batch_size=500), dict(batch_size=55,
                                                                  early_stopping=True),
    dict(tol=0.0, solver="sgd", learning_rate="adaptive", n_iter_no_change=1),
], ids=["tol=0", "shuffle=False", "batch_size>n", "batch_size>n_train", "tol=0 adaptive"])
def test_edge_settings_train_as_in_scikit_learn(name, kwargs):
    _same_fit(name, dict(hidden_layer_sizes=(4,), max_iter=15, random_state=4, **kwargs))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("max_fun", [1, 5, 15000])
def test_lbfgs_max_fun_as_in_scikit_learn(name, max_fun):
    _same_fit(name, dict(solver="lbfgs", hidden_layer_sizes=(4,), max_iter=50,
                         max_fun=max_fun, random_state=5))


def _partial_fit_errors(cls):
    X, y = _data("MLPClassifier")
    est = cls(**BASE).partial_fit(X, y, classes=[0, 1])
    got = []
    for args, kwargs in (((X, y + 1), {}),                     # a label not in classes_
                         ((X, y), {"classes": [0, 1, 2]})):     # classes changed
        with pytest.raises(ValueError) as exc:
            est.partial_fit(*args, **kwargs)
        got.append((type(exc.value), str(exc.value)))
    with pytest.raises(ValueError) as exc:
        cls(**BASE).partial_fit(X, y)                           # first call, no classes
    got.append((type(exc.value), str(exc.value)))
    est.partial_fit(X[y == 1], y[y == 1])  # a subset of the classes is fine
    got.append(list(est.classes_))
    return got


def test_partial_fit_with_unseen_classes_as_in_scikit_learn():
    assert _partial_fit_errors(xs.MLPClassifier) == _partial_fit_errors(sk.MLPClassifier)


@pytest.mark.parametrize("name", NAMES)
def test_scikit_learns_own_parameter_check_passes(name):
    from sklearn.utils.estimator_checks import check_param_validation

    check_param_validation(name, getattr(xs, name)(**BASE))
