"""scikit-learn's solvers on xmlp's engine: the stochastic epochs (sgd, adam: shuffle,
mini-batch steps, the loss, ``tol`` / ``n_iter_no_change``, schedules, early stopping) and
L-BFGS (SciPy's L-BFGS-B over the flattened parameters)."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.optimize import _check_optimize_result

from .. import optim
from ..backend import to_numpy
from ..engine import Engine, TrainingSet, TrainState, resolve_compile
from ..history import History
from ..model import Network
from ..network import EVAL_CHUNK, backprop
from ..params import Params
from ..regulariser import Regulariser, add_gradient
from ..regulariser import term as reg_term
from ..step import Data
from ._params import _STOCHASTIC

Array = Any


@dataclass
class _Solver:
    """A stochastic solver between calls: the update rule, its state and step count, the
    learning rate."""

    rule: optim.Rule
    state: Any  # the rule's typed state (xmlp.optim)
    learning_rate: float
    t: int = 0  # steps taken (Adam's bias corrections)


@dataclass
class _Problem:
    """What one fit trains on, on the compute backend."""

    X: Array  # (n, n_features)
    Y: Array  # (n, n_outputs) targets of the cost
    sw: np.ndarray | None  # host sample weights (n,) or None
    sw_dev: Array | None  # the same on the device
    labels: np.ndarray | None = None  # host binarised targets (classifier), for the split


class _Solvers:
    """The estimators' training loops (a mixin of :class:`xmlp.sklearn._base._BaseMLP`).

    The annotations below are what the loops read of the estimator: scikit-learn's
    parameters (set by the estimators' ``__init__``), xmlp's, and the fitted state."""

    # scikit-learn's parameters
    solver: str
    alpha: float
    batch_size: int | str
    learning_rate: str
    learning_rate_init: float
    power_t: float
    max_iter: int
    shuffle: bool
    tol: float
    verbose: bool
    momentum: float
    nesterovs_momentum: bool
    early_stopping: bool
    validation_fraction: float
    beta_1: float
    beta_2: float
    epsilon: float
    n_iter_no_change: int | float
    max_fun: int
    # xmlp's parameters
    l1: float
    dropout: float
    compile: bool | None
    # the fitted state
    _classifier: bool
    network_: Network
    history_: History
    n_iter_: int
    n_outputs_: int
    t_: int
    loss_: float
    loss_curve_: list[float]
    validation_scores_: list[float] | None
    best_loss_: float | None
    best_validation_score_: float | None
    _no_improvement_count: int
    _best: Params
    _solver: _Solver
    _random_state: np.random.RandomState

    def _validation_sums(self, validation: dict) -> list[Array]:
        """The validation set's device sums a score is made of (one per estimator)."""
        raise NotImplementedError

    def _validation_score(self, sums: list[float], validation: dict) -> float:
        """The score of the validation sums (one per estimator)."""
        raise NotImplementedError

    def _batch_size(self, n: int) -> int:
        if isinstance(self.batch_size, str):  # "auto"
            return min(200, n)
        return min(n, self.batch_size)

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

    def _regulariser(self) -> Regulariser:
        """scikit-learn's L2 (alpha) and xmlp's L1, over each batch's size or weight sum."""
        return Regulariser(self.alpha, self.l1, per_batch=True)

    # ------------------------------------------------------------------ stochastic
    def _fit_stochastic(self, problem: _Problem, incremental: bool) -> None:
        """scikit-learn's epochs: shuffle, mini-batch steps, the epoch's loss, the
        no-improvement count and its consequences, the learning-rate schedule."""
        net = self.network_
        if not incremental or not hasattr(self, "_solver"):
            rule = self._rule()
            self._solver = _Solver(rule, rule.init(net.params, net.xp),
                                   float(self.learning_rate_init))
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        train, validation = (problem.X, problem.Y, problem.sw, problem.sw_dev), None
        if self.early_stopping:
            train, validation = self._split(problem)
        n = train[0].shape[0]
        if self.batch_size != "auto" and self.batch_size > n:  # the training part's n
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. "
                          "It is going to be clipped", UserWarning, stacklevel=3)
        history = self.history_ = History(n_train=n, n_evaluation=0 if validation is None
                                          else validation["X"].shape[0])
        solver = self._solver
        engine = Engine(net, solver.rule, self._batch_size(n), regulariser=self._regulariser(),
                        loss_scale=self._loss_scale(),
                        compiled=resolve_compile(self.compile, net.backend.name),
                        state=TrainState(net.params, solver.state, solver.t))
        X, Y, sw_host, sw_dev = train
        data = TrainingSet(Data(X, Y, sw_dev), sw_host)
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
                    loss_sum = engine.epoch(data, order if self.shuffle else None, lr,
                                            self._dropout_masks(n))
                finally:
                    net.params = engine.state.params
                    self._solver.state, self._solver.t = engine.state.rule, engine.state.t
                    history.compile_seconds = engine.compile_seconds
                self.n_iter_ += 1
                fetched = self._epoch_end(loss_sum, validation)
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
            net.params = self._best  # the parameters of the best validation score
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
        if self.early_stopping:  # best_validation_score_ and validation_scores_ are set
            score = self._validation_score(fetched[1:], validation)
            assert self.validation_scores_ is not None
            self.validation_scores_.append(score)
            if self._classifier:
                history.evaluation_accuracy.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            best = self.best_validation_score_
            assert best is not None
            if score < best + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > best:
                self.best_validation_score_ = score
                self._best = net.params  # immutable arrays: keeping them is free
                history.best_epoch = history.epochs - 1
        else:  # best_loss_ is set
            loss, best = self.loss_curve_[-1], self.best_loss_
            assert best is not None
            if loss > best - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if loss < best:
                self.best_loss_ = loss
                history.best_epoch = history.epochs - 1

    def _epoch_end(self, loss_sum: Array, validation) -> list[float]:
        """One device -> host transfer: the summed loss, plus the validation statistics."""
        xp = self.network_.xp
        values = [loss_sum]
        if validation is not None:
            values.extend(self._validation_sums(validation))
        return [float(v) for v in to_numpy(xp.stack(values))]

    def _output(self, X: Array) -> Array:
        """Output activations on the compute backend, in chunks of EVAL_CHUNK rows."""
        return self.network_.outputs(X, EVAL_CHUNK)

    def _split(self, problem: _Problem):
        """scikit-learn's early-stopping split: train_test_split with the fit's random
        state, stratified for single-output classification."""
        net, xp = self.network_, self.network_.xp
        n = problem.X.shape[0]
        stratify = problem.labels if (self._classifier and self.n_outputs_ == 1) else None
        train, val = train_test_split(np.arange(n), random_state=self._random_state,
                                      test_size=self.validation_fraction, stratify=stratify)
        if len(val) < 2:  # a score of one sample cannot rank epochs (scikit-learn's rule)
            raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                             "or the size of your dataset.")
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
        """SciPy's L-BFGS-B over the flattened parameters: scikit-learn's loss (the weighted
        mean cost plus the regularisation term over the weight sum s) and its gradient."""
        net, xp = self.network_, self.network_.xp
        shapes = [tuple(W.shape) for W in net.params.W]
        X, Y, sw_dev = problem.X, problem.Y, problem.sw_dev
        s = X.shape[0] if problem.sw is None else float(np.sum(problem.sw))
        loss_scale, reg = self._loss_scale(), self._regulariser()
        decay, term_factors = reg.gradient_factors(s), reg.term_factors(s)

        def unpack(theta: np.ndarray) -> Params:
            Ws, bs, k = [], [], 0
            for n_in, n_out in shapes:
                Ws.append(theta[k:k + n_in * n_out].reshape(n_in, n_out))
                k += n_in * n_out
            for _, n_out in shapes:
                bs.append(theta[k:k + n_out])
                k += n_out
            return Params(tuple(xp.asarray(W, dtype=net.dtype, device=net.device) for W in Ws),
                          tuple(xp.asarray(b, dtype=net.dtype, device=net.device) for b in bs))

        def loss_and_gradient(theta: np.ndarray):
            params = unpack(theta)
            grads, cost = backprop(params, X, Y, net.hidden, net.output, net.cost,
                                   scale=1.0 / s, xp=xp, weights=sw_dev, return_cost=True)
            loss = cost * (loss_scale / s)
            penalty = reg_term(params.W, term_factors, xp)
            if penalty is not None:
                loss = loss + penalty
            grads = add_gradient(grads, params, decay, xp)
            parts = [to_numpy(xp.reshape(g, (-1,))) for g in (*grads.W, *grads.b)]
            return float(to_numpy(loss)), np.concatenate(parts).astype(np.float64)

        theta0 = np.concatenate([to_numpy(a).ravel() for a in (*net.params.W, *net.params.b)])
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
        # scikit-learn's reading of the result: n_iter_ <= max_iter, and its
        # ConvergenceWarning (with its advice) when L-BFGS stopped on max_iter or max_fun
        self.n_iter_ = _check_optimize_result("lbfgs", result, self.max_iter)
        history.stop_reason = "converged" if result.status == 0 else "max_iter"
        self.loss_ = float(result.fun)
        net.params = unpack(result.x)


def _stochastic(est) -> bool:
    if est.solver not in _STOCHASTIC:
        raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                             f"{est.solver} is not stochastic.")
    return True

