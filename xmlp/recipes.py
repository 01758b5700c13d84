"""The book's MNIST experiments as data, with their published figures, and one call to rerun them.

    >>> from xmlp import recipes
    >>> result = recipes.run("ch1-30", quick=True)     # embedded sample, a second or two
    >>> print(recipes.format_comparison(result))
    >>> result = recipes.run("ch3-l2")                 # the book's run on MNIST's 50 000 images

Each :class:`Recipe` records one experiment of *Neural Networks and Deep Learning*: the network,
cost, initialisation, hyper-parameters, data (training-set size, transforms), which split the
book measured on and whether it quotes the best epoch or the last one, and the published
figure (``None`` with a note where the book gives no exact one).  ``confirmed`` says whether
the figure and the settings were checked against the book's text (the table of checked
figures is in the project's notes, *Published MNIST figures ... checked against the book's
text*); a recipe that is not from the book, or whose settings come from elsewhere, says so in
``note``.

Every recipe has a :class:`Quick` variant: the same network and settings on the embedded
4000/1000-image sample for a few epochs (seconds), with the band of accuracies that seeds 0-4
reached, widened by a margin; the test suite checks that every quick run lands in its band.

:func:`run` trains with ``Network(...).fit(...)`` only; it adds no training code.  Its
:class:`Result` holds the accuracy by the book's measure, the published figure, their
difference, the epochs, the time, the backend and the :class:`~xmlp.History`;
:func:`format_comparison` prints them as a closing table.

This is a front end: it imports the package's public API and the datasets, and nothing below
imports it.  matplotlib is imported only when a plot is asked for.
"""

from __future__ import annotations

import difflib
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import Network, datasets
from .datasets import DatasetNotFound
from .datasets.fetch import search_dirs
from .datasets.registry import dataset_info
from .train import History

__all__ = ["RECIPES", "Recipe", "Quick", "Result", "DataMissing", "get", "run",
           "format_comparison", "plot_result"]

#: The embedded sample that quick variants run on (4000 training / 1000 test images).
SAMPLE = "mnist-sample"
SPLITS = ("test", "validation")
REPORTS = ("best", "final")


class DataMissing(DatasetNotFound):
    """A recipe's dataset is neither on disk nor downloadable.

    ``str(exc)`` says what is missing and how to get it in Python terms (``data_dir=``,
    ``dataset=``, ``quick=True``); ``cli_message`` says the same with the command's options.
    """

    def __init__(self, message: str, cli_message: str, dataset: str):
        super().__init__(message)
        self.cli_message = cli_message
        self.dataset = dataset


