"""Running a recipe: its effective settings (quick variant, another dataset, other epochs),
its data and transforms, one ``Network(...).fit(...)``, and the :class:`~xmlp.recipes.Result`
measured as the book measured."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import Network, Population, datasets
from ..backend import device_name, dtype_name, to_numpy
from ..datasets import DatasetNotFound
from ..datasets.fetch import search_dirs
from ..datasets.registry import dataset_info
from ..history import PROBE_ROWS, History
from ._recipe import SAMPLE, Member, Recipe, get
from ._report import plot_result, require_matplotlib
from ._results import Comparison, CurvesResult, EnsembleResult, Result, SpeedResult

__all__ = ["run", "DataMissing"]


class DataMissing(DatasetNotFound):
    """A recipe's dataset is neither on disk nor downloadable.

    ``str(exc)`` says what is missing and how to get it in Python terms (``data_dir=``,
    ``dataset=``, ``quick=True``); ``cli_message`` says the same with the command's options.
    """

    def __init__(self, message: str, cli_message: str, dataset: str):
        super().__init__(message)
        self.cli_message = cli_message
        self.dataset = dataset


@dataclass
class Plan:
    """The effective settings of one run: the recipe's, the quick variant's or overridden."""

    dataset: str
    validation: int
    train_size: int | None
    expand: bool
    fit: dict[str, Any]


def make_plan(recipe: Recipe, quick: bool, dataset: str | None, epochs: int | None) -> Plan:
    fit = recipe.fit_options()
    if quick:
        if dataset not in (None, SAMPLE):
            raise ValueError(f"quick runs use the embedded {SAMPLE!r}; drop quick=True to "
                             f"run {recipe.name!r} on {dataset!r}")
        q = recipe.quick
        fit["epochs"] = q.epochs
        for key in ("eta", "lmbda"):
            if getattr(q, key) is not None:
                fit[key] = getattr(q, key)
        plan = Plan(SAMPLE, q.validation, q.train_size,
                     recipe.expand if q.expand is None else q.expand, fit)
    else:
        name = recipe.dataset if dataset is None else dataset
        if not isinstance(name, str):
            raise TypeError(f"dataset must be a name such as 'fashion-mnist', got {name!r}")
        dataset_info(name)  # an unknown name fails here, before any work
        if name == SAMPLE:  # the full recipe on the sample: the quick variant's split
            plan = Plan(name, recipe.quick.validation, recipe.quick.train_size,
                         recipe.expand, fit)
        else:  # the recipe's split of the 60 000 training images, on any dataset
            plan = Plan(name, recipe.validation, recipe.train_size, recipe.expand, fit)
    if epochs is not None:
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be a positive int, got {epochs!r}")
        plan.fit["epochs"] = epochs
    return plan


def load_data(recipe: Recipe, plan: Plan, data_dir, download: bool, dtype: str):
    try:
        return datasets.load(plan.dataset, data_dir=data_dir, validation=plan.validation,
                             download=download, dtype=dtype)
    except DatasetNotFound as exc:
        raise _data_missing(recipe, plan.dataset, exc, data_dir) from exc


def _data_missing(recipe: Recipe, dataset: str, exc: Exception, data_dir=None) -> DataMissing:
    """DataMissing with what is missing, how to get it, and what runs without it."""
    where = search_dirs(dataset, data_dir)
    looked = ", ".join(str(d) for d in where)
    reason = (f"not in {looked}, and "
              + ("downloads are off" if "download=False" in str(exc)
                 else "it could not be downloaded"))
    label = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST",
             "kmnist": "KMNIST"}.get(dataset, dataset)
    target = where[0]  # where a download goes
    pickle = " (or Nielsen's mnist.pkl.gz)" if dataset == "mnist" else ""
    get_it = (f"with network access the first run downloads it into {target} (or run python "
              f"-c \"import xmlp; xmlp.datasets.load('{dataset}')\"); offline, copy its four "
              f"IDX files{pickle} into that directory")
    if dataset == "fashion-mnist":
        get_it = "apt-get install dataset-fashion-mnist; or " + get_it
    other = ("" if dataset == "fashion-mnist"
             else "run the recipe on Fashion-MNIST ({fashion}) or ")
    api = (f"{label} is missing for recipe {recipe.name!r} ({reason}). To get it: {get_it}, "
           f"or pass data_dir=DIR (a directory holding the files) or set XMLP_DATA=DIR "
           f"(files in DIR/{dataset}). Without it: "
           + other.format(fashion="dataset='fashion-mnist'")
           + "run the quick variant on the embedded sample (quick=True).")
    cli = (f"{label} is missing for recipe {recipe.name!r} ({reason}). To get it: {get_it}, "
           f"or pass --data-dir DIR or set XMLP_DATA=DIR (files in DIR/{dataset}). "
           "Without it: " + other.format(fashion="--dataset fashion-mnist")
           + "run the quick variant on the embedded sample (--quick).")
    return DataMissing(api, cli, dataset)


def prepare_data(recipe: Recipe, plan: Plan, ds) -> tuple[Any, dict[str, Any]]:
    """Training split and the evaluation splits after the recipe's transforms."""
    train = ds.train
    if plan.train_size is not None and plan.train_size < len(train.y):
        train = type(train)(train.X[:plan.train_size], train.y[:plan.train_size])
    if plan.expand:
        train = type(train)(*datasets.expand(train.X, train.y, image_shape=ds.image_shape))
    splits = {"test": ds.test, "validation": ds.validation}
    if recipe.downsample:
        factor = recipe.downsample

        def small(s):
            return None if s is None else type(s)(
                datasets.downsample(s.X, factor, image_shape=ds.image_shape)[0], s.y)
        train = small(train)
        splits = {k: small(s) for k, s in splits.items()}
    n_in, n_out = train.X.shape[1], ds.n_classes
    for sizes in (m.sizes for m in recipe.members):
        if (sizes[0], sizes[-1]) != (n_in, n_out):
            raise ValueError(f"recipe {recipe.name!r} takes {sizes[0]} inputs and "
                             f"{sizes[-1]} classes, but {ds.name} gives {n_in} features "
                             f"and {n_out} classes")
    for name in {recipe.evaluate_on, recipe.report_on}:
        if splits[name] is None or not len(splits[name].y):
            raise ValueError(f"recipe {recipe.name!r} measures on a {name} split, but "
                             f"{ds.name} has none here")
    return train, splits


