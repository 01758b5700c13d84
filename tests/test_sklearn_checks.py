"""scikit-learn's own estimator checks on xmlp's estimators (``parametrize_with_checks``),
including its array-API checks on every installed namespace and device."""

from __future__ import annotations

import contextlib
import os
import warnings

import pytest

pytest.importorskip("sklearn")

from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from conftest import REQUESTED  # noqa: E402
from xmlp.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

#: max_iter=60 (every other parameter at its default) keeps the suite short;
#: XMLP_SKLEARN_CHECKS_DEFAULTS=1 runs the checks on the default estimators (max_iter=200).
_KW = {} if os.environ.get("XMLP_SKLEARN_CHECKS_DEFAULTS") == "1" else {"max_iter": 60}
ESTIMATORS = [MLPClassifier(**_KW), MLPRegressor(**_KW)]

#: Checks expected to fail, with the reason (none at the moment).
EXPECTED_FAILURES: dict[str, str] = {}

#: scikit-learn's names for the array namespaces of its array-API checks -> xmlp's.
_NAMESPACES = {"numpy": "numpy", "array_api_strict": "array_api_strict", "torch": "torch",
               "cupy": "cupy"}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILURES


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_estimator_checks(estimator, check):
    namespace = getattr(check, "keywords", {}).get("array_namespace")
    if namespace is not None and REQUESTED is not None \
            and _NAMESPACES.get(namespace, namespace) not in REQUESTED:
        pytest.skip(f"array namespace {namespace!r} not asked for "
                    f"(XMLP_BACKENDS={','.join(REQUESTED)})")
    with warnings.catch_warnings(), _sklearn_friendly_strict():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def _sklearn_friendly_strict():
    """scikit-learn's own array-API code (``score``: ``accuracy_score`` calls ``unique``,
    ``r2_score`` indexes with booleans) needs data-dependent shapes and boolean indexing,
    which conftest switches off for the core's sake.  xmlp's code runs under them too."""
    try:
        import array_api_strict
    except ImportError:
        return contextlib.nullcontext()
    return array_api_strict.ArrayAPIStrictFlags(data_dependent_shapes=True, boolean_indexing=True)
