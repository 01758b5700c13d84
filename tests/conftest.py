"""Backend fixtures.

``XMLP_BACKENDS=numpy,torch`` chooses the backends to test.  A backend that was asked for
but cannot run fails the tests that use it; one that was not asked for is skipped with the
reason.  Unset: every backend that is available here.
"""

from __future__ import annotations

import os

# scikit-learn refuses array_api_dispatch=True unless SciPy's array-API support was switched
# on before SciPy was first imported: do it here, before any test module imports either, so
# that the estimators' dispatch tests (tests/test_sklearn*.py) run in this process.
# Nothing else in the suite uses SciPy.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
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


class CaseNetwork(xmlp.Network):
    """xmlp.Network whose ``fit`` defaults to its case's ``compile`` choice."""

    compile_default: bool | None = None

    def fit(self, X, y, **kwargs):
        kwargs.setdefault("compile", self.compile_default)
        return super().fit(X, y, **kwargs)


@dataclass
class BackendCase:
    """What a test needs to know about one backend under test."""

    name: str
    module: Any  # the backends/<name>.py module
    device: Any  # the device the tests use (strict: its second device)
    compile: bool | None = None  # fit(compile=...) of this case's networks and estimators

    @property
    def label(self) -> str:
        """The case's column in the conformance report ("jax-compiled" for compiled JAX)."""
        return f"{self.name}-compiled" if self.compile else self.name

    @property
    def fit_kwargs(self) -> dict:
        """``compile=`` for a ``fit`` or an estimator of this case ({} where it does not
        apply)."""
        return {} if self.compile is None else {"compile": self.compile}

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
        return self.adopt(xmlp.Network(sizes, backend=self.name, device=self.device,
                                       **kwargs))

    def adopt(self, net):
        """``net`` (on this case's backend) with fit defaulting to this case's compile."""
        net.__class__ = CaseNetwork
        net.compile_default = self.compile
        return net

    def move(self, net, dtype):
        """A copy of ``net`` on this case's backend, device and ``dtype``."""
        return self.adopt(net.to(self.name, self.device, dtype))


#: (backend, device kind) pairs under test; strict runs on its second device, which
#: catches any array created without ``device=``.  "jax" runs the eager loop (op by op),
#: "jax-compiled" the compiled epochs (xmlp.engine) on the same device; jax-gpu and
#: jax-gpu-compiled do the same on JAX's GPU.  The GPU cases (torch-cuda, jax-gpu*, cupy)
#: skip with the reason where there is no GPU; scripts/gpu_check.py runs them.
CASES = [("numpy", "cpu"), ("array_api_strict", "device1"), ("torch", "cpu"),
         ("torch", "cuda"), ("jax", "cpu"), ("jax", "cpu-compiled"), ("jax", "gpu"),
         ("jax", "gpu-compiled"), ("cupy", "cuda")]


def _case(name: str, kind: str) -> BackendCase:
    if REQUESTED is not None and name not in REQUESTED:
        pytest.skip(f"backend {name!r} not asked for (XMLP_BACKENDS={','.join(REQUESTED)})")
    module = backends.get(name)
    ok, reason = module.available()
    if not ok:
        if REQUESTED is not None:
            pytest.fail(f"backend {name!r} was asked for but is unavailable: {reason}")
        pytest.skip(f"backend {name!r} unavailable: {reason}")
    kind, _, compiled = kind.partition("-")
    matching = [d for d in module.devices() if _is_kind(d, kind) or name == "cupy"]
    if not matching:
        pytest.skip(f"backend {name!r} has no {kind} device here")
    compile = None if name != "jax" else bool(compiled)
    return BackendCase(name, module, matching[0], compile)


def _is_kind(device, kind: str) -> bool:
    """Is ``device`` of this kind?  JAX's CUDA devices print as cuda:0; their platform
    is "gpu"."""
    return kind in str(device).lower() or getattr(device, "platform", None) == kind