def exact_accuracy(acc: float, n: int) -> float:
    """An accuracy computed in float32 as the exact fraction correct / n."""
    return round(acc * n) / n if n else 0.0


def run(name: str | Recipe, *, quick: bool = False, dataset: str | None = None,
        backend: Any = "numpy", device: Any = None, dtype: str | None = None,
        seed: int | None = 0, epochs: int | None = None, plot: str | Path | None = None,
        verbose: bool | int = False, progress=None, callback=None,
        data_dir: str | Path | None = None, download: bool = True,
        compile: bool | None = None
        ) -> Result | Comparison | SpeedResult | CurvesResult | EnsembleResult:
    """Run recipe ``name`` and return its :class:`Result` (a :class:`Comparison` of them
    for a recipe of several networks, a :class:`SpeedResult` for a speed recipe, a
    :class:`CurvesResult` for a curves recipe, an :class:`EnsembleResult` for an ensemble
    recipe).

    The recipe's network is built with :class:`xmlp.Network` and trained with
    ``Network.fit`` on the recipe's data and settings, and the accuracy it reaches is set
    beside the book's published figure.  A speed recipe (chapter 5) measures its
    networks' speeds of learning with ``Network.learning_speed`` at initialisation, for
    ``recipe.speed_seeds`` seeds from ``seed`` on, and with ``fit``'s ``learning_speed``
    monitor before each epoch of one training run per network (seed ``seed``).  A curves
    recipe (chapter 3's learning rates) trains its networks as one
    :class:`xmlp.Population` of seed ``seed``, each with its own ``eta``, recording the
    training cost after every epoch; an ensemble recipe (chapter 6) trains the seeds
    ``seed`` to ``seed + recipe.ensemble_size - 1`` as one population and measures each
    member and the mean of their outputs.  For these two, ``callback`` is a population's:
    ``callback(epoch, histories)``, one History per member.

    Parameters
    ----------
    name : str or Recipe
        A name of ``RECIPES`` (see :func:`get`) or a recipe.
    quick : bool, default False
        Run the quick variant on the embedded sample (seconds; compare with ``band``).
    dataset : str, optional
        Run the recipe's network and settings on another dataset, e.g.
        ``"fashion-mnist"`` (same 50 000 / 10 000 split of the 60 000 training images).
    backend, device, dtype, seed
        As :class:`xmlp.Network` (dtype None: float32; seed default 0).
    epochs : int, optional
        Override the number of epochs.
    plot : str or path-like, optional
        Write the learning curve (the measured split's accuracy per epoch, with the
        published figure as a horizontal line; one curve per network) or a speed recipe's
        figures (chapter 5's "Speed of learning", one panel per network) to this image
        file; needs matplotlib.
    verbose, progress, callback
        Passed to ``Network.fit``.
    data_dir, download
        Passed to :func:`xmlp.datasets.load`.
    compile : bool or None, default None
        Passed to ``Network.fit`` (None: compiled epochs on JAX, eager elsewhere).

    Returns
    -------
    Result, Comparison, SpeedResult, CurvesResult or EnsembleResult
        The accuracy reached, next to the published one; or each network's; or the
        speeds of learning; or the training-cost curves with the book's claims checked;
        or the members' and the ensemble's accuracies.

    Raises
    ------
    DataMissing
        When the dataset is not on disk and cannot be downloaded.
    ValueError
        For an unknown recipe or bad arguments (``quick=True`` with another dataset,
        ``epochs`` that is not a positive int, a dataset whose images do not fit the
        recipe's network).
    TypeError
        For a recipe name or ``dataset`` that is not a string.
    ImportError
        With ``plot`` when matplotlib is not installed.

    Examples
    --------
    The quick variant of network.py's chapter-1 run (about a second):

    >>> from xmlp import recipes
    >>> result = recipes.run("ch1-30", quick=True)
    >>> result.dataset, result.measured_on, result.n_measured, result.epochs
    ('mnist-sample', 'test', 1000, 10)
    >>> result.in_band
    True

    Chapter 5's speeds of learning at initialisation, on the sample's first 1000 images:

    >>> speed = recipes.run("ch5-speed", quick=True)
    >>> speed.in_band, round(speed.ratio(2))     # 4 hidden layers: the first ~100x slower
    (True, 114)

    Chapter 3's three learning rates as one population, the book's words checked:

    >>> curves = recipes.run("ch3-eta", quick=True)
    >>> curves.etas, curves.passed, curves.in_band
    ((0.025, 0.25, 2.5), True, True)

    The full run on MNIST downloads it and takes minutes, so it is not run here:

    >>> result = recipes.run("ch1-30")  # doctest: +SKIP
    >>> print(recipes.format_comparison(result))  # doctest: +SKIP
    """
    recipe = get(name)
    plan = make_plan(recipe, quick, dataset, epochs)
    dtype = "float32" if dtype is None else dtype
    if plot is not None:
        require_matplotlib()
    start = time.perf_counter()
    ds = load_data(recipe, plan, data_dir, download, dtype)
    train, splits = prepare_data(recipe, plan, ds)
    where = dict(backend=backend, device=device, dtype=dtype)
    hooks = dict(verbose=verbose, progress=progress, callback=callback, compile=compile)
    result: Result | Comparison | SpeedResult | CurvesResult | EnsembleResult
    if recipe.kind == "speed":
        result = _speeds(recipe, plan, train, where, seed, hooks, quick, start)
    elif recipe.kind == "curves":
        result = _curves(recipe, plan, train, where, seed, hooks, quick, start)
    elif recipe.kind == "ensemble":
        result = _ensemble(recipe, plan, train, splits, where, seed, hooks, quick, start)
    else:
        results = tuple(_fit(recipe, member, plan, train, splits, where, seed, hooks, quick,
                             start) for member in recipe.members)
        result = Comparison(recipe, results) if recipe.networks else results[0]
    if plot is not None:
        plot_result(result, plot)
    return result


