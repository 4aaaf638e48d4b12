"""The layering contract (docs/architecture.md): imports point down, no cycles, one client factory.

import-linter checks the layers declared in pyproject.toml; these tests add what it does not:
cycles inside a layer, imports hidden in functions, and clients built outside the factory.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest
from importlinter import cli

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("wirehose", "producers", "processors", "sinks")
CLIENT_CLASSES = {
    "KafkaProducer",
    "KafkaConsumer",
    "KafkaAdminClient",
    "AIOKafkaProducer",
    "AIOKafkaConsumer",
    "AIOKafkaAdminClient",
    "Elasticsearch",
    "AsyncElasticsearch",
}
FACTORY = Path("wirehose/core/clients.py")


def sources() -> Iterator[tuple[Path, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path.relative_to(ROOT), ast.parse(path.read_text(encoding="utf-8"))


def first_party(node: ast.Import | ast.ImportFrom) -> bool:
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").split(".")[0] in PACKAGES
    return any(alias.name.split(".")[0] in PACKAGES for alias in node.names)


def test_the_import_linter_contracts_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert cli.lint_imports(config_filename="pyproject.toml", no_cache=True, no_logo=True) == 0


def test_no_module_imports_itself_back() -> None:
    graph = grimp.build_graph(*PACKAGES)
    cycles = sorted(
        (importer, imported)
        for importer in graph.modules
        for imported in graph.find_modules_directly_imported_by(importer)
        if importer < imported and graph.chain_exists(importer=imported, imported=importer)
    )
    assert cycles == []


def test_imports_inside_functions_say_why() -> None:
    """A first-party import inside a function is allowed for start-up speed only, and says so
    with a ``# lazy:`` comment just above it (the import-linter contracts see its direction)."""
    unexplained = []
    for path, tree in sources():
        lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if (
                    isinstance(node, ast.Import | ast.ImportFrom)
                    and first_party(node)
                    and not _explained(lines, node.lineno - 1)
                ):
                    unexplained.append(f"{path}:{node.lineno}")
    assert unexplained == []


def _explained(lines: list[str], index: int) -> bool:
    """Whether the import on ``lines[index]`` follows a ``# lazy:`` comment, possibly with
    other imports of the same group in between."""
    index -= 1
    while index >= 0:
        line = lines[index].strip()
        if line.startswith("#"):
            if "lazy:" in line:
                return True
        elif not (line.startswith(("from ", "import ", ")")) or line.endswith(",")):
            return False
        index -= 1
    return False


def test_clients_are_built_by_the_factory_only() -> None:
    built = []
    for path, tree in sources():
        if path == FACTORY:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in CLIENT_CLASSES:
                    built.append(f"{path}:{node.lineno} {name}")
    assert built == []


def test_the_checks_see_what_they_look_for() -> None:
    """The scans above would pass vacuously if they found no code; they do find it."""
    found = list(sources())
    assert len(found) > 50
    factory = dict(found)[FACTORY]
    calls = {
        getattr(n.func, "id", None) for n in ast.walk(factory) if isinstance(n, ast.Call)
    } & CLIENT_CLASSES
    assert {"KafkaProducer", "Elasticsearch"} <= calls
    assert not _explained(["def f():", "    from sinks import bulk"], 1)
    assert _explained(["    # lazy: spaCy takes seconds to import", "    from x import y"], 1)
