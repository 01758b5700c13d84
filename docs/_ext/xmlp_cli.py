"""``.. xmlp-cli::``: the command-line reference, generated from ``xmlp.cli``'s parsers.

One section per command, holding the ``--help`` text that ``xmlp COMMAND --help`` prints
(``argparse``'s ``format_help()`` on the parser that :func:`xmlp.cli.build_parser` builds),
so the page can never drift from the command.
"""

from __future__ import annotations

import os

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

WIDTH = "80"  # argparse wraps help text to $COLUMNS; 80 fits the page


def _help(parser) -> str:
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        return parser.format_help()
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


class XmlpCli(SphinxDirective):
    """Sections ``xmlp`` and ``xmlp COMMAND`` for every command, with their help text."""

    has_content = False

    def run(self):
        from xmlp.cli import build_parser

        parser = build_parser()
        lines = []

        def section(title, text, level):
            lines.extend([title, level * len(title), ""])
            lines.extend([".. code-block:: text", ""])
            lines.extend("   " + line if line else "" for line in text.splitlines())
            lines.append("")

        section("xmlp", _help(parser), "-")
        for name, sub in parser.commands.items():
            section(f"xmlp {name}", _help(sub), "-")
        node = nodes.section()
        node.document = self.state.document
        nested_parse_with_titles(self.state, StringList(lines, source="xmlp.cli"), node)
        return node.children


def setup(app):
    app.add_directive("xmlp-cli", XmlpCli)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
