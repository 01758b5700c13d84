"""Report pages rendered from the committed JSON at build time.

Before Sphinx reads the sources this writes ``docs/reports/generated/`` (not in git): one
Markdown page per results document in ``benchmarks/results/`` and one for the conformance
report, made by the same functions that wrote the committed ``.md`` files
(``benchmarks/report.py``, ``benchmarks/estimator.py``, ``benchmarks/sweep.py``,
``benchmarks/population.py``, ``benchmarks/compare.py``, ``tests/conformance_report.py``),
plus each epoch benchmark's bar chart.  The site therefore
shows exactly the numbers the repository holds.
"""

from __future__ import annotations

import importlib
import json
import pathlib
import sys

from sphinx.util import logging

logger = logging.getLogger(__name__)

HERE = pathlib.Path(__file__).resolve().parent
DOCS = HERE.parent
ROOT = DOCS.parent
RESULTS = ROOT / "benchmarks" / "results"
OUT = DOCS / "reports" / "generated"
CONFORMANCE = RESULTS / "conformance-report.json"


def _module(folder: pathlib.Path, name: str):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    return importlib.import_module(name)


def _kind(path: pathlib.Path, doc: dict) -> str | None:
    """Which report wrote ``doc`` (None: a format this page maker does not know)."""
    if path == CONFORMANCE:
        return "conformance"
    if doc.get("kind") == "sweep" or path.name.startswith("sweep-"):
        return "sweep"
    if doc.get("kind") == "population":
        return "population"
    if path.name.startswith("compare-"):
        return "compare"
    if path.name.startswith("estimator-"):
        return "estimator"
    if "records" in doc and "runs" in doc:
        return "epoch"
    return None


def render(path: pathlib.Path) -> tuple[str, str, str] | None:
    """(kind, page name, Markdown) for one results document; None for an unknown format."""
    doc = json.loads(path.read_text())
    kind = _kind(path, doc)
    stem = path.stem
    if kind is None:
        return None
    if kind == "conformance":
        md = _module(ROOT / "tests", "conformance_report")._markdown(doc["meta"], doc["rows"])
    elif kind == "sweep":
        sweep = _module(ROOT / "benchmarks", "sweep")
        workers = max((k for k in doc["seconds"] if k.startswith("workers-")),
                      key=lambda k: int(k.split("-")[1]))
        md = sweep._markdown(doc, workers)
    elif kind == "estimator":
        md = _module(ROOT / "benchmarks", "estimator").markdown(doc)
    elif kind == "population":
        md = _module(ROOT / "benchmarks", "population").markdown(doc)
    elif kind == "compare":
        md = _module(ROOT / "benchmarks", "compare").markdown(doc)
    else:
        report = _module(ROOT / "benchmarks", "report")
        md = report.markdown(doc)
        report.bar_chart(doc, OUT / f"{stem}.png")
        title, _, rest = md.partition("\n")
        md = f"{title}\n\n![seconds per epoch, {stem}]({stem}.png)\n{rest}"
    source = f"`{path.relative_to(ROOT).as_posix()}`"
    title, _, rest = md.partition("\n")
    if kind != "conformance":  # several runs of each kind: the page title names the run
        title = f"{title} ({stem})"
    md = (f"{title}\n\n```{{note}}\nRendered at build time from {source}.\n```\n{rest}")
    return kind, stem, md


def generate(app=None) -> list[tuple[str, str, str]]:
    OUT.mkdir(parents=True, exist_ok=True)
    pages = []
    for path in sorted(RESULTS.glob("*.json")):
        rendered = render(path)
        if rendered is None:
            logger.info("reports: no page for %s (unknown format)", path.name)
            continue
        kind, stem, md = rendered
        name = f"epoch-{stem}" if kind == "epoch" else stem  # globbed by reports/index.md
        page = OUT / f"{name}.md"
        if not page.exists() or page.read_text() != md:  # unchanged pages are not re-read
            page.write_text(md)
        pages.append((kind, name, md.partition("\n")[0].lstrip("# ")))
    for old in OUT.glob("*.md"):  # pages of results documents no longer in the repository
        if old.stem not in {name for _, name, _ in pages}:
            old.unlink()
    return pages


def setup(app):
    app.connect("builder-inited", generate)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
