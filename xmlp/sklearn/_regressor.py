"""MLPRegressor: scikit-learn's multi-layer perceptron regressor on xmlp's core."""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils.metaestimators import available_if

from ._base import _BaseMLP
from ._docs import fill
from ._params import REGRESSOR_CONSTRAINTS
from ._place import _is_numpy, _Place
from ._solver import _stochastic

Array = Any


@fill(score='R^2 score', outputs='``"identity"``, ``"exp"``')
class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor: scikit-learn's ``MLPRegressor`` on xmlp's core.

    The parameters are scikit-learn's (same names, defaults and meaning; see its
    documentation) plus xmlp's ``backend``, ``device``, ``init``, ``dropout``, ``l1`` and
    ``compile``.  How scikit-learn's hyper-parameters map onto
    xmlp's update rules is described in :mod:`xmlp.sklearn`.  Parameters are checked when
    ``fit`` / ``partial_fit`` start, by scikit-learn's parameter validation.

    Parameters
    ----------
    loss : {"squared_error", "poisson"}, default "squared_error"
        Identity outputs + quadratic cost (reported as half the mean squared error,
        averaged over the outputs too), or exp outputs + Poisson loss (half the deviance
        summed over the outputs; the targets must be non-negative).
    %(parameters)s
    %(xmlp_parameters)s
    %(compile)s

    Attributes
    ----------
    %(attributes)s

    Raises
    ------
    xmlp.sklearn.InvalidParameterError
        From ``fit`` / ``partial_fit``, for a parameter value scikit-learn's constraint
        table (extended with xmlp's parameters) refuses, or hidden layer sizes that are not
        integers.
    ValueError
        From ``fit``, for hidden layer sizes <= 0, ``dropout`` with ``solver="lbfgs"``,
        ``compile=True`` on a backend that cannot compile, or negative targets with
        ``loss="poisson"``.

    See Also
    --------
    MLPClassifier : the classifier.
    xmlp.Network.fit : the training loop of the book's interface.

    Examples
    --------
    A regression of the digit's value on its pixels:

    >>> import xmlp
    >>> from xmlp.sklearn import MLPRegressor
    >>> data = xmlp.datasets.load("mnist-sample")
    >>> X, y = data.train
    >>> reg = MLPRegressor(hidden_layer_sizes=(10,), learning_rate_init=0.01,
    ...                    max_iter=30, early_stopping=True, random_state=0)
    >>> reg = reg.fit(X[:500], y[:500].astype(float))
    >>> [W.shape for W in reg.coefs_]
    [(784, 10), (10, 1)]
    >>> reg.predict(data.test[0][:5]).shape
    (5,)
    """

    _parameter_constraints: dict = REGRESSOR_CONSTRAINTS

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 backend="numpy", device=None, init="sklearn", dropout=0.0, l1=0.0,
                 compile=None):
        self.loss = loss
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
        self.compile = compile

    def _output_and_cost(self) -> tuple[str, str]:
        return ("exp", "poisson") if self.loss == "poisson" else ("identity", "quadratic")

    def _loss_scale(self) -> float:
        # half the mean squared error averages over the outputs too; Poisson sums them
        return 1.0 if self.loss == "poisson" else 1.0 / self.n_outputs_

    def _targets(self, y, incremental: bool, place: _Place):
        if self.loss == "poisson":
            xp = np if _is_numpy(y) else array_api_compat.array_namespace(y)
            if not bool(xp.all(y >= 0)):
                raise ValueError("loss='poisson' needs non-negative targets y (counts, "
                                 "rates); got negative values")
        return y

    def _prepare_validation(self, validation: dict) -> None:
        Y, w = validation["Y_host"], validation["w_host"]
        mean = np.average(Y, axis=0, weights=w)
        dev = (Y - mean) ** 2
        validation["ss_tot"] = np.sum(dev if w is None else dev * w[:, None], axis=0)

    def _validation_sums(self, validation: dict) -> list[Array]:
        xp = self.network_.xp
        d = self._output(validation["X"]) - validation["Y"]
        d = d * d
        if validation["w"] is not None:
            d = d * validation["w"][:, None]
        ss_res = xp.sum(d, axis=0)
        return [ss_res[k] for k in range(ss_res.shape[0])]

    def _validation_score(self, sums: list[float], validation: dict) -> float:
        """R^2 averaged over the outputs (an output with constant targets scores 1 when
        predicted exactly, else 0), NaN for non-finite predictions."""
        ss_res, ss_tot = np.asarray(sums), validation["ss_tot"]
        if not np.all(np.isfinite(ss_res)):
            return float("nan")
        scores = np.where(ss_tot != 0, 1.0 - ss_res / np.where(ss_tot != 0, ss_tot, 1.0),
                          np.where(ss_res == 0, 1.0, 0.0))
        return float(np.mean(scores))

    # ------------------------------------------------------------------ public API
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and target(s) y (see scikit-learn's
        ``MLPRegressor.fit``).

        Parameters
        ----------
        X : array_like, shape (n, n_in)
            The input data, in any namespace the estimator's backend takes, or a sparse
            matrix (densified on the way in).
        y : array_like, shape (n,) or (n, n_out)
            The targets (non-negative with ``loss="poisson"``).
        sample_weight : array_like, shape (n,), optional
            Weights of the samples (None: all equal).

        Returns
        -------
        MLPRegressor
            self, fitted.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(_stochastic)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y).

        Only with the stochastic solvers (``"sgd"``, ``"adam"``).

        Parameters
        ----------
        X : array_like, shape (n, n_in)
            The input data, in any namespace the estimator's backend takes, or a sparse
            matrix (densified on the way in).
        y : array_like, shape (n,) or (n, n_out)
            The targets.
        sample_weight : array_like, shape (n,), optional
            Weights of the samples (None: all equal).

        Returns
        -------
        MLPRegressor
            self.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predictions.

        Parameters
        ----------
        X : array_like, shape (n, n_in)
            The input data, in any namespace the estimator's backend takes, or a sparse
            matrix (densified on the way in).

        Returns
        -------
        array
            Shape (n,) for one output or (n, n_outputs), in the namespace and on the
            device of X.
        """
        A, place = self._forward_input(X, "predict")
        if self.n_outputs_ == 1:
            A = self.network_.xp.reshape(A, (-1,))
        return place.put(A)
