"""The estimators' constructor parameters: scikit-learn's own constraint table, extended
with xmlp's parameters in the same form, checked by scikit-learn's parameter validation.

The shared parameters are not restated here: their rules are read from
``sklearn.neural_network.MLPClassifier._parameter_constraints`` (and the regressor's), so
whatever the installed scikit-learn accepts is accepted, whatever it refuses is refused with
its exception type (:class:`InvalidParameterError`) and message.  ``fit`` and
``partial_fit`` validate through scikit-learn's ``_fit_context`` (also skipping the check
where scikit-learn skips it: ``partial_fit`` on a fitted estimator,
``sklearn.set_config(skip_parameter_validation=True)``).  What a table cannot say -- each
hidden layer size is positive, combinations of parameters -- is checked at the start of
each fit by :func:`check_fit_params`, as scikit-learn checks its hidden layer sizes.
"""

from __future__ import annotations

import numbers
from numbers import Real
from types import ModuleType

from sklearn.neural_network import MLPClassifier as _SkMLPClassifier
from sklearn.neural_network import MLPRegressor as _SkMLPRegressor
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions

from ..init import INITIALISERS

__all__ = ["CLASSIFIER_CONSTRAINTS", "REGRESSOR_CONSTRAINTS", "InvalidParameterError",
           "check_fit_params"]

_HIDDEN = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
#: xmlp's output activation -> scikit-learn's ``out_activation_`` name.
_OUT_NAME = {"sigmoid": "logistic", "softmax": "softmax", "identity": "identity", "exp": "exp"}
_STOCHASTIC = ("sgd", "adam")

#: xmlp's own parameters, shared by both estimators.
_XMLP_CONSTRAINTS: dict = {
    # a name resolve() knows (it names the choices and the install command otherwise), "auto"
    # or a namespace module
    "backend": [str, ModuleType],
    # a name ("cuda:1", "device1") or a device object of the backend's own library: what a
    # device is depends on the backend, and resolve() / parse_device() check it against it
    "device": "no_validation",
    "init": [StrOptions({"sklearn", *INITIALISERS})],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "l1": [Interval(Real, 0, None, closed="left")],
    "compile": ["boolean", None],
}

CLASSIFIER_CONSTRAINTS: dict = {
    **_SkMLPClassifier._parameter_constraints,
    **_XMLP_CONSTRAINTS,
    "cost": [StrOptions({"log-loss", "cross-entropy", "quadratic"}), None],
    "output": [StrOptions({"sigmoid", "softmax"}), None],
}

REGRESSOR_CONSTRAINTS: dict = {**_SkMLPRegressor._parameter_constraints, **_XMLP_CONSTRAINTS}


def check_fit_params(est) -> list[int]:
    """What the constraint table cannot say, checked at the start of every fit (as
    scikit-learn checks its hidden layer sizes); returns the hidden layer sizes."""
    sizes = est.hidden_layer_sizes
    sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
    if all(isinstance(s, numbers.Real) for s in sizes) and any(s <= 0 for s in sizes):
        raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
    if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in sizes):
        raise InvalidParameterError(
            f"The 'hidden_layer_sizes' parameter of {type(est).__name__} must be an int or "
            f"an array-like of ints (the number of neurons of each hidden layer). Got "
            f"{est.hidden_layer_sizes!r} instead.")
    if est.dropout and est.solver == "lbfgs":
        raise ValueError("dropout needs a stochastic solver ('sgd' or 'adam'); lbfgs "
                         "minimises a deterministic loss")
    if getattr(est, "output", None) is not None and getattr(est, "cost", None) != "quadratic":
        raise ValueError("output= applies to cost='quadratic' only; the log-loss and "
                         "cross-entropy costs fix their output layer")
    return [int(s) for s in sizes]
