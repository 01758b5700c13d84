"""The driver: :func:`run` checks the sweep, opens (or resumes) its Optuna study, connects to
Dask and runs the loop that asks Optuna for trials, submits them to the workers, keeps
their heartbeats and tells Optuna their results; then it returns the table."""

from __future__ import annotations

import functools
import logging
import os
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import distributed
from optuna.trial import TrialState

from ..population_fit import VARYING
from .cluster import _check_resources, _connect, _data_source, _results
from .pack import _pack, _run_pack, _shape
from .results import SweepResult, table
from .space import (
    FIT_KEYS,
    NETWORK_KEYS,
    _data_key,
    _definition,
    _distributions,
    _n_grid,
    _positive,
    _route,
    default_study_name,
)
from .study import (
    _ATTR,
    _abandon,
    _default_checkpoints,
    _open_study,
    _outstanding,
    _rdb_storage,
    _recover,
    _tell,
)
from .trial import _job, _run_trial

log = logging.getLogger("xmlp.sweep")


def run(data: Any, network: Mapping[str, Any], fit: Mapping[str, Any] | None = None, *,
        grid: Mapping[str, Sequence[Any]] | None = None,
        space: Mapping[str, Sequence[Any]] | None = None,
        search: str | None = None, trials: int | None = None, prune: str = "none",
        metric: str | None = None, workers: int | None = None, scheduler: str | None = None,
        client: Any = None, storage: str | None = None, study: str | None = None,
        checkpoint_dir: str | os.PathLike | None = None,
        resources: Mapping[str, float] | None = None,
        configure: Callable[[dict], tuple[dict, dict]] | None = None,
        heartbeat: float = 2.0, progress: bool = False, pack: int = 1,
        on_message: Callable[[str], None] | None = None) -> SweepResult:
    """Run (or resume) a sweep and return its :class:`SweepResult`.

    Each trial trains one network on a Dask worker; Optuna chooses the trials (a grid, a
    random or a TPE search) and records them in ``storage``, so that the same sweep run
    again resumes where it stopped.

    Parameters
    ----------
    data : str, callable or dataset
        A dataset name (``xmlp.datasets.load``, in the network's dtype), a picklable
        function returning a dataset (called once per worker process), or a dataset --
        anything with ``train``, ``validation`` and ``test`` (X, y) pairs, e.g. an
        ``xmlp.datasets.Dataset`` -- scattered once to every worker.  Each epoch is
        evaluated on the validation split when there is one, else on the test split.
    network : mapping
        ``xmlp.Network`` arguments shared by all trials (``device`` as text; ``seed``
        defaults to 0: every trial starts from the same weights).
    fit : mapping, optional
        ``Network.fit`` hyper-parameters shared by all trials.
    grid : mapping, optional
        Parameter -> values.  With ``search="grid"`` (the default when only a grid is
        given) every combination runs once; with a random or TPE search these parameters
        are categorical dimensions of the search space.
    space : mapping, optional
        Parameter -> ``(low, high)`` or ``(low, high, "log")``: a range for random or TPE
        search (integers for integer parameters).
    search : {"grid", "random", "tpe"}, optional
        Default: grid with only a grid, else tpe.
    trials : int, optional
        Number of trials of a random or TPE search (default 20).
    prune : {"none", "halving", "hyperband"}, default "none"
        ``"halving"`` is successive halving.  Each epoch reports the metric to Optuna,
        whose pruner may stop the trial (the metric must be one measured every epoch: on
        the training split or the evaluation split).  The workers then open the study by
        its storage URL, so it must be reachable from them (a file on a local cluster, a
        database server on a distributed one).
    metric : str, optional
        One of ``METRICS`` (default: ``evaluation_accuracy``); accuracies are maximised,
        costs minimised.  The final network's value is the trial's value.
    workers : int, optional
        Start a ``LocalCluster`` of ``workers`` single-threaded processes (default: one
        per core, BLAS pinned to one thread).
    scheduler : str, optional
        Connect to the Dask scheduler at this address instead.
    client : distributed.Client, optional
        Use this Dask client instead.
    storage : str, optional
        An Optuna storage URL (default ``sqlite:///sweep.db`` in the working directory).
        The same sweep run again resumes from it.
    study : str, optional
        Study name (default: derived from the sweep's definition, so that running the same
        sweep again finds its study).
    checkpoint_dir : path-like, optional
        Where trials keep their checkpoints (default: beside an SQLite file, else
        ``./sweep-checkpoints``); it must be reachable from the workers to resume on
        another worker (else the trial starts again, to the same result).
    resources : mapping, optional
        Dask resources each trial needs, e.g. ``{"GPU": 1}`` (workers started here get the
        same resources; on a cluster, start workers with ``--resources``).
    configure : callable, optional
        ``params -> (network kwargs, fit kwargs)`` for one trial (default: each parameter
        in ``NETWORK_KEYS`` goes to the network, every other to ``fit``).  With a
        ``configure`` function the swept names are its own (e.g. ``variant`` naming a
        whole architecture) and ``network`` / ``fit`` are only recorded in the definition.
    heartbeat : float, default 2.0
        Seconds between the driver's heartbeats for running trials; a killed sweep's
        trials count as stale after three missed beats.
    progress : bool, default False
        Show a progress bar over the trials (stderr).
    pack : int, default 1
        Train up to ``pack`` trials of the same shape as one ``xmlp.Population`` on a
        worker: Optuna is asked for trials ``pack`` at a time, and each member is reported,
        pruned, recorded and resumed as its own trial.  Trials share a pack when their
        network settings other than the seed and their ``fit`` settings other than those
        a population takes per member (eta, lmbda, l1, momentum, dropout, early stopping,
        schedule, divergence factor) agree; grid values of any other setting make groups
        of their own, and a range of one (random or TPE search) runs the sweep unpacked.
        A grid or random search gives every trial the result of the unpacked sweep to
        1e-12 (not promised bit for bit).  A TPE search asks up to ``pack`` times as many
        trials before the first is told, so its sampler (constant liar) sees fewer
        finished trials and chooses differently.  The recorded result of a trial trained
        in a pack (its ``xmlp_sweep`` user attribute) lists the pack's trials (``pack``).
    on_message : callable, optional
        Called with the sweep's notes (study resumed, stale trials retried, ...).

    Returns
    -------
    SweepResult
        The study and the table of its trials, best first.

    Raises
    ------
    ValueError
        For an unknown ``search``, ``prune`` or ``metric``; nothing to sweep; a range with
        a grid search; a parameter given both as grid values and as a range, or one that
        cannot be swept (without ``configure``); an empty grid or one that repeats a
        value; a bad range; ``trials`` or ``pack`` that is not a positive integer;
        ``heartbeat`` that is not positive; a study of that name in ``storage`` that holds
        another sweep; or ``resources`` that no worker offers.
    TypeError
        For ``data`` that is neither a name, a loader nor a dataset, grid values that are
        not numbers, strings, booleans or None, or a ``storage`` that is not a URL.

    Examples
    --------
    Three learning rates of the book's chapter-1 network on the embedded sample, each
    trial in a worker process of a local Dask cluster:

    >>> from xmlp import sweep
    >>> result = sweep.run(  # doctest: +SKIP
    ...     "mnist-sample", network={"sizes": [784, 30, 10]},
    ...     fit={"epochs": 3, "batch_size": 10}, grid={"eta": [0.1, 0.5, 1.0]},
    ...     workers=2, storage="sqlite:///sweep.db")
    >>> result.best["eta"]  # doctest: +SKIP
    1.0

    (Skipped in the doctests: it starts a Dask cluster of worker processes.)
    """
    say = on_message or (lambda text: log.info("%s", text))
    pack = _positive(pack, "pack")
    fit = dict(fit or {})
    network = {"seed": 0, **network}  # one seed for every trial unless seed is swept
    grid = {k: list(v) for k, v in (grid or {}).items()}
    space = {k: tuple(v) for k, v in (space or {}).items()}
    search = search or ("grid" if grid and not space else "tpe")
    data_key = _data_key(data, network)
    definition = _definition(network, fit, grid, space, search, prune, metric, data_key,
                             named=configure is None)
    metric = definition["metric"]
    if search != "grid":
        trials = 20 if trials is None else _positive(trials, "trials")
    configure = configure or functools.partial(_route, network, fit)
    storage = storage or f"sqlite:///{Path('sweep.db').resolve()}"
    study_name = study or default_study_name(definition)
    own_folders = 2 if checkpoint_dir is None else 1  # made here; removed when empty
    checkpoint_dir = Path(checkpoint_dir or _default_checkpoints(storage, study_name))
    heartbeat = float(heartbeat)
    if not heartbeat > 0:
        raise ValueError(f"heartbeat must be a positive number of seconds, got {heartbeat}")

    fixed = sorted(k for k in space if k in {*NETWORK_KEYS, *FIT_KEYS} - {*VARYING, "seed"})
    if pack > 1 and fixed:
        say(f"no packs: {', '.join(fixed)} drawn from a range differ from trial to trial and "
            "cannot vary within a population; the trials run one by one")
        pack = 1

    rdb = _rdb_storage(storage, heartbeat)
    the_study = _open_study(rdb, study_name, definition, trials)
    _recover(the_study, rdb, heartbeat, say)
    n_total = _n_grid(grid) if search == "grid" else (20 if trials is None else trials)
    ran = 0
    if _outstanding(the_study, definition, n_total) == 0:
        say(f"study {study_name!r}: every trial has run; nothing to do")
    else:
        with _connect(client, scheduler, workers, resources) as dask_client:
            _check_resources(dask_client, resources)
            source = _data_source(dask_client, data, network, data_key)
            ran = _drive(dask_client, the_study, rdb, definition,
                         _distributions(grid, space, search), n_total, source, configure,
                         checkpoint_dir, resources, heartbeat, progress, say, pack)
    for folder in (checkpoint_dir, checkpoint_dir.parent)[:own_folders]:
        try:
            folder.rmdir()
        except OSError:
            break
    rows = table(the_study, metric, definition["params"])
    return SweepResult(the_study, rows, metric, definition["direction"],
                       definition["params"], storage, ran, definition)


