"""Checks of the estimators' constructor parameters (scikit-learn's rules and messages)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..init import INITIALISERS

_HIDDEN = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
#: xmlp's output activation -> scikit-learn's ``out_activation_`` name.
_OUT_NAME = {"sigmoid": "logistic", "softmax": "softmax", "identity": "identity", "exp": "exp"}
_SOLVERS = ("lbfgs", "sgd", "adam")
_STOCHASTIC = ("sgd", "adam")
_SCHEDULES = ("constant", "invscaling", "adaptive")


class InvalidParameterError(ValueError, TypeError):
    """A constructor parameter has a wrong type or value (a ``ValueError`` and a
    ``TypeError``, like scikit-learn's own)."""


# ----------------------------------------------------------------------------- checks
def _bad(est, name: str, expected: str) -> InvalidParameterError:
    return InvalidParameterError(f"The {name!r} parameter of {type(est).__name__} must be "
                                 f"{expected}. Got {getattr(est, name)!r} instead.")


def _number(est, name: str, low: float | None, high: float | None, *, low_open=False,
            high_open=False, integer=False) -> None:
    value = getattr(est, name)
    kind = numbers.Integral if integer else numbers.Real
    interval = (("(" if low_open else "[") + ("-inf" if low is None else f"{low:g}") + ", "
                + ("inf" if high is None else f"{high:g}") + (")" if high_open else "]"))
    expected = f"{'an int' if integer else 'a float'} in the range {interval}"
    if isinstance(value, bool) or not isinstance(value, kind):
        raise _bad(est, name, expected)
    if (low is not None and (value < low or (low_open and value == low))) or \
            (high is not None and (value > high or (high_open and value == high))) or \
            (isinstance(value, float) and math.isnan(value)):
        raise _bad(est, name, expected)


def _choice(est, name: str, options) -> None:
    value = getattr(est, name)
    if not isinstance(value, str) or value not in options:
        raise _bad(est, name, f"a str among {sorted(options)}")


def _boolean(est, name: str) -> None:
    if not isinstance(getattr(est, name), (bool, np.bool_)):
        raise _bad(est, name, "an instance of 'bool'")


def check_params(est) -> list[int]:
    """Validate every constructor parameter of ``est``; return the hidden layer sizes."""
    sizes = est.hidden_layer_sizes
    if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
        sizes = [sizes]
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise _bad(est, "hidden_layer_sizes", "an array-like of positive ints")
    sizes = list(sizes)
    if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool)
               for s in sizes):
        raise _bad(est, "hidden_layer_sizes", "an array-like of positive ints")
    if any(s <= 0 for s in sizes):
        raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
    _choice(est, "activation", _HIDDEN)
    _choice(est, "solver", _SOLVERS)
    _number(est, "alpha", 0.0, None)
    if not (isinstance(est.batch_size, str) and est.batch_size == "auto"):
        if not isinstance(est.batch_size, numbers.Integral) or \
                isinstance(est.batch_size, bool) or est.batch_size < 1:
            raise _bad(est, "batch_size", "'auto' or an int in the range [1, inf)")
    _choice(est, "learning_rate", _SCHEDULES)
    _number(est, "learning_rate_init", 0.0, None, low_open=True)
    _number(est, "power_t", 0.0, None)
    _number(est, "max_iter", 1, None, integer=True)
    _boolean(est, "shuffle")
    rs = est.random_state
    if not (rs is None or isinstance(rs, np.random.RandomState)
            or (isinstance(rs, numbers.Integral) and not isinstance(rs, bool))):
        raise _bad(est, "random_state", "None, an int or a numpy RandomState")
    _number(est, "tol", 0.0, None)
    if not isinstance(est.verbose, (bool, numbers.Integral)):
        raise _bad(est, "verbose", "a bool or an int")
    _boolean(est, "warm_start")
    _number(est, "momentum", 0.0, 1.0)
    _boolean(est, "nesterovs_momentum")
    _boolean(est, "early_stopping")
    _number(est, "validation_fraction", 0.0, 1.0, low_open=True, high_open=True)
    _number(est, "beta_1", 0.0, 1.0, high_open=True)
    _number(est, "beta_2", 0.0, 1.0, high_open=True)
    _number(est, "epsilon", 0.0, None, low_open=True)
    _number(est, "n_iter_no_change", 1, None, integer=True)
    _number(est, "max_fun", 1, None, integer=True)
    if not (isinstance(est.backend, str) or hasattr(est.backend, "__name__")):
        raise _bad(est, "backend", "a backend name ('numpy', 'torch', 'cupy', "
                   "'array_api_strict'), 'auto' or an array-API namespace module")
    _choice(est, "init", ("sklearn", *INITIALISERS))
    _number(est, "dropout", 0.0, 1.0, high_open=True)
    _number(est, "l1", 0.0, None)
    if est.compile is not None and not isinstance(est.compile, (bool, np.bool_)):
        raise _bad(est, "compile", "None, True or False")
    if est.dropout and est.solver == "lbfgs":
        raise ValueError("dropout needs a stochastic solver ('sgd' or 'adam'); lbfgs "
                         "minimises a deterministic loss")
    est._check_output_params()
    return [int(s) for s in sizes]
