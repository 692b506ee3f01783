"""Installing plugin packages for the tests, offline: a directory on ``sys.path`` holding the
package's modules and a ``<name>.dist-info`` with its ``entry_points.txt``, which is what
``pip install --target`` leaves behind and what ``importlib.metadata`` reads.

The example connector's entry points are read from its own ``pyproject.toml``, so the test
covers the declaration a real installation would use. (Building it with pip needs ``wheel`` and
a newer setuptools than the virtualenv has, and gains nothing over this layout.)
"""

from __future__ import annotations

import importlib
import shutil
import sys
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

__all__ = ["EXAMPLE", "install_example", "on_sys_path", "write_distribution"]

EXAMPLE = Path(__file__).resolve().parent / "openslots_example"


def write_distribution(
    target: Path,
    name: str,
    entry_points: Mapping[str, Mapping[str, str]],
    modules: Mapping[str, str] | None = None,
) -> None:
    """Lay out distribution ``name`` in ``target``: ``modules`` (module name → source) and a
    dist-info whose entry points are ``{group: {name: "module:attr"}}``."""
    for module, source in (modules or {}).items():
        (target / f"{module}.py").write_text(source, encoding="utf-8")
    info = target / f"{name.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n", encoding="utf-8"
    )
    lines = []
    for group, points in entry_points.items():
        lines.append(f"[{group}]")
        lines.extend(f"{key} = {value}" for key, value in points.items())
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def install_example(target: Path) -> None:
    """Install ``tests/plugins/openslots_example`` into ``target`` as its pyproject declares."""
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for package in ("openslots_example",):
        shutil.copytree(
            EXAMPLE / package, target / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    write_distribution(target, project["name"], project["entry-points"])


@contextmanager
def on_sys_path(target: Path, *modules: str) -> Iterator[None]:
    """``target`` importable (and its distributions visible) inside the block; afterwards
    removed again, with the modules whose names start with one of ``modules`` dropped from
    ``sys.modules``."""
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.path.remove(str(target))
        for name in list(sys.modules):
            if name.partition(".")[0].startswith(modules):
                del sys.modules[name]
        importlib.invalidate_caches()
