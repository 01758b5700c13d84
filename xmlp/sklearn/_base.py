"""What MLPClassifier and MLPRegressor share: parameter checks, the compute backend,
input validation, fit, initialisation, prediction input, fitted attributes, pickling."""

from __future__ import annotations

import math
import numbers
from typing import Any

import array_api_compat
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ..backend import Backend, device_name, parse_device, resolve, same_device, to_backend, to_numpy
from ..history import History
from ..init import initial_parameters
from ..model import Network
from ..params import Params
from ._params import _HIDDEN, _OUT_NAME, _STOCHASTIC, check_fit_params
from ._place import (
    _dispatch,
    _float_dtypes,
    _host,
    _is_float32,
    _is_numpy,
    _Place,
    _portable,
    _restored,
)
from ._solver import _Problem, _Solvers

Array = Any


class _BaseMLP(_Solvers, BaseEstimator):
    """The parts MLPClassifier and MLPRegressor share: checks, initialisation, solvers."""

    _classifier = False

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
        hidden_sizes = check_fit_params(self)
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
            self._fit_stochastic(problem, incremental)
        else:
            self._fit_lbfgs(problem)

        if not self._finite(net):
            raise ValueError("Solver produced non-finite parameter weights. The input data "
                             "may contain large values and need to be preprocessed.")
        return self


    @staticmethod
    def _finite(net: Network) -> bool:
        xp = net.xp
        ok = [xp.all(xp.isfinite(a)) for a in (*net.params.W, *net.params.b)]
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
        self._best = self.network_.params
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
                for W in self._network().params.W]

    @coefs_.setter
    def coefs_(self, value) -> None:
        net = self._network()
        net.params = net.params._replace(W=tuple(
            self._on(net.backend, net.dtype, v, f"coefs_[{i}]") for i, v in enumerate(value)))

    @property
    def intercepts_(self) -> list:
        """Bias vectors, (n_out,) per layer, in the fit input's namespace."""
        return [self._fitted_place().put(b) if self._moved() else b
                for b in self._network().params.b]

    @intercepts_.setter
    def intercepts_(self, value) -> None:
        net = self._network()
        net.params = net.params._replace(b=tuple(
            self._on(net.backend, net.dtype, v, f"intercepts_[{i}]")
            for i, v in enumerate(value)))

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
        state = {k: (_restored(v) if k in _DEVICE_STATE else v) for k, v in state.items()}
        best = state.get("_best")
        if isinstance(best, tuple) and not isinstance(best, Params):  # (Ws, bs) of old
            state["_best"] = Params(tuple(best[0]), tuple(best[1]))
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.array_api_support = True
        return tags


#: Attributes that may hold arrays of the compute backend (pickled by backend name).
_DEVICE_STATE = ("_solver", "_best", "classes_")


def _sample_weight(sample_weight: Any, n: int) -> np.ndarray | None:
    """Host float64 sample weights of shape (n,), or None."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Real):
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

