"""The docstring sections both estimators share: scikit-learn's parameters, xmlp's own and the
fitted attributes, written once and put into each class's docstring by :func:`fill` (where it
says ``%(parameters)s``, ``%(xmlp_parameters)s``, ``%(compile)s``, ``%(attributes)s``)."""

from __future__ import annotations

import inspect

__all__ = ["fill"]

#: scikit-learn's constructor parameters, in its order.
PARAMETERS = """\
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
"""

#: xmlp's own parameters that both estimators take (the classifier adds cost and output).
XMLP_PARAMETERS = """\
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
"""

COMPILE = """\
compile : bool or None, default None
    Run the stochastic solvers' epochs as compiled XLA programs (:mod:`xmlp.engine`;
    same steps and numbers).  None: compiled where the backend can
    (``backend="jax"``), eager elsewhere; True: compiled; False: eager.  A program is
    compiled once per shape per process and reused by every later fit.
"""

#: The fitted attributes; %(score)s and %(outputs)s are the estimator's own words.
ATTRIBUTES = """\
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
    The held-out %(score)s after each epoch with ``early_stopping``, else None.
best_validation_score_ : float or None
    The best of ``validation_scores_``.
n_layers_ : int
    Number of layers, input and output included.
n_outputs_ : int
    Number of output neurons.
out_activation_ : str
    The output activation's scikit-learn name (%(outputs)s).
n_features_in_ : int
    Number of features seen by ``fit``.
feature_names_in_ : ndarray of str
    Feature names, when X has string column names.
network_ : Network
    The trained network, e.g. for ``network_.save("net.json")``.
history_ : History
    The per-epoch record of the last call to ``fit`` / ``partial_fit``.
"""


def fill(score: str, outputs: str):
    """A class decorator: the class's docstring with the shared sections put in (the
    docstring is cleaned of its indentation first, as Python 3.13 does when compiling)."""
    pieces = {"parameters": PARAMETERS, "xmlp_parameters": XMLP_PARAMETERS,
              "compile": COMPILE, "attributes": ATTRIBUTES.replace("%(score)s", score)
              .replace("%(outputs)s", outputs)}

    def decorate(cls):
        doc = inspect.cleandoc(cls.__doc__)
        for key, text in pieces.items():
            doc = doc.replace(f"%({key})s", text.rstrip("\n"))
        cls.__doc__ = doc
        return cls

    return decorate
