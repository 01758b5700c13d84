"""The documentation's pages as tests (tests/doc_pages.py): README.md, docs/**/*.md and
examples/README.md, collected with Sybil in the one session that runs them
(XMLP_BACKENDS=jax, or unset)."""

from __future__ import annotations

import doc_pages
import pytest

_collect_page = doc_pages.sybil().pytest()


class _NotHere(pytest.File):
    """A page in a session that does not run the pages: collected, with nothing to run
    (pytest would otherwise report the page, named in testpaths, as not found)."""

    def collect(self):
        return []


def pytest_collect_file(file_path, parent):
    if not doc_pages.is_page(file_path):
        return None
    if doc_pages.pages_run_here():
        return _collect_page(file_path, parent)
    return _NotHere.from_parent(parent, path=file_path)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A skipped block is reported at its line of the page, with the page's reason."""
    outcome = yield
    report = outcome.get_result()
    example = getattr(item, "example", None)
    if example is not None and report.skipped and isinstance(report.longrepr, tuple):
        report.longrepr = (doc_pages.relative(example.path), example.line,
                           report.longrepr[2])


def pytest_terminal_summary(terminalreporter):
    lines = doc_pages.summary_lines()
    if lines:
        terminalreporter.section("xmlp commands on the pages")
        for line in lines:
            terminalreporter.write_line(line)