def _drive(client, study, rdb, definition, distributions, n_total, source, configure,
           checkpoint_dir: Path, resources, heartbeat, progress, say, pack: int = 1) -> int:
    """Ask Optuna for trials, run them on Dask (alone, or ``pack`` of one shape at a time),
    tell Optuna the results."""
    pending: dict[Any, list] = {}  # future -> the optuna Trials it runs
    waiting: dict[str, list] = {}  # shape -> [(trial, job)] asked, not yet submitted
    bar = _Bar(study, n_total, definition) if progress else None
    ran = 0

    def asked() -> list:
        return [t for group in waiting.values() for t, _ in group]

    def next_group() -> list | None:
        """Trials to submit together: ask until a shape has ``pack`` trials, or nothing is
        left to ask, or enough trials wait (then the largest group goes as it is)."""
        limit = pack * capacity
        while (not any(len(g) >= pack for g in waiting.values())
               and sum(map(len, waiting.values())) < limit
               and _outstanding(study, definition, n_total) > 0):
            with warnings.catch_warnings():  # heartbeats: recorded by this loop
                warnings.filterwarnings("ignore", "Heartbeat of storage")
                trial = study.ask(distributions)
            rdb.record_heartbeat(trial._trial_id)
            job = _job(trial, rdb.url, study.study_name, definition, configure,
                       checkpoint_dir, source.key)
            waiting.setdefault(_shape(job), []).append((trial, job))
        if not waiting:
            return None
        shape = max(waiting, key=lambda s: min(len(waiting[s]), pack))  # full, else largest
        group, rest = waiting[shape][:pack], waiting[shape][pack:]
        if rest:
            waiting[shape] = rest
        else:
            del waiting[shape]
        return group

    try:
        while True:
            # One task more than the workers' threads: a worker that finishes starts the
            # queued one at once instead of waiting for Optuna's bookkeeping here.
            capacity = sum(client.nthreads().values()) + 1
            while len(pending) < capacity:
                group = next_group()
                if group is None:
                    break
                trials = [t for t, _ in group]
                pending[_submit(client, group, checkpoint_dir, source, resources)] = trials
            if not pending:
                break
            try:
                distributed.wait(list(pending), timeout=heartbeat,
                                 return_when="FIRST_COMPLETED")
            except (TimeoutError, distributed.TimeoutError):
                pass
            for trial in [t for trials in pending.values() for t in trials] + asked():
                rdb.record_heartbeat(trial._trial_id)
            for future in [f for f in pending if f.done()]:
                trials = pending.pop(future)
                for trial, result in zip(trials, _results(future, len(trials))):
                    if result.get("state") != "recorded":  # pruned: the worker told it
                        _tell(study, trial, result, say)
                    ran += 1
                future.release()  # a lost worker must not recompute a finished trial
                if bar is not None:
                    bar.update(study)
    except BaseException:
        _abandon(study, client, list(pending),
                 [t for trials in pending.values() for t in trials] + asked())
        raise
    finally:
        if bar is not None:
            bar.close()
    return ran


