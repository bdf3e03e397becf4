"""Imports flow one way: a stage imports only the stages above it in
docs/architecture.md's package map, and no modules import each other.

The order is read from the document, so that it is written in one place.
Every import counts, those inside functions too: a lazy import still ties
the two modules together.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sbn_mcu"
ARCHITECTURE = ROOT / "docs" / "architecture.md"

# Known exceptions (importer, imported), left out of both checks. Each stays only until its reason
# is gone; a test fails once one is no longer needed. None are left.
KNOWN: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports(name: str) -> set[str]:
    """The package's modules that module ``name`` imports, anywhere in its body."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            # `from package import name` imports the module package.name when there is one
            found.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                         for alias in node.names)
    return {target for target in found if target in MODULES} - {name}


GRAPH = {name: {target for target in imports(name) if (name, target) not in KNOWN} for name in MODULES}


def layers() -> tuple[list[str], set[str], set[str]]:
    """The stages in their order, and the modules under and over every stage, from the document."""
    text = ARCHITECTURE.read_text()
    stages = re.findall(r"^\| `(\w+)/` \|", text, re.M)
    under = re.search(r"^- under every stage.*$", text, re.M)
    over = re.search(r"^- over every stage.*$", text, re.M)
    assert stages and under and over, "docs/architecture.md lost its package map or its Imports section"
    names = lambda line: {re.sub(r"\.py$|/$", "", n) for n in re.findall(r"`([\w.]+/?)`", line.group())}  # noqa: E731
    return stages, names(under), names(over)


STAGES, UNDER, OVER = layers()


def place(name: str) -> tuple[str, int]:
    """``(where, rank)``: a module may import only modules of equal or lower rank."""
    top = name.split(".")[1] if "." in name else "__init__"
    if top in UNDER:
        return "under", -1
    if top in STAGES:
        return top, STAGES.index(top)
    if top in OVER:
        return "over", len(STAGES)
    pytest.fail(f"{name} is in no stage: place it in docs/architecture.md")


def test_the_document_places_every_package_once():
    tops = {name.split(".")[1] for name in MODULES if "." in name}
    placed = [*STAGES, *UNDER, *OVER]
    assert sorted(placed) == sorted(set(placed)), placed
    assert tops | {"__init__"} == set(placed)


def test_no_stage_imports_a_stage_below_it():
    upward = []
    for name, targets in GRAPH.items():
        where, rank = place(name)
        for target in sorted(targets):
            to, to_rank = place(target)
            if to_rank > rank:
                upward.append(f"{name} ({where}) imports {target} ({to})")
    assert not upward, "imports against docs/architecture.md's order:\n" + "\n".join(upward)


def test_every_known_exception_is_still_needed():
    gone = [pair for pair in KNOWN if pair[1] not in imports(pair[0])]
    assert not gone, f"remove what was fixed from KNOWN: {gone}"


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_modules_import_each_other():
    assert cycles(GRAPH) == []


def test_the_checks_see_a_cycle_and_an_upward_import():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert imports("sbn_mcu.codegen.render") >= {"sbn_mcu.ir.model", "sbn_mcu.runtime"}
    assert place("sbn_mcu.report.svg")[1] > place("sbn_mcu.ir.model")[1] > place("sbn_mcu.errors")[1]
