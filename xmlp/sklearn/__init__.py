"""scikit-learn estimators on xmlp's core: :class:`MLPClassifier` and :class:`MLPRegressor`.

Drop-in replacements for ``sklearn.neural_network.MLPClassifier`` / ``MLPRegressor``: the
same constructor parameters (names, defaults, meaning), methods and fitted attributes, and
-- for the same ``random_state`` and float64 data -- the same model: the random stream is
used as scikit-learn uses it (initial weights and biases, the early-stopping split, one
permutation per epoch), and every step takes the same update.  On top of that they run
on any backend xmlp runs on (``backend="torch"``, ``"cupy"``, ...) and take part in
scikit-learn's array-API dispatch.  Needs the ``sklearn`` extra:
``pip install "xmlp[sklearn]"`` (scikit-learn and SciPy); ``import xmlp`` does not import
this module.

How scikit-learn's hyper-parameters map onto xmlp's
---------------------------------------------------
* ``alpha`` is an L2 term *per mini-batch*: each step descends
  ``(sum_x grad C_x + alpha W) / m`` for a batch of m examples (m = the batch's summed
  sample weights when they are given).  xmlp's ``lmbda`` is a whole-training-set term,
  ``grad C / m + (lmbda / n) W``, so a fixed batch size m gives ``lmbda = alpha * n / m``.
  The estimators apply ``alpha`` per batch (also to a shorter last batch), which is
  :class:`xmlp.optim.Decay` with ``lmbda=alpha, n=m``.  ``l1`` (xmlp's) is added the same
  way: ``l1 * sign(W) / m``.
* ``solver="adam"`` is :class:`xmlp.optim.Adam` with ``form="efficient"`` (scikit-learn's
  placement of epsilon); ``solver="sgd"`` is :class:`xmlp.optim.Momentum` (classical or
  Nesterov) or :class:`xmlp.optim.SGD` when ``momentum=0``; ``learning_rate="invscaling"``
  sets eta = learning_rate_init / (t + 1) ** power_t after each epoch, t = samples seen;
  ``"adaptive"`` divides eta by 5 whenever ``n_iter_no_change`` epochs in a row fail to
  improve by ``tol`` (and stops once eta <= 1e-6).
* ``solver="lbfgs"`` minimises the same loss with ``scipy.optimize.minimize`` (L-BFGS-B)
  over the flattened parameters; loss and gradient are computed by the core on the
  chosen backend.
* The loss reported (``loss_``, ``loss_curve_``) is scikit-learn's: the mean cost over the
  samples plus ``0.5 * alpha * sum(W**2) / m``, averaged over the epoch's batches
  (weighted by their sizes); squared error is also averaged over the outputs (half the
  mean squared error), the Poisson loss is half the deviance summed over the outputs.
* Output layer and cost: softmax + log-likelihood for multiclass problems, sigmoid +
  cross-entropy for binary and multilabel ones (``out_activation_ == "logistic"``),
  identity + quadratic (``loss="squared_error"``) or exp + Poisson (``loss="poisson"``)
  for regression.  ``MLPClassifier(cost="cross-entropy")`` uses one sigmoid per class
  for multiclass problems too (the book's chapter 3), ``cost="quadratic"`` the quadratic
  cost with sigmoid (or ``output="softmax"``) outputs (the book's chapter 1).

xmlp's own parameters
---------------------
backend : "numpy" (default), any name :func:`xmlp.backend.resolve` accepts ("torch",
    "cupy", "array_api_strict") or "auto" (the namespace and device of the input arrays).
    Under ``sklearn.set_config(array_api_dispatch=True)`` the default "numpy" behaves as
    "auto", as scikit-learn's array-API estimators do: a fit on torch tensors trains with
    torch on their device, and predictions come back in the input's namespace and on its
    device.  A backend named explicitly is always used; inputs are moved to it and the
    results moved back to the input's namespace.
device : the device of a named backend (e.g. "cuda", "cuda:1", "device1").
init : "sklearn" (default: Glorot-uniform weights *and* biases from ``random_state``, in
    scikit-learn's order) or one of xmlp's initialisers ("normalized", "large",
    "glorot", "he"), drawn from a generator seeded from ``random_state``.
dropout : probability of dropping each hidden neuron during training (inverted
    dropout; stochastic solvers only).  Masks are drawn from ``random_state``.
l1 : L1 strength, applied per mini-batch like ``alpha``.
compile : run the stochastic solvers' epochs as compiled XLA programs
    (:mod:`xmlp.engine`; same steps and numbers).  None (default): compiled where the
    backend can (``backend="jax"``), eager elsewhere; True: compiled (a ValueError on
    another backend); False: eager.  A program is compiled once per shape per process and
    reused by every later fit (a grid search pays it once).

Data is computed in float32 when X is float32 and in float64 otherwise (as scikit-learn
does).  Sparse X is accepted and densified on the way in.
"""

