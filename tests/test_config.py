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
        pytest.param("[scheduler]\nport = 8080\n", "scheduler", id="section-not-in-schema"),
        pytest.param("[server]\nport = 0\n", "server.port", id="port-zero"),
        pytest.param("[server]\nport = 65536\n", "server.port", id="port-too-big"),
        pytest.param("[server]\nport = '8080'\n", "server.port", id="port-string"),
        pytest.param("[server]\nhost = 127\n", "server.host", id="host-number"),
        pytest.param("[server]\nhost = ' '\n", "server.host", id="host-blank"),
        pytest.param("[database]\nurl = ''\n", "database.url", id="url-empty"),
        pytest.param("[database]\nuri = 'sqlite://'\n", "database.uri", id="url-typo"),
        pytest.param("[api]\ncache_entries = -1\n", "api.cache_entries", id="cache-negative"),
        pytest.param("[api]\nmax_body_bytes = 0\n", "api.max_body_bytes", id="body-zero"),
        pytest.param("[api]\nhold_ttl_seconds = 0\n", "api.hold_ttl_seconds", id="ttl-zero"),
        pytest.param("[api]\nmax_page_size = 0\n", "api.max_page_size", id="page-zero"),
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


# -- database, server and api keys (DESIGN §6 names) ------------------------------------------


def test_database_server_and_api_defaults() -> None:
    config = load_config(None, environ=NO_ENV)
    assert config.get("database", "url") == "sqlite:///openslots.db"  # in the working directory
    assert (config.get("server", "host"), config.get("server", "port")) == ("127.0.0.1", 8080)


def test_api_keys_default_to_the_app_defaults_and_reach_the_app() -> None:
    import httpx

    from openslots.api.settings import ApiSettings
    from openslots.server import api_settings
    from openslots.store.database import Database
    from openslots.sync.registry import ConnectorRegistry
    from openslots.sync.services import SyncServices

    db = Database("sqlite://")
    # Given, so that building the settings makes no key file in the working directory.
    sync = SyncServices(registry=ConnectorRegistry(discover=False), http_client=httpx.AsyncClient)
    try:
        defaults = ApiSettings(database=db)
        built = api_settings(load_config(None, environ=NO_ENV), db, sync)
        assert built == ApiSettings(database=db, clock=built.clock, sync=sync)
        assert built.limits == defaults.limits
        environ = {
            "OPENSLOTS_API__CACHE_ENTRIES": "0",
            "OPENSLOTS_API__MAX_BODY_BYTES": "2048",
            "OPENSLOTS_API__HOLD_TTL_SECONDS": "60",
            "OPENSLOTS_API__MAX_HOLD_TTL_SECONDS": "600",
            "OPENSLOTS_API__MAX_PAGE_SIZE": "50",
            "OPENSLOTS_ENGINE__MAX_WINDOW_DAYS": "31",
        }
        chosen = api_settings(load_config(None, environ=environ), db, sync)
        assert chosen.cache_entries == 0
        assert chosen.max_body_bytes == 2048
        assert chosen.hold_ttl_seconds == 60
        assert chosen.max_hold_ttl_seconds == 600
        assert chosen.max_page_size == 50
        assert chosen.limits == Limits(max_window_days=31, min_interval_minutes=5)
        assert chosen.database is db
    finally:
        db.dispose()


def test_server_keys_from_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "[server]\nhost = '0.0.0.0'\nport = 9000\n")
    config = load_config(path, environ=NO_ENV)
    assert (config.get("server", "host"), config.get("server", "port")) == ("0.0.0.0", 9000)


@pytest.mark.parametrize(
    "environ",
    [
        pytest.param({"OPENSLOTS_DATABASE_URL": "postgresql://db/openslots"}, id="short"),
        pytest.param({"OPENSLOTS_DATABASE__URL": "postgresql://db/openslots"}, id="long"),
        pytest.param(
            {
                "OPENSLOTS_DATABASE_URL": "postgresql://db/openslots",
                "OPENSLOTS_DATABASE__URL": "postgresql://db/openslots",
            },
            id="both-agree",
        ),
        pytest.param({"OPENSLOTS_DATABASE_URL": " postgresql://db/openslots\n"}, id="padded"),
    ],
)
def test_database_url_from_the_environment(environ: dict[str, str], tmp_path: Path) -> None:
    path = _write(tmp_path, "[database]\nurl = 'sqlite:///from-file.db'\n")
    assert load_config(path, environ=environ).get("database", "url") == "postgresql://db/openslots"


def test_the_two_database_variables_must_agree() -> None:
    environ = {
        "OPENSLOTS_DATABASE_URL": "postgresql://db/one",
        "OPENSLOTS_DATABASE__URL": "postgresql://db/two",
    }
    error = _error(path=None, environ=environ)
    assert error.field == "database.url"
    assert "OPENSLOTS_DATABASE_URL" in error.message
    assert "OPENSLOTS_DATABASE__URL" in error.message


def test_an_empty_database_variable_is_an_error() -> None:
    error = _error(path=None, environ={"OPENSLOTS_DATABASE_URL": ""})
    assert error.field == "database.url"
    assert "OPENSLOTS_DATABASE_URL" in error.message


@pytest.mark.parametrize(("value", "expected"), [("1", 1), ("65535", 65535), (" 9000 ", 9000)])
def test_server_port_from_the_environment(value: str, expected: int) -> None:
    config = load_config(None, environ={"OPENSLOTS_SERVER__PORT": value})
    assert config.get("server", "port") == expected


@pytest.mark.parametrize("value", ["0", "65536", "http", "-1"])
def test_bad_server_port_from_the_environment(value: str) -> None:
    error = _error(path=None, environ={"OPENSLOTS_SERVER__PORT": value})
    assert error.field == "server.port"