def _submit(client, group: list, checkpoint_dir: Path, source, resources):
    """One task: a trial alone, or a pack of trials of one shape."""
    trials, jobs = [t for t, _ in group], [j for _, j in group]
    tag = uuid.uuid4().hex[:8]
    options = {"pure": False, "resources": dict(resources) if resources else None}
    if len(group) == 1:
        return client.submit(_run_trial, jobs[0], source.ref,
                             key=f"xmlp-trial-{trials[0].number}-{tag}", **options)
    numbers = "-".join(str(t.number) for t in trials)
    return client.submit(_run_pack, _pack(jobs, checkpoint_dir), source.ref,
                         key=f"xmlp-pack-{numbers}-{tag}", **options)


class _Bar:
    """tqdm over the sweep's trials, with the best value so far."""

    def __init__(self, study, total: int, definition: dict):
        from tqdm.auto import tqdm

        self.metric, self.total = definition["metric"], total
        self.bar = tqdm(total=total, desc="trials", unit="trial", dynamic_ncols=True,
                        mininterval=0.2, leave=True)
        self.update(study)

    def update(self, study) -> None:
        finished = [t for t in study.get_trials(deepcopy=False)
                    if t.state in (TrialState.COMPLETE, TrialState.PRUNED)
                    or (t.state == TrialState.FAIL and t.user_attrs.get(_ATTR, {}).get("error"))]
        self.bar.n = min(len(finished), self.total)
        done = [t.value for t in finished if t.state == TrialState.COMPLETE]
        if done:
            best = max(done) if study.direction.name == "MAXIMIZE" else min(done)
            shown = f"{100 * best:.2f}%" if self.metric.endswith("accuracy") else f"{best:.4g}"
            self.bar.set_postfix_str(f"best {self.metric} {shown}", refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()
