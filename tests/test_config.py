"""Configuration: one schema (``openslots.config.SCHEMA``), a TOML file, ``OPENSLOTS_*`` variables.

``config.example.toml`` documents exactly the schema's keys with their defaults; precedence is
defaults, then the file, then the environment; an unknown key or a bad value is a
ValidationError naming the key (``engine.max_window_days``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from openslots.config import SCHEMA, load_config
from openslots.engine import Limits
from openslots.errors import ValidationError

EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.toml"
NO_ENV: dict[str, str] = {}


def _keys(tables: dict[str, Any]) -> set[str]:
    return {f"{section}.{key}" for section, table in tables.items() for key in table}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "openslots.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _error(**kwargs: Any) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        load_config(**kwargs)
    return caught.value


# -- config.example.toml --------------------------------------------------------------------


def test_example_documents_exactly_the_schema_keys() -> None:
    document = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert all(isinstance(table, dict) for table in document.values())
    assert _keys(document) == _keys(SCHEMA)


def test_example_values_are_the_defaults() -> None:
    document = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    defaults = {
        section: {key: spec.default for key, spec in keys.items()}
        for section, keys in SCHEMA.items()
    }
    assert document == defaults
    for section, keys in SCHEMA.items():
        for key, spec in keys.items():
            assert type(document[section][key]) is spec.type, f"{section}.{key}"


def test_every_key_of_the_example_is_commented() -> None:
    # Each key is preceded by at least one comment line saying what it means.
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    for section, keys in SCHEMA.items():
        assert f"[{section}]" in lines
        for key in keys:
            index = next(i for i, line in enumerate(lines) if line.startswith(f"{key} ="))
            assert lines[index - 1].startswith("#"), key


def test_loading_the_example_gives_the_defaults() -> None:
    assert load_config(EXAMPLE, environ=NO_ENV) == load_config(None, environ=NO_ENV)


def test_the_defaults_are_the_engine_limits() -> None:
    assert load_config(None, environ=NO_ENV).limits == Limits()


def test_schema_types_are_toml_types() -> None:
    for section, keys in SCHEMA.items():
        for key, spec in keys.items():
            assert spec.type in {str, int, float, bool, list}, f"{section}.{key}"
            assert isinstance(spec.default, spec.type), f"{section}.{key}"
            assert spec.doc, f"{section}.{key}"


# -- precedence -----------------------------------------------------------------------------


def test_file_overrides_defaults(tmp_path: Path) -> None:
    path = _write(tmp_path, "[engine]\nmax_window_days = 31\n")
    config = load_config(path, environ=NO_ENV)
    assert config.get("engine", "max_window_days") == 31
    assert config.get("engine", "min_interval_minutes") == 5
    assert config.limits == Limits(max_window_days=31, min_interval_minutes=5)


def test_file_named_by_openslots_config(tmp_path: Path) -> None:
    path = _write(tmp_path, "[engine]\nmin_interval_minutes = 10\n")
    config = load_config(None, environ={"OPENSLOTS_CONFIG": str(path)})
    assert config.get("engine", "min_interval_minutes") == 10


def test_explicit_path_wins_over_openslots_config(tmp_path: Path) -> None:
    chosen = _write(tmp_path, "[engine]\nmax_window_days = 7\n")
    other = tmp_path / "other.toml"
    other.write_text("[engine]\nmax_window_days = 8\n", encoding="utf-8")
    config = load_config(chosen, environ={"OPENSLOTS_CONFIG": str(other)})
    assert config.get("engine", "max_window_days") == 7


@pytest.mark.parametrize(
    ("name", "value", "key", "expected"),
    [
        ("OPENSLOTS_ENGINE__MAX_WINDOW_DAYS", "31", "max_window_days", 31),
        ("OPENSLOTS_ENGINE__MAX_WINDOW_DAYS", " 366 ", "max_window_days", 366),
        ("OPENSLOTS_ENGINE__MIN_INTERVAL_MINUTES", "15", "min_interval_minutes", 15),
    ],
)
def test_environment_overrides_defaults(name: str, value: str, key: str, expected: int) -> None:
    assert load_config(None, environ={name: value}).get("engine", key) == expected


def test_environment_wins_over_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "[engine]\nmax_window_days = 31\nmin_interval_minutes = 10\n")
    config = load_config(path, environ={"OPENSLOTS_ENGINE__MAX_WINDOW_DAYS": "14"})
    assert config.get("engine", "max_window_days") == 14
    assert config.get("engine", "min_interval_minutes") == 10


def test_unrelated_environment_is_ignored() -> None:
    environ = {"PATH": "/usr/bin", "OPENSLOTS": "x", "OPENSLOTSENGINE__MAX_WINDOW_DAYS": "1"}
    assert load_config(None, environ=environ) == load_config(None, environ=NO_ENV)


def test_an_explicit_environ_replaces_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENSLOTS_ENGINE__MAX_WINDOW_DAYS", "2")
    assert load_config(None, environ=NO_ENV).get("engine", "max_window_days") == 93
    assert load_config(None).get("engine", "max_window_days") == 2


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field"),
    [
        pytest.param("[engine]\nmax_windows_days = 3\n", "engine.max_windows_days", id="key-typo"),
        pytest.param("[engine]\nMAX_WINDOW_DAYS = 3\n", "engine.MAX_WINDOW_DAYS", id="key-case"),
        pytest.param("[engines]\nmax_window_days = 3\n", "engines", id="section-typo"),
        pytest.param("[server]\nport = 8080\n", "server", id="section-not-in-schema"),
        pytest.param("max_window_days = 3\n", "max_window_days", id="key-outside-section"),
        pytest.param("engine = 3\n", "engine", id="section-not-a-table"),
        pytest.param("[[engine]]\nmax_window_days = 3\n", "engine", id="section-array"),
        pytest.param("[engine.limits]\nmax = 3\n", "engine.limits", id="nested-table"),
        pytest.param(
            "[engine]\nmax_window_days = 'long'\n", "engine.max_window_days", id="not-a-number"
        ),
        pytest.param("[engine]\nmax_window_days = true\n", "engine.max_window_days", id="bool"),
        pytest.param("[engine]\nmax_window_days = 31.5\n", "engine.max_window_days", id="float"),
        pytest.param("[engine]\nmax_window_days = 31.0\n", "engine.max_window_days", id="float-31"),
        pytest.param("[engine]\nmax_window_days = [31]\n", "engine.max_window_days", id="list"),
        pytest.param("[engine]\nmax_window_days = 0\n", "engine.max_window_days", id="zero"),
        pytest.param("[engine]\nmax_window_days = -1\n", "engine.max_window_days", id="negative"),
        pytest.param(
            "[engine]\nmin_interval_minutes = -5\n", "engine.min_interval_minutes", id="neg-step"
        ),
        pytest.param(
            "[engine]\nmin_interval_minutes = '5'\n", "engine.min_interval_minutes", id="str-5"
        ),
        pytest.param("[engine\n", "config", id="not-toml"),
    ],
)
def test_bad_file_names_the_key(text: str, field: str, tmp_path: Path) -> None:
    error = _error(path=_write(tmp_path, text), environ=NO_ENV)
    assert error.field == field, error.message
    assert error.to_dict()["error"]["code"] == "validation_error"


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    error = _error(path=tmp_path / "nope.toml", environ=NO_ENV)
    assert error.field == "config"
    assert "nope.toml" in error.message


@pytest.mark.parametrize(
    ("name", "value", "field"),
    [
        ("OPENSLOTS_ENGINE__MAX_WINDOW_DAYS", "many", "engine.max_window_days"),
        ("OPENSLOTS_ENGINE__MAX_WINDOW_DAYS", "", "engine.max_window_days"),
        ("OPENSLOTS_ENGINE__MAX_WINDOW_DAYS", "31.5", "engine.max_window_days"),
        ("OPENSLOTS_ENGINE__MAX_WINDOW_DAYS", "true", "engine.max_window_days"),
        ("OPENSLOTS_ENGINE__MAX_WINDOW_DAYS", "0", "engine.max_window_days"),
        ("OPENSLOTS_ENGINE__MAX_WINDOW_DAYS", "-7", "engine.max_window_days"),
        ("OPENSLOTS_ENGINE__MIN_INTERVAL_MINUTES", "5m", "engine.min_interval_minutes"),
        # A typo in a known section is an error, as it is in the file, not a silent default.
        ("OPENSLOTS_ENGINE__MAX_WINDOWS_DAYS", "31", "engine.max_windows_days"),
    ],
)
def test_bad_environment_names_the_key(name: str, value: str, field: str) -> None:
    error = _error(path=None, environ={name: value})
    assert error.field == field, error.message
    assert name in error.message or field in error.message


def test_config_errors_name_their_source(tmp_path: Path) -> None:
    path = _write(tmp_path, "[engine]\nmax_window_days = 'long'\n")
    assert str(path) in _error(path=path, environ=NO_ENV).message
    name = "OPENSLOTS_ENGINE__MAX_WINDOW_DAYS"
    assert name in _error(path=None, environ={name: "long"}).message
