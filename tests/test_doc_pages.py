"""The runner of the documentation's pages (tests/doc_pages.py) fails where a page is
wrong: a wrong output, a removed option, a failing command or script; and it finds the
commands, outputs and statuses a page shows."""

from __future__ import annotations

import unittest

import doc_pages
import pytest
from doc_pages import ROOT, parse, shell_commands, why_not_run
from sybil.example import SybilFailure


def run_page(tmp_path, text: str) -> None:
    """Every block of a page holding ``text``, in order, as the pages run."""
    page = tmp_path / "page.md"
    page.write_text(text, encoding="utf-8")
    document = doc_pages.sybil().parse(page)
    doc_pages.setup(document.namespace)
    try:
        for example in document.examples():
            example.evaluate()
    finally:
        doc_pages.teardown(document.namespace)


@pytest.fixture(autouse=True)
def _own_summary(monkeypatch):
    """These pages' commands stay out of the run's summary of the real pages."""
    monkeypatch.setattr(doc_pages, "CHECKED", [])


def test_a_wrong_output_fails_and_the_right_one_passes(tmp_path):
    with pytest.raises(SybilFailure, match="Expected:\n    3\nGot:\n    2"):
        run_page(tmp_path, "```python\n>>> 1 + 1\n3\n```\n")
    run_page(tmp_path, "```python\n>>> 1 + 1\n2\n>>> print('took 1.25 s')\ntook ... s\n```\n")


def test_blocks_share_the_page_namespace_and_its_folder(tmp_path):
    run_page(tmp_path, "```python\nx = 2\nwith open('f.txt', 'w') as f:\n    f.write('hi')\n"
                       "```\n\ntext\n\n```python\n>>> x * 3, open('f.txt').read()\n"
                       "(6, 'hi')\n```\n")
    assert not (tmp_path / "f.txt").exists()  # written in the page's own folder


def test_a_skipped_block_says_why(tmp_path):
    with pytest.raises(unittest.SkipTest, match="needs a GPU"):
        run_page(tmp_path, '<!-- skip: next "needs a GPU" -->\n```python\nimport cupy\n```\n')


def test_a_page_that_needs_a_missing_library_is_skipped_with_the_reason(tmp_path,
                                                                        monkeypatch):
    page = str((tmp_path / "page.md").resolve())
    monkeypatch.setitem(doc_pages.PAGE_NEEDS, page, ("no_such_module", "needs no_such_module"))
    with pytest.raises(unittest.SkipTest, match="needs no_such_module"):
        run_page(tmp_path, "```python\nimport no_such_module\n```\n")


def test_a_removed_option_fails_its_page(tmp_path):
    with pytest.raises(AssertionError, match=r"page.md:2: `xmlp train --epochs 1 --no-such-"
                                             r"option` does not parse: .*--no-such-option"):
        run_page(tmp_path, "```bash\nxmlp train --epochs 1 --no-such-option  # gone\n```\n")


def test_a_command_that_fails_fails_its_page(tmp_path):
    with pytest.raises(AssertionError, match="(?s)exited with status 1 .*missing.json"):
        run_page(tmp_path, "```bash\nxmlp evaluate missing.json\n```\n")


def test_a_console_output_is_compared(tmp_path):
    run_page(tmp_path, "```console\n$ xmlp info --help\nusage: xmlp info ...\n"
                       "$ xmlp trian\nusage: xmlp ...\nxmlp: error: ... did you mean "
                       "'train'? ...\n$ echo $?\n2\n```\n")
    with pytest.raises(AssertionError, match="output differs from the page's"):
        run_page(tmp_path, "```console\n$ xmlp info --help\nusage: xmlp evaluate ...\n```\n")
    with pytest.raises(AssertionError, match="exited with status 1 \\(expected 0\\)"):
        run_page(tmp_path, "```console\n$ xmlp evaluate missing.json\nxmlp: error: ...\n```\n")
    with pytest.raises(AssertionError, match="`xmlp trian` does not parse"):  # no echo $?
        run_page(tmp_path, "```console\n$ xmlp trian\nusage: xmlp ...\n```\n")