def _fit(recipe: Recipe, member: Member, plan: Plan, train, splits, where: dict,
         seed: int | None, hooks: dict, quick: bool, start: float) -> Result:
    """One network of the recipe trained and measured as the book measured it."""
    net = Network(**recipe.network_options(member.sizes), **where, seed=seed)
    watched, reported = splits[recipe.evaluate_on], splits[recipe.report_on]
    separate = recipe.report_on != recipe.evaluate_on
    curve: list[float] = []
    callback = hooks["callback"]

    def on_epoch(epoch: int, history: History) -> None:
        if separate:  # evaluation only: the network's accuracy on the reported split
            curve.append(net.accuracy(reported.X, reported.y))
        if callback is not None:
            callback(epoch, history)

    t_fit = time.perf_counter()
    # Only the watched split is measured each epoch: the training-set pass that the other
    # monitors would add costs a third of an epoch of training, and no recipe reports it.
    history = net.fit(train.X, train.y, evaluation_data=tuple(watched),
                      verbose=hooks["verbose"], progress=hooks["progress"], callback=on_epoch,
                      monitor=("evaluation_cost", "evaluation_accuracy"),
                      compile=hooks["compile"], **plan.fit)
    seconds = time.perf_counter() - t_fit
    if not separate:
        curve = list(history.evaluation_accuracy)
    n = len(reported.y)
    curve = [exact_accuracy(a, n) for a in curve]
    if recipe.report == "final":
        epoch = history.epochs
        accuracy = exact_accuracy(net.accuracy(reported.X, reported.y), n)
    else:
        best = int(np.argmax(history.evaluation_accuracy))
        epoch, accuracy = best + 1, curve[best]
    published = member.published
    comparable = not quick and plan.dataset == recipe.dataset
    return Result(
        recipe=recipe, accuracy=accuracy, published=published,
        difference=accuracy - published if comparable and published is not None else None,
        epoch=epoch,
        epochs=history.epochs, seconds=seconds, total_seconds=time.perf_counter() - start,
        backend=net.backend.name, device=device_name(net.device),
        dtype=dtype_name(net.dtype), dataset=plan.dataset,
        quick=quick, measured_on=recipe.report_on, n_measured=n, n_train=len(train.y),
        seed=seed, curve=tuple(curve), history=history,
        member=member if recipe.networks else None)


