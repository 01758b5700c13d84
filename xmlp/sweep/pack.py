"""Packs: trials of one shape trained together as one ``xmlp.Population`` on a
worker (``run(pack=K)``, ``xmlp sweep --pack K``), each member's result the one its trial
alone gives (to 1e-12), recorded under its own Optuna trial.

What may share a pack (:func:`_shape`): trials whose network settings other than the seed
agree, and whose ``fit`` settings agree except those a population takes one per member
(``xmlp.population_fit.VARYING``: eta, lmbda, l1, momentum, dropout, early stopping, the
schedule, the divergence factor).  A swept seed becomes the members' seeds.

Pruning: after every epoch each member's metric is reported to its trial and the pruner is
asked, as for a trial alone; a pruned member is recorded as pruned at once (from the
worker: its network and curves of that epoch) while the rest of the pack goes on.  A
population cannot stop one member from outside, so the pruned member goes on computing
with the others and what it computes is discarded; when every member still training has
been pruned, the pack ends.

Faults: the population writes one checkpoint per member after every epoch
(``<checkpoint_dir>/pack-<digest>/member-K.ckpt``, each the checkpoint of that member's
own run); a pack run again after its worker was killed resumes from them to the same
results.  A pack that cannot train as one (a member whose settings ``fit`` refuses, an
error while training) runs its trials one by one instead, each exactly as the unpacked
sweep runs it.

Dask workers unpickle ``_run_pack`` and ``_Pack`` from here by name."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..population_fit import VARYING
from .study import _tell
from .trial import (
    _failed,
    _finished,
    _Job,
    _Loader,
    _prepare,
    _pruning_study,
    _Reporter,
    _run_trial,
)

log = logging.getLogger("xmlp.sweep")

#: ``History.stop_reason`` of a member that stopped before its last epoch.
_STOPPED = ("early_stopping", "schedule", "diverged")


@dataclass(frozen=True)
class _Pack:
    """What a worker needs to run a pack of trials (small, picklable)."""

    jobs: tuple[_Job, ...]
    checkpoint: str  # the folder of the members' checkpoints


def _shape(job: _Job) -> str:
    """What trials of one pack share: the network but its seed, every ``fit`` setting
    that cannot vary between a population's members, the metric and the pruning."""
    network = {k: v for k, v in job.network.items() if k != "seed"}
    fit = {k: None if k in VARYING else v for k, v in job.fit.items()}
    return json.dumps([network, fit, job.metric, job.prune], sort_keys=True, default=repr)


def _pack(jobs: Sequence[_Job], checkpoint_dir: Path) -> _Pack:
    """A pack of ``jobs`` (of one shape), its checkpoint folder named by its trials'
    settings (each trial's checkpoint name is a digest of them), in order."""
    digest = hashlib.sha256("\n".join(j.checkpoint for j in jobs).encode()).hexdigest()[:16]
    return _Pack(tuple(jobs), str(checkpoint_dir / f"pack-{digest}"))


def _trainable(job: _Job) -> bool:
    """Whether ``fit`` takes the job's settings (a job it refuses runs alone, to fail as
    it fails alone)."""
    from ..settings import FitSettings

    try:
        FitSettings(**job.fit)
    except (TypeError, ValueError):
        return False
    return True


def _run_pack(pack: _Pack, data) -> list[dict]:
    """Run a pack on a worker: one result per job, in order (``{"state": "recorded"}``
    for a trial the worker recorded itself: pruned).  The result of a member trained in
    the population names its pack's trials (``"pack"``); a trial run alone has none.
    Never raises: failures are results."""
    if isinstance(data, _Loader):
        data = data.get()
    jobs = pack.jobs
    together = [i for i, job in enumerate(jobs) if _trainable(job)]
    if len(together) < 2:
        return [_run_trial(job, data) for job in jobs]
    results: dict[int, dict] = {i: _run_trial(jobs[i], data) for i in range(len(jobs))
                                if i not in together}
    members = [jobs[i] for i in together]
    folder = Path(pack.checkpoint)
    outcome: list[dict | None] = [None] * len(members)
    for attempt in (1, 2):
        run = _PackRun(members, folder, data)
        try:
            outcome = run.train()
            break
        except Exception as exc:  # noqa: BLE001 - the trials then run one by one
            outcome = run.results
            if attempt == 1 and run.resumed and not run.started:
                log.warning("pack %s: cannot resume from its checkpoints (%s); starting it "
                            "again", folder.name, exc)
                shutil.rmtree(folder, ignore_errors=True)
                continue
            log.warning("pack %s: cannot train as one population (%s: %s); its trials run "
                        "one by one", folder.name, type(exc).__name__, exc)
            break
    shutil.rmtree(folder, ignore_errors=True)
    for i, result in zip(together, outcome):
        results[i] = result if result is not None else _run_trial(jobs[i], data)
    return [results[i] for i in range(len(jobs))]


