"""The layout's rules, read from the source: which layer may import what, where SQL is built, and
no import cycles between stablecopy's modules."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "stablecopy"
# Building SQL statements: only catalog/ does it (elsewhere SQLAlchemy appears only as types).
SQL_BUILDERS = {"select", "insert", "update", "delete", "union", "func", "text", "and_", "or_"}


def modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(relative.parts).removesuffix(".__init__")
        yield name, ast.parse(path.read_text("utf-8"), str(path))


def _type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imported(tree: ast.Module, at_run_time: bool = False) -> Iterator[tuple[str, list[str]]]:
    """(module, names) of every import; with `at_run_time`, not those under `if TYPE_CHECKING`
    (functions' own imports count: they run too, only later)."""
    skipped = set()
    if at_run_time:
        skipped = {id(n) for top in tree.body if _type_checking(top) for n in ast.walk(top)}
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, [alias.name for alias in node.names]


def test_the_archive_never_imports_sqlalchemy_and_the_catalogue_never_imports_warcio() -> None:
    for name, tree in modules():
        roots = {module.split(".")[0] for module, _ in imported(tree)}
        if name.startswith("stablecopy.archive"):
            assert "sqlalchemy" not in roots, name
        if name.startswith("stablecopy.catalog"):
            assert "warcio" not in roots, name


def test_requisite_discovery_is_pure() -> None:
    """What a document needs is read from its bytes alone: no crawler, archive or catalogue."""
    for name, tree in modules():
        if name.startswith("stablecopy.requisites"):
            roots = {module.split(".")[0] for module, _ in imported(tree, at_run_time=True)}
            assert not roots & {"scrapy", "sqlalchemy", "warcio", "twisted"}, name


def test_sql_statements_are_built_in_the_catalogue_only() -> None:
    for name, tree in modules():
        if name.startswith("stablecopy.catalog"):
            continue
        for module, names in imported(tree):
            if module == "sqlalchemy":
                assert not SQL_BUILDERS & set(names), f"{name} builds SQL: move it to catalog/"


def test_every_module_says_what_it_owns() -> None:
    for name, tree in modules():
        assert ast.get_docstring(tree), f"{name} has no docstring"


def test_no_import_cycles_between_modules() -> None:
    """Counting the imports functions make when they run: a cycle hidden in a function is still
    two modules that cannot be understood one without the other."""
    known = {name for name, _ in modules()}
    graph: dict[str, set[str]] = {}
    for name, tree in modules():
        edges = graph.setdefault(name, set())
        for module, names in imported(tree, at_run_time=True):
            if not module.startswith("stablecopy"):
                continue
            for target in [f"{module}.{n}" for n in names if f"{module}.{n}" in known] or [module]:
                if target in known and target != name:
                    edges.add(target)
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            cycle = [*path[path.index(node) :], node]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if node in done:
            return
        for target in sorted(graph.get(node, ())):
            visit(target, [*path, node])
        done.add(node)

    for name in sorted(graph):
        visit(name, [])
