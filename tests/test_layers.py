"""The package's rooms only look down: no import cycle between toolkit's subpackages, read from the
source (every import counts, lazy ones inside functions and TYPE_CHECKING ones too)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import toolkit

PACKAGE = Path(toolkit.__file__).parent
# The rooms from the ground up (docs/ARCHITECTURE.md): each may import only the ones before it.
ORDER = [
    "core",
    "imaging",
    "models",
    "data",
    "engines",
    "runtime",
    "export",
    "calibration",
    "analysis",
    "serving",
    "train",
    "api",
    "cli",
    "__main__",
]
# `toolkit/__init__.py` loads the API when first used (PEP 562), so `import toolkit` stays light: the
# one import that looks up, from the package itself rather than from a room.
LAZY_PACKAGE_ATTRIBUTES = ("toolkit", "api")


def room_of(module: str) -> str:
    """toolkit.runtime.tiling -> runtime; toolkit.api -> api; toolkit -> toolkit."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found |= {
                f"{node.module}.{alias.name}" for alias in node.names
            }  # `from toolkit.cli import train`
    return {name for name in found if name == "toolkit" or name.startswith("toolkit.")}


def room_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        source = room_of(module_name(path))
        for name in imported_modules(path):
            target = room_of(name)
            if target != source and (source, target) != LAZY_PACKAGE_ATTRIBUTES:
                graph[source].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary cycle found by depth-first search from each room (small graphs only)."""
    found = []

    def walk(path: list[str]) -> None:
        for nxt in sorted(graph.get(path[-1], ())):
            if nxt == path[0]:
                found.append(path[:])
            elif nxt not in path and nxt > path[0]:
                walk([*path, nxt])

    for start in sorted(graph):
        walk([start])
    return found


def test_no_import_cycle_between_subpackages() -> None:
    assert cycles(room_graph()) == []


def test_rooms_only_import_the_rooms_below_them() -> None:
    graph = room_graph()
    assert set(graph) <= set(ORDER) | {"toolkit"}, f"a room missing from ORDER: {set(graph) - set(ORDER)}"
    upward = sorted(
        (source, target)
        for source, targets in graph.items()
        for target in targets
        if source in ORDER and target in ORDER and ORDER.index(target) > ORDER.index(source)
    )
    assert upward == []


def test_the_graph_sees_lazy_imports() -> None:
    """The check reads imports inside functions too: the CLI imports its library lazily."""
    assert {"runtime", "analysis", "train"} <= room_graph()["cli"]