from __future__ import annotations

import math
import numbers
import time
import warnings
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np

try:
    import scipy.optimize
    import sklearn
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(f"xmlp.sklearn needs scikit-learn and SciPy ({exc}); install them with: "
                      "pip install 'xmlp[sklearn]'") from exc
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from .. import optim
from ..backend import (
    Backend,
    device_name,
    namespace_name,
    parse_device,
    resolve,
    same_device,
    to_backend,
    to_numpy,
)
from ..engine import Data, Engine, penalty, penalty_factors, resolve_compile
from ..init import INITIALISERS, initial_parameters
from ..model import Network
from ..network import EVAL_CHUNK, backprop, chunks, forward
from ..train import History

Array = Any

__all__ = ["MLPClassifier", "MLPRegressor", "InvalidParameterError"]

_HIDDEN = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
#: xmlp's output activation -> scikit-learn's ``out_activation_`` name.
_OUT_NAME = {"sigmoid": "logistic", "softmax": "softmax", "identity": "identity", "exp": "exp"}
_SOLVERS = ("lbfgs", "sgd", "adam")
_STOCHASTIC = ("sgd", "adam")
_SCHEDULES = ("constant", "invscaling", "adaptive")


class InvalidParameterError(ValueError, TypeError):
    """A constructor parameter has a wrong type or value (a ``ValueError`` and a
    ``TypeError``, like scikit-learn's own)."""


# ----------------------------------------------------------------------------- arrays
def _is_numpy(x: Any) -> bool:
    return isinstance(x, np.ndarray) or not array_api_compat.is_array_api_obj(x)


def _host(x: Any) -> Any:
    """A NumPy view of labels / weights that may be arrays of another library."""
    if x is None or _is_numpy(x):
        return x
    return to_numpy(x)


def _dispatch() -> bool:
    return bool(sklearn.get_config().get("array_api_dispatch", False))


@dataclass(frozen=True, eq=False)
class _Place:
    """Where results go: the namespace and device of the arrays a method was given."""

    xp: Any  # None: NumPy
    device: Any = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Place):
            return NotImplemented
        return self.xp is other.xp and (self.xp is None or same_device(self.device,
                                                                        other.device))

    def __hash__(self) -> int:
        return hash(id(self.xp))

    @classmethod
    def of(cls, X: Any) -> _Place:
        if _is_numpy(X):
            return cls(None)
        return cls(array_api_compat.array_namespace(X), array_api_compat.device(X))

    def put(self, a: Any) -> Any:
        """``a`` (any supported array) as an array of this place."""
        if self.xp is None:
            return to_numpy(a)
        if not _is_numpy(a) and array_api_compat.array_namespace(a) is self.xp \
                and same_device(array_api_compat.device(a), self.device):
            return a
        return self.xp.asarray(to_numpy(a), device=self.device)

    def __str__(self) -> str:
        if self.xp is None:
            return "NumPy arrays"
        return f"{resolve(self.xp).name} arrays on {device_name(self.device)}"

    def __reduce__(self):
        """Pickled by name (modules do not pickle): the backend and device names."""
        if self.xp is None:
            return (_Place, (None,))
        backend = resolve(self.xp)
        return (_place_named, (backend.name, device_name(self.device)))


def _place_named(name: str, device: str) -> _Place:
    backend = resolve(name)  # BackendUnavailable, with the install command, if missing
    return _Place(backend.xp, parse_device(backend, device))


@dataclass
class _Portable:
    """A device array on its way through pickle: host copy + backend and device names."""

    array: np.ndarray
    backend: str
    device: str

    @classmethod
    def of(cls, a: Any) -> _Portable:
        return cls(to_numpy(a), namespace_name(a), device_name(array_api_compat.device(a)))

    def restore(self) -> Any:
        b = resolve(self.backend)  # BackendUnavailable, with the install command, if missing
        device = parse_device(b, self.device)
        return b.xp.asarray(self.array, device=device)


def _portable(obj: Any) -> Any:
    """Replace every non-NumPy array in obj (dicts, lists, tuples, states) by _Portable."""
    if isinstance(obj, dict):
        return {k: _portable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_portable(v) for v in obj)
    if isinstance(obj, optim.State):
        return optim.State(_portable(obj.arrays), obj.t)
    if isinstance(obj, _Solver):
        return _Solver(obj.rule, _portable(obj.state), obj.learning_rate)
    if not _is_numpy(obj):
        return _Portable.of(obj)
    return obj


