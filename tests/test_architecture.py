"""The shape of the code: no import cycles, modules a reader holds in mind, no reaching into
another module's private names.

The import graph is read from the source (every import, deferred ones inside functions
included; those under `if TYPE_CHECKING:` aside), so a cycle hidden behind a function-level
import fails here as surely as one at the top of a module.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from cbt_server.graphs import strongly_connected

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("cbt_server", "item_bank", "lab_agent")
MAX_LINES = 450


@dataclass(frozen=True)
class Import:
    target: str  # the module imported from (or imported)
    name: str | None  # the name taken from it by `from target import name`, if not a module
    bound: str  # the name it is bound to in the importing module
    line: int


def module_files() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


MODULES = module_files()


def _type_checking_only(tree: ast.Module) -> set[int]:
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for statement in node.body:
                hidden.update(id(inner) for inner in ast.walk(statement))
    return hidden


def imports_of(module: str) -> tuple[ast.Module, list[Import]]:
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hidden = _type_checking_only(tree)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = []
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name
                found.append(Import(alias.name, None, bound, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                kept = package[: len(package) - (node.level - 1)]
                base = ".".join(kept + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                full = f"{base}.{alias.name}"
                bound = alias.asname or alias.name
                if full in MODULES:
                    found.append(Import(full, None, bound, node.lineno))
                else:
                    found.append(Import(base, alias.name, bound, node.lineno))
    return tree, found


def import_graph() -> dict[str, set[str]]:
    graph = {}
    for module in MODULES:
        _, found = imports_of(module)
        graph[module] = {i.target for i in found if i.target in MODULES and i.target != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module, each sorted."""
    return [group for group in strongly_connected(graph, graph.__getitem__) if len(group) > 1]


def test_the_cycle_finder_finds_a_deferred_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_reader_sees_deferred_imports_and_skips_type_checking_ones() -> None:
    # Some modules import inside functions (run_in_db opens the database that way); if the
    # reader missed those imports, the graph test below would pass without looking.
    deferred = [
        module
        for module in MODULES
        if any(
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and any(isinstance(inner, ast.ImportFrom) for inner in ast.walk(node))
            for node in ast.walk(imports_of(module)[0])
        )
    ]
    assert deferred, "no module imports inside a function: the reader is not reading"
    module = deferred[0]
    tree, found = imports_of(module)
    inner = {
        inner.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for inner in ast.walk(node)
        if isinstance(inner, ast.ImportFrom)
    }
    assert inner & {i.line for i in found}


def test_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


def test_no_server_module_is_too_long_to_hold_in_mind() -> None:
    long = {
        module: lines
        for module, path in MODULES.items()
        if module.startswith("cbt_server.")
        and ".migrations." not in module
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def private_uses(module: str) -> list[str]:
    tree, found = imports_of(module)
    uses = []
    modules_bound = {}
    for imported in found:
        if imported.target not in MODULES or imported.target == module:
            continue
        if imported.name is None:
            modules_bound[imported.bound] = imported.target
        elif imported.name.startswith("_") and not imported.name.startswith("__"):
            uses.append(f"{module}:{imported.line} imports {imported.target}.{imported.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            owner = modules_bound.get(ast.unparse(node.value))
            if owner is not None and not node.attr.startswith("__"):
                uses.append(f"{module}:{node.lineno} uses {owner}.{node.attr}")
    return uses


def test_the_private_name_finder_finds_one() -> None:
    fake = "cbt_server.__architecture_probe__"
    MODULES[fake] = REPO / "tests" / "architecture_probe.py"
    try:
        assert private_uses(fake) == [
            f"{fake}:4 imports cbt_server.settings._bool",
            f"{fake}:7 uses cbt_server.settings._port",
        ]
    finally:
        del MODULES[fake]


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_uses_another_modules_private_names(package: str) -> None:
    uses = [
        use for module in MODULES if module.split(".")[0] == package for use in private_uses(module)
    ]
    assert uses == []
