"""scikit-learn estimators on xmlp's core: :class:`MLPClassifier` and :class:`MLPRegressor`.

Drop-in replacements for ``sklearn.neural_network.MLPClassifier`` / ``MLPRegressor``: the
same constructor parameters (names, defaults, meaning), methods and fitted attributes, and
-- for the same ``random_state`` and float64 data -- the same model: the random stream is
used as scikit-learn uses it (initial weights and biases, the early-stopping split, one
permutation per epoch), and every step takes the same update.  On top of that they run
on any backend xmlp runs on (``backend="torch"``, ``"cupy"``, ...) and take part in
scikit-learn's array-API dispatch.  Needs the ``sklearn`` extra:
``pip install "xmlp[sklearn]"`` (scikit-learn and SciPy); ``import xmlp`` does not import
this package.

How scikit-learn's hyper-parameters map onto xmlp's
---------------------------------------------------
* ``alpha`` is an L2 term *per mini-batch*: each step descends
  ``(sum_x grad C_x + alpha W) / m`` for a batch of m examples (m = the batch's summed
  sample weights when they are given).  xmlp's ``lmbda`` is a whole-training-set term,
  ``grad C / m + (lmbda / n) W``, so a fixed batch size m gives ``lmbda = alpha * n / m``.
  The estimators apply ``alpha`` per batch (also to a shorter last batch), which is
  :class:`xmlp.regulariser.Regulariser` with ``lmbda=alpha, per_batch=True``.  ``l1``
  (xmlp's) is added the same way: ``l1 * sign(W) / m``.
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
Documented in full under :class:`MLPClassifier` and :class:`MLPRegressor`.

``backend``
    "numpy" (default), any name :func:`xmlp.backend.resolve` accepts ("torch",
    "cupy", "array_api_strict") or "auto" (the namespace and device of the input arrays).
    Under ``sklearn.set_config(array_api_dispatch=True)`` the default "numpy" behaves as
    "auto", as scikit-learn's array-API estimators do: a fit on torch tensors trains with
    torch on their device, and predictions come back in the input's namespace and on its
    device.  A backend named explicitly is always used; inputs are moved to it and the
    results moved back to the input's namespace.

``device``
    the device of a named backend (e.g. "cuda", "cuda:1", "device1").

``init``
    "sklearn" (default: Glorot-uniform weights *and* biases from ``random_state``, in
    scikit-learn's order) or one of xmlp's initialisers ("normalized", "large",
    "glorot", "he"), drawn from a generator seeded from ``random_state``.

``dropout``
    probability of dropping each hidden neuron during training (inverted
    dropout; stochastic solvers only).  Masks are drawn from ``random_state``.

``l1``
    L1 strength, applied per mini-batch like ``alpha``.

``compile``
    run the stochastic solvers' epochs as compiled XLA programs
    (:mod:`xmlp.engine`; same steps and numbers).  None (default): compiled where the
    backend can (``backend="jax"``), eager elsewhere; True: compiled (a ValueError on
    another backend); False: eager.  A program is compiled once per shape per process and
    reused by every later fit (a grid search pays it once).

Parameters are checked when ``fit`` / ``partial_fit`` start, by scikit-learn's own
parameter validation against scikit-learn's constraint table for its MLPs, extended with
xmlp's parameters in the same form (``MLPClassifier._parameter_constraints``): a value the
installed scikit-learn accepts is accepted (``n_iter_no_change=np.inf``,
``validation_fraction=0`` without early stopping, ...), a value it refuses raises its
``InvalidParameterError`` with its message.

Data is computed in float32 when X is float32 and in float64 otherwise (as scikit-learn
does).  Sparse X is accepted and densified on the way in.

Modules: ``_params`` (the parameters' constraint tables), ``_place`` (where arrays live, devices,
pickling by backend name), ``_solver`` (scikit-learn's stochastic epochs and L-BFGS),
``_base`` (what both estimators share: fit, initialisation, attributes), ``_classifier`` and
``_regressor`` (one estimator each).
"""

from __future__ import annotations

try:
    import scipy.optimize  # noqa: F401
    import sklearn  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(f"xmlp.sklearn needs scikit-learn and SciPy ({exc}); install them with: "
                      "pip install 'xmlp[sklearn]'") from exc

from ._classifier import MLPClassifier
from ._params import InvalidParameterError
from ._place import _Place, _place_named, _Portable
from ._regressor import MLPRegressor
from ._solver import _Solver

__all__ = ["MLPClassifier", "MLPRegressor", "InvalidParameterError"]

# Pickles name a class by module and qualified name.  Estimators pickled before this package
# was split from one module name xmlp.sklearn.MLPClassifier / MLPRegressor / _Place /
# _Solver (and _Portable / _place_named for device arrays): those names stay importable from
# here, and pickles written now name the same paths, so older and newer versions read each
# other's files whatever the private modules are called.
for _obj in (MLPClassifier, MLPRegressor, _Place, _place_named, _Portable, _Solver):
    _obj.__module__ = __name__
del _obj
