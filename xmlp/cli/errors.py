"""Errors and exit codes of the ``xmlp`` command.

Exit status: 0 success, 1 runtime error (one line ``xmlp: error: ...`` on stderr), 2 usage
error, 130 interrupted.
"""

from __future__ import annotations

import os
import sys

PROG = "xmlp"
OK, FAILED, USAGE, INTERRUPTED = 0, 1, 2, 130


class CLIError(Exception):
    """A runtime error reported as one line, exit status 1."""


def one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        text = f"{exc.filename}: {exc.strerror}"  # not "[Errno 13] Permission denied: ..."
    return " ".join(text.split())


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
