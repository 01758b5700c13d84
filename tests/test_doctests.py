"""The Examples of the public docstrings run and print what they show.

Each module's docstrings are collected with :mod:`doctest` and every example must give
the output written under it (a failing example fails its module's test).  Modules whose
docstrings hold no example are listed too, so that an example added later runs.
"""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest

MODULES = ["xmlp", "xmlp.model", "xmlp.network", "xmlp.settings", "xmlp.io", "xmlp.backend",
           "xmlp.datasets", "xmlp.datasets.core", "xmlp.datasets.transforms", "xmlp.nielsen",
           "xmlp.history", "xmlp.recipes", "xmlp.recipes._recipe", "xmlp.recipes._results",
           "xmlp.recipes._run", "xmlp.recipes._claims", "xmlp.cli"]
#: Modules that need an optional extra: their examples run where it is installed.
OPTIONAL = {"xmlp.sklearn": "sklearn", "xmlp.sweep.driver": "optuna"}
#: Modules that must hold at least one example (the API pages' main entries).
WITH_EXAMPLES = {"xmlp.model", "xmlp.network", "xmlp.settings", "xmlp.backend",
                 "xmlp.datasets.core", "xmlp.datasets.transforms", "xmlp.nielsen",
                 "xmlp.history", "xmlp.recipes._run", "xmlp.sklearn", "xmlp.cli"}


def _tests(name: str) -> list[doctest.DocTest]:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    return [t for t in finder.find(module, name) if t.examples]


@pytest.mark.parametrize("name", MODULES + list(OPTIONAL))
def test_docstring_examples(name):
    if name in OPTIONAL:
        pytest.importorskip(OPTIONAL[name])
    tests = _tests(name)
    if name in WITH_EXAMPLES:
        assert tests, f"{name}: no docstring examples found"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in tests:
        with np.printoptions(legacy=False):
            runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"


def test_a_wrong_example_fails():
    """The runner used above reports a mismatch (the test can fail)."""
    test = doctest.DocTestParser().get_doctest(">>> 1 + 1\n3\n", {}, "wrong", None, 0)
    runner = doctest.DocTestRunner()
    runner.run(test, out=lambda text: None)
    assert runner.summarize(verbose=False).failed == 1
