"""The documentation's pages run as tests, with Sybil: README.md, docs/**/*.md and
examples/README.md, every code block in order, as a reader would type them.

- ``python`` blocks run in one namespace per page (``__name__ == "__main__"``, as in a
  script), in a fresh temporary folder (the page's working directory: files one block
  saves, the next reads).  A block written as a ``>>>`` session is a doctest: the output
  under each line is compared (ELLIPSIS on, for timings and for float32 digits that vary
  with the CPU).  A block with the ``if __name__ == "__main__":`` guard (one that starts
  worker processes) is a script of its own: it runs as ``python BLOCK.py``.
- ``bash`` and ``console`` blocks: every ``xmlp ...`` command in them is parsed by the
  real parser (:func:`xmlp.cli.build_parser`), so a renamed or removed option fails.  A
  command that runs in seconds on the embedded sample is then run, in the page's folder,
  as ``python -m xmlp ...``, and must exit 0.  In a ``console`` block (``$ `` before each
  command) the lines under a command are its output, compared as a doctest's are, and
  ``$ echo $?`` shows the status of the command before it.  Commands that are not run
  (the reason is :func:`why_not_run`'s: a GPU, MNIST, a server...) are listed at the end
  of the pytest run.  Other commands (pip, nox, python) are neither parsed nor run.
- A block that needs what the test machine lacks is skipped with the reason its page
  shows: ``<!-- skip: next "needs a GPU" -->`` before the block (``skip: start`` /
  ``skip: end`` around a ``>>>`` session, whose lines are one example each).
- Files a page uses without making them (``digit.png``, ``t10k.idx.gz``), where the page
  says what they are, are written into its folder before it runs (:data:`PAGE_FILES`).

The pages run in one test session only, so that CI pays for them once: the JAX session
(``XMLP_BACKENDS=jax``, ``nox -s "tests(backend='jax')"``), whose environment has what every
page runs (JAX for the compiled-epoch page, and the test group: scikit-learn, Dask,
Optuna, ONNX, matplotlib, Pillow), or a run with ``XMLP_BACKENDS`` unset.  Only the pages:
``XMLP_BACKENDS=jax python -m pytest README.md docs examples/README.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import doctest
import io
import os
import re
import shlex
import subprocess
import sys
import tempfile
import unittest
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sybil import Document, Example, Region, Sybil
from sybil.parsers.myst import CodeBlockParser, PythonCodeBlockParser, SkipParser

import backends

ROOT = Path(__file__).resolve().parent.parent
#: The pages (paths relative to the repository's root): these two files and every
#: Markdown file under docs/ but the built and generated ones.
PAGES = ("README.md", "examples/README.md")
GENERATED = ("docs/_build/", "docs/auto_examples/", "docs/reports/generated/")
#: Files a page names (and says what they are) without making them: written into its
#: folder before its first block runs.
PAGE_FILES = {
    "README.md": ("digit.png", "t10k.idx.gz"),
    "docs/guide/cli.md": ("digit.png", "more.idx.gz"),
    "docs/guide/onnx.md": ("digit.png", "t10k.idx.gz"),
}
#: Pages that run only where a library is installed: JAX is, in the session that runs the
#: pages; elsewhere (XMLP_BACKENDS unset, without JAX) the page is skipped with this reason.
PAGE_NEEDS = {
    "docs/guide/compiled.md": ("jax", "needs JAX: pip install 'xmlp[jax]'"),
    "docs/guide/saving.md": ("jax", "needs JAX: pip install 'xmlp[jax]'"),
}
DOCTEST_FLAGS = doctest.ELLIPSIS
#: A command's output: tabs and the wrapping of long lines may differ from the page's.
CONSOLE_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
USAGE = 2  # xmlp's exit status for a usage error
#: Seconds one command of a page may take.
COMMAND_TIMEOUT = 300


def is_page(path: Path) -> bool:
    """Whether ``path`` is one of the pages."""
    try:
        rel = path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return False
    if rel in PAGES:
        return True
    return (rel.startswith("docs/") and rel.endswith(".md")
            and not rel.startswith(GENERATED))


def pages_run_here() -> bool:
    """True in the one session that runs the pages: XMLP_BACKENDS=jax, or unset."""
    return os.environ.get("XMLP_BACKENDS", "").strip() in ("", "jax")


# =============================================================== the page's folder
def installed(module: str) -> bool:
    """Whether ``module`` can be imported here (for a page's conditional skips)."""
    import importlib.util

    return importlib.util.find_spec(module) is not None


def write_page_files(folder: Path, names: tuple[str, ...]) -> None:
    """The sample's first test digit as ``digit.png`` (8-bit grey, white on black as in
    MNIST), its 1000 test images as the IDX file ``t10k.idx.gz`` and the next five as
    ``more.idx.gz`` (what docs/guide/cli.md's "Images to classify" writes)."""
    from xmlp import datasets

    X, _ = datasets.load("mnist-sample").test
    images = np.round(X.reshape(-1, 28, 28) * 255).astype(np.uint8)
    for name in names:
        if name == "digit.png":
            from PIL import Image

            Image.fromarray(images[0]).save(folder / name)
        elif name == "t10k.idx.gz":
            datasets.write_idx(folder / name, images)
        elif name == "more.idx.gz":
            datasets.write_idx(folder / name, images[1:6])
        else:
            raise ValueError(f"no recipe for the page file {name!r}")


class Page(Document):
    """A page: its blocks run as a script's lines do, with ``__name__ == "__main__"`` and
    ``__file__`` the page."""

    def __init__(self, text: str, path: str) -> None:
        super().__init__(text, path)
        self.namespace.update(__name__="__main__", __file__=path)


@dataclass
class _Folder:
    folder: tempfile.TemporaryDirectory
    previous: str


_FOLDERS: dict[str, _Folder] = {}


def relative(path: str | Path) -> str:
    """A page's path from the repository's root (a page outside it: its full path)."""
    path = Path(path).resolve()
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def setup(namespace: dict) -> None:
    """Before a page's first block: a fresh folder to work in, with the page's files."""
    page = namespace["__file__"]
    module, reason = PAGE_NEEDS.get(relative(page), (None, ""))
    if module is not None and not installed(module):
        raise unittest.SkipTest(reason)
    folder = tempfile.TemporaryDirectory(prefix="xmlp-page-")
    _FOLDERS[page] = _Folder(folder, os.getcwd())
    os.chdir(folder.name)
    write_page_files(Path(folder.name), PAGE_FILES.get(relative(page), ()))


def teardown(namespace: dict) -> None:
    """After a page's last block: back to the folder before, its folder removed."""
    state = _FOLDERS.pop(namespace["__file__"], None)
    if state is not None:
        os.chdir(state.previous)
        state.folder.cleanup()
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


# =============================================================== shell blocks
@dataclass
class Command:
    """One ``xmlp`` command of a shell block."""

    page: str
    line: int  # in the page, 1-based
    text: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    expected: str | None = None  # the output a console block shows under it
    status: int = 0  # the exit status it must give (``$ echo $?`` under it)
    not_run: str | None = None  # why it was parsed only


#: Every xmlp command the pages hold, in the order they were checked (for the summary).
CHECKED: list[Command] = []

_OPERATORS = {"&&", "||", ";", "|", "&"}
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def _simple_commands(text: str) -> list[tuple[dict[str, str], list[str]]]:
    """The simple commands of one shell line: (environment assignments, words)."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    out: list[tuple[dict[str, str], list[str]]] = []
    words: list[str] = []
    for token in [*lexer, ";"]:
        if token in _OPERATORS:
            env = {}
            while words and _ENV.match(words[0]):
                name, value = words.pop(0).split("=", 1)
                env[name] = value
            if words:
                out.append((env, words))
            words = []
        else:
            words.append(token)
    return out


def _xmlp_argv(words: list[str]) -> list[str] | None:
    if words[0] == "xmlp":
        return words[1:]
    if len(words) >= 3 and re.fullmatch(r"python[0-9.]*", words[0]) and words[1:3] == [
            "-m", "xmlp"]:
        return words[3:]
    return None


def shell_commands(source: str, page: str, first_line: int, console: bool) -> list[Command]:
    """The xmlp commands of a bash block (every line a command, ``\\`` continues it) or a
    console block (``$ `` before a command, its output under it)."""
    commands: list[Command] = []
    lines = source.splitlines()
    i = 0
    while i < len(lines):
        start = i
        line = lines[i]
        if console:
            if not line.startswith("$ "):
                raise ValueError(f"{page}:{first_line + i}: a console block's lines are "
                                 f"'$ command' or its output, got {line!r} first")
            line = line[2:]
        while line.rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            line = line.rstrip()[:-1] + " " + lines[i].strip()
        i += 1
        output: list[str] = []
        if console:
            while i < len(lines) and not lines[i].startswith("$ "):
                output.append(lines[i])
                i += 1
        for env, words in _simple_commands(line):
            if console and words == ["echo", "$?"]:
                if not commands or not output:
                    raise ValueError(f"{page}:{first_line + start}: echo $? shows the "
                                     "status of the xmlp command before it")
                commands[-1].status = int(output[0])
                continue
            argv = _xmlp_argv(words)
            if argv is not None:
                text = shlex.join([*(f"{k}={v}" for k, v in env.items()), *words])
                commands.append(Command(page, first_line + start, text, argv, env,
                                        "\n".join(output) + "\n" if output else None))
    return commands


def parse(argv: list[str]) -> argparse.Namespace:
    """``argv`` parsed as ``xmlp`` parses it (unknown options are errors); AssertionError
    with argparse's message where it does not parse."""
    from xmlp.cli import build_parser
    from xmlp.cli.options import unrecognized

    parser = build_parser()
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            args, extras = parser.parse_known_args(argv)
            if extras:
                parser.commands[args.command].error(unrecognized(parser.commands[
                    args.command], extras))
    except SystemExit as exc:
        if exc.code == 0:  # --help, --version
            return argparse.Namespace(command=None)
        raise AssertionError(err.getvalue().strip().splitlines()[-1]) from None
    return args


_DATASETS = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "kmnist": "KMNIST"}
_BACKENDS = {"torch": "PyTorch", "jax": "JAX", "array_api_strict": "array-api-strict"}


