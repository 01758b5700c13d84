"""MLPClassifier: scikit-learn's multi-layer perceptron classifier on xmlp's core."""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels

from ..backend import to_numpy
from ._base import _BaseMLP
from ._docs import fill
from ._params import CLASSIFIER_CONSTRAINTS
from ._place import _host, _is_numpy, _Place
from ._solver import _stochastic

Array = Any


@fill(score='accuracy', outputs='``"softmax"``, ``"logistic"``')
class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier: scikit-learn's ``MLPClassifier`` on xmlp's core.

    The parameters are scikit-learn's (same names, defaults and meaning; see its
    documentation) plus xmlp's ``backend``, ``device``, ``init``, ``dropout``, ``l1``,
    ``cost``, ``output`` and ``compile``.  How scikit-learn's hyper-parameters map onto
    xmlp's update rules is described in :mod:`xmlp.sklearn`.  Parameters are checked when
    ``fit`` / ``partial_fit`` start, by scikit-learn's parameter validation.

    Parameters
    ----------
    %(parameters)s
    %(xmlp_parameters)s
    cost : {None, "log-loss", "cross-entropy", "quadratic"}, default None
        None or ``"log-loss"``: scikit-learn's log-loss -- softmax + log-likelihood for
        multiclass, sigmoid + cross-entropy for binary and multilabel problems.
        ``"cross-entropy"``: one sigmoid per class, also for multiclass problems (the
        book's chapter 3).  ``"quadratic"``: network.py's cost, sigmoid outputs unless
        ``output="softmax"`` (the book's chapter 1).
    output : {None, "sigmoid", "softmax"}, default None
        None (the cost's output) or, with ``cost="quadratic"``, ``"sigmoid"`` /
        ``"softmax"``.
    %(compile)s

    Attributes
    ----------
    classes_ : array of shape (n_classes,)
        The class labels.
    %(attributes)s

    Raises
    ------
    xmlp.sklearn.InvalidParameterError
        From ``fit`` / ``partial_fit``, for a parameter value scikit-learn's constraint
        table (extended with xmlp's parameters) refuses, or hidden layer sizes that are not
        integers.
    ValueError
        From ``fit``, for hidden layer sizes <= 0, ``dropout`` with ``solver="lbfgs"``,
        ``output`` without ``cost="quadratic"``, or ``compile=True`` on a backend that
        cannot compile.

    See Also
    --------
    MLPRegressor : the regressor.
    xmlp.Network.fit : the training loop of the book's interface.

    Examples
    --------
    >>> import xmlp
    >>> from xmlp.sklearn import MLPClassifier
    >>> data = xmlp.datasets.load("mnist-sample")
    >>> X, y = data.train
    >>> clf = MLPClassifier(hidden_layer_sizes=(30,), learning_rate_init=0.01,
    ...                     max_iter=30, early_stopping=True, random_state=0)
    >>> clf = clf.fit(X[:1000], y[:1000])
    >>> clf.network_.sizes
    [784, 30, 10]
    >>> clf.predict_proba(data.test[0][:5]).shape
    (5, 10)
    >>> clf.score(*data.test) > 0.8
    True
    """

    _classifier = True
    _parameter_constraints: dict = CLASSIFIER_CONSTRAINTS

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 backend="numpy", device=None, init="sklearn", dropout=0.0, l1=0.0,
                 cost=None, output=None, compile=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.backend = backend
        self.device = device
        self.init = init
        self.dropout = dropout
        self.l1 = l1
        self.cost = cost
        self.output = output
        self.compile = compile

    def _output_and_cost(self) -> tuple[str, str]:
        multiclass = self._label_binarizer.y_type_ == "multiclass"
        if self.cost in (None, "log-loss"):
            return ("softmax", "log-likelihood") if multiclass else ("sigmoid", "cross-entropy")
        if self.cost == "cross-entropy":
            return "sigmoid", "cross-entropy"
        return self.output or "sigmoid", "quadratic"

    def _targets(self, y, incremental: bool, place: _Place) -> np.ndarray:
        """Fit the label binariser (first fit) or check the labels against classes_;
        return the binarised targets (host)."""
        y_host = _host(y)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y_host)
        else:
            classes = unique_labels(y_host)
            known = self._label_binarizer.classes_
            if self.warm_start:
                if set(classes) != set(known):
                    raise ValueError(f"warm_start can only be used where `y` has the same "
                                     f"classes as in the previous call to fit. Previously "
                                     f"got {known}, `y` has {classes}")
            elif len(np.setdiff1d(classes, known, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` "
                                 f"has {known}. 'y' has {classes}.")
        self.classes_ = _classes_at(self._label_binarizer.classes_, place)
        return self._label_binarizer.transform(y_host).astype(np.float64)

    def _prepare_validation(self, validation: dict) -> None:
        Y = validation["Y_host"]
        if self.n_outputs_ == 1:
            validation["truth"] = Y[:, 0] > 0.5
        elif self._label_binarizer.y_type_ == "multiclass":
            validation["truth"] = np.argmax(Y, axis=1)
        else:
            validation["truth"] = Y > 0.5
        net = self.network_
        validation["truth_dev"] = net.xp.asarray(validation["truth"], device=net.device)
        w = validation["w_host"]
        validation["total"] = len(Y) if w is None else float(np.sum(w))

    def _validation_sums(self, validation: dict) -> list[Array]:
        xp = self.network_.xp
        correct = self._correct(self._output(validation["X"]), validation["truth_dev"])
        correct = xp.astype(correct, self.network_.dtype)
        if validation["w"] is not None:
            correct = correct * validation["w"]
        return [xp.sum(correct)]

    def _correct(self, A: Array, truth: Array) -> Array:
        """Per row: is the prediction right (subset accuracy for multilabel problems)?"""
        xp = self.network_.xp
        if len(self._label_binarizer.classes_) == 1:
            return xp.ones(A.shape[0], dtype=xp.bool, device=self.network_.device)
        if self.n_outputs_ == 1:
            return (A[:, 0] > 0.5) == truth
        if self._label_binarizer.y_type_ == "multiclass":
            return xp.argmax(A, axis=1) == truth
        return xp.all((A > 0.5) == truth, axis=1)

    def _validation_score(self, sums: list[float], validation: dict) -> float:
        return sums[0] / validation["total"]

    # ------------------------------------------------------------------ public API
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and target(s) y (see scikit-learn's
        ``MLPClassifier.fit``).

        Parameters
        ----------
        X : array_like, shape (n, n_in)
            The input data, in any namespace the estimator's backend takes, or a sparse
            matrix (densified on the way in).
        y : array_like, shape (n,) or (n, n_out)
            The class labels (a label indicator matrix for multilabel problems).
        sample_weight : array_like, shape (n,), optional
            Weights of the samples (None: all equal).

        Returns
        -------
        MLPClassifier
            self, fitted.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(_stochastic)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over (X, y).

        Only with the stochastic solvers (``"sgd"``, ``"adam"``).

        Parameters
        ----------
        X : array_like, shape (n, n_in)
            The input data, in any namespace the estimator's backend takes, or a sparse
            matrix (densified on the way in).
        y : array_like, shape (n,) or (n, n_out)
            The class labels.
        sample_weight : array_like, shape (n,), optional
            Weights of the samples (None: all equal).
        classes : array_like, optional
            All labels; required on the first call.

        Returns
        -------
        MLPClassifier
            self.

        Raises
        ------
        ValueError
            When ``classes`` is missing on the first call, or differs from the last call's.
        """
        if self._first_partial_call(classes):
            self._label_binarizer = LabelBinarizer()
            y_host = _host(y)
            if type_of_target(y_host).startswith("multilabel"):
                self._label_binarizer.fit(y_host)
            else:
                self._label_binarizer.fit(self.classes_)
        return self._fit(X, y, sample_weight, incremental=True)

    def _first_partial_call(self, classes) -> bool:
        known = getattr(self, "_label_binarizer", None)
        if getattr(self, "classes_", None) is None and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if classes is None:
            return False
        unique = unique_labels(_host(classes))
        if getattr(self, "classes_", None) is not None and known is not None:
            if not np.array_equal(known.classes_, unique):
                raise ValueError(f"`classes={classes!r}` is not the same as on last call to "
                                 f"partial_fit, was: {known.classes_!r}")
            return False
        self.classes_ = unique
        return True

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array_like, shape (n, n_in)
            The input data, in any namespace the estimator's backend takes, or a sparse
            matrix (densified on the way in).

        Returns
        -------
        array
            Shape (n,) (or (n, n_classes) for multilabel targets), in the namespace and on
            the device of X.
        """
        A, place = self._forward_input(X, "predict")
        xp = self.network_.xp
        lb = self._label_binarizer
        if lb.y_type_.startswith("multilabel"):
            return place.put(xp.astype(A > 0.5, xp.int64))
        if len(lb.classes_) == 1:
            idx = xp.zeros(A.shape[0], dtype=xp.int64, device=self.network_.device)
        elif self.n_outputs_ == 1:
            idx = xp.astype(A[:, 0] > 0.5, xp.int64)
        else:
            idx = xp.argmax(A, axis=1)
        classes = lb.classes_
        if place.xp is None or classes.dtype.kind not in "biuf":
            return classes[to_numpy(idx)]
        out = place.put(idx)
        return place.xp.take(place.put(classes), out, axis=0)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array_like, shape (n, n_in)
            The input data, in any namespace the estimator's backend takes, or a sparse
            matrix (densified on the way in).

        Returns
        -------
        array
            Shape (n, n_classes), in the namespace and on the device of X.
        """
        A, place = self._forward_input(X, "predict_proba")
        return place.put(self._probabilities(A))

    def _probabilities(self, A: Array) -> Array:
        xp = self.network_.xp
        if self.n_outputs_ == 1:
            p = A[:, 0]
            A = xp.stack([1.0 - p, p], axis=1)
        elif self._label_binarizer.y_type_ == "multiclass" and self.network_.output.name \
                != "softmax":
            A = A / xp.sum(A, axis=1, keepdims=True)  # one sigmoid per class: normalise
        return A

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array_like, shape (n, n_in)
            The input data, in any namespace the estimator's backend takes, or a sparse
            matrix (densified on the way in).

        Returns
        -------
        array
            Shape (n, n_classes), in the namespace and on the device of X.
        """
        A, place = self._forward_input(X, "predict_log_proba")
        P = place.put(self._probabilities(A))
        xp = np if _is_numpy(P) else array_api_compat.array_namespace(P)
        return xp.log(P)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


def _classes_at(classes: np.ndarray, place: _Place) -> Any:
    """classes_ in the fit input's namespace (numbers) or as NumPy (strings, objects)."""
    if place.xp is None or classes.dtype.kind not in "biuf":
        return classes
    return place.put(classes)

