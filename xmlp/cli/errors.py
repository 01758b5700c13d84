"""Errors and exit codes of the ``xmlp`` command.

Exit status: 0 success, 1 runtime error (one line ``xmlp: error: ...`` on stderr), 2 usage
error (argparse's usage and one error line), 130 interrupted.

:func:`describe` maps every exception a command may end with to that one line: xmlp's own
errors and the standard ones (bad values, files) as they are, running out of memory with the
command's hint, errors of the optional libraries (SQLAlchemy, Optuna, Dask, ONNX Runtime,
torch, JAX, CuPy) naming the library, and anything else as what it is, a bug in xmlp, with
how to see its traceback (``XMLP_DEBUG=1`` or ``xmlp --debug``).
"""

from __future__ import annotations

import os
import sys

PROG = "xmlp"
OK, FAILED, USAGE, INTERRUPTED = 0, 1, 2, 130
DEBUG_VARIABLES = ("XMLP_DEBUG", "XMLP_TRACEBACK")  # XMLP_TRACEBACK: the older name
#: Libraries whose exceptions are reported as theirs, in one line (the top-level package
#: of the exception's module -> the name users know).
LIBRARIES = {"sqlalchemy": "SQLAlchemy", "optuna": "Optuna", "distributed": "Dask",
             "dask": "Dask", "onnxruntime": "ONNX Runtime", "onnx": "ONNX",
             "torch": "PyTorch", "jax": "JAX", "jaxlib": "JAX", "cupy": "CuPy",
             "cupy_backends": "CuPy", "matplotlib": "matplotlib", "PIL": "Pillow",
             "sklearn": "scikit-learn", "skl2onnx": "skl2onnx"}


class CLIError(Exception):
    """A runtime error reported as one line, exit status 1."""


class UsageError(CLIError):
    """A bad option value found after parsing: reported as argparse reports one (the
    command's usage and one error line), exit status 2."""


def one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        text = f"{exc.filename}: {exc.strerror}"  # not "[Errno 13] Permission denied: ..."
    return " ".join(text.split())


def debugging() -> bool:
    return any(os.environ.get(v, "") not in ("", "0") for v in DEBUG_VARIABLES)


def library_of(exc: BaseException) -> str | None:
    """The optional library that raised ``exc`` (by its type's module), if any."""
    for cls in type(exc).__mro__:
        name = LIBRARIES.get(cls.__module__.split(".")[0])
        if name:
            return name
    return None


def describe(exc: BaseException, memory_hint: str = "") -> str:
    """The one line (without ``xmlp: error:``) that reports ``exc``."""
    from .. import BackendUnavailable, TrainingDiverged

    if isinstance(exc, MemoryError):  # numpy's _ArrayMemoryError, DeviceOutOfMemory
        text = one_line(exc)
        if not text.startswith("out of memory"):
            text = f"out of memory: {text}" if text != "MemoryError" else "out of memory"
        return f"{text}; {memory_hint}" if memory_hint else text
    if isinstance(exc, RecursionError):
        return (f"input nested too deeply to read ({one_line(exc)}); {DEBUG_HINT} shows "
                "where")
    library = library_of(exc)
    if library is not None:
        return f"{library}: {type(exc).__name__}: {one_line(exc)} ({DEBUG_HINT} shows the " \
               "traceback)"
    if isinstance(exc, (CLIError, ValueError, TypeError, OSError, BackendUnavailable,
                        TrainingDiverged)):
        return one_line(exc)
    return (f"internal error, a bug in xmlp: {type(exc).__name__}: {one_line(exc)}; run it "
            f"again with {DEBUG_HINT} to see the traceback, and report it")


DEBUG_HINT = "XMLP_DEBUG=1 (or xmlp --debug)"


def without_library_hint(exc: BaseException, hint: str) -> str:
    """An out-of-memory message of the library (``... ; try a smaller batch_size``) with
    the command's option in place of the library's keyword."""
    return f"{one_line(exc).rsplit('; ', 1)[0]}; {hint}"


def error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)


def silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def version() -> str:
    from .._version import __version__

    return __version__
