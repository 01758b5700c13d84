"""The Dask side of a sweep: the cluster (a ``LocalCluster`` of single-threaded workers
started here, a scheduler's address or a given client), the resources trials need, the data
sent to the workers (loaded once per worker process or scattered once), and a finished
task's result."""

from __future__ import annotations

import functools
import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import dask.config
import distributed

from .space import _positive
from .study import CONNECT_TIMEOUT
from .trial import _describe, _Loader

#: Environment of the worker processes this module starts: one BLAS thread each, so that N
#: single-threaded workers share N cores without oversubscription.
BLAS_ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                   "MKL_NUM_THREADS": "1", "BLIS_NUM_THREADS": "1",
                   "VECLIB_MAXIMUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1"}
#: glibc's malloc in the worker processes this module starts (set before they start, as
#: Dask's own ``MALLOC_TRIM_THRESHOLD_``).  That setting of Dask's also pins malloc's mmap
#: threshold at 128 KiB, so that every larger array -- a wide layer's weights, a
#: population's stacked ones -- is a fresh mmap, its pages faulted in again, at every
#: step: one [784, 100, 10] network trained 4 times slower per epoch on the embedded
#: sample, a population of 4 [784, 30, 10] ones 3.4 times.  Arrays up to 16 MiB come from
#: the heap instead (still trimmed back to the system as Dask wants).
MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(16 * 2**20)}


@contextmanager
def _connect(client, scheduler: str | None, workers: int | None, resources):
    if client is not None:
        yield client
        return
    if scheduler is not None:
        try:
            c = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT)
        except OSError as exc:  # distributed's "Timed out trying to connect"
            raise ConnectionError(f"cannot reach the Dask scheduler at {scheduler} "
                                  f"({' '.join(str(exc).split())}); start it (dask "
                                  "scheduler) or check the address") from exc
        with c:
            yield c
        return
    n = _positive(workers, "workers") if workers is not None else _cores()
    key = "distributed.nanny.pre-spawn-environ"
    environ = {**MALLOC, **dask.config.get(key, default={})}  # a configured value wins
    with dask.config.set({key: environ}), distributed.LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
            silence_logs=logging.ERROR, env=dict(BLAS_ONE_THREAD),
            resources=dict(resources) if resources else None) as cluster, \
            distributed.Client(cluster) as c:
        yield c


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _check_resources(client, resources) -> None:
    if not resources:
        return
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    if not any(all(w.get("resources", {}).get(k, 0) >= v for k, v in resources.items())
               for w in workers):
        need = " ".join(f"{k}={v:g}" for k, v in resources.items())
        raise ValueError(f"no worker of the cluster offers the resources {need}: start the "
                         f"workers with --resources '{need}' (dask worker / dask cuda worker)")


def _named(data: Any, network: dict) -> Any:
    if isinstance(data, str):
        return functools.partial(_load_named, data, network.get("dtype", "float32"))
    return data


def _data_source(client, data: Any, network: dict, key: str):
    """A named dataset or a loader: loaded once per worker.  A dataset: scattered once."""
    data = _named(data, network)
    if callable(data):
        return _Loader(data, key)
    return _Scattered(key, client.scatter(data, broadcast=True, hash=False))


def _load_named(name: str, dtype: str):
    from .. import datasets

    return datasets.load(name, dtype=dtype)


@dataclass(frozen=True)
class _Scattered:
    """A dataset scattered once to every worker; tasks receive it through ``ref``."""

    key: str
    ref: Any  # distributed.Future


def _results(future, n: int) -> list[dict]:
    """The results of a finished task running ``n`` trials (one trial, or a pack)."""
    try:
        out = future.result()
    except Exception as exc:  # noqa: BLE001 - a worker lost too often, a cancelled task
        return [{"state": "failed", "error": _describe(exc)} for _ in range(n)]
    return out if isinstance(out, list) else [out]