@dataclass(frozen=True, kw_only=True)
class Quick:
    """A recipe's quick variant: its network and settings on the embedded sample.

    ``validation`` rows are held out of the sample's 4000 training images when the recipe
    watches a validation split; ``eta`` / ``lmbda`` / ``expand`` override the recipe's where
    the small training set needs it (L2's ``lmbda`` is scaled with the training-set size, as
    the book does: 5.0 for 50 000 images is 0.1 for 1000).  ``band`` = [lo, hi] is the
    accuracy (the recipe's measure) that a quick run must reach: the lowest and highest of
    ``seeds`` (the accuracies of seeds 0, 1, 2, 3, 4 on NumPy float32) widened by 0.015 (15
    of the sample's 1000 test or validation images) for other machines' rounding.
    """

    epochs: int
    band: tuple[float, float]
    seeds: tuple[float, ...] = ()
    validation: int = 0
    eta: float | None = None
    lmbda: float | None = None
    expand: bool | None = None


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """One experiment: the network, its training, its data and the book's figure.

    ``evaluate_on`` is the split that ``fit`` watches every epoch (and that a schedule or
    early stopping looks at); ``report_on`` the split whose accuracy is compared with the
    book, taken at the best epoch of ``evaluate_on`` (``report="best"``) or after the last
    epoch (``report="final"``).  ``train_size`` images are used for training after
    ``validation`` rows are held out of the 60 000 (Nielsen's 50 000 / 10 000 split).
    ``downsample`` is the fold of :func:`xmlp.datasets.downsample` (2: 28x28 -> 11x11);
    ``expand`` trains on :func:`xmlp.datasets.expand`'s five copies of each image.
    """

    name: str
    title: str
    chapter: int | None
    section: str
    sizes: tuple[int, ...]
    cost: str
    eta: float
    epochs: int
    quick: Quick
    batch_size: int = 10
    hidden: str = "sigmoid"
    output: str | None = None
    init: str = "normalized"
    lmbda: float = 0.0
    optimizer: str = "sgd"
    momentum: float = 0.0
    nesterov: bool = False
    dropout: float = 0.0
    shift: int = 0
    flip: bool = False
    schedule: int | None = None
    anneal: str | None = None
    early_stopping: int | None = None
    dataset: str = "mnist"
    expand: bool = False
    downsample: int | None = None
    train_size: int = 50_000
    validation: int = 10_000
    evaluate_on: str = "test"
    report_on: str = "test"
    report: str = "best"
    published: float | None = None
    confirmed: bool = False
    note: str = ""

    def __post_init__(self):
        for what, value, choices in (("evaluate_on", self.evaluate_on, SPLITS),
                                     ("report_on", self.report_on, SPLITS),
                                     ("report", self.report, REPORTS)):
            if value not in choices:
                raise ValueError(f"recipe {self.name!r}: {what} must be one of {choices}, "
                                 f"got {value!r}")
        uses_validation = "validation" in (self.evaluate_on, self.report_on)
        if uses_validation and not (self.validation and self.quick.validation):
            raise ValueError(f"recipe {self.name!r} measures on a validation split: give "
                             "validation > 0 and quick.validation > 0")
        lo, hi = self.quick.band
        if not 0 <= lo <= hi <= 1:
            raise ValueError(f"recipe {self.name!r}: quick band {self.quick.band} is not "
                             "[lo, hi] within [0, 1]")

    @property
    def measure(self) -> str:
        """The book's measure in words, e.g. "test, best epoch"."""
        if self.report == "final":
            return f"{self.report_on}, last epoch"
        if self.report_on == self.evaluate_on:
            return f"{self.report_on}, best epoch"
        return f"{self.report_on}, at the best {self.evaluate_on} epoch"

    def network_options(self) -> dict[str, Any]:
        """Keyword arguments of :class:`xmlp.Network` (without backend, device, dtype, seed)."""
        return dict(sizes=list(self.sizes), hidden=self.hidden, output=self.output,
                    cost=self.cost, init=self.init)

    def fit_options(self) -> dict[str, Any]:
        """Keyword arguments of ``Network.fit`` for the full run (without the data)."""
        return dict(epochs=self.epochs, batch_size=self.batch_size, eta=self.eta,
                    lmbda=self.lmbda, optimizer=self.optimizer, momentum=self.momentum,
                    nesterov=self.nesterov,
                    dropout=self.dropout, shift=self.shift, flip=self.flip,
                    schedule=self.schedule, anneal=self.anneal,
                    early_stopping=self.early_stopping)


@dataclass(frozen=True)
class Result:
    """What :func:`run` reached, next to what the book published.

    ``accuracy`` is the recipe's measure (split ``measured_on``, epoch ``epoch``, 1-based) as
    an exact fraction of ``n_measured`` images; ``difference`` = accuracy - published when
    the two are comparable (the recipe's own dataset, not quick), else None.  ``curve``
    holds the ``measured_on`` accuracy after every epoch; ``seconds`` the wall time of the
    fit (per-epoch evaluation included) and ``total_seconds`` with data loading.
    """

    recipe: Recipe
    accuracy: float
    published: float | None
    difference: float | None
    epoch: int
    epochs: int
    seconds: float
    total_seconds: float
    backend: str
    device: str
    dtype: str
    dataset: str
    quick: bool
    measured_on: str
    n_measured: int
    n_train: int
    seed: int | None
    curve: tuple[float, ...]
    history: History = field(repr=False)

    @property
    def band(self) -> tuple[float, float] | None:
        """The quick variant's recorded band, for a quick run; else None."""
        return self.recipe.quick.band if self.quick else None

    @property
    def in_band(self) -> bool | None:
        band = self.band
        return None if band is None else band[0] <= self.accuracy <= band[1]