def why_not_run(args: argparse.Namespace) -> str | None:
    """Why a parsed command is not run here, or None: it runs in seconds on the embedded
    sample.  Not run: commands that need a GPU, a dataset other than the sample (MNIST,
    Fashion-MNIST: minutes, or a download), a backend that is not installed, a Dask
    scheduler or a database server."""
    command = args.command
    if command is None:
        return None
    backend = getattr(args, "backend", None) or "numpy"
    device = str(getattr(args, "device", None) or "")
    resources = " ".join(getattr(args, "resources", None) or [])
    if backend == "cupy" or re.search(r"cuda|gpu", device) or "GPU" in resources:
        return "needs a GPU"
    dataset = getattr(args, "dataset", None)
    if command == "reproduce":
        if args.list or args.quick:
            dataset = None
        elif args.name and not dataset:
            from xmlp import recipes

            dataset = recipes.RECIPES[args.name].dataset if args.name in recipes.RECIPES \
                else None
    if dataset not in (None, "mnist-sample"):
        return f"needs {_DATASETS.get(dataset, dataset)} (the embedded sample runs here)"
    if backend in _BACKENDS and not backends.get(backend).available()[0]:
        return f"needs {_BACKENDS[backend]}"
    if getattr(args, "scheduler", None):
        return "needs a running Dask scheduler"
    storage = getattr(args, "storage", None) or ""
    if storage and not storage.startswith("sqlite"):
        return f"needs a {storage.split(':')[0]} database server"
    return None


