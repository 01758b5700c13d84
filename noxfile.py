"""Sessions: tests(backend), bench(backend), lint.  The backends come from backends/.

    nox -s tests                     # every backend (cupy skips without a GPU)
    nox -s "tests(backend='torch')"  # one backend
    nox -s lint

uv creates the environments where it is installed (virtualenv otherwise).  PyTorch is always
installed with pip and pinned (backends/torch.py): pip takes the local CPU wheel, whereas an
installer that ignores pip's configuration would fetch a multi-GB CUDA build.
"""

from __future__ import annotations

import pathlib
import sys

import nox

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import backends  # noqa: E402

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "lint"]
nox.options.error_on_missing_interpreters = False

PYPROJECT = nox.project.load_toml("pyproject.toml")


def _install(session: nox.Session, backend: str, group: str) -> None:
    """Install xmlp, a dependency group and the backend's requirements."""
    session.install(".", *nox.project.dependency_groups(PYPROJECT, group))
    reqs = backends.get(backend).REQUIREMENTS
    if not reqs:
        return
    if backend == "torch":  # pip, never uv: see the module docstring
        if session.venv_backend == "uv":
            session.install("pip")
        session.run_install("python", "-m", "pip", "install", "--quiet", *reqs)
    else:
        session.install(*reqs)


def _gate(session: nox.Session, backend: str) -> None:
    """Skip before installing anything when a GPU backend has no GPU here."""
    if backend == "cupy":
        ok, reason = backends.get("cupy").gpu_present()
        if not ok:
            session.skip(f"cupy: {reason}")


@nox.session
@nox.parametrize("backend", list(backends.NAMES))
def tests(session: nox.Session, backend: str) -> None:
    """The test suite on one backend (XMLP_BACKENDS=<backend>)."""
    _gate(session, backend)
    _install(session, backend, "test")
    session.run("python", "-m", "pytest", *(session.posargs or ["-q"]),
                env={"XMLP_BACKENDS": backend})


@nox.session
@nox.parametrize("backend", list(backends.NAMES))
def bench(session: nox.Session, backend: str) -> None:
    """Time training epochs on one backend (benchmarks/epoch.py)."""
    _gate(session, backend)
    _install(session, backend, "bench")
    session.run("python", "benchmarks/epoch.py", "--backend", backend, *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff on the whole tree."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")
