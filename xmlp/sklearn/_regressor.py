"""MLPRegressor: scikit-learn's multi-layer perceptron regressor on xmlp's core."""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils.metaestimators import available_if

from ._base import _BaseMLP
from ._params import REGRESSOR_CONSTRAINTS
from ._place import _is_numpy, _Place
from ._solver import _stochastic

Array = Any


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
    hidden_layer_sizes : int or array_like of int, default (100,)
        The number of neurons of each hidden layer.
    activation : {"relu", "identity", "logistic", "tanh"}, default "relu"
        The hidden layers' activation.
    solver : {"adam", "sgd", "lbfgs"}, default "adam"
        ``"adam"`` is :class:`xmlp.optim.Adam` with ``form="efficient"``; ``"sgd"`` is
        :class:`xmlp.optim.Momentum` (classical or Nesterov) or :class:`xmlp.optim.SGD`
        when ``momentum=0``; ``"lbfgs"`` minimises the same loss with
        ``scipy.optimize.minimize`` (L-BFGS-B).
    alpha : float, default 0.0001
        L2 strength, applied per mini-batch: each step descends
        ``(sum_x grad C_x + alpha W) / m`` for a batch of m examples.
    batch_size : int or "auto", default "auto"
        Mini-batch size of the stochastic solvers; ``"auto"`` is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default "constant"
        Step-size schedule of ``solver="sgd"``: ``"invscaling"`` sets
        eta = learning_rate_init / (t + 1) ** power_t after each epoch, t = samples seen;
        ``"adaptive"`` divides eta by 5 whenever ``n_iter_no_change`` epochs in a row fail
        to improve by ``tol`` (and stops once eta <= 1e-6).
    learning_rate_init : float, default 0.001
        The initial step size (``"sgd"`` and ``"adam"``).
    power_t : float, default 0.5
        Exponent of ``learning_rate="invscaling"``.
    max_iter : int, default 200
        Most epochs of the stochastic solvers; most iterations of ``"lbfgs"``.
    shuffle : bool, default True
        Shuffle the samples before each epoch (stochastic solvers).
    random_state : int, numpy.random.RandomState or None, default None
        Seeds the initial weights and biases, the early-stopping split, the permutation of
        each epoch and the dropout masks, used as scikit-learn uses them.
    tol : float, default 1e-4
        Tolerance of the stopping test (see ``n_iter_no_change``).
    verbose : bool, default False
        Print the loss after each epoch.
    warm_start : bool, default False
        ``fit`` continues from the fitted network instead of starting again.
    momentum : float, default 0.9
        Momentum of ``solver="sgd"`` (0: plain SGD).
    nesterovs_momentum : bool, default True
        Nesterov's momentum instead of classical momentum (``solver="sgd"``).
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the training data and stop when its score
        stops improving (stochastic solvers).
    validation_fraction : float, default 0.1
        The share of the training data held out with ``early_stopping``.
    beta_1, beta_2 : float, default 0.9, 0.999
        Adam's decay rates of the first and second moment estimates.
    epsilon : float, default 1e-8
        Adam's epsilon, placed as scikit-learn places it.
    n_iter_no_change : int, default 10
        Stop (or, with ``learning_rate="adaptive"``, divide eta by 5) after this many
        epochs in a row without an improvement of ``tol``.
    max_fun : int, default 15000
        Most loss evaluations of ``solver="lbfgs"``.
    backend : str or module, default "numpy"
        Any name :func:`xmlp.backend.resolve` accepts (``"torch"``, ``"cupy"``,
        ``"array_api_strict"``, ...) or ``"auto"`` (the namespace and device of the input
        arrays).  Under ``sklearn.set_config(array_api_dispatch=True)`` the default
        ``"numpy"`` behaves as ``"auto"``.  A backend named explicitly is always used;
        inputs are moved to it and the results moved back to the input's namespace.
    device : str, device object or None, default None
        The device of a named backend (e.g. ``"cuda"``, ``"cuda:1"``, ``"device1"``).
    init : str, default "sklearn"
        ``"sklearn"`` (Glorot-uniform weights *and* biases from ``random_state``, in
        scikit-learn's order) or one of xmlp's initialisers (``"normalized"``,
        ``"large"``, ``"glorot"``, ``"he"``), drawn from a generator seeded from
        ``random_state``.
    dropout : float, default 0.0
        Probability of dropping each hidden neuron during training (inverted dropout;
        stochastic solvers only).  Masks are drawn from ``random_state``.
    l1 : float, default 0.0
        L1 strength, applied per mini-batch like ``alpha``: ``l1 * sign(W) / m``.
    compile : bool or None, default None
        Run the stochastic solvers' epochs as compiled XLA programs (:mod:`xmlp.engine`;
        same steps and numbers).  None: compiled where the backend can
        (``backend="jax"``), eager elsewhere; True: compiled; False: eager.  A program is
        compiled once per shape per process and reused by every later fit.

    Attributes
    ----------
    coefs_, intercepts_ : list of arrays
        Weight matrices and bias vectors of each layer (read from ``network_``).
    n_iter_ : int
        Epochs (or L-BFGS iterations) run.
    t_ : int
        Training samples seen by the solver.
    loss_ : float
        The last loss: scikit-learn's (the mean cost plus the L2 penalty).
    loss_curve_ : list of float
        The loss after each epoch (stochastic solvers).
    best_loss_ : float or None
        The lowest loss reached (None with ``early_stopping``).
    validation_scores_ : list of float or None
        The held-out R^2 score after each epoch with ``early_stopping``, else None.
    best_validation_score_ : float or None
        The best of ``validation_scores_``.
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
        Number of output neurons.
    out_activation_ : str
        The output activation's scikit-learn name (``"identity"``, ``"exp"``).
    n_features_in_ : int
        Number of features seen by ``fit``.
    feature_names_in_ : ndarray of str
        Feature names, when X has string column names.
    network_ : Network
        The trained network, e.g. for ``network_.save("net.json")``.
    history_ : History
        The per-epoch record of the last call to ``fit`` / ``partial_fit``.

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
