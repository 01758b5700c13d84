"""Present xmlp's plain parameter lists as numpydoc sections.

Many of xmlp's docstrings list their arguments as blocks of ``name : what it is`` lines
(continuation lines indented), without a ``Parameters`` header.  Read as reST those blocks
are broken definition lists; read by numpydoc the text after the colon would be taken for
a type.  Before numpydoc sees a docstring of a function, method or class that has no
numpydoc section header of its own, this hook moves the first such block to a
``Parameters`` section at the end (after the prose, where numpydoc wants it), each entry as
``name`` with its text as the description.  Blocks in module docstrings, and further
blocks, become plain definition lists.  Docstrings written in numpydoc form are left as
they are.
"""

from __future__ import annotations

import re

ITEM = re.compile(r"^(?P<names>[A-Za-z_*][\w*]*(?:, [A-Za-z_*][\w*]*)*) : (?P<text>.*)$")
HEADERS = {"Parameters", "Returns", "Yields", "Raises", "Examples", "See Also", "Notes",
           "Attributes", "Other Parameters", "Warns", "References", "Methods"}


def _has_numpydoc_header(lines: list[str]) -> bool:
    return any(line.strip() in HEADERS and i + 1 < len(lines)
               and set(lines[i + 1].strip()) == {"-"} for i, line in enumerate(lines))


def _blocks(lines: list[str]) -> list[tuple[int, int]]:
    """(start, end) of each run of ``name : text`` items with their indented continuations."""
    blocks, i = [], 0
    while i < len(lines):
        after = i == 0 or not lines[i - 1].strip() or set(lines[i - 1].strip()) == {"-"}
        if ITEM.match(lines[i]) and after:
            j = i + 1
            while j < len(lines) and lines[j].strip() and (
                    lines[j].startswith(" ") or ITEM.match(lines[j])):
                j += 1
            blocks.append((i, j))
            i = j
        else:
            i += 1
    return blocks


def _entries(block: list[str], literal_names: bool) -> list[str]:
    out = []
    for line in block:
        m = ITEM.match(line)
        if m:
            names = m["names"]
            if literal_names:
                names = ", ".join(f"``{n}``" for n in names.split(", "))
                if out:
                    out.append("")
            out.extend([names, "    " + m["text"]])
        else:
            out.append("    " + line.strip())
    return out


def convert(what: str, lines: list[str]) -> list[str]:
    if what not in ("function", "method", "class", "module", "exception"):
        return lines
    if _has_numpydoc_header(lines):
        return lines
    blocks = _blocks(lines)
    if not blocks:
        return lines
    params_at = None if what == "module" else blocks[0]
    out, params, last = [], [], 0
    for start, end in blocks:
        out.extend(lines[last:start])
        if (start, end) == params_at:
            params = _entries(lines[start:end], literal_names=False)
            while out and not out[-1].strip():
                out.pop()
            out.append("")
        else:
            if out and set(out[-1].strip()) == {"-"}:
                out.append("")
            out.extend(_entries(lines[start:end], literal_names=True))
            out.append("")
        last = end
    out.extend(lines[last:])
    if params:
        while out and not out[-1].strip():
            out.pop()
        out.extend(["", "Parameters", "----------", *params, ""])
    return out


def process(app, what, name, obj, options, lines):
    if not name.startswith("xmlp"):
        return
    lines[:] = convert(what, lines)


def setup(app):
    # Before numpydoc's own autodoc-process-docstring handler (priority 500).
    app.connect("autodoc-process-docstring", process, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