# ------------------------------------------------------------------------------ the recipes
def _recipes(*items: Recipe) -> OrderedDict[str, Recipe]:
    return OrderedDict((r.name, r) for r in items)


_CH1 = "Implementing our network to classify digits"
_CE = "The cross-entropy cost function"
_L2 = "Overfitting and regularization"
_BEST_OR_LAST = ("The book does not say whether this is the peak or the last epoch; "
                 "compared with the best epoch, as chapter 1 quotes its peak.")

#: The recipes in the book's order; the project's own ones last.
RECIPES: OrderedDict[str, Recipe] = _recipes(
    Recipe(
        name="ch1-30", chapter=1, section=_CH1,
        title="network.py: [784, 30, 10], quadratic cost, N(0,1) weights",
        sizes=(784, 30, 10), cost="quadratic", init="large", eta=3.0, epochs=30,
        published=0.9542, confirmed=True,
        note="'95.42 percent at its peak' (epoch 28); the chapter quotes the best of three "
             "runs.",
        quick=Quick(epochs=10, band=(0.878, 0.917),
                    seeds=(0.894, 0.901, 0.902, 0.893, 0.894))),
    Recipe(
        name="ch1-100", chapter=1, section=_CH1,
        title="network.py: [784, 100, 10], quadratic cost, N(0,1) weights",
        sizes=(784, 100, 10), cost="quadratic", init="large", eta=3.0, epochs=30,
        published=0.9659, confirmed=True,
        note="Best of three runs; the book warns that readers see quite some variation, "
             "some runs much worse. Compared with the best epoch, as for 95.42%. The quick "
             "variant varies as much (37.7% to 81.6% over seeds 0-4): with the quadratic "
             "cost and N(0,1) weights many sigmoid neurons start saturated and learn slowly.",
        quick=Quick(epochs=10, band=(0.362, 0.831),
                    seeds=(0.805, 0.377, 0.732, 0.564, 0.816))),
    Recipe(
        name="ch3-30", chapter=3, section=_CE,
        title="network2: [784, 30, 10], cross-entropy cost, N(0,1) weights",
        sizes=(784, 30, 10), cost="cross-entropy", init="large", eta=0.5, epochs=30,
        published=0.9549, confirmed=True, note=_BEST_OR_LAST,
        quick=Quick(epochs=10, band=(0.882, 0.928),
                    seeds=(0.902, 0.904, 0.903, 0.897, 0.913))),
    Recipe(
        name="ch3-100", chapter=3, section=_CE,
        title="network2: [784, 100, 10], cross-entropy cost, N(0,1) weights",
        sizes=(784, 100, 10), cost="cross-entropy", init="large", eta=0.5, epochs=30,
        published=0.9682, confirmed=True, note=_BEST_OR_LAST,
        quick=Quick(epochs=10, band=(0.898, 0.937),
                    seeds=(0.920, 0.921, 0.922, 0.919, 0.913))),
    Recipe(
        name="ch3-l2-30", chapter=3, section=_L2,
        title="network2: [784, 30, 10], cross-entropy, L2 lmbda 5.0",
        sizes=(784, 30, 10), cost="cross-entropy", init="large", eta=0.5, lmbda=5.0,
        epochs=30, published=0.9649, confirmed=True, note=_BEST_OR_LAST,
        quick=Quick(epochs=10, lmbda=0.4, band=(0.887, 0.926),
                    seeds=(0.906, 0.906, 0.906, 0.902, 0.911))),
    Recipe(
        name="ch3-l2", chapter=3, section=_L2,
        title="network2: [784, 100, 10], cross-entropy, L2 lmbda 5.0 (validation data)",
        sizes=(784, 100, 10), cost="cross-entropy", init="large", eta=0.5, lmbda=5.0,
        epochs=30, evaluate_on="validation", report_on="validation",
        published=0.9792, confirmed=True,
        note="Measured on the 10 000 validation images, not the test set. " + _BEST_OR_LAST,
        quick=Quick(epochs=10, validation=1000, lmbda=0.3, band=(0.873, 0.920),
                    seeds=(0.896, 0.905, 0.901, 0.888, 0.892))),
    Recipe(
        name="ch3-l2-60", chapter=3, section=_L2,
        title="network2: [784, 100, 10], cross-entropy, L2 lmbda 5.0, eta 0.1, 60 epochs",
        sizes=(784, 100, 10), cost="cross-entropy", init="large", eta=0.1, lmbda=5.0,
        epochs=60, evaluate_on="validation", report_on="validation",
        published=0.9804, confirmed=True,
        note="ch3-l2 with the learning rate and epochs tuned; validation images. "
             + _BEST_OR_LAST,
        quick=Quick(epochs=10, validation=1000, lmbda=0.3, band=(0.823, 0.871),
                    seeds=(0.849, 0.856, 0.848, 0.848, 0.838))),
    Recipe(
        name="ch3-init", chapter=3, section="Weight initialization",
        title="network2: [784, 30, 10], cross-entropy, L2, N(0,1/n_in) weights",
        sizes=(784, 30, 10), cost="cross-entropy", init="normalized", eta=0.1, lmbda=5.0,
        epochs=30, evaluate_on="validation", report_on="validation", published=None,
        confirmed=False,
        note="No exact figure: 'somewhat over 96 percent' with both N(0,1) and "
             "N(0,1/n_in) weights; the new initialisation gets there much faster. The "
             "settings (eta 0.1, lmbda 5.0, 30 epochs, validation data) are those of the "
             "book's listing, not checked against the book's text here. Rerun with "
             "init='large' in Network to see the comparison.",
        quick=Quick(epochs=10, validation=1000, lmbda=0.3, band=(0.886, 0.924),
                    seeds=(0.901, 0.909, 0.902, 0.908, 0.901))),
    Recipe(
        name="ch6-fc", chapter=6, section="Convolutional neural networks in practice",
        title="network3 baseline: [784, 100, 10], sigmoid + softmax, log-likelihood",
        sizes=(784, 100, 10), cost="log-likelihood", output="softmax", init="normalized",
        eta=0.1, epochs=60, evaluate_on="validation", report_on="test",
        published=0.9780, confirmed=True,
        note="Test accuracy at the epoch of best validation accuracy. network3 draws the "
             "hidden weights from N(0, 1/n_out) and starts the softmax layer at zero; this "
             "recipe uses network2's N(0, 1/n_in) for both layers.",
        quick=Quick(epochs=10, validation=1000, band=(0.885, 0.926),
                    seeds=(0.900, 0.909, 0.911, 0.907, 0.909))),
    Recipe(
        name="softmax-11x11", chapter=3, section="Softmax (in " + _CE + ")",
        title="[121, 20, 10] softmax + log-likelihood on 11x11 downsampled digits",
        sizes=(121, 20, 10), cost="log-likelihood", output="softmax", init="normalized",
        eta=0.5, epochs=30, downsample=2, published=None, confirmed=False,
        note="Not a run of the book: the softmax output of chapter 3 on images cropped "
             "and averaged to 11x11 (datasets.downsample), as examples/"
             "softmax_downsampled.py does; the book gives no figure for it.",
        quick=Quick(epochs=10, band=(0.915, 0.952),
                    seeds=(0.933, 0.937, 0.930, 0.932, 0.937))),
    Recipe(
        name="fashion-mnist", chapter=None, section="this package's best MLP",
        title="[784, 512, 256, 10] ReLU + softmax, dropout 0.3, momentum 0.9, cosine eta",
        sizes=(784, 512, 256, 10), hidden="relu", cost="log-likelihood", output="softmax",
        init="he", eta=0.02, momentum=0.9, dropout=0.3, anneal="cosine", batch_size=64,
        epochs=75, dataset="fashion-mnist", train_size=60_000, validation=0,
        evaluate_on="test", report_on="test", report="final", published=None,
        confirmed=False,
        note="Not from the book. Settings chosen with xmlp.sweep on 10 000 validation images "
             "held out of Fashion-MNIST's 60 000 training images (90.66% validation "
             "accuracy; docs/recipes.md lists every candidate), then trained once on all "
             "60 000: the cosine curve of eta watches no data, and the test images are only "
             "measured. Anchors: the Fashion-MNIST paper's best scikit-learn MLPClassifier "
             "87.1%, an MLP 256-128-100 88.33%.",
        quick=Quick(epochs=5, band=(0.915, 0.955),
                    seeds=(0.934, 0.937, 0.930, 0.938, 0.940))),
)