def _environment(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    for key in ("XMLP_DEBUG", "XMLP_TRACEBACK", "XMLP_DATA"):
        env.pop(key, None)
    # the xmlp the tests import (pytest's pythonpath puts the repository first)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env["MPLBACKEND"] = "Agg"
    env["COLUMNS"] = "80"  # argparse's usage lines, as a console block shows them
    env.update(extra)
    return env


def run_command(command: Command) -> None:
    """Run one parsed command in the current folder; check its status and output."""
    proc = subprocess.run([sys.executable, "-m", "xmlp", *command.argv],
                          env=_environment(command.env), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=COMMAND_TIMEOUT)
    where = f"{command.page}:{command.line}: `{command.text}`"
    if proc.returncode != command.status:
        raise AssertionError(f"{where} exited with status {proc.returncode} (expected "
                             f"{command.status}):\n{proc.stdout}")
    if command.expected is not None:
        checker = doctest.OutputChecker()
        if not checker.check_output(command.expected, proc.stdout, CONSOLE_FLAGS):
            example = doctest.Example(command.text, command.expected)
            diff = checker.output_difference(example, proc.stdout, CONSOLE_FLAGS)
            raise AssertionError(f"{where}: output differs from the page's\n{diff}")


def evaluate_shell(example: Example) -> None:
    """Sybil's evaluator of a bash or console block: parse every xmlp command first, then
    run those that run here, in order."""
    console = example.region.lexemes.get("arguments") == "console"
    page = relative(example.path)
    commands = shell_commands(str(example.parsed), page, example.line + 1, console)
    for command in commands:
        if command.status == USAGE:  # shown failing to parse: it runs and must fail so
            continue
        try:
            args = parse(command.argv)
        except AssertionError as exc:
            raise AssertionError(f"{page}:{command.line}: `{command.text}` does not parse: "
                                 f"{exc}") from None
        if command.status == 0:  # a command shown failing runs (and fails at once)
            command.not_run = why_not_run(args)
        if command.not_run and command.expected is not None:
            raise AssertionError(f"{page}:{command.line}: `{command.text}` shows its output "
                                 f"but cannot run here ({command.not_run})")
    for command in commands:
        CHECKED.append(command)
        if command.not_run is None:
            run_command(command)


def summary_lines() -> list[str]:
    """The closing summary: commands parsed, run, and those not run with the reason."""
    if not CHECKED:
        return []
    not_run = [c for c in CHECKED if c.not_run]
    lines = [f"{len(CHECKED)} xmlp commands on the pages parsed, "
             f"{len(CHECKED) - len(not_run)} run" + ("; not run:" if not_run else "")]
    lines += [f"  {c.page}:{c.line}: {c.text}  [{c.not_run}]" for c in not_run]
    return lines


# =============================================================== script blocks
_MAIN_GUARD = re.compile(r"^if __name__ == [\"']__main__[\"']:", re.M)


def run_script(example: Example) -> None:
    """Sybil's evaluator of a block guarded by ``if __name__ == "__main__":``: the page
    says to run it as a script, so it runs as one, ``python BLOCK.py`` in the page's
    folder (its workers import it as the main module), and must exit 0."""
    page = relative(example.path)
    script = Path(f"{Path(page).stem}-line{example.line}.py")
    script.write_text(str(example.parsed), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], env=_environment({}),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=COMMAND_TIMEOUT)
    if proc.returncode != 0:
        raise AssertionError(f"{page}:{example.line}: the block, run as a script, exited "
                             f"with status {proc.returncode}:\n{proc.stdout}")


class PythonBlocks(PythonCodeBlockParser):
    """Python blocks (``>>>`` sessions as doctests); a block with the main-module guard
    runs as a script."""

    def __call__(self, document: Document) -> Iterable[Region]:
        for region in super().__call__(document):
            if (region.evaluator is not None and isinstance(region.parsed, str)
                    and _MAIN_GUARD.search(region.parsed)):
                region.evaluator = run_script
            yield region


# =============================================================== Sybil
PARSERS = [
    SkipParser(),
    PythonBlocks(doctest_optionflags=DOCTEST_FLAGS),
    CodeBlockParser("bash", evaluate_shell),
    CodeBlockParser("console", evaluate_shell),
]


def sybil() -> Sybil:
    """The pages' Sybil (pytest collects through :func:`is_page` first)."""
    return Sybil(parsers=PARSERS, patterns=["*.md"], path=str(ROOT), setup=setup,
                 teardown=teardown, document_types={".md": Page})