class _Over(Exception):
    """Every member still training was pruned: the pack's fit ends."""


class _PackRun:
    """One attempt at training a pack as a population: its checkpoints, its members'
    pruning, their results."""

    def __init__(self, jobs: list[_Job], folder: Path, data: Any):
        self.jobs, self.folder, self.data = jobs, folder, data
        self.results: list[dict | None] = [None] * len(jobs)  # None: still training
        self.started = self.resumed = False
        self.histories: list[Any] = []

    def _population(self):
        from ..backend import parse_device
        from ..population import Population

        kwargs = {k: v for k, v in self.jobs[0].network.items() if k != "seed"}
        kwargs["device"] = parse_device(kwargs.get("backend", "numpy"), kwargs.get("device"))
        sizes = kwargs.pop("sizes")
        seeds: list[Any] = [job.network.get("seed") for job in self.jobs]  # None: fresh
        return Population(sizes, seeds=seeds, **kwargs)

    def _options(self) -> dict[str, Any]:
        """``Population.fit``'s options: one value per member of each that may vary."""
        first = self.jobs[0].fit
        return {k: [job.fit[k] for job in self.jobs] if k in VARYING else v
                for k, v in first.items()}

    def _resume_point(self, pop) -> list[int | None]:
        """The epoch of each member's checkpoint, when a killed attempt left them all; an
        unreadable set is removed (the pack starts again, to the same results)."""
        from .. import checkpoint as ckpt_io

        K = len(self.jobs)
        if not self.folder.is_dir():
            return [None] * K
        try:
            epochs: list[int | None] = [ckpt_io.load(self.folder / f"member-{k}.ckpt", pop[k]).epoch
                      for k in range(K)]
        except (OSError, ValueError):
            shutil.rmtree(self.folder, ignore_errors=True)
            return [None] * K
        self.resumed = True
        return epochs

    def train(self) -> list[dict | None]:
        import numpy as np

        jobs = self.jobs
        splits, eval_name = _prepare(jobs[0], self.data)
        pop = self._population()
        resumed_from = self._resume_point(pop)
        study = None if jobs[0].prune is None else _pruning_study(jobs[0])
        reporters: list[_Reporter | None] = [None] * len(jobs)
        if study is not None:
            for k, job in enumerate(jobs):
                if study._storage.get_trial(job.trial_id).state.is_finished():
                    self.results[k] = {"state": "recorded"}  # pruned by an earlier attempt
                else:
                    reporters[k] = _Reporter(job, eval_name, study)
        numbers = [job.number for job in jobs]  # recorded with each member's result
        t0 = time.perf_counter()

        def callback(epoch: int, histories: list) -> None:
            self.started, self.histories = True, histories
            for k, (rep, h) in enumerate(zip(reporters, histories)):
                # asked as the trial alone asks: after each epoch it trained, not after
                # the epoch it diverged in
                if (rep is None or self.results[k] is not None or h.epochs != epoch + 1
                        or h.stop_reason == "diverged"):
                    continue
                rep.report_all(h)
                if rep.trial.should_prune():
                    result = _finished(pop[k], h, "pruned", splits, jobs[k], eval_name,
                                       resumed_from[k], t0)
                    _tell(study, rep.trial, {**result, "pack": numbers}, log.warning)
                    self.results[k] = {"state": "recorded"}
            if any(r is not None for r in self.results) and all(
                    r is not None or h.stop_reason in _STOPPED
                    for r, h in zip(self.results, histories)):
                raise _Over

        self.folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                self.histories = pop.fit(
                    *splits["training"], **self._options(),
                    evaluation_data=None if eval_name is None else splits[eval_name],
                    callback=callback, checkpoint=self.folder,
                    resume=self.folder if self.resumed else None, max_members=len(jobs))
        except _Over:
            pass
        for k, (job, h) in enumerate(zip(jobs, self.histories)):
            if self.results[k] is not None:
                continue
            if h.stop_reason == "diverged" and job.fit.get("on_divergence", "raise") == "raise":
                result = _failed(" ".join(str(h.stop_message).split()), h)
            else:
                rep = reporters[k]
                if rep is not None:
                    rep.report_all(h)
                result = _finished(pop[k], h, "complete", splits, job, eval_name,
                                   resumed_from[k], t0)
            self.results[k] = {**result, "pack": numbers}
        return self.results
