"""The package's import graph: no cycle (lazy imports inside functions included) and every
import points down the layers of ``xmlp._layers.LAYERS``, the one table of them, which the
package docstring and docs/architecture.md show."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys
import textwrap

import pytest

from xmlp import _layers

PKG = pathlib.Path(__file__).resolve().parents[1] / "xmlp"
ROOT = PKG.parent


def _modules() -> dict[str, pathlib.Path]:
    out = {}
    for path in PKG.rglob("*.py"):
        parts = ("xmlp", *path.relative_to(PKG).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: pathlib.Path, modules: dict) -> set[str]:
    """Modules of xmlp that ``name`` imports anywhere in its body (lazy ones included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # "from . import x" names a submodule when one exists, else an attribute.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                       for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # xmlp.datasets.fetch.locate -> module
                target = target.rpartition(".")[0]
            if target.startswith("xmlp") and target != name:
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def test_the_walker_sees_lazy_and_relative_imports():
    graph = _graph()
    assert "xmlp.settings" in graph["xmlp.train"]  # top-level relative import
    assert "xmlp.network" in graph["xmlp.model"]
    assert {"xmlp.io", "xmlp.train"} <= graph["xmlp.model"]
    assert "xmlp.backend" in graph["xmlp.network"]


def test_no_import_cycle():
    graph = _graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_imports_point_down_the_layers():
    rank = _layers.rank
    upward = [f"{a} (layer {rank(a)}) imports {b} (layer {rank(b)})"
              for a, targets in _graph().items() for b in targets if rank(b) > rank(a)]
    assert not upward, "\n".join(upward)


def test_every_module_has_a_layer():
    unplaced = []
    for module in _modules():
        try:
            _layers.rank(module)
        except KeyError:
            unplaced.append(module)
    assert not unplaced, f"add these to xmlp/_layers.py: {unplaced}"


@pytest.mark.parametrize("where", ["xmlp/__init__.py", "docs/architecture.md"])
def test_the_stack_is_told_as_the_table_tells_it(where):
    """The package docstring and the architecture page show the table's stack verbatim."""
    text = (ROOT / where).read_text()
    stack = _layers.render()
    shown = stack in text or textwrap.indent(stack, "    ") in text
    assert shown, (f"{where} does not show the layers of xmlp/_layers.py; paste "
                   f"`python -m xmlp._layers`:\n{stack}")


def test_import_xmlp_imports_no_optional_library():
    code = ("import sys, xmlp; heavy = {'sklearn', 'scipy', 'dask', 'distributed', 'optuna', "
            "'torch', 'jax', 'matplotlib', 'cupy', 'array_api_strict', "
            "'onnx', 'onnxruntime', 'skl2onnx'}; "
            "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=PKG.parent)
    assert out.stdout.strip() == "[]"