def _speeds(recipe: Recipe, plan: Plan, train, where: dict, seed: int | None,
            hooks: dict, quick: bool, start: float) -> SpeedResult:
    """Chapter 5's speeds of learning of each network: at initialisation over the seeds,
    and before each epoch of one training run (``fit``'s learning_speed monitor, on the
    first 1000 training rows: all of them here)."""
    X, y = train.X, train.y
    seeds: tuple[int | None, ...] = (
        (None,) * recipe.speed_seeds if seed is None
        else tuple(range(seed, seed + recipe.speed_seeds)))
    initial, curves, seconds = [], [], 0.0
    net = None
    for member in recipe.members:
        options = {**recipe.network_options(member.sizes), **where}
        initial.append(tuple(
            tuple(float(v) for v in to_numpy(Network(**options, seed=s).learning_speed(X, y)))
            for s in seeds))
        net = Network(**options, seed=seeds[0])
        t_fit = time.perf_counter()
        history = net.fit(X, y, monitor=["learning_speed"], verbose=hooks["verbose"],
                          progress=hooks["progress"], callback=hooks["callback"],
                          compile=hooks["compile"], **plan.fit)
        seconds += time.perf_counter() - t_fit
        curves.append(tuple(tuple(layer) for layer in history.learning_speed))
    assert net is not None
    return SpeedResult(
        recipe=recipe, initial=tuple(initial), curves=tuple(curves), seeds=seeds,
        dataset=plan.dataset, quick=quick, n_probe=min(PROBE_ROWS, len(y)),
        epochs=len(curves[0][0]), seconds=seconds, total_seconds=time.perf_counter() - start,
        backend=net.backend.name, device=device_name(net.device), dtype=dtype_name(net.dtype))


def _population(recipe: Recipe, seeds: list[int | None], where: dict) -> Population:
    """The recipe's network as a population of these seeds."""
    options = recipe.network_options()
    return Population(options.pop("sizes"), seeds=seeds, **options, **where)


def _curves(recipe: Recipe, plan: Plan, train, where: dict, seed: int | None,
            hooks: dict, quick: bool, start: float) -> CurvesResult:
    """Chapter 3's learning rates: the recipe's networks, one seed, one eta each, trained
    as one population; the training cost after every epoch (network2's
    ``monitor_training_cost``: the cost with its L2 term, on all the training images)."""
    members = recipe.members
    pop = _population(recipe, [seed] * len(members), where)
    fit = dict(plan.fit, eta=[plan.fit["eta"] if m.eta is None else m.eta for m in members])
    t_fit = time.perf_counter()
    histories = pop.fit(train.X, train.y, monitor=("training_cost",),
                        verbose=hooks["verbose"], progress=hooks["progress"],
                        callback=hooks["callback"], compile=hooks["compile"], **fit)
    seconds = time.perf_counter() - t_fit
    return CurvesResult(
        recipe=recipe, curves=tuple(tuple(h.training_cost) for h in histories), seed=seed,
        dataset=plan.dataset, quick=quick, n_train=len(train.y),
        epochs=max(h.epochs for h in histories), seconds=seconds,
        total_seconds=time.perf_counter() - start, backend=pop.backend.name,
        device=device_name(pop.device), dtype=dtype_name(pop.dtype),
        histories=tuple(histories))


