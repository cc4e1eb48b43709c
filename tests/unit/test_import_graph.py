"""The project's import graph, read from the source with `ast`: shared/, services/, devtools/ and bench/
import each other without a cycle, and no tool or benchmark imports the tests (tests may use the
tools, not the other way round). Every import counts, also those inside functions or under
TYPE_CHECKING: a cycle hidden in a function is still two modules that need each other."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("shared", "services", "devtools", "bench")
Graph = dict[str, set[str]]


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {module_name(path): path for package in PACKAGES for path in (REPO / package).rglob("*.py")}


def _targets(node: ast.AST, package: str) -> Iterator[str]:
    """Dotted names an import statement may refer to, most specific first (`from a import b`: a.b, then a)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:  # relative: from the importing module's package, `level - 1` packages up
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*anchor, base]) if base else ".".join(anchor)
        for alias in node.names:
            yield f"{base}.{alias.name}"
        yield base


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules (and tests.* modules) `name` imports, each resolved to the longest known module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        for target in _targets(node, package):
            if target.split(".")[0] == "tests":
                found.add(target)
                continue
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> Graph:
    modules = project_modules()
    return {name: imports_of(name, path, set(modules)) for name, path in modules.items()}


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm): each is a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle_and_only_cycles() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_imports_resolve_absolute_relative_and_nested_ones() -> None:
    def targets(code: str) -> list[str]:
        return [t for node in ast.walk(ast.parse(code)) for t in _targets(node, "pkg.sub")]

    assert targets("from .b import c") == ["pkg.sub.b.c", "pkg.sub.b"]
    assert targets("from .. import x") == ["pkg.x", "pkg"]
    assert targets("def f():\n    import a.b") == ["a.b"]
    graph = import_graph()
    assert "shared.contracts.topics" in graph["devtools.system"]  # from shared.contracts.topics import ...
    assert "shared.contracts.commands" in graph["shared.contracts.topics"]  # from shared.contracts import commands


def test_the_project_has_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_no_tool_or_benchmark_imports_the_tests() -> None:
    graph = import_graph()
    offenders = {name: sorted(t for t in targets if t.startswith("tests")) for name, targets in graph.items()}
    assert {name: found for name, found in offenders.items() if found} == {}
