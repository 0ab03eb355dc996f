"""No import cycles, and the layers point one way: drivers <- policies <- controller <- api, with the
command lines (composition roots) on top. Read from the source with ``ast``; imports inside
``if TYPE_CHECKING:`` are for the type checker only and do not count, imports inside functions do
(a lazy import still ties the two modules together)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("drivers", "policies", "controller", "api")
#: a package may import the packages before it in this order
LAYER = {name: i for i, name in enumerate(PACKAGES)}
#: entry points and tooling that wire layers together and may reach upwards
COMPOSITION = ("notaus.controller.cli", "notaus.controller.discover_cli", "notaus.policies.cli", "notaus.drivers.sim")


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(["notaus", *parts])] = path   # the installed name (pyproject's package-dir)
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(path: Path) -> set[str]:
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                found.update(r for a in child.names if (r := _resolve(a.name)))
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                for a in child.names:
                    r = _resolve(f"{child.module}.{a.name}") or _resolve(child.module)
                    if r:
                        found.add(r)
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return found


GRAPH = {mod: _imports(path) - {mod} for mod, path in MODULES.items()}


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(GRAPH):
        if v not in index:
            strong(v)
    return found


def test_the_graph_is_read() -> None:
    assert "notaus.controller.observer" in GRAPH["notaus.api.app"]
    assert "notaus.drivers.base" in GRAPH["notaus.controller.engine"]


def test_no_import_cycles() -> None:
    assert _cycles() == []


def test_layers_point_one_way() -> None:
    upward = []
    for mod, deps in GRAPH.items():
        if mod.startswith(COMPOSITION):
            continue
        for dep in deps:
            if LAYER[dep.split(".")[1]] > LAYER[mod.split(".")[1]]:
                upward.append(f"{mod} -> {dep}")
    assert sorted(upward) == []