def _restored(obj: Any) -> Any:
    if isinstance(obj, _Portable):
        return obj.restore()
    if isinstance(obj, dict):
        return {k: _restored(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_restored(v) for v in obj)
    if isinstance(obj, optim.State):
        return optim.State(_restored(obj.arrays), obj.t)
    if isinstance(obj, _Solver):
        return _Solver(obj.rule, _restored(obj.state), obj.learning_rate)
    return obj


@dataclass
class _Solver:
    """A stochastic solver between calls: the update rule, its state, the learning rate."""

    rule: optim.Rule
    state: optim.State
    learning_rate: float


@dataclass
class _Problem:
    """What one fit trains on, on the compute backend."""

    X: Array  # (n, n_features)
    Y: Array  # (n, n_outputs) targets of the cost
    sw: np.ndarray | None  # host sample weights (n,) or None
    sw_dev: Array | None  # the same on the device
    labels: np.ndarray | None = None  # host binarised targets (classifier), for the split


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


# ----------------------------------------------------------------------------- base
class _BaseMLP(BaseEstimator):
    """The parts MLPClassifier and MLPRegressor share: checks, initialisation, solvers."""

    _classifier = False

    # ------------------------------------------------------------------ parameters
    def _check_params(self) -> list[int]:
        """Validate every constructor parameter; return the hidden layer sizes."""
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
            sizes = [sizes]
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
            raise _bad(self, "hidden_layer_sizes", "an array-like of positive ints")
        sizes = list(sizes)
        if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool)
                   for s in sizes):
            raise _bad(self, "hidden_layer_sizes", "an array-like of positive ints")
        if any(s <= 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        _choice(self, "activation", _HIDDEN)
        _choice(self, "solver", _SOLVERS)
        _number(self, "alpha", 0.0, None)
        if not (isinstance(self.batch_size, str) and self.batch_size == "auto"):
            if not isinstance(self.batch_size, numbers.Integral) or \
                    isinstance(self.batch_size, bool) or self.batch_size < 1:
                raise _bad(self, "batch_size", "'auto' or an int in the range [1, inf)")
        _choice(self, "learning_rate", _SCHEDULES)
        _number(self, "learning_rate_init", 0.0, None, low_open=True)
        _number(self, "power_t", 0.0, None)
        _number(self, "max_iter", 1, None, integer=True)
        _boolean(self, "shuffle")
        rs = self.random_state
        if not (rs is None or isinstance(rs, np.random.RandomState)
                or (isinstance(rs, numbers.Integral) and not isinstance(rs, bool))):
            raise _bad(self, "random_state", "None, an int or a numpy RandomState")
        _number(self, "tol", 0.0, None)
        if not isinstance(self.verbose, (bool, numbers.Integral)):
            raise _bad(self, "verbose", "a bool or an int")
        _boolean(self, "warm_start")
        _number(self, "momentum", 0.0, 1.0)
        _boolean(self, "nesterovs_momentum")
        _boolean(self, "early_stopping")
        _number(self, "validation_fraction", 0.0, 1.0, low_open=True, high_open=True)
        _number(self, "beta_1", 0.0, 1.0, high_open=True)
        _number(self, "beta_2", 0.0, 1.0, high_open=True)
        _number(self, "epsilon", 0.0, None, low_open=True)
        _number(self, "n_iter_no_change", 1, None, integer=True)
        _number(self, "max_fun", 1, None, integer=True)
        if not (isinstance(self.backend, str) or hasattr(self.backend, "__name__")):
            raise _bad(self, "backend", "a backend name ('numpy', 'torch', 'cupy', "
                       "'array_api_strict'), 'auto' or an array-API namespace module")
        _choice(self, "init", ("sklearn", *INITIALISERS))
        _number(self, "dropout", 0.0, 1.0, high_open=True)
        _number(self, "l1", 0.0, None)
        if self.compile is not None and not isinstance(self.compile, (bool, np.bool_)):
            raise _bad(self, "compile", "None, True or False")
        if self.dropout and self.solver == "lbfgs":
            raise ValueError("dropout needs a stochastic solver ('sgd' or 'adam'); lbfgs "
                             "minimises a deterministic loss")
        self._check_output_params()
        return [int(s) for s in sizes]

    def _check_output_params(self) -> None:
        """The subclass's own parameters (classifier: cost, output; regressor: loss)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ backend
    def _compute_backend(self, X: Any) -> Backend:
        """The backend a first fit trains on (see the module docstring)."""
        name = self.backend
        follow = name == "auto" or (_dispatch() and isinstance(name, str)
                                    and name.lower() in ("numpy", "np"))
        if follow:
            if _is_numpy(X):
                return resolve("numpy")
            return resolve(array_api_compat.array_namespace(X), array_api_compat.device(X))
        backend = resolve(name)
        if self.device is not None:
            device = parse_device(backend, self.device) if isinstance(self.device, str) \
                else self.device
            backend = resolve(name, device)
        return backend

    @staticmethod
    def _on(backend: Backend, dtype: Any, a: Any, what: str) -> Array:
        """``a`` (NumPy, or an array of any supported library) on the compute backend."""
        if not _is_numpy(a) and array_api_compat.array_namespace(a) is not backend.xp:
            a = to_numpy(a)
        elif not _is_numpy(a) and not same_device(array_api_compat.device(a), backend.device):
            a = to_numpy(a)
        return to_backend(a, backend, dtype, what)

    # ------------------------------------------------------------------ validation
    def _validate_X_y(self, X, y, sample_weight, reset: bool):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=_float_dtypes(X), reset=reset,
                             y_numeric=not self._classifier)
        if hasattr(X, "toarray"):  # scipy.sparse: the core works on dense arrays
            X = X.toarray()
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        sw = _sample_weight(sample_weight, X.shape[0])
        return X, y, sw

    # ------------------------------------------------------------------ fit
    def _fit(self, X, y, sample_weight=None, incremental: bool = False):
        hidden_sizes = self._check_params()
        first_pass = not hasattr(self, "network_") or (not self.warm_start and not incremental)
        X, y, sw = self._validate_X_y(X, y, sample_weight, reset=first_pass)
        place = _Place.of(X)
        Y = self._targets(y, incremental, place)  # (n,) or (n, n_outputs), host or device
        if Y.ndim == 1:
            Y = (np if _is_numpy(Y) else array_api_compat.array_namespace(Y)).reshape(Y, (-1, 1))
        n_samples, n_features = X.shape
        n_outputs = Y.shape[1]
        layer_units = [n_features, *hidden_sizes, n_outputs]
        self._random_state = check_random_state(self.random_state)

        if first_pass:
            backend = self._compute_backend(X)
            dtype_name = "float32" if _is_float32(X) else "float64"
            self._initialize(layer_units, backend, dtype_name)
        elif list(self.network_.sizes) != layer_units:
            raise ValueError(f"warm_start / partial_fit continue the fitted network with "
                             f"layers {self.network_.sizes}, but the data and "
                             f"hidden_layer_sizes give {layer_units}; fit a new estimator")
        self._place = place
        net = self.network_
        Xd = self._on(net.backend, net.dtype, X, "X")
        Yd = self._on(net.backend, net.dtype, Y, "y")
        sw_dev = None if sw is None else net.xp.asarray(sw, dtype=net.dtype,
                                                         device=net.device)
        # binary problems stratify the early-stopping split by their 0/1 column
        problem = _Problem(Xd, Yd, sw, sw_dev, labels=Y > 0.5 if self._classifier else None)

        if self.solver in _STOCHASTIC:
            if self.batch_size != "auto" and self.batch_size > n_samples:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. "
                              "It is going to be clipped", UserWarning, stacklevel=3)
            self._fit_stochastic(problem, incremental)
        else:
            self._fit_lbfgs(problem)

        if not self._finite(net):
            raise ValueError("Solver produced non-finite parameter weights. The input data "
                             "may contain large values and need to be preprocessed.")
        return self

    def _batch_size(self, n: int) -> int:
        if self.batch_size == "auto":
            return min(200, n)
        return n if self.batch_size > n else self.batch_size

    @staticmethod
    def _finite(net: Network) -> bool:
        xp = net.xp
        ok = [xp.all(xp.isfinite(a)) for a in (*net._W, *net._b)]
        return bool(to_numpy(xp.all(xp.stack(ok))))

    def _initialize(self, layer_units: list[int], backend: Backend, dtype: str) -> None:
        """Attributes and initial parameters of a first fit (draws from _random_state)."""
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = layer_units[-1]
        self.n_layers_ = len(layer_units)
        output, cost = self._output_and_cost()
        self.out_activation_ = _OUT_NAME[output]
        rs = self._random_state
        if self.init == "sklearn":
            # scikit-learn's draw: per layer, the weights (n_in, n_out) and then the biases,
            # uniform in +-sqrt(f / (n_in + n_out)), f = 2 for logistic hidden units, else 6.
            factor = 2.0 if self.activation == "logistic" else 6.0
            weights, biases = [], []
            for n_in, n_out in zip(layer_units[:-1], layer_units[1:]):
                bound = math.sqrt(factor / (n_in + n_out))
                weights.append(rs.uniform(-bound, bound, (n_in, n_out)).T)
                biases.append(rs.uniform(-bound, bound, n_out))
        else:
            gen = np.random.default_rng(rs.randint(np.iinfo(np.int32).max))
            weights, biases = initial_parameters(layer_units, self.init, gen)
        self.network_ = Network(layer_units, hidden=_HIDDEN[self.activation], output=output,
                                cost=cost, init=self.init if self.init != "sklearn"
                                else "glorot", backend=backend.xp, device=backend.device,
                                dtype=dtype, seed=0)
        self.network_.set_parameters(weights, biases)
        self._best = (self.network_._W, self.network_._b)
        self.history_ = History()
        if self.solver in _STOCHASTIC:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    # ------------------------------------------------------------------ loss
    def _loss_scale(self) -> float:
        """Factor from the summed cost to scikit-learn's per-sample loss (regression with
        squared error averages over the outputs as well)."""
        return 1.0

    def _rule(self) -> optim.Rule:
        if self.solver == "adam":
            return optim.Adam(self.beta_1, self.beta_2, self.epsilon, form="efficient")
        if self.momentum:
            return optim.Momentum(self.momentum, bool(self.nesterovs_momentum))
        return optim.SGD()

    def _penalty(self, Ws, xp) -> Array | None:
        """0.5 alpha sum W^2 + l1 sum |W| on the device (None when both are 0)."""
        return penalty(Ws, penalty_factors(self.alpha, self.l1), xp)

    # ------------------------------------------------------------------ stochastic
    def _fit_stochastic(self, problem: _Problem, incremental: bool) -> None:
        """scikit-learn's epochs: shuffle, mini-batch steps, the epoch's loss, the
        no-improvement count and its consequences, the learning-rate schedule."""
        net = self.network_
        if not incremental or not hasattr(self, "_solver"):
            rule = self._rule()
            self._solver = _Solver(rule, rule.init(net._W, net._b, net.xp),
                                   float(self.learning_rate_init))
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        train, validation = (problem.X, problem.Y, problem.sw, problem.sw_dev), None
        if self.early_stopping:
            train, validation = self._split(problem)
        n = train[0].shape[0]
        history = self.history_ = History(n_train=n, n_evaluation=0 if validation is None
                                          else validation["X"].shape[0])
        engine = Engine(net, self._solver.rule, self._batch_size(n), lmbda=self.alpha,
                        l1=self.l1, loss_scale=self._loss_scale(), state=self._solver.state,
                        compiled=resolve_compile(self.compile, net.backend.name))
        X, Y, sw_host, sw_dev = train
        data = Data(X, Y, weights=sw_dev, weights_host=sw_host)
        order = np.arange(n)
        self.n_iter_ = 0
        reason = "max_iter"
        try:
            for _ in range(self.max_iter):
                start, compiling = time.perf_counter(), engine.compile_seconds
                if self.shuffle:  # scikit-learn permutes the previous epoch's order
                    order = order[self._random_state.permutation(n)]
                lr = self._solver.learning_rate
                try:
                    acc = engine.epoch(data, order if self.shuffle else None, lr,
                                       self._dropout_masks(n))
                finally:
                    self._solver.state = engine.state
                    history.compile_seconds = engine.compile_seconds
                self.n_iter_ += 1
                fetched = self._epoch_end(acc, validation)
                loss = fetched[0] / n
                self.loss_ = loss
                self.t_ += n
                self.loss_curve_.append(loss)
                history.training_cost.append(loss)
                history.eta.append(lr)
                history.seconds.append(time.perf_counter() - start
                                       - (engine.compile_seconds - compiling))
                if self.verbose:
                    print(f"Iteration {self.n_iter_}, loss = {loss:.8f}")
                self._count_no_improvement(fetched, validation, history)
                if self.learning_rate == "invscaling" and self.solver == "sgd":
                    self._solver.learning_rate = (float(self.learning_rate_init)
                                                  / (self.t_ + 1) ** self.power_t)
                if self._no_improvement_count > self.n_iter_no_change:
                    what = ("Validation score" if self.early_stopping else "Training loss")
                    msg = (f"{what} did not improve more than tol={self.tol:f} for "
                           f"{self.n_iter_no_change} consecutive epochs.")
                    if self._stop_or_slow_down(msg):
                        reason = "converged"
                        break
                    self._no_improvement_count = 0
                if incremental:
                    reason = "partial_fit"
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter})"
                                  " reached and the optimization hasn't converged yet.",
                                  ConvergenceWarning, stacklevel=3)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=3)
            reason = "interrupted"
        history.stop_reason = reason
        if self.early_stopping:
            net._W, net._b = self._best  # the parameters of the best validation score
            history.stop_reason = "early_stopping" if reason == "converged" else reason

    def _dropout_masks(self, n: int) -> list[np.ndarray] | None:
        """An epoch's inverted-dropout masks (host, (n, n_l) per hidden layer), drawn from
        the fit's random state after the epoch's permutation."""
        if not self.dropout:
            return None
        return [(self._random_state.random_sample((n, w)) >= self.dropout)
                / (1.0 - self.dropout) for w in self.network_.sizes[1:-1]]

    def _stop_or_slow_down(self, msg: str) -> bool:
        """scikit-learn's reaction to ``n_iter_no_change`` epochs without progress: the
        adaptive SGD schedule divides eta by 5 (stopping once it is <= 1e-6); every other
        setting stops."""
        solver = self._solver
        if self.solver != "sgd" or self.learning_rate != "adaptive":
            if self.verbose:
                print(msg + " Stopping.")
            return True
        if solver.learning_rate <= 1e-6:
            if self.verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        solver.learning_rate /= 5.0
        if self.verbose:
            print(msg + f" Setting learning rate to {solver.learning_rate:f}")
        return False

    def _count_no_improvement(self, fetched: list[float], validation, history) -> None:
        net = self.network_
        if self.early_stopping:
            score = self._validation_score(fetched[1:], validation)
            self.validation_scores_.append(score)
            if self._classifier:
                history.evaluation_accuracy.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best = (net._W, net._b)  # immutable arrays: keeping them is free
                history.best_epoch = history.epochs - 1
        else:
            loss = self.loss_curve_[-1]
            if loss > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if loss < self.best_loss_:
                self.best_loss_ = loss
                history.best_epoch = history.epochs - 1

    def _epoch_end(self, acc: Array, validation) -> list[float]:
        """One device -> host transfer: the summed loss, plus the validation statistics."""
        xp = self.network_.xp
        values = [acc]
        if validation is not None:
            values.extend(self._validation_sums(validation))
        return [float(v) for v in to_numpy(xp.stack(values))]

    def _output(self, X: Array) -> Array:
        """Output activations on the compute backend, in chunks of EVAL_CHUNK rows."""
        net = self.network_
        parts = [forward(net._W, net._b, X[i:j, ...], net.hidden, net.output, xp=net.xp)[2][-1]
                 for i, j in chunks(X.shape[0], EVAL_CHUNK)]
        return parts[0] if len(parts) == 1 else net.xp.concat(parts, axis=0)

    def _split(self, problem: _Problem):
        """scikit-learn's early-stopping split: train_test_split with the fit's random
        state, stratified for single-output classification."""
        net, xp = self.network_, self.network_.xp
        n = problem.X.shape[0]
        stratify = problem.labels if (self._classifier and self.n_outputs_ == 1) else None
        train, val = train_test_split(np.arange(n), random_state=self._random_state,
                                      test_size=self.validation_fraction, stratify=stratify)
        tr, va = (xp.asarray(i, device=net.device) for i in (train, val))
        sw = problem.sw
        train_part = (xp.take(problem.X, tr, axis=0), xp.take(problem.Y, tr, axis=0),
                      None if sw is None else sw[train],
                      None if sw is None else xp.take(problem.sw_dev, tr, axis=0))
        validation = {"X": xp.take(problem.X, va, axis=0), "Y": xp.take(problem.Y, va, axis=0),
                      "w": None if sw is None else xp.take(problem.sw_dev, va, axis=0),
                      "w_host": None if sw is None else sw[val],
                      "Y_host": to_numpy(xp.take(problem.Y, va, axis=0))}
        self._prepare_validation(validation)
        return train_part, validation

    def _prepare_validation(self, validation: dict) -> None:
        pass

    # ------------------------------------------------------------------ lbfgs
    def _fit_lbfgs(self, problem: _Problem) -> None:
        net, xp = self.network_, self.network_.xp
        shapes = [tuple(W.shape) for W in net._W]
        widths = [W.shape[1] for W in net._W]
        X, Y, sw_dev = problem.X, problem.Y, problem.sw_dev
        s = X.shape[0] if problem.sw is None else float(np.sum(problem.sw))
        loss_scale = self._loss_scale()

        def unpack(theta: np.ndarray):
            Ws, bs, k = [], [], 0
            for shape in shapes:
                size = shape[0] * shape[1]
                Ws.append(theta[k:k + size].reshape(shape))
                k += size
            for width in widths:
                bs.append(theta[k:k + width])
                k += width
            return ([xp.asarray(W, dtype=net.dtype, device=net.device) for W in Ws],
                    [xp.asarray(b, dtype=net.dtype, device=net.device) for b in bs])

        def loss_and_gradient(theta: np.ndarray):
            Ws, bs = unpack(theta)
            gW, gb, cost = backprop(Ws, bs, X, Y, net.hidden, net.output, net.cost,
                                    scale=1.0 / s, xp=xp, weights=sw_dev, return_cost=True)
            loss = cost * (loss_scale / s)
            penalty = self._penalty(Ws, xp)
            if penalty is not None:
                loss = loss + penalty / s
            decay = optim.Decay(self.alpha, self.l1, s)
            if self.alpha or self.l1:
                gW = [g + (decay.lmbda / s) * W + ((decay.l1 / s) * xp.sign(W) if self.l1
                                                   else 0.0)
                      for g, W in zip(gW, Ws)]
            parts = [to_numpy(xp.reshape(g, (-1,))) for g in (*gW, *gb)]
            grad = np.concatenate(parts).astype(np.float64)
            return float(to_numpy(loss)), grad

        theta0 = np.concatenate([to_numpy(a).ravel() for a in (*net._W, *net._b)])
        theta0 = theta0.astype(np.float64)
        history = self.history_ = History(n_train=X.shape[0])
        clock = [time.perf_counter()]

        def callback(intermediate_result):
            now = time.perf_counter()
            history.training_cost.append(float(intermediate_result.fun))
            history.seconds.append(now - clock[0])
            clock[0] = now
            if self.verbose:
                print(f"Iteration {len(history.training_cost)}, "
                      f"loss = {intermediate_result.fun:.8f}")

        result = scipy.optimize.minimize(
            loss_and_gradient, theta0, method="L-BFGS-B", jac=True, callback=callback,
            options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol})
        self.n_iter_ = min(int(result.nit), self.max_iter)
        if result.status != 0:
            message = result.message if isinstance(result.message, str) else \
                result.message.decode("latin1")
            warnings.warn(f"lbfgs failed to converge after {result.nit} iteration(s) "
                          f"(status={result.status}): {message}. Increase the number of "
                          f"iterations (max_iter={self.max_iter}, max_fun={self.max_fun}) "
                          "or scale the data (e.g. sklearn.preprocessing.StandardScaler).",
                          ConvergenceWarning, stacklevel=3)
        history.stop_reason = "converged" if result.status == 0 else "max_iter"
        self.loss_ = float(result.fun)
        net._W, net._b = unpack(result.x)

    # ------------------------------------------------------------------ predict
    def _forward_input(self, X, method: str):
        """Validated X of a prediction call -> (output activations on the compute
        backend, the input's place).  Under array-API dispatch X must live where the fit's
        data lived (scikit-learn's rule for array-API estimators)."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        if hasattr(X, "toarray"):
            X = X.toarray()
        place = _Place.of(X)
        fitted = self._fitted_place()
        if _dispatch() and place != fitted:
            raise ValueError(f"Inputs passed to {type(self).__name__}.{method}() must use the "
                             f"same namespace and the same device as those passed to fit(): "
                             f"fit() got {fitted}, {method}() got {place}. Convert X first "
                             "(or fit on arrays of this namespace).")
        net = self.network_
        return self._output(self._on(net.backend, net.dtype, X, "X")), place

    # ------------------------------------------------------------------ attributes
    @property
    def coefs_(self) -> list:
        """Weight matrices, (n_in, n_out) per layer, in the fit input's namespace."""
        return [self._fitted_place().put(W) if self._moved() else W
                for W in self._network()._W]

    @coefs_.setter
    def coefs_(self, value) -> None:
        net = self._network()
        net._W = [self._on(net.backend, net.dtype, v, f"coefs_[{i}]")
                  for i, v in enumerate(value)]

    @property
    def intercepts_(self) -> list:
        """Bias vectors, (n_out,) per layer, in the fit input's namespace."""
        return [self._fitted_place().put(b) if self._moved() else b
                for b in self._network()._b]

    @intercepts_.setter
    def intercepts_(self, value) -> None:
        net = self._network()
        net._b = [self._on(net.backend, net.dtype, v, f"intercepts_[{i}]")
                  for i, v in enumerate(value)]

    def _network(self) -> Network:
        try:
            return self.__dict__["network_"]
        except KeyError:
            raise AttributeError(f"This {type(self).__name__} instance is not fitted yet; "
                                 "call fit first") from None

    def _fitted_place(self) -> _Place:
        return self.__dict__.get("_place", _Place(None))

    def _moved(self) -> bool:
        """Do the parameters live elsewhere than the fit input's namespace/device?"""
        place, net = self._fitted_place(), self._network()
        if place.xp is None:
            return net.backend.name != "numpy"
        return place.xp is not net.xp or not same_device(place.device, net.device)

    # ------------------------------------------------------------------ pickling
    def __getstate__(self) -> dict:
        state = super().__getstate__()
        if state.get("device") is not None and not isinstance(state["device"], str):
            # device objects (JAX's, CuPy's) need not pickle: keep the name parse_device reads
            state["device"] = device_name(state["device"])
        return {k: (_portable(v) if k in _DEVICE_STATE else v) for k, v in state.items()}

    def __setstate__(self, state: dict) -> None:
        super().__setstate__({k: (_restored(v) if k in _DEVICE_STATE else v)
                              for k, v in state.items()})

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.array_api_support = True
        return tags


#: Attributes that may hold arrays of the compute backend (pickled by backend name).
_DEVICE_STATE = ("_solver", "_best", "classes_")


def _float_dtypes(X: Any) -> tuple:
    """float64 / float32 in the namespace scikit-learn validates X in (float32 is kept,
    anything else becomes float64)."""
    if _dispatch() and not _is_numpy(X):
        xp = array_api_compat.array_namespace(X)
        return (xp.float64, xp.float32)
    return (np.float64, np.float32)


def _is_float32(X: Any) -> bool:
    return str(X.dtype).endswith("float32")


def _sample_weight(sample_weight: Any, n: int) -> np.ndarray | None:
    """Host float64 sample weights of shape (n,), or None."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number):
        return np.full(n, float(sample_weight))
    sw = np.asarray(_host(sample_weight), dtype=np.float64)
    if sw.ndim != 1:
        raise ValueError(f"Sample weights must be 1D array or scalar, got shape {sw.shape}")
    if sw.shape[0] != n:
        raise ValueError(f"sample_weight.shape == {sw.shape}, expected ({n},)!")
    if not np.all(np.isfinite(sw)):
        raise ValueError("sample_weight contains NaN or infinite values")
    if not np.any(sw):
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return sw


def _stochastic(est) -> bool:
    if est.solver not in _STOCHASTIC:
        raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                             f"{est.solver} is not stochastic.")
    return True


# ----------------------------------------------------------------------------- classifier
class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier: scikit-learn's ``MLPClassifier`` on xmlp's core.

    Parameters are scikit-learn's (see its documentation; same names, defaults and
    meaning) plus xmlp's ``backend``, ``device``, ``init``, ``dropout``, ``l1``,
    ``cost`` and ``output`` -- see :mod:`xmlp.sklearn`.

    cost : None (default: scikit-learn's log-loss -- softmax + log-likelihood for
        multiclass, sigmoid + cross-entropy for binary and multilabel problems),
        "cross-entropy" (one sigmoid per class, also for multiclass problems) or
        "quadratic" (network.py's cost; sigmoid outputs unless ``output="softmax"``).
    output : None (the cost's output) or, with ``cost="quadratic"``, "sigmoid" /
        "softmax".

    Fitted attributes are scikit-learn's (``classes_``, ``coefs_``, ``intercepts_``,
    ``n_iter_``, ``t_``, ``loss_``, ``loss_curve_``, ``best_loss_``,
    ``validation_scores_``, ``best_validation_score_``, ``n_layers_``, ``n_outputs_``,
    ``out_activation_``, ``n_features_in_``, ``feature_names_in_``) plus ``network_``
    (the trained :class:`xmlp.Network`, e.g. for ``network_.save("net.json")``) and
    ``history_`` (an :class:`xmlp.History` of the last call to fit / partial_fit).
    """

    _classifier = True

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

    def _check_output_params(self) -> None:
        if self.cost is not None:
            _choice(self, "cost", ("log-loss", "cross-entropy", "quadratic"))
        if self.output is not None:
            _choice(self, "output", ("sigmoid", "softmax"))
            if self.cost != "quadratic":
                raise ValueError("output= applies to cost='quadratic' only; the log-loss and "
                                 "cross-entropy costs fix their output layer")

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
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and target(s) y (see scikit-learn's
        ``MLPClassifier.fit``); returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over (X, y); ``classes`` (all labels) is required on the first call."""
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
        classes = unique_labels(_host(classes))
        if getattr(self, "classes_", None) is not None and known is not None:
            if not np.array_equal(known.classes_, classes):
                raise ValueError(f"`classes={classes!r}` is not the same as on last call to "
                                 f"partial_fit, was: {known.classes_!r}")
            return False
        self.classes_ = classes
        return True

    def predict(self, X):
        """Predicted class labels, shape (n,) (or (n, n_classes) for multilabel targets),
        in the namespace and on the device of X."""
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
        """Class probabilities, (n, n_classes), in the namespace and on the device of X."""
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
        """Logarithm of :meth:`predict_proba`."""
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


# ----------------------------------------------------------------------------- regressor
class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor: scikit-learn's ``MLPRegressor`` on xmlp's core.

    Parameters are scikit-learn's (``loss`` "squared_error" or "poisson" first; see its
    documentation) plus xmlp's ``backend``, ``device``, ``init``, ``dropout`` and ``l1``
    -- see :mod:`xmlp.sklearn`.  Fitted attributes as for :class:`MLPClassifier`, less
    ``classes_``; ``validation_scores_`` hold R^2 scores.
    """

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

    def _check_output_params(self) -> None:
        _choice(self, "loss", ("squared_error", "poisson"))

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
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and target(s) y (see scikit-learn's
        ``MLPRegressor.fit``); returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y)."""
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predictions, (n,) for one output or (n, n_outputs), in the namespace and on the
        device of X."""
        A, place = self._forward_input(X, "predict")
        if self.n_outputs_ == 1:
            A = self.network_.xp.reshape(A, (-1,))
        return place.put(A)