def get(name: str | Recipe) -> Recipe:
    """The recipe called ``name``; ``ValueError`` listing the names (and a close match)."""
    if isinstance(name, Recipe):
        return name
    if not isinstance(name, str):
        raise TypeError(f"recipe name must be a str, got {type(name).__name__}")
    try:
        return RECIPES[name]
    except KeyError:
        pass
    close = difflib.get_close_matches(name.lower(), list(RECIPES), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ValueError(f"unknown recipe {name!r}; {hint}known recipes: {', '.join(RECIPES)}")


# ------------------------------------------------------------------------------ running
@dataclass
class _Plan:
    """The effective settings of one run: the recipe's, the quick variant's or overridden."""

    dataset: str
    validation: int
    train_size: int | None
    expand: bool
    fit: dict[str, Any]


def _plan(recipe: Recipe, quick: bool, dataset: str | None, epochs: int | None) -> _Plan:
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
        plan = _Plan(SAMPLE, q.validation, None,
                     recipe.expand if q.expand is None else q.expand, fit)
    else:
        name = recipe.dataset if dataset is None else dataset
        if not isinstance(name, str):
            raise TypeError(f"dataset must be a name such as 'fashion-mnist', got {name!r}")
        dataset_info(name)  # an unknown name fails here, before any work
        if name == SAMPLE:  # the full recipe on the sample: the quick variant's split
            plan = _Plan(name, recipe.quick.validation, None, recipe.expand, fit)
        else:  # the recipe's split of the 60 000 training images, on any dataset
            plan = _Plan(name, recipe.validation, recipe.train_size, recipe.expand, fit)
    if epochs is not None:
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be a positive int, got {epochs!r}")
        plan.fit["epochs"] = epochs
    return plan


def _load(recipe: Recipe, plan: _Plan, data_dir, download: bool, dtype: str):
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


def _prepare(recipe: Recipe, plan: _Plan, ds) -> tuple[Any, dict[str, Any]]:
    """Training split and the evaluation splits after the recipe's transforms."""
    train = ds.train
    if plan.train_size is not None and plan.train_size < len(train.y):
        train = type(train)(train.X[:plan.train_size], train.y[:plan.train_size])
    if plan.expand:
        train = type(train)(*datasets.expand(train.X, train.y, image_shape=ds.image_shape))
    splits = {"test": ds.test, "validation": ds.validation}
    if recipe.downsample:
        def small(s):
            return None if s is None else type(s)(
                datasets.downsample(s.X, recipe.downsample, image_shape=ds.image_shape)[0], s.y)
        train = small(train)
        splits = {k: small(s) for k, s in splits.items()}
    n_in, n_out = train.X.shape[1], ds.n_classes
    if (recipe.sizes[0], recipe.sizes[-1]) != (n_in, n_out):
        raise ValueError(f"recipe {recipe.name!r} takes {recipe.sizes[0]} inputs and "
                         f"{recipe.sizes[-1]} classes, but {ds.name} gives {n_in} features "
                         f"and {n_out} classes")
    for name in {recipe.evaluate_on, recipe.report_on}:
        if splits[name] is None or not len(splits[name].y):
            raise ValueError(f"recipe {recipe.name!r} measures on a {name} split, but "
                             f"{ds.name} has none here")
    return train, splits


def _exact(acc: float, n: int) -> float:
    """An accuracy computed in float32 as the exact fraction correct / n."""
    return round(acc * n) / n if n else 0.0


def run(name: str | Recipe, *, quick: bool = False, dataset: str | None = None,
        backend: Any = "numpy", device: Any = None, dtype: str | None = None,
        seed: int | None = 0, epochs: int | None = None, plot: str | Path | None = None,
        verbose: bool | int = False, progress=None, callback=None,
        data_dir: str | Path | None = None, download: bool = True,
        compile: bool | None = None) -> Result:
    """Run recipe ``name`` and return its :class:`Result`.

    quick : the quick variant on the embedded sample (seconds; compare with ``band``).
    dataset : run the recipe's network and settings on another dataset, e.g.
        ``"fashion-mnist"`` (same 50 000 / 10 000 split of the 60 000 training images).
    backend, device, dtype, seed : as :class:`xmlp.Network` (dtype None: float32).
    epochs : override the number of epochs.
    plot : write the learning curve (the measured split's accuracy per epoch, with the
        published figure as a horizontal line) to this image file; needs matplotlib.
    verbose, progress, callback : passed to ``Network.fit``.
    data_dir, download : passed to :func:`xmlp.datasets.load`.
    compile : passed to ``Network.fit`` (None: compiled epochs on JAX, eager elsewhere).

    Raises :class:`DataMissing` when the dataset is not on disk and cannot be downloaded,
    ``ValueError`` for an unknown recipe or bad arguments.
    """
    recipe = get(name)
    plan = _plan(recipe, quick, dataset, epochs)
    dtype = "float32" if dtype is None else dtype
    if plot is not None:
        _require_matplotlib()
    start = time.perf_counter()
    ds = _load(recipe, plan, data_dir, download, dtype)
    train, splits = _prepare(recipe, plan, ds)
    net = Network(**recipe.network_options(), backend=backend, device=device, dtype=dtype,
                  seed=seed)
    watched, reported = splits[recipe.evaluate_on], splits[recipe.report_on]
    separate = recipe.report_on != recipe.evaluate_on
    curve: list[float] = []

    def on_epoch(epoch: int, history: History) -> None:
        if separate:  # evaluation only: the network's accuracy on the reported split
            curve.append(net.accuracy(reported.X, reported.y))
        if callback is not None:
            callback(epoch, history)

    t_fit = time.perf_counter()
    # Only the watched split is measured each epoch: the training-set pass that the other
    # monitors would add costs a third of an epoch of training, and no recipe reports it.
    history = net.fit(train.X, train.y, evaluation_data=tuple(watched), verbose=verbose,
                      progress=progress, callback=on_epoch,
                      monitor=("evaluation_cost", "evaluation_accuracy"), compile=compile,
                      **plan.fit)
    seconds = time.perf_counter() - t_fit
    if not separate:
        curve = list(history.evaluation_accuracy)
    n = len(reported.y)
    curve = [_exact(a, n) for a in curve]
    if recipe.report == "final":
        epoch = history.epochs
        accuracy = _exact(net.accuracy(reported.X, reported.y), n)
    else:
        best = int(np.argmax(history.evaluation_accuracy))
        epoch, accuracy = best + 1, curve[best]
    comparable = not quick and plan.dataset == recipe.dataset and recipe.published is not None
    result = Result(
        recipe=recipe, accuracy=accuracy, published=recipe.published,
        difference=accuracy - recipe.published if comparable else None, epoch=epoch,
        epochs=history.epochs, seconds=seconds, total_seconds=time.perf_counter() - start,
        backend=net.backend.name, device=_device_name(net.device),
        dtype="float64" if "64" in str(net.dtype) else "float32", dataset=plan.dataset,
        quick=quick, measured_on=recipe.report_on, n_measured=n, n_train=len(train.y),
        seed=seed, curve=tuple(curve), history=history)
    if plot is not None:
        plot_result(result, plot)
    return result


def _device_name(device: Any) -> str:
    text = str(device)
    if text.startswith("array_api_strict.Device('"):
        return text.split("'")[1]
    return text


# ------------------------------------------------------------------------------ reporting
def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def format_comparison(result: Result) -> str:
    """The closing table: published figure, ours, difference, epochs, time, backend."""
    r, recipe = result, result.recipe
    where = (f"chapter {recipe.chapter}, {recipe.section}" if recipe.chapter
             else recipe.section)
    data = (f"{r.dataset}, {r.n_train} training images"
            + (" (embedded sample, quick variant)" if r.quick else ""))
    if recipe.expand and not (r.quick and recipe.quick.expand is False):
        data += " (expanded x5)"
    lines = [f"{recipe.name}: {recipe.title}", f"  from        {where}",
             f"  data        {data}"]
    if recipe.published is None:
        lines.append("  published   none: " + recipe.note.split(". ")[0].rstrip("."))
    else:
        lines.append(f"  published   {_pct(recipe.published):>7}  ({recipe.measure}, "
                     f"{recipe.dataset}"
                     + ("" if recipe.confirmed else "; not confirmed against the book")
                     + ")")
    lines.append(f"  this run    {_pct(r.accuracy):>7}  ({r.measured_on}, "
                 + (f"epoch {r.epoch} of {r.epochs}" if recipe.report == "best"
                    else f"after epoch {r.epochs}")
                 + f", {round(r.accuracy * r.n_measured)} / {r.n_measured})")
    if r.difference is not None:
        lines.append(f"  difference  {100 * r.difference:+.2f} points")
    elif recipe.published is not None:
        why = "quick variant" if r.quick else f"run on {r.dataset}"
        lines.append(f"  difference  not comparable ({why}, the book used "
                     f"{recipe.dataset})")
    if r.band is not None:
        lo, hi = r.band
        verdict = "inside" if r.in_band else "OUTSIDE"
        lines.append(f"  quick band  [{_pct(lo)}, {_pct(hi)}]: {verdict}")
    lines.append(f"  epochs      {r.epochs} (stopped by: "
                 f"{r.history.stop_reason.replace('_', ' ')})")
    lines.append(f"  time        {r.seconds:.1f} s training, {r.total_seconds:.1f} s in all")
    lines.append(f"  backend     {r.backend}, device {r.device}, {r.dtype}, seed {r.seed}")
    return "\n".join(lines)


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'xmlp[plot]'") from None


def plot_result(result: Result, path: str | Path) -> Path:
    """Write the learning curve of ``result`` (accuracy per epoch on the measured split) with
    the published figure as a horizontal line (and a quick run's band) to ``path``."""
    _require_matplotlib()
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    recipe, path = result.recipe, Path(path)
    fig = Figure(figsize=(7, 4.4), layout="constrained")
    ax = fig.subplots()
    epochs = list(range(1, len(result.curve) + 1))
    ax.plot(epochs, [100 * a for a in result.curve], marker="o" if len(epochs) <= 30 else None,
            ms=4, color="#1f77b4", label=f"this run ({result.dataset}, {result.measured_on})")
    if recipe.report == "best" and result.curve:
        ax.plot([result.epoch], [100 * result.accuracy], "*", ms=12, color="#1f77b4",
                label=f"reported: {_pct(result.accuracy)}")
    if recipe.published is not None:
        ax.axhline(100 * recipe.published, color="#d62728", ls="--",
                   label=f"published: {_pct(recipe.published)} ({recipe.dataset})")
    if result.band is not None:
        lo, hi = result.band
        ax.axhspan(100 * lo, 100 * hi, color="#2ca02c", alpha=0.12, label="quick band")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="Epoch", ylabel=f"{result.measured_on.capitalize()} accuracy (%)",
           title=f"{recipe.name}: {recipe.title}")
    ax.title.set_fontsize(9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.savefig(path, dpi=100)
    return path