def test_a_guarded_block_runs_as_a_script(tmp_path):
    block = ('```python\nimport sys\n\nif __name__ == "__main__":\n'
             '    print("as a script:", __file__)\n    sys.exit(3)\n```\n')
    with pytest.raises(AssertionError, match="run as a script, exited with status 3:\n"
                                             "as a script: .*page-line1.py"):
        run_page(tmp_path, block)


def test_the_commands_of_shell_lines():
    source = ("pip install . && xmlp train   # a comment\n"
              "XMLP_DEBUG=1 python -m xmlp info\n"
              "xmlp sweep --grid eta=1,2 \\\n    --epochs 3 &\n"
              "dask scheduler --port 8786\n")
    commands = shell_commands(source, "p.md", 10, console=False)
    assert [(c.line, c.argv, c.env, c.status) for c in commands] == [
        (10, ["train"], {}, 0), (11, ["info"], {"XMLP_DEBUG": "1"}, 0),
        (12, ["sweep", "--grid", "eta=1,2", "--epochs", "3"], {}, 0)]
    assert commands[1].text == "XMLP_DEBUG=1 python -m xmlp info"


def test_the_commands_outputs_and_statuses_of_a_console_block():
    source = ("$ xmlp info --help\nusage: xmlp info [-h]\n\n"
              "$ xmlp trian\nusage: xmlp ...\n$ echo $?\n2\n$ xmlp info\n")
    commands = shell_commands(source, "p.md", 1, console=True)
    assert [(c.line, c.argv, c.expected, c.status) for c in commands] == [
        (1, ["info", "--help"], "usage: xmlp info [-h]\n\n", 0),
        (4, ["trian"], "usage: xmlp ...\n", 2), (8, ["info"], None, 0)]
    with pytest.raises(ValueError, match="a console block's lines"):
        shell_commands("xmlp info\n", "p.md", 1, console=True)


@pytest.mark.parametrize("argv, reason", [
    (["train"], None),
    (["train", "--epochs", "1", "--plot", "curves.png"], None),
    (["reproduce", "ch3-l2", "--quick"], None),
    (["reproduce", "--list"], None),
    (["sweep", "--grid", "eta=0.1,0.5", "--storage", "sqlite:///s.db"], None),
    (["train", "--dataset", "mnist"], "needs MNIST"),
    (["train", "--dataset", "fashion-mnist", "--epochs", "1"], "needs Fashion-MNIST"),
    (["reproduce", "ch3-l2"], "needs MNIST"),
    (["reproduce", "fashion-mnist"], "needs Fashion-MNIST"),
    (["reproduce", "ch1-30", "--dataset", "fashion-mnist"], "needs Fashion-MNIST"),
    (["train", "--backend", "cupy"], "needs a GPU"),
    (["train", "--backend", "torch", "--device", "cuda:1"], "needs a GPU"),
    (["reproduce", "fashion-mnist", "--backend", "jax", "--device", "gpu"], "needs a GPU"),
    (["sweep", "--grid", "eta=1", "--scheduler", "tcp://host:8786"],
     "needs a running Dask scheduler"),
    (["sweep", "--grid", "eta=1", "--storage", "postgresql://user@host/db"],
     "needs a postgresql database server"),
])
def test_which_commands_run_here(argv, reason):
    why = why_not_run(parse(argv))
    assert (why is None) if reason is None else why.startswith(reason), why


def test_the_pages():
    assert doc_pages.is_page(ROOT / "README.md")
    assert doc_pages.is_page(ROOT / "examples" / "README.md")
    assert doc_pages.is_page(ROOT / "docs" / "guide" / "cli.md")
    assert not doc_pages.is_page(ROOT / "benchmarks" / "README.md")
    assert not doc_pages.is_page(ROOT / "docs" / "_build" / "html" / "x.md")
    assert not doc_pages.is_page(ROOT / "docs" / "conf.py")
    for page in list(doc_pages.PAGE_FILES) + list(doc_pages.PAGE_NEEDS):
        assert doc_pages.is_page(ROOT / page), page
