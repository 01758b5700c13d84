"""Sessions: tests(backend), bench(backend), bench-population, conformance, gpu, fuzz, lint,
docs.  The backends come from backends/.

    nox -s tests                     # every backend (cupy skips without a GPU)
    nox -s "tests(backend='torch')"  # one backend
    nox -s gpu                       # scripts/gpu_check.py (skips at once without a GPU)
    nox -s lint                      # ruff, and mypy on xmlp/
    nox -s docs                      # the Sphinx site -> docs/_build/html/index.html

The JAX session also runs the documentation's examples (README.md, docs/**/*.md,
examples/README.md: tests/doc_pages.py), once, where JAX and the test group are installed.

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
nox.options.sessions = ["tests", "lint", "docs"]
nox.options.error_on_missing_interpreters = False

PYPROJECT = nox.project.load_toml("pyproject.toml")


def _install_backend(session: nox.Session, backend: str) -> None:
    """Install a backend's requirements (torch with pip, never uv: see the docstring)."""
    reqs = backends.get(backend).REQUIREMENTS
    if not reqs:
        return
    if backend == "torch":
        if session.venv_backend == "uv":
            session.install("pip")
        session.run_install("python", "-m", "pip", "install", "--quiet", *reqs)
    else:
        session.install(*reqs)


def _install(session: nox.Session, backend: str, group: str) -> None:
    """Install xmlp, a dependency group and the backend's requirements."""
    session.install(".", *nox.project.dependency_groups(PYPROJECT, group))
    _install_backend(session, backend)


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
    """Time training epochs on one backend and its peers (benchmarks/epoch.py).

    The numpy session also installs PyTorch (CPU, pinned, with pip) and JAX: PyTorch eager
    and xmlp on JAX run there, interleaved with xmlp numpy, scikit-learn and the book's loop.
    ``nox -s bench`` runs every backend's session."""
    _gate(session, backend)
    _install(session, backend, "bench")
    if backend == "numpy":
        _install_backend(session, "torch")
        _install_backend(session, "jax")
    session.run("python", "benchmarks/epoch.py", "--backend", backend, *session.posargs)


@nox.session(name="bench-population")
def bench_population(session: nox.Session) -> None:
    """What a member of a population costs next to one network (benchmarks/population.py):
    NumPy and JAX, eager and compiled, C1 and C3, K = 1, 4, 16, 64; ``nox -s
    bench-population -- --quick``, or its options (``--backends numpy,torch``)."""
    _install(session, "numpy", "bench")
    _install_backend(session, "jax")
    session.run("python", "benchmarks/population.py", *session.posargs)


CONFORMANCE_TESTS = ["tests/test_conformance.py", "tests/test_oracles.py",
                     "tests/test_backprop.py", "tests/test_nielsen.py",
                     "tests/test_training.py", "tests/test_sklearn.py",
                     "tests/test_population.py"]


@nox.session
def conformance(session: nox.Session) -> None:
    """Every available backend through the contract; writes conformance-report.md/.json.

    Installs the CPU backends (numpy, array_api_strict, torch, jax); CuPy only where a GPU is.
    ``nox -s conformance -- --report-dir DIR`` writes the report elsewhere."""
    names = ["numpy", "array_api_strict", "torch", "jax"]
    if backends.get("cupy").gpu_present()[0]:
        names.append("cupy")
    session.install(".", *nox.project.dependency_groups(PYPROJECT, "test"))
    for name in names:
        _install_backend(session, name)
    args = list(session.posargs)
    report_dir = "."
    if "--report-dir" in args:
        i = args.index("--report-dir")
        report_dir = args[i + 1]
        del args[i:i + 2]
    stem = str(pathlib.Path(report_dir, "conformance-report").resolve())
    session.run("python", "-m", "pytest", "-q", *CONFORMANCE_TESTS, *args,
                env={"XMLP_BACKENDS": ",".join(names), "XMLP_CONFORMANCE_REPORT": stem})
    session.log(f"wrote {stem}.md and {stem}.json")


#: CUDA builds per CUDA major version of the driver (nvidia-smi): CuPy's and JAX's own
#: wheels.  torch comes pinned from pip (backends/torch.py), whose Linux wheel is a CUDA build.
GPU_REQUIREMENTS = {12: ["cupy-cuda12x>=13", "jax[cuda12]==0.10.2"],
                    13: ["cupy-cuda13x>=13.6", "jax[cuda13]==0.10.2"]}


@nox.session
def gpu(session: nox.Session) -> None:
    """Every GPU check: scripts/gpu_check.py with the GPU builds installed (CuPy, JAX's
    CUDA wheels and torch, for the driver's CUDA version); ``nox -s gpu -- --quick``.
    Without an NVIDIA GPU it says so in one line, before installing anything."""
    ok, reason = backends.get("cupy").gpu_present()
    if not ok:
        session.skip(reason)
    major = backends.get("cupy").driver_cuda_major()
    if major not in GPU_REQUIREMENTS:
        session.error(f"gpu: the NVIDIA driver supports CUDA {major}; the GPU builds here "
                      f"need CUDA {' or '.join(map(str, GPU_REQUIREMENTS))} (nvidia-smi)")
    session.install(".", *nox.project.dependency_groups(PYPROJECT, "test"),
                    *nox.project.dependency_groups(PYPROJECT, "bench"), "pytest-xdist",
                    *GPU_REQUIREMENTS[major])
    _install_backend(session, "torch")
    session.run("python", "scripts/gpu_check.py", *session.posargs)


@nox.session
def fuzz(session: nox.Session) -> None:
    """The file-reader fuzz tests at length: ``nox -s fuzz -- 20000`` examples per reader
    (CI runs the same tests with 150)."""
    _install(session, "numpy", "test")
    examples = session.posargs[0] if session.posargs else "5000"
    session.run("python", "-m", "pytest", "-q", "tests/test_fuzz.py",
                env={"XMLP_BACKENDS": "numpy", "XMLP_FUZZ_EXAMPLES": examples})


@nox.session
def lint(session: nox.Session) -> None:
    """ruff on the whole tree; mypy on the package (its settings: pyproject.toml), with the
    libraries of the test group installed so that their types are checked too."""
    session.install(".", *nox.project.dependency_groups(PYPROJECT, "test"),
                    *nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")
    session.run("mypy")


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site: guide, API reference, the examples run as a gallery, the
    reports rendered from benchmarks/results/*.json.  Warnings are errors and every
    cross-reference must resolve (-W -n); writes docs/_build/html/index.html.
    ``nox -s docs -- -E`` rebuilds every page."""
    session.install(".", *nox.project.dependency_groups(PYPROJECT, "docs"))
    session.run("sphinx-build", "-W", "-n", "--keep-going", "-b", "html", *session.posargs,
                "docs", "docs/_build/html", env={"MPLBACKEND": "Agg"})
