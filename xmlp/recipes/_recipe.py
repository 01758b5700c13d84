"""The recipes as data: :class:`Recipe` (one experiment of the book, with its published
figure), its :class:`Quick` variant on the embedded sample, its networks (:class:`Member`),
and :data:`RECIPES`, read from the table ``book.toml`` beside this module.  What a run of one
gives is in ``_results``."""

from __future__ import annotations

import difflib
import sys
from collections import OrderedDict
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ._claims import CLAIMS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["RECIPES", "Recipe", "Member", "Quick", "get", "SAMPLE"]

#: The embedded sample that quick variants run on (4000 training / 1000 test images).
SAMPLE = "mnist-sample"
SPLITS = ("test", "validation")
REPORTS = ("best", "final")
#: What a recipe measures: the accuracy of its networks, (chapter 5) the speed of learning
#: of their layers, (chapter 3) the training-cost curves of networks trained with
#: different learning rates, or (chapter 6) the accuracy of an ensemble of seeds.
KINDS = ("accuracy", "speed", "curves", "ensemble")
#: The quick band's margin: 0.015 of accuracy (15 of the sample's 1000 images) either side;
#: a speed recipe's ratio and a curves recipe's last training cost divided / multiplied by
#: 1.1.
MARGIN = {"accuracy": 0.015, "speed": 1.1, "curves": 1.1, "ensemble": 0.015}


@dataclass(frozen=True, kw_only=True)
class Quick:
    """A recipe's quick variant: its network and settings on the embedded sample.

    Attributes
    ----------
    epochs : int
        Epochs of the quick run.
    band : tuple of float or None
        ``(lo, hi)``: the accuracy (the recipe's measure; an ensemble recipe's, the
        ensemble's) that a quick run must reach: the lowest and highest of ``seeds``
        widened by 0.015 (15 of the sample's 1000 test or validation images) for other
        machines' rounding.  None in a recipe of several networks, whose :class:`Member` s
        carry their own.
    seeds : tuple of float
        The accuracies of seeds 0, 1, 2, 3, 4 on NumPy float32 (an ensemble recipe's: the
        ensemble's accuracy with ``seed`` 0, 1, 2, 3, 4, each an ensemble of the seeds
        ``seed`` to ``seed + ensemble_size - 1``).
    validation : int
        Rows held out of the sample's 4000 training images when the recipe watches a
        validation split.
    train_size : int or None
        Train on the first this many of the sample's training images (None: all).
    eta, lmbda, expand : optional
        Override the recipe's where the small training set needs it (L2's ``lmbda`` is
        scaled with the training-set size, as the book does: 5.0 for 50 000 images is 0.1
        for 1000); None keeps the recipe's.
    """

    epochs: int
    band: tuple[float, float] | None = None
    seeds: tuple[float, ...] = ()
    validation: int = 0
    train_size: int | None = None
    eta: float | None = None
    lmbda: float | None = None
    expand: bool | None = None


