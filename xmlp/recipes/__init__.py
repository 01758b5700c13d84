"""The book's MNIST experiments as data, with their published figures, and one call to rerun them.

    >>> from xmlp import recipes
    >>> result = recipes.run("ch1-30", quick=True)     # embedded sample, a second or two
    >>> print(recipes.format_comparison(result))
    ch1-30: network.py: [784, 30, 10], quadratic cost, N(0,1) weights
      from        chapter 1, Implementing our network to classify digits
    ...
    >>> result = recipes.run("ch3-l2")  # doctest: +SKIP

(The last line, the book's run on MNIST's 50 000 images, downloads MNIST and takes minutes.)

Each :class:`Recipe` records one experiment of *Neural Networks and Deep Learning*: the network,
cost, initialisation, hyper-parameters, data (training-set size, transforms), which split the
book measured on and whether it quotes the best epoch or the last one, and the published
figure (``None`` with a note where the book gives no exact one).  ``confirmed`` says whether
the figure and the settings were checked against the book's text (the table of checked
figures is in the project's notes, *Published MNIST figures ... checked against the book's
text*); a recipe that is not from the book, or whose settings come from elsewhere, says so in
``note``.

A recipe may compare several networks (``networks``, each a :class:`Member` with its own
figure and quick band: chapter 5's depths, whose :func:`run` gives a :class:`Comparison` of
one :class:`Result` each), and may measure the speed of learning of its networks' layers
instead of their accuracy (``kind="speed"``: chapter 5's vanishing gradients, a
:class:`SpeedResult` whose figures are the book's "Speed of learning" plots).  Two kinds
train their networks as one :class:`xmlp.Population`: ``kind="curves"`` (chapter 3's
learning rates: networks that differ by ``eta``, their training-cost curves and what the
book says of them as :data:`CLAIMS` checked on the run, a :class:`CurvesResult`) and
``kind="ensemble"`` (chapter 6's averaging: seeds of one network, each member's accuracy
and the ensemble's, an :class:`EnsembleResult`).

Every recipe has a :class:`Quick` variant: the same network and settings on the embedded
4000/1000-image sample for a few epochs (seconds), with the band of accuracies that seeds 0-4
reached, widened by a margin; the test suite checks that every quick run lands in its band.

:func:`run` trains with ``Network(...).fit(...)`` only; it adds no training code.  Its
:class:`Result` holds the accuracy by the book's measure, the published figure, their
difference, the epochs, the time, the backend and the :class:`~xmlp.History`;
:func:`format_comparison` prints them as a closing table.

The table of recipes is the data file ``book.toml`` in this package (read by ``_recipe``);
``_run`` runs one and ``_report`` prints and draws the comparison.  This is a front end: it
imports the package's public API and the datasets, and nothing below imports it.
matplotlib is imported only when a plot is asked for.
"""

from __future__ import annotations

from ._band import run_band
from ._claims import CLAIMS, Check
from ._recipe import RECIPES, SAMPLE, Member, Quick, Recipe, get
from ._report import format_comparison, plot_result
from ._results import Comparison, CurvesResult, EnsembleResult, Result, SpeedResult
from ._run import DataMissing, run

__all__ = ["RECIPES", "Recipe", "Member", "Quick", "Result", "Comparison", "SpeedResult",
           "CurvesResult", "EnsembleResult", "CLAIMS", "Check", "DataMissing", "get", "run",
           "run_band", "format_comparison", "plot_result", "SAMPLE"]
