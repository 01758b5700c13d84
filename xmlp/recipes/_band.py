"""A recipe's quick band as one population: the seeds the band was recorded with (0-4),
trained at once as one :class:`xmlp.Population` on the embedded sample, each member's
:class:`Result` what ``run(name, quick=True, seed=k)`` gives."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import Population
from ..backend import device_name, dtype_name
from ..history import History
from ._recipe import Recipe, get
from ._results import Result
from ._run import exact_accuracy, load_data, make_plan, prepare_data

__all__ = ["run_band"]


def run_band(name: str | Recipe, *, seeds: Sequence[int] = (0, 1, 2, 3, 4),
             backend: Any = "numpy", device: Any = None, dtype: str | None = None,
             epochs: int | None = None, progress: Any = None,
             callback: Callable[[int, list[History]], None] | None = None,
             compile: bool | None = None) -> list[Result]:
    """The quick variant of recipe ``name`` for every seed of ``seeds``, trained as one
    population: one :class:`Result` per seed, each equal to ``run(name, quick=True,
    seed=seed)``'s (and so each in its band where that run is).

    Examples
    --------
    >>> from xmlp import recipes
    >>> results = recipes.run_band("ch1-30")          # seeds 0-4 at once, seconds
    >>> [r.seed for r in results], all(r.in_band for r in results)
    ([0, 1, 2, 3, 4], True)
    """
    recipe = get(name)
    if recipe.networks or recipe.kind != "accuracy":
        raise ValueError(f"recipe {recipe.name!r} compares several networks or measures "
                         f"{recipe.kind if recipe.kind != 'speed' else 'speeds'}; run_band "
                         "trains the seeds of a one-network accuracy recipe's band (use "
                         "run(name, quick=True))")
    plan = make_plan(recipe, True, None, epochs)
    dtype = "float32" if dtype is None else dtype
    start = time.perf_counter()
    ds = load_data(recipe, plan, None, False, dtype)
    train, splits = prepare_data(recipe, plan, ds)
    pop = Population(recipe.sizes, seeds=list(seeds), **{
        k: v for k, v in recipe.network_options().items() if k != "sizes"},
        backend=backend, device=device, dtype=dtype)
    watched, reported = splits[recipe.evaluate_on], splits[recipe.report_on]
    separate = recipe.report_on != recipe.evaluate_on
    curves: list[list[float]] = [[] for _ in seeds]

    def on_epoch(epoch: int, histories: list[History]) -> None:
        if separate:  # the members' accuracy on the reported split, for those still running
            accuracy = pop.member_accuracy(reported.X, reported.y)
            for k, h in enumerate(histories):
                if h.epochs == epoch + 1:
                    curves[k].append(accuracy[k])
        if callback is not None:
            callback(epoch, histories)

    t_fit = time.perf_counter()
    histories = pop.fit(train.X, train.y, evaluation_data=tuple(watched), progress=progress,
                        callback=on_epoch, monitor=("evaluation_cost", "evaluation_accuracy"),
                        compile=compile, **plan.fit)
    seconds = time.perf_counter() - t_fit
    n = len(reported.y)
    final = pop.member_accuracy(reported.X, reported.y) if recipe.report == "final" else None
    results = []
    for k, (seed, history) in enumerate(zip(seeds, histories)):
        curve = [exact_accuracy(a, n) for a in (curves[k] if separate
                                        else history.evaluation_accuracy)]
        if final is not None:
            epoch, accuracy = history.epochs, exact_accuracy(final[k], n)
        else:
            best = int(np.argmax(history.evaluation_accuracy))
            epoch, accuracy = best + 1, curve[best]
        results.append(Result(
            recipe=recipe, accuracy=accuracy, published=recipe.published, difference=None,
            epoch=epoch, epochs=history.epochs, seconds=seconds,
            total_seconds=time.perf_counter() - start, backend=pop.backend.name,
            device=device_name(pop.device), dtype=dtype_name(pop.dtype),
            dataset=plan.dataset, quick=True, measured_on=recipe.report_on, n_measured=n,
            n_train=len(train.y), seed=seed, curve=tuple(curve), history=history))
    return results