@dataclass(frozen=True, kw_only=True)
class Member:
    """One network of a recipe that compares several (chapter 5's depths, chapter 3's
    learning rates), with the book's figures for it and its quick variant's record.

    Attributes
    ----------
    sizes : tuple of int
        The network's layers, input first.
    published : float or None
        The book's accuracy for it (an accuracy recipe).
    speeds : tuple of float
        The book's speeds of learning of its hidden layers at initialisation (a speed
        recipe), first hidden layer first; empty where the book gives none.
    eta : float or None
        Its learning rate, where the networks of a recipe differ by it (a curves recipe);
        None: the recipe's ``eta``.
    claims : tuple of str
        What the book says of its training-cost curve (a curves recipe), as names of
        :data:`xmlp.recipes.CLAIMS`: ``"falls"`` (at every epoch), ``"lowest"``
        (reaches the lowest cost of all the curves), ``"above"`` (lies above the curve
        that reaches the lowest cost in most epochs), ``"rises"`` (in some epoch).
    seeds : tuple of float
        The quick variant's measure for seeds 0-4 on NumPy float32: the accuracy, for a
        speed recipe the ratio of the last hidden layer's mean speed to the first's, for
        a curves recipe the training cost after the last epoch.
    band : tuple of float or None
        The quick variant's band: the lowest and highest of ``seeds`` widened by 0.015
        (an accuracy) or divided / multiplied by 1.1 (a speed recipe's ratio, a curves
        recipe's cost).
    """

    sizes: tuple[int, ...]
    published: float | None = None
    speeds: tuple[float, ...] = ()
    eta: float | None = None
    claims: tuple[str, ...] = ()
    seeds: tuple[float, ...] = ()
    band: tuple[float, float] | None = None


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """One experiment: the network, its training, its data and the book's figure.

    The recipes of ``RECIPES`` are read from the table ``book.toml``; a field left out
    there takes its default here.

    Attributes
    ----------
    name, title : str
        The recipe's name (``"ch1-30"``) and a line saying what it is.
    chapter : int or None
        The book's chapter (None for the project's own recipes).
    section : str
        The chapter's section that reports the figure.
    sizes, hidden, output, cost, init
        The network: :class:`xmlp.Network`'s arguments (:meth:`network_options`).
    networks : tuple of Member
        Instead of ``sizes`` (and ``published``): the networks a recipe compares, each
        with its own figures and quick band (:attr:`members` gives either as a tuple).
    kind : {"accuracy", "speed", "curves", "ensemble"}
        What the recipe measures: its networks' accuracy; chapter 5's speed of learning
        of their hidden layers -- at initialisation over ``speed_seeds`` seeds, and before
        each epoch of one training run per network, on the first ``train_size`` training
        images (the run's figures); chapter 3's training-cost curves of networks that
        differ by their learning rate (``"curves"``: the members' ``eta``, trained as one
        :class:`xmlp.Population` of one seed, their curves checked against the members'
        ``claims``); or the accuracy of an ensemble of ``ensemble_size`` seeds of one
        network trained as one population (``"ensemble"``: the mean of the members'
        outputs, beside each member's accuracy).
    speed_seeds : int
        A speed recipe's seeds at initialisation: ``seed``, ``seed + 1``, ...
    ensemble_size : int
        An ensemble recipe's members: the seeds ``seed`` to ``seed + ensemble_size - 1``.
    eta, epochs, batch_size, lmbda, optimizer, momentum, nesterov
        The training: ``Network.fit``'s arguments for the full run (:meth:`fit_options`).
    dropout, shift, flip, schedule, anneal, early_stopping
        More of ``Network.fit``'s arguments for the full run.
    quick : Quick
        The quick variant on the embedded sample.
    dataset : str
        The dataset (default ``"mnist"``).
    expand : bool
        Train on :func:`xmlp.datasets.expand`'s five copies of each image.
    downsample : int or None
        The fold of :func:`xmlp.datasets.downsample` (2: 28x28 -> 11x11).
    train_size, validation : int
        The first ``train_size`` images are used for training after ``validation`` rows
        are held out of the 60 000 (Nielsen's 50 000 / 10 000 split).
    evaluate_on : {"test", "validation"}
        The split that ``fit`` watches every epoch (and that a schedule or early stopping
        looks at).
    report_on : {"test", "validation"}
        The split whose accuracy is compared with the book.
    report : {"best", "final"}
        Take that accuracy at the best epoch of ``evaluate_on`` (``"best"``) or after the
        last epoch (``"final"``).
    published : float or None
        The book's figure as a fraction; None where the book gives none.
    confirmed : bool
        Whether the figure and the settings were checked against the book's text.
    note : str
        Where the figure comes from; a recipe that is not from the book, or whose settings
        come from elsewhere, says so here.

    Raises
    ------
    ValueError
        For an unknown ``evaluate_on``, ``report_on``, ``report`` or ``kind``, a
        validation split without ``validation`` rows (and ``quick.validation``), neither
        or both of ``sizes`` and ``networks``, a quick band that is not ``[lo, hi]``
        (within [0, 1] for an accuracy), a curves recipe whose networks are not one shape
        each with its ``eta`` and known ``claims`` (claims in another kind), or an
        ensemble recipe of several networks or fewer than two seeds.
    """

    name: str
    title: str
    chapter: int | None
    section: str
    cost: str
    eta: float
    epochs: int
    quick: Quick
    sizes: tuple[int, ...] = ()
    networks: tuple[Member, ...] = ()
    kind: str = "accuracy"
    speed_seeds: int = 10
    ensemble_size: int = 5
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
                                     ("report", self.report, REPORTS),
                                     ("kind", self.kind, KINDS)):
            if value not in choices:
                raise ValueError(f"recipe {self.name!r}: {what} must be one of {choices}, "
                                 f"got {value!r}")
        uses_validation = "validation" in (self.evaluate_on, self.report_on)
        if uses_validation and not (self.validation and self.quick.validation):
            raise ValueError(f"recipe {self.name!r} measures on a validation split: give "
                             "validation > 0 and quick.validation > 0")
        if bool(self.sizes) == bool(self.networks):
            raise ValueError(f"recipe {self.name!r}: give its network's sizes or its "
                             "networks, not both")
        for member in self.members:
            top = 1 if self.kind in ("accuracy", "ensemble") else float("inf")
            if member.band is None or not 0 <= member.band[0] <= member.band[1] <= top:
                raise ValueError(f"recipe {self.name!r}: quick band {member.band} is not "
                                 "[lo, hi]" + (" within [0, 1]" if top == 1 else ""))
            unknown = [c for c in member.claims if c not in CLAIMS]
            if unknown or (member.claims and self.kind != "curves"):
                raise ValueError(f"recipe {self.name!r}: claims {list(member.claims)} are "
                                 f"for a curves recipe, each one of {list(CLAIMS)}")
        if self.kind == "curves":
            etas = [m.eta for m in self.networks]
            if (not self.networks or None in etas
                    or len({m.sizes for m in self.networks}) != 1):
                raise ValueError(f"recipe {self.name!r}: a curves recipe's networks are "
                                 "one shape (sizes), each with its own eta")
        if self.kind == "ensemble" and (self.networks or self.ensemble_size < 2):
            raise ValueError(f"recipe {self.name!r}: an ensemble recipe trains one network "
                             "(sizes) with ensemble_size >= 2 seeds")

    @property
    def members(self) -> tuple[Member, ...]:
        """The recipe's networks: ``networks``, or its one network (``sizes``,
        ``published`` and the quick variant's seeds and band) as a :class:`Member`."""
        if self.networks:
            return self.networks
        return (Member(sizes=self.sizes, published=self.published, seeds=self.quick.seeds,
                       band=self.quick.band),)

    @property
    def measure(self) -> str:
        """The book's measure in words, e.g. "test, best epoch"."""
        if self.kind == "speed":
            return f"speed at initialisation, first {self.train_size} images"
        if self.kind == "curves":
            return "training cost after each epoch"
        if self.report == "final":
            return f"{self.report_on}, last epoch"
        if self.report_on == self.evaluate_on:
            return f"{self.report_on}, best epoch"
        return f"{self.report_on}, at the best {self.evaluate_on} epoch"

    def network_options(self, sizes: tuple[int, ...] | None = None) -> dict[str, Any]:
        """Keyword arguments of :class:`xmlp.Network` (without backend, device, dtype, seed)
        for the network of these ``sizes`` (default: the first of :attr:`members`)."""
        sizes = self.members[0].sizes if sizes is None else sizes
        return dict(sizes=list(sizes), hidden=self.hidden, output=self.output,
                    cost=self.cost, init=self.init)

    def fit_options(self) -> dict[str, Any]:
        """Keyword arguments of ``Network.fit`` for the full run (without the data)."""
        return dict(epochs=self.epochs, batch_size=self.batch_size, eta=self.eta,
                    lmbda=self.lmbda, optimizer=self.optimizer, momentum=self.momentum,
                    nesterov=self.nesterov,
                    dropout=self.dropout, shift=self.shift, flip=self.flip,
                    schedule=self.schedule, anneal=self.anneal,
                    early_stopping=self.early_stopping)


def _tuples(table: dict[str, Any]) -> dict[str, Any]:
    """A TOML table's fields, its lists as tuples (the dataclasses are frozen)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in table.items()}


def read_table(text: str, source: str = "book.toml") -> OrderedDict[str, Recipe]:
    """The recipes of a TOML table (one ``[name]`` table per recipe), in its order."""
    table = tomllib.loads(text)
    recipes: OrderedDict[str, Recipe] = OrderedDict()
    for name, entry in table.items():
        entry = dict(entry)
        try:
            quick = Quick(**_tuples(entry.pop("quick")))
            members = tuple(Member(**_tuples(m)) for m in entry.pop("networks", []))
            fields = _tuples(entry)
            if members:
                fields["networks"] = members
            recipes[name] = Recipe(name=name, quick=quick, **{"chapter": None, **fields})
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{source}: recipe [{name}] is not a Recipe: {exc}") from None
    return recipes


#: The recipes in the book's order; the project's own ones last.
RECIPES: OrderedDict[str, Recipe] = read_table(
    resources.files(__package__).joinpath("book.toml").read_text(encoding="utf-8"))


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
