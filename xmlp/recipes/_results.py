"""What a run of a recipe gives, next to what the book published: :class:`Result` (one
network), :class:`Comparison` (several networks side by side), :class:`SpeedResult`
(chapter 5's speeds of learning), :class:`CurvesResult` (training-cost curves and the book's
words about them) and :class:`EnsembleResult` (members and their ensemble)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..history import History
from ._claims import Check, check
from ._recipe import Member, Recipe

__all__ = ["Result", "Comparison", "SpeedResult", "CurvesResult", "EnsembleResult"]


@dataclass(frozen=True)
class Result:
    """What :func:`run` reached, next to what the book published.

    Attributes
    ----------
    recipe : Recipe
        The recipe that ran.
    accuracy : float
        The recipe's measure (split ``measured_on``, epoch ``epoch``) as an exact fraction
        of ``n_measured`` images.
    published : float or None
        The book's figure.
    difference : float or None
        ``accuracy - published`` when the two are comparable (the recipe's own dataset,
        not quick), else None.
    epoch : int
        The epoch (1-based) the accuracy was taken at.
    epochs : int
        Epochs run.
    seconds : float
        The wall time of the fit (per-epoch evaluation included).
    total_seconds : float
        The wall time with data loading.
    backend, device, dtype : str
        Where and in what precision it ran.
    dataset : str
        The dataset it ran on.
    quick : bool
        Whether it was the quick variant.
    measured_on : str
        The split of the measure.
    n_measured, n_train : int
        Images in the measured split and in the training set.
    seed : int or None
        The network's seed.
    curve : tuple of float
        The ``measured_on`` accuracy after every epoch.
    history : History
        The fit's per-epoch record.
    band : tuple of float or None
        The quick variant's recorded band, for a quick run; else None.
    in_band : bool or None
        Whether a quick run's accuracy lies in ``band`` (None for a full run).
    final : float
        The ``measured_on`` accuracy after the last epoch.
    member : Member or None
        The network of a recipe of several that this result is (None: the recipe's one).
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
    member: Member | None = field(default=None, repr=False)

    @property
    def band(self) -> tuple[float, float] | None:
        """The quick variant's recorded band, for a quick run; else None (and for a
        member of an ensemble recipe, whose band is the ensemble's)."""
        if not self.quick or self.recipe.kind == "ensemble":
            return None
        return self.recipe.quick.band if self.member is None else self.member.band

    @property
    def final(self) -> float:
        """The ``measured_on`` accuracy after the last epoch."""
        return self.curve[-1] if self.curve else self.accuracy

    @property
    def in_band(self) -> bool | None:
        """Whether a quick run's accuracy lies in :attr:`band`; None for a full run."""
        band = self.band
        return None if band is None else band[0] <= self.accuracy <= band[1]


@dataclass(frozen=True)
class Comparison:
    """What :func:`~xmlp.recipes.run` reached for a recipe of several networks: one
    :class:`Result` per network, in the recipe's order (chapter 5's depths).

    Attributes
    ----------
    recipe : Recipe
        The recipe that ran.
    results : tuple of Result
        Each network's result (its ``member`` says which network it is).
    in_band : bool or None
        For a quick run, whether every network's accuracy lies in its band.
    """

    recipe: Recipe
    results: tuple[Result, ...]

    @property
    def quick(self) -> bool:
        return self.results[0].quick

    @property
    def in_band(self) -> bool | None:
        if not self.quick:
            return None
        return all(r.in_band for r in self.results)


@dataclass(frozen=True)
class SpeedResult:
    """What :func:`~xmlp.recipes.run` reached for a speed recipe (chapter 5): each
    network's speeds of learning at initialisation over several seeds, and before each
    epoch of one training run, on the first ``n_probe`` training images.

    Attributes
    ----------
    recipe : Recipe
        The recipe that ran.
    initial : tuple
        ``initial[k][s][l]``: network k, seed ``seeds[s]``, layer l (hidden layers first,
        the output layer last), at initialisation.
    curves : tuple
        ``curves[k][l][e]``: network k's layer l before epoch e of its training run
        (seed ``seeds[0]``; ``History.learning_speed``).
    seeds : tuple of int or None
        The seeds of ``initial`` (None: random ones).
    dataset : str
        The dataset it ran on.
    quick : bool
        Whether it was the quick variant.
    n_probe : int
        The training images the speeds are measured on (and trained on).
    epochs : int
        Epochs of each training run.
    seconds, total_seconds : float
        The wall time of the training runs, and with data loading and initialisations.
    backend, device, dtype : str
        Where and in what precision it ran.
    """

    recipe: Recipe
    initial: tuple[tuple[tuple[float, ...], ...], ...]
    curves: tuple[tuple[tuple[float, ...], ...], ...]
    seeds: tuple[int | None, ...]
    dataset: str
    quick: bool
    n_probe: int
    epochs: int
    seconds: float
    total_seconds: float
    backend: str
    device: str
    dtype: str

    def mean(self, k: int) -> tuple[float, ...]:
        """Network k's hidden layers' speeds at initialisation, mean over the seeds."""
        return tuple(float(np.mean(layer)) for layer in list(zip(*self.initial[k]))[:-1])

    def spread(self, k: int) -> tuple[float, ...]:
        """Their standard deviation over the seeds."""
        return tuple(float(np.std(layer)) for layer in list(zip(*self.initial[k]))[:-1])

    def ratio(self, k: int) -> float:
        """How many times faster network k's last hidden layer learns than its first, at
        initialisation (mean speeds over the seeds): the measure of the quick band."""
        mean = self.mean(k)
        return mean[-1] / mean[0]

    @property
    def in_band(self) -> bool | None:
        """For a quick run, whether every network's :meth:`ratio` lies in its band."""
        if not self.quick:
            return None
        bands = [m.band for m in self.recipe.members]
        return all(b is not None and b[0] <= self.ratio(k) <= b[1]
                   for k, b in enumerate(bands))


@dataclass(frozen=True)
class CurvesResult:
    """What :func:`~xmlp.recipes.run` reached for a curves recipe (chapter 3's learning
    rates): each network's training cost after every epoch -- the networks trained as one
    :class:`xmlp.Population` of one seed, each with its own ``eta`` -- and what the book
    says of the curves (the members' ``claims``) checked on them.

    Attributes
    ----------
    recipe : Recipe
        The recipe that ran.
    curves : tuple of tuple of float
        ``curves[k][e]``: network k's training cost (with the L2 term, as network2's
        ``total_cost``) after epoch e + 1.
    seed : int or None
        The seed every network starts from (the same weights and mini-batches).
    dataset : str
        The dataset it ran on.
    quick : bool
        Whether it was the quick variant.
    n_train : int
        Training images.
    epochs : int
        Epochs run.
    seconds, total_seconds : float
        The wall time of the fit, and with data loading.
    backend, device, dtype : str
        Where and in what precision it ran.
    histories : tuple of History
        Each network's record.
    etas : tuple of float
        Each network's learning rate.
    final : tuple of float
        Each network's training cost after its last epoch.
    checks : tuple of Check
        Every claim of the recipe's networks, evaluated on ``curves``.
    passed : bool
        Whether every check holds.
    in_band : bool or None
        For a quick run, whether every network's last cost lies in its band.
    """

    recipe: Recipe
    curves: tuple[tuple[float, ...], ...]
    seed: int | None
    dataset: str
    quick: bool
    n_train: int
    epochs: int
    seconds: float
    total_seconds: float
    backend: str
    device: str
    dtype: str
    histories: tuple[History, ...] = field(repr=False)

    @property
    def etas(self) -> tuple[float, ...]:
        return tuple(self.recipe.eta if m.eta is None else m.eta for m in self.recipe.members)

    @property
    def final(self) -> tuple[float, ...]:
        return tuple(c[-1] for c in self.curves)

    @property
    def checks(self) -> tuple[Check, ...]:
        return check([m.claims for m in self.recipe.members], self.curves)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def in_band(self) -> bool | None:
        if not self.quick:
            return None
        return all(m.band is not None and m.band[0] <= cost <= m.band[1]
                   for m, cost in zip(self.recipe.members, self.final))


@dataclass(frozen=True)
class EnsembleResult:
    """What :func:`~xmlp.recipes.run` reached for an ensemble recipe (chapter 6's
    averaging of networks): each member's accuracy measured as the recipe measures it,
    and the ensemble's -- the class of the mean of the members' outputs -- measured the
    same way, the members trained as one :class:`xmlp.Population`.

    Attributes
    ----------
    recipe : Recipe
        The recipe that ran.
    results : tuple of Result
        Each member's :class:`Result` (its ``seed`` says which).
    accuracy : float
        The ensemble's ``report_on`` accuracy at the epoch of its best ``evaluate_on``
        accuracy (``report="best"``) or after the last epoch.
    epoch : int
        The epoch (1-based) the ensemble's accuracy was taken at.
    curve : tuple of float
        The ensemble's ``report_on`` accuracy after every epoch.
    watched : tuple of float
        The ensemble's ``evaluate_on`` accuracy after every epoch.
    vote, vote_epoch : float, int
        The same for a majority vote of the members' classes (the book's ensemble "takes
        a vote"; ties go to the lowest class): its accuracy and epoch.
    quick : bool
        Whether it was the quick variant.
    accuracies : tuple of float
        The members' accuracies.
    mean, sd : float
        Their mean and sample standard deviation.
    gap : float
        ``accuracy - mean``: what averaging the members gains over the mean member.
    passed : bool
        Whether the ensemble is at least as accurate as the mean member.
    final : float
        The ensemble's ``report_on`` accuracy after the last epoch.
    band, in_band
        For a quick run, the recorded band of the ensemble's accuracy and whether it lies
        in it; else None.
    """

    recipe: Recipe
    results: tuple[Result, ...]
    accuracy: float
    epoch: int
    curve: tuple[float, ...]
    watched: tuple[float, ...]
    vote: float
    vote_epoch: int
    quick: bool

    @property
    def accuracies(self) -> tuple[float, ...]:
        return tuple(r.accuracy for r in self.results)

    @property
    def mean(self) -> float:
        return float(np.mean(self.accuracies))

    @property
    def sd(self) -> float:
        return float(np.std(self.accuracies, ddof=1)) if len(self.results) > 1 else 0.0

    @property
    def gap(self) -> float:
        return self.accuracy - self.mean

    @property
    def passed(self) -> bool:
        return self.accuracy >= self.mean

    @property
    def final(self) -> float:
        return self.curve[-1] if self.curve else self.accuracy

    @property
    def band(self) -> tuple[float, float] | None:
        return self.recipe.quick.band if self.quick else None

    @property
    def in_band(self) -> bool | None:
        band = self.band
        return None if band is None else band[0] <= self.accuracy <= band[1]
