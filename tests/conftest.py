"""Backend fixtures.

``XMLP_BACKENDS=numpy,torch`` chooses the backends to test.  A backend that was asked for
but cannot run fails the tests that use it; one that was not asked for is skipped with the
reason.  Unset: every backend that is available here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytest

import backends
import xmlp.backend


def _requested() -> tuple[str, ...] | None:
    raw = os.environ.get("XMLP_BACKENDS", "").strip()
    if not raw:
        return None
    names = tuple(n.strip() for n in raw.split(",") if n.strip())
    unknown = [n for n in names if n not in backends.NAMES]
    if unknown:
        raise pytest.UsageError(f"XMLP_BACKENDS names unknown backends {unknown}; "
                                f"known: {backends.NAMES}")
    return names


REQUESTED = _requested()


def _configure_strict() -> None:
    """array-api-strict at its strictest for the API version the core targets."""
    try:
        import array_api_strict
    except ImportError:
        return
    array_api_strict.set_array_api_strict_flags(
        api_version="2024.12", boolean_indexing=False, data_dependent_shapes=False,
        enabled_extensions=())


_configure_strict()


def _configure_torch() -> None:
    """One intra-op thread: the tests check numbers, not speed, and on a busy 2-core machine
    OpenMP's spin-waiting made tiny mini-batch ops up to 100x slower."""
    if "torch" in (REQUESTED or backends.NAMES) and backends.get("torch").available()[0]:
        import torch

        torch.set_num_threads(1)


_configure_torch()


@dataclass
class BackendCase:
    """What a test needs to know about one backend under test."""

    name: str
    module: Any  # the backends/<name>.py module
    device: Any  # the device the tests use (strict: its second device)

    @property
    def xp(self):
        return xmlp.backend.resolve(self.name, self.device).xp

    def to_numpy(self, x):
        return self.module.to_numpy(x)

    def asarray(self, a, dtype="float64"):
        """A NumPy array moved onto this backend's test device."""
        xp = self.xp
        return xp.asarray(a, dtype=getattr(xp, dtype), device=self.device)

    def network(self, sizes, **kwargs):
        kwargs.setdefault("dtype", "float64")
        return xmlp.Network(sizes, backend=self.name, device=self.device, **kwargs)


def _case(name: str) -> BackendCase:
    if REQUESTED is not None and name not in REQUESTED:
        pytest.skip(f"backend {name!r} not asked for (XMLP_BACKENDS={','.join(REQUESTED)})")
    module = backends.get(name)
    ok, reason = module.available()
    if not ok:
        if REQUESTED is not None:
            pytest.fail(f"backend {name!r} was asked for but is unavailable: {reason}")
        pytest.skip(f"backend {name!r} unavailable: {reason}")
    return BackendCase(name, module, module.devices()[-1])


@pytest.fixture(params=backends.NAMES)
def bk(request) -> BackendCase:
    """Each backend under test, on its most demanding device (strict: 'device1')."""
    return _case(request.param)


@pytest.fixture(params=[n for n in backends.NAMES if n != "numpy"])
def other_bk(request) -> BackendCase:
    """Each non-reference backend (compared against NumPy float64)."""
    return _case(request.param)
