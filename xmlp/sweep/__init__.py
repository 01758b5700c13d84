"""Hyper-parameter sweeps, chapter 3's way of choosing eta, lmbda, the mini-batch size and
the number of epochs: many trainings, compared on one metric.

Optuna decides *which* settings run (grid, random or TPE sampler; successive-halving or
Hyperband pruner) and keeps every trial in its storage (an SQLite file by default, or any
Optuna RDB URL such as PostgreSQL).  Dask runs them (a ``LocalCluster`` started here, or an
existing cluster: CPU workers, dask-cuda's ``LocalCUDACluster``, a scheduler elsewhere).
This package only connects the two: each trial is an ordinary :meth:`xmlp.Network.fit` on a
worker; there is no training code, sampler, pruner, scheduler or results database here.

    >>> import xmlp.sweep
    >>> result = xmlp.sweep.run("mnist-sample", {"sizes": [784, 30, 10], "seed": 0},
    ...                         {"epochs": 3, "batch_size": 10},
    ...                         grid={"eta": [0.1, 0.5, 1.0], "lmbda": [0.0, 1.0]},
    ...                         workers=2, storage="sqlite:///sweep.db")
    >>> result.best["eta"], result.rows[0]["test_accuracy"]
    >>> result.to_csv("sweep.csv"); result.study      # the optuna.Study

Exactness.  Every trial starts from the same ``seed`` unless ``seed`` itself is swept, so a
trial's result is the one a serial ``Network.fit`` (or ``xmlp train``) with its settings
gives, whatever the number of workers and the order in which trials finish -- bit for bit
under the workers' BLAS setting (one thread; float32 sums taken by several BLAS threads
round differently).  Trials trained in a pack (``pack=K``: up to K trials of one shape as
one ``xmlp.Population``) give that result to 1e-12, not promised bit for bit.

Faults.  Each trial writes an xmlp checkpoint after every epoch.  A worker killed mid-trial
loses nothing: Dask runs the task again elsewhere and it resumes from the checkpoint to the
same result.  While trials run, the driver records Optuna heartbeats for them; when a sweep
is killed, the next run of the same sweep (same study and storage) fails its stale trials
and Optuna's ``RetryHeartbeatStaleTrialCallback`` queues them again; finished trials are
not run again.  A trial that diverges or raises is recorded as failed, with its error, and
the sweep goes on.

Data are loaded once per worker process (a dataset name or a loader function, cached in the
worker), or, for arrays, scattered once to every worker.

Dask and Optuna are imported by this package only: ``import xmlp`` does not import it.

One module per job, each importing only the ones above it:

* ``space``: what may be swept, the sweep's definition (checked; it names the study), the
  Optuna distributions, a trial's parameters -> ``Network`` / ``fit``;
* ``study``: the Optuna study and its storage: sampler, pruner, heartbeats, stale trials
  retried, trials still to run, results recorded;
* ``results``: the table of a study's trials, best first; :class:`SweepResult`;
* ``trial``: one trial on a worker: ``Network.fit`` with checkpoints, pruning reports;
* ``pack``: trials of one shape as one ``Population.fit`` on a worker, each member
  reported, pruned and recorded as its own trial; what may share a pack;
* ``cluster``: Dask: the cluster or client, resources, data sent to the workers;
* ``driver``: :func:`run`: the loop asking Optuna for trials, running them on Dask,
  telling Optuna their results.
"""

from __future__ import annotations

try:
    import distributed  # noqa: F401
    import optuna  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised through the CLI test
    raise ModuleNotFoundError(f"xmlp.sweep needs Dask distributed and Optuna ({exc.name} is "
                              "not installed): pip install 'xmlp[sweep]'",
                              name=exc.name) from exc

# _cores (used by the CLI), _check_resources (tests) and SPLITS: not in __all__, kept here.
from .cluster import BLAS_ONE_THREAD, _check_resources, _cores  # noqa: F401
from .driver import run
from .results import SweepResult, table
from .space import (  # noqa: F401
    FIT_KEYS,
    METRICS,
    NETWORK_KEYS,
    PRUNERS,
    SEARCHES,
    SPLITS,
    default_study_name,
)

__all__ = ["run", "table", "SweepResult", "NETWORK_KEYS", "FIT_KEYS", "METRICS",
           "SEARCHES", "PRUNERS", "BLAS_ONE_THREAD", "default_study_name"]