def _ids(cases):
    """Test ids: the backend's name, with the device kind where it has several
    (torch-cpu / torch-cuda; jax, jax-compiled / jax-gpu, jax-gpu-compiled)."""
    return [name if kind in ("cpu", "device1") and name != "torch" or name == "cupy"
            else "jax-compiled" if kind == "cpu-compiled" else f"{name}-{kind}"
            for name, kind in cases]


@pytest.fixture(params=CASES, ids=_ids(CASES))
def bk(request) -> BackendCase:
    """Each backend (and device) under test."""
    return _case(*request.param)


@pytest.fixture(params=CASES[1:], ids=_ids(CASES[1:]))
def other_bk(request) -> BackendCase:
    """Each non-reference backend (compared against NumPy float64)."""
    return _case(*request.param)


# ----------------------------------------------------------------- conformance recording
class Conformance:
    """Collects (backend, device, dtype, quantity, deviation, tolerance) rows: every
    conformance assertion goes through ``check`` so the report shows what was measured."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def check(self, case: BackendCase | str, dtype: str, quantity: str, got, want,
              tol: float, relative: bool = True) -> None:
        """Assert max|got - want| / max|want| <= tol (``relative=False``: max|got - want|)."""
        import numpy as np

        name = case if isinstance(case, str) else case.label
        device = "cpu" if isinstance(case, str) else str(case.device)
        got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
        assert got.shape == want.shape, f"{quantity}: shape {got.shape} != {want.shape}"
        abs_dev = float(np.max(np.abs(got - want))) if got.size else 0.0
        scale = float(np.max(np.abs(want))) if want.size else 0.0
        rel_dev = abs_dev / scale if scale > 0 else abs_dev
        ok = bool(np.all(np.isfinite(got))) and (rel_dev if relative else abs_dev) <= tol
        self.rows.append(dict(backend=name, device=device, dtype=dtype, quantity=quantity,
                              max_abs=abs_dev, max_rel=rel_dev, tolerance=tol,
                              relative=relative, passed=ok))
        assert ok, (f"{name} {dtype} {quantity}: deviation {rel_dev if relative else abs_dev:.3g}"
                    f" > {tol:.0e}")


_CONFORMANCE = Conformance()


@pytest.fixture(scope="session")
def conformance() -> Conformance:
    return _CONFORMANCE


def _worker_rows(stem: str) -> list:
    """The files in which pytest-xdist workers leave their rows for the controller."""
    import pathlib

    path = pathlib.Path(stem)
    return sorted(path.parent.glob(f"{path.name}.rows-*.json"))


def pytest_configure(config) -> None:
    stem = os.environ.get("XMLP_CONFORMANCE_REPORT")
    if stem and not hasattr(config, "workerinput"):  # rows left by an interrupted run
        for part in _worker_rows(stem):
            part.unlink()


def pytest_sessionfinish(session, exitstatus) -> None:
    """With XMLP_CONFORMANCE_REPORT=<path stem>, write <stem>.md and <stem>.json.

    Under pytest-xdist each worker writes its rows to <stem>.rows-<worker>.json when it
    finishes (before the controller's session ends); the controller merges them."""
    import json
    import pathlib

    stem = os.environ.get("XMLP_CONFORMANCE_REPORT")
    if not stem:
        return
    worker = getattr(session.config, "workerinput", None)
    if worker is not None:
        if _CONFORMANCE.rows:
            pathlib.Path(stem).parent.mkdir(parents=True, exist_ok=True)
            pathlib.Path(f"{stem}.rows-{worker['workerid']}.json").write_text(
                json.dumps(_CONFORMANCE.rows))
        return
    rows = list(_CONFORMANCE.rows)
    for part in _worker_rows(stem):
        rows += json.loads(part.read_text())
        part.unlink()
    if not rows:
        return
    import conformance_report

    status = {name: backends.get(name).available() for name in backends.NAMES}
    conformance_report.write(stem, rows, status, REQUESTED)