def _ensemble(recipe: Recipe, plan: Plan, train, splits, where: dict, seed: int | None,
              hooks: dict, quick: bool, start: float) -> EnsembleResult:
    """Chapter 6's ensemble: ``ensemble_size`` seeds of the recipe's network trained as one
    population; each member measured as the recipe measures one network, and the
    ensemble (the class of the members' mean output) the same way on its own curves."""
    n = recipe.ensemble_size
    seeds: list[int | None] = [None] * n if seed is None else list(range(seed, seed + n))
    pop = _population(recipe, seeds, where)
    watched, reported = splits[recipe.evaluate_on], splits[recipe.report_on]
    separate = recipe.report_on != recipe.evaluate_on
    members: list[list[float]] = [[] for _ in seeds]
    # the ensemble's accuracy after each epoch: [mean output, vote] x [watched, reported]
    ensemble: list[list[float]] = [[], [], [], []]
    callback = hooks["callback"]

    def on_epoch(epoch: int, histories: list[History]) -> None:
        # evaluation only: the ensemble on both splits, the members on the reported one
        for i, vote in enumerate((False, True)):
            ensemble[2 * i].append(pop.accuracy(watched.X, watched.y, vote=vote))
            ensemble[2 * i + 1].append(ensemble[2 * i][-1] if not separate
                                       else pop.accuracy(reported.X, reported.y, vote=vote))
        if separate:
            for k, a in enumerate(pop.member_accuracy(reported.X, reported.y)):
                if histories[k].epochs == epoch + 1:  # still training
                    members[k].append(a)
        if callback is not None:
            callback(epoch, histories)

    t_fit = time.perf_counter()
    histories = pop.fit(train.X, train.y, evaluation_data=tuple(watched),
                        verbose=hooks["verbose"], progress=hooks["progress"],
                        callback=on_epoch, monitor=("evaluation_cost", "evaluation_accuracy"),
                        compile=hooks["compile"], **plan.fit)
    seconds = time.perf_counter() - t_fit
    size = len(reported.y)
    final = (pop.member_accuracy(reported.X, reported.y) if recipe.report == "final"
             else None)
    results = []
    for k, history in enumerate(histories):
        curve = [exact_accuracy(a, size) for a in (members[k] if separate
                                           else history.evaluation_accuracy)]
        if final is not None:
            epoch, accuracy = history.epochs, exact_accuracy(final[k], size)
        else:
            best = int(np.argmax(history.evaluation_accuracy))
            epoch, accuracy = best + 1, curve[best]
        results.append(Result(
            recipe=recipe, accuracy=accuracy, published=None, difference=None, epoch=epoch,
            epochs=history.epochs, seconds=seconds,
            total_seconds=time.perf_counter() - start, backend=pop.backend.name,
            device=device_name(pop.device), dtype=dtype_name(pop.dtype),
            dataset=plan.dataset, quick=quick, measured_on=recipe.report_on,
            n_measured=size, n_train=len(train.y), seed=seeds[k], curve=tuple(curve),
            history=history))

    def measured(on_watched: list[float], on_reported: list[float]) -> tuple[int, float]:
        """The epoch (1-based) and the reported accuracy, as the recipe measures."""
        at = len(on_reported) - 1 if recipe.report == "final" else int(np.argmax(on_watched))
        return at + 1, exact_accuracy(on_reported[at], size)

    epoch, accuracy = measured(ensemble[0], ensemble[1])
    vote_epoch, vote = measured(ensemble[2], ensemble[3])
    return EnsembleResult(recipe=recipe, results=tuple(results), accuracy=accuracy,
                          epoch=epoch, curve=tuple(exact_accuracy(a, size) for a in ensemble[1]),
                          watched=tuple(exact_accuracy(a, len(watched.y)) for a in ensemble[0]),
                          vote=vote, vote_epoch=vote_epoch, quick=quick)
