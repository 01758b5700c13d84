"""The package's import graph: no cycle (lazy imports inside functions included) and every
import points down the layers that ``xmlp/__init__.py``'s docstring lists."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

PKG = pathlib.Path(__file__).resolve().parents[1] / "xmlp"

#: Rank of each layer; a module may import modules of its own rank or lower.  Modules not
#: listed (cli.*, nielsen, sklearn, sweep, recipes, ...) are front ends, the top layer.
LAYERS = {
    "xmlp._version": 0, "xmlp.devices": 0, "xmlp.backend": 0, "xmlp._validate": 0,
    "xmlp.activations": 1, "xmlp.costs": 1, "xmlp.init": 1, "xmlp.network": 1,
    "xmlp.datasets": 1,  # data: NumPy only, beside the math
    "xmlp.optim": 2, "xmlp.augment": 2, "xmlp.engine": 2, "xmlp.compiled": 2,  # the engine
    "xmlp.history": 2, "xmlp.schedule": 2,  # what a fit records; how eta changes
    "xmlp.io": 3, "xmlp.checkpoint": 3, "xmlp.export": 3,  # network files, ONNX graphs
    "xmlp.train": 4, "xmlp.epochs": 4,
    "xmlp.model": 5,
    "xmlp": 6,  # the public namespace gathers the layers below it
}
FRONT = 7


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


def _rank(module: str) -> int:
    while module:
        if module in LAYERS:
            return LAYERS[module]
        module = module.rpartition(".")[0]
    return FRONT


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def test_the_walker_sees_lazy_and_relative_imports():
    graph = _graph()
    assert "xmlp.optim" in graph["xmlp.train"]  # top-level relative import
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
    upward = [f"{a} (layer {_rank(a)}) imports {b} (layer {_rank(b)})"
              for a, targets in _graph().items() for b in targets if _rank(b) > _rank(a)]
    assert not upward, "\n".join(upward)


def test_import_xmlp_imports_no_optional_library():
    code = ("import sys, xmlp; heavy = {'sklearn', 'scipy', 'dask', 'distributed', 'optuna', "
            "'torch', 'jax', 'matplotlib', 'cupy', 'array_api_strict', "
            "'onnx', 'onnxruntime', 'skl2onnx'}; "
            "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=PKG.parent)
    assert out.stdout.strip() == "[]"
