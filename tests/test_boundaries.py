"""Import boundaries: the engine is pure computation (STYLE.md, DESIGN §3).

Every module of ``openslots.engine`` is read as source (not imported) and its imports walked,
including imports inside functions and ``TYPE_CHECKING`` blocks: nothing from the store, sync,
API, CLI or configuration layers, no ORM or web library, no I/O module, no clock. The public
surface ``openslots.engine.__all__`` is pinned.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import openslots.engine

ENGINE = Path(openslots.engine.__file__).resolve().parent
MODULES = sorted(ENGINE.rglob("*.py"))

FORBIDDEN_LAYERS = {
    "openslots.store",
    "openslots.sync",
    "openslots.api",
    "openslots.cli",
    "openslots.config",
}
FORBIDDEN_LIBRARIES = {
    "sqlalchemy",
    "httpx",
    "pydantic",
    "fastapi",
    "requests",
    "socket",
    "os",
    "subprocess",
    "pathlib",
    "io",
    "sqlite3",
    "asyncio",
}
# The engine takes ``now`` as a parameter and is deterministic for a given input.
NONDETERMINISTIC = {"time", "random", "secrets", "uuid"}
# Imports by name would walk around this test.
DYNAMIC = {"importlib", "builtins"}
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter", "time_ns"}
IO_BUILTINS = {"open", "print", "input", "exec", "eval", "__import__", "breakpoint"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ENGINE.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports_of(source: str, package: str) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``, a module of ``package``;
    ``from x import y`` gives both ``x`` and ``x.y`` (``y`` may be a submodule)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    package = _module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    return _imports_of(path.read_text(encoding="utf-8"), package)


def _is_within(module: str, roots: set[str]) -> bool:
    return any(module == root or module.startswith(f"{root}.") for root in roots)


def test_the_engine_has_modules() -> None:
    names = {p.stem for p in MODULES}
    assert {"__init__", "scenario", "plan", "availability"} <= names


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_engine_imports_no_other_layer_and_no_io(path: Path) -> None:
    bad = [
        f"{path.name}:{line} imports {module}"
        for line, module in _imports(path)
        if _is_within(module, FORBIDDEN_LAYERS | FORBIDDEN_LIBRARIES | NONDETERMINISTIC | DYNAMIC)
    ]
    assert not bad


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_engine_calls_no_clock_and_no_io_builtin(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bad = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in IO_BUILTINS:
            bad.append(f"{path.name}:{node.lineno} calls {func.id}()")
        if isinstance(func, ast.Attribute) and func.attr in CLOCK_CALLS:
            bad.append(f"{path.name}:{node.lineno} calls .{func.attr}()")
    assert not bad


def test_the_walker_finds_nested_relative_and_aliased_imports() -> None:
    source = (
        "import os.path as p\n"
        "def f():\n"
        "    from openslots import config\n"
        "    from ..store import models\n"
        "    from . import zones\n"
        "    import sqlalchemy.orm\n"
    )
    found = {module for _, module in _imports_of(source, "openslots.engine")}
    assert {
        "os.path",
        "openslots.config",
        "openslots.store.models",
        "openslots.engine.zones",
        "sqlalchemy.orm",
    } <= found
    forbidden = FORBIDDEN_LAYERS | FORBIDDEN_LIBRARIES
    assert all(_is_within(m, forbidden) for m in ("os.path", "openslots.store", "sqlalchemy.orm"))
    assert not _is_within("openslots.configuration", forbidden)
    assert not _is_within("iso8601", forbidden)


# -- the public surface ---------------------------------------------------------------------

PUBLIC = [
    "Availability",
    "BlockColumns",
    "Booking",
    "BusyBlock",
    "Caps",
    "DateOverride",
    "IntervalSet",
    "Limits",
    "Location",
    "Organization",
    "Query",
    "Reason",
    "Resource",
    "Scenario",
    "Schedule",
    "Service",
    "Slot",
    "SlotCheck",
    "Team",
    "WeeklyRule",
    "check_slot",
    "compute_availability",
    "parse_scenario",
    "render_availability",
    "scenario_to_dict",
]


def test_engine_public_api_is_pinned() -> None:
    assert sorted(openslots.engine.__all__) == PUBLIC
    assert len(set(openslots.engine.__all__)) == len(openslots.engine.__all__)


def test_every_public_name_exists() -> None:
    missing = [name for name in PUBLIC if not hasattr(openslots.engine, name)]
    assert not missing
