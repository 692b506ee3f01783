"""The ``openslots`` command, run for real in a subprocess.

The contract (README, SCENARIO.md): an answer on standard output and exit status 0; invalid input
exits 2 with exactly one error object on standard error, nothing on standard output and never a
traceback.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))
HAIRCUT = EXAMPLES / "haircut.json"


def _environment(**extra: str) -> dict[str, str]:
    """The test process's environment without any OPENSLOTS_* setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENSLOTS_")}
    env.update(extra)
    return env


def _run(
    *args: str | Path,
    cwd: Path,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [sys.executable, "-m", "openslots", *map(str, args)],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env=env if env is not None else _environment(),
        timeout=60,
        check=False,
    )
    return subprocess.CompletedProcess(
        completed.args,
        completed.returncode,
        completed.stdout.decode("utf-8", "replace"),
        completed.stderr.decode("utf-8", "replace"),
    )


def _assert_invalid(result: subprocess.CompletedProcess[str], field: str) -> dict[str, Any]:
    """Exit status 2, nothing on stdout, exactly one documented error object on stderr."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    error = json.loads(lines[0])
    assert set(error) == {"error"}
    assert set(error["error"]) == {"code", "message", "field"}
    assert error["error"]["code"] == "validation_error"
    assert isinstance(error["error"]["message"], str)
    assert error["error"]["message"]
    assert error["error"]["field"] == field, error["error"]["message"]
    return error


def _answer(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert isinstance(answer, dict)
    return answer


def _haircut(**query: Any) -> dict[str, Any]:
    document = json.loads(HAIRCUT.read_text(encoding="utf-8"))
    document["query"].update(query)
    return document


def _write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


# -- the examples ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.name for p in EXAMPLE_FILES])
def test_every_example_answers(path: Path, tmp_path: Path) -> None:
    result = _run("slots", path, cwd=tmp_path)
    answer = _answer(result)
    assert result.stderr == ""
    assert set(answer) == {"timezone", "duration", "slots", "days"}
    assert answer["slots"], "an example should have slots"
    assert list(answer["days"]) == sorted(answer["days"])
    assert [s for day in answer["days"].values() for s in day] == answer["slots"]


def test_examples_cover_every_feature() -> None:
    names = {p.name for p in EXAMPLE_FILES}
    assert {
        "haircut.json",
        "overrides.json",
        "round-robin.json",
        "combined.json",
        "group-seats.json",
        "buffers-and-caps.json",
        "dst.json",
        "explain.json",
    } <= names


# -- invalid scenarios ----------------------------------------------------------------------


def _zone(doc: dict[str, Any]) -> None:
    doc["resources"][0]["timezone"] = "Mars/Olympus"


def _rule_end(doc: dict[str, Any]) -> None:
    doc["resources"][0]["schedule"]["rules"][1]["end"] = "12:30"


def _naive_now(doc: dict[str, Any]) -> None:
    doc["now"] = "2026-03-01T12:00:00"


def _unknown_field(doc: dict[str, Any]) -> None:
    doc["service"]["durration"] = 45


def _combined(doc: dict[str, Any]) -> None:
    doc["query"]["mode"] = "combined"


def _duration(doc: dict[str, Any]) -> None:
    doc["query"]["duration"] = 45


def _long_window(doc: dict[str, Any]) -> None:
    doc["query"]["end"] = "2026-12-31"


def _huge_duration(doc: dict[str, Any]) -> None:
    doc["service"]["duration"] = 10**12


def _huge_capacity(doc: dict[str, Any]) -> None:
    doc["resources"][0]["capacity"] = 2**70


def _year_9999(doc: dict[str, Any]) -> None:
    doc["query"].update(start="9999-12-30", end="9999-12-31")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (_zone, "resources.0.timezone"),
        (_rule_end, "resources.0.schedule.rules.1.end"),
        (_naive_now, "now"),
        (_unknown_field, "service.durration"),
        (_combined, "query.resource_ids"),
        (_duration, "query.duration"),
        (_long_window, "query.end"),
        # Out-of-range values must not escape as OverflowError/ValueError tracebacks.
        (_huge_duration, "service.duration"),
        (_huge_capacity, "resources.0.capacity"),
        (_year_9999, "query.start"),
    ],
    ids=lambda v: v.__name__.strip("_") if callable(v) else None,
)
def test_invalid_scenario_exits_2_with_the_error_json(
    change: Any, field: str, tmp_path: Path
) -> None:
    document = _haircut()
    change(document)
    _assert_invalid(_run("slots", _write(tmp_path / "bad.json", document), cwd=tmp_path), field)


def test_the_readme_error_example(tmp_path: Path) -> None:
    document = _haircut()
    _zone(document)
    error = _assert_invalid(
        _run("slots", _write(tmp_path / "mars.json", document), cwd=tmp_path),
        "resources.0.timezone",
    )
    assert error["error"]["message"] == "unknown time zone 'Mars/Olympus' (use an IANA name)"


# -- input that is not a scenario document --------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"{not json", id="not-json"),
        pytest.param(b"now: 2026-03-01\n", id="yaml"),
        pytest.param(b'{"version": 1,}', id="trailing-comma"),
        pytest.param(b"[]", id="a-list"),
        pytest.param(b'"scenario"', id="a-string"),
        pytest.param(b"\xff\xfe{\x00}\x00", id="not-utf8"),
        pytest.param(b"[" * 100_000, id="deeply-nested"),
    ],
)
def test_a_file_that_is_not_a_scenario(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "scenario.json"
    path.write_bytes(content)
    _assert_invalid(_run("slots", path, cwd=tmp_path), "$")


def test_a_missing_file(tmp_path: Path) -> None:
    error = _assert_invalid(_run("slots", tmp_path / "nope.json", cwd=tmp_path), "$")
    assert "nope.json" in error["error"]["message"]


def test_a_directory(tmp_path: Path) -> None:
    _assert_invalid(_run("slots", tmp_path, cwd=tmp_path), "$")


# -- standard input -------------------------------------------------------------------------


def test_stdin_gives_the_same_answer_as_the_file(tmp_path: Path) -> None:
    from_file = _answer(_run("slots", HAIRCUT, cwd=tmp_path))
    from_stdin = _answer(_run("slots", "-", cwd=tmp_path, stdin=HAIRCUT.read_bytes()))
    assert from_stdin == from_file


def test_invalid_stdin(tmp_path: Path) -> None:
    document = _haircut()
    _naive_now(document)
    _assert_invalid(_run("slots", "-", cwd=tmp_path, stdin=json.dumps(document).encode()), "now")
    _assert_invalid(_run("slots", "-", cwd=tmp_path, stdin=b"not json"), "$")
    _assert_invalid(_run("slots", "-", cwd=tmp_path, stdin=b"\xff\xfe"), "$")


# -- options --------------------------------------------------------------------------------


def test_repeat_and_timing_print_the_median_on_stderr(tmp_path: Path) -> None:
    once = _answer(_run("slots", HAIRCUT, cwd=tmp_path))
    result = _run("slots", "--repeat", "5", "--timing", HAIRCUT, cwd=tmp_path)
    assert _answer(result) == once  # one answer on stdout, however many runs
    assert re.fullmatch(r"median_ms \d+\.\d{3} over 5 runs\n", result.stderr), result.stderr


def test_pretty_prints_the_same_answer_indented(tmp_path: Path) -> None:
    result = _run("slots", "--pretty", HAIRCUT, cwd=tmp_path)
    assert result.stdout.startswith("{\n  ")
    assert _answer(result) == _answer(_run("slots", HAIRCUT, cwd=tmp_path))


# -- configuration --------------------------------------------------------------------------


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "openslots.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_config_file_shortens_the_window(tmp_path: Path) -> None:
    # haircut.json asks for 5 days: fine by default, too long with max_window_days = 3.
    _answer(_run("slots", HAIRCUT, cwd=tmp_path))
    config = _config(tmp_path, "[engine]\nmax_window_days = 3\n")
    _assert_invalid(_run("--config", config, "slots", HAIRCUT, cwd=tmp_path), "query.end")


def test_config_file_lengthens_the_window(tmp_path: Path) -> None:
    scenario = _write(tmp_path / "long.json", _haircut(end="2026-07-31"))  # 152 days
    _assert_invalid(_run("slots", scenario, cwd=tmp_path), "query.end")
    config = _config(tmp_path, "[engine]\nmax_window_days = 200\n")
    answer = _answer(_run("--config", config, "slots", scenario, cwd=tmp_path))
    assert "2026-07-31" in answer["days"]


def test_config_file_from_the_environment(tmp_path: Path) -> None:
    config = _config(tmp_path, "[engine]\nmax_window_days = 3\n")
    env = _environment(OPENSLOTS_CONFIG=str(config))
    _assert_invalid(_run("slots", HAIRCUT, cwd=tmp_path, env=env), "query.end")


def test_environment_variable_sets_a_key(tmp_path: Path) -> None:
    env = _environment(OPENSLOTS_ENGINE__MAX_WINDOW_DAYS="3")
    _assert_invalid(_run("slots", HAIRCUT, cwd=tmp_path, env=env), "query.end")


def test_environment_variable_wins_over_the_file(tmp_path: Path) -> None:
    config = _config(tmp_path, "[engine]\nmax_window_days = 3\n")
    env = _environment(OPENSLOTS_ENGINE__MAX_WINDOW_DAYS="31")
    _answer(_run("--config", config, "slots", HAIRCUT, cwd=tmp_path, env=env))


def test_min_interval_from_the_environment(tmp_path: Path) -> None:
    # haircut's interval is 15 minutes.
    env = _environment(OPENSLOTS_ENGINE__MIN_INTERVAL_MINUTES="20")
    _assert_invalid(_run("slots", HAIRCUT, cwd=tmp_path, env=env), "service.interval")


@pytest.mark.parametrize(
    ("text", "env", "field"),
    [
        pytest.param(
            "[engine]\nmax_window_days = 'long'\n", {}, "engine.max_window_days", id="str"
        ),
        pytest.param("[engine]\nmax_windows_days = 3\n", {}, "engine.max_windows_days", id="typo"),
        pytest.param("[engines]\nmax_window_days = 3\n", {}, "engines", id="section"),
        pytest.param("[engine\n", {}, "config", id="not-toml"),
        pytest.param(
            "",
            {"OPENSLOTS_ENGINE__MAX_WINDOW_DAYS": "many"},
            "engine.max_window_days",
            id="env-not-a-number",
        ),
    ],
)
def test_bad_configuration_exits_2(
    text: str, env: dict[str, str], field: str, tmp_path: Path
) -> None:
    config = _config(tmp_path, text)
    result = _run("--config", config, "slots", HAIRCUT, cwd=tmp_path, env=_environment(**env))
    _assert_invalid(result, field)


def test_a_missing_config_file_exits_2(tmp_path: Path) -> None:
    _assert_invalid(
        _run("--config", tmp_path / "nope.toml", "slots", HAIRCUT, cwd=tmp_path), "config"
    )


# -- the database commands: migrate, and what every command shares ---------------------------


def _db_env(url: str) -> dict[str, str]:
    return _environment(OPENSLOTS_DATABASE_URL=url)


def test_migrate_prints_the_revision_and_is_idempotent(tmp_path: Path) -> None:
    from openslots.store.migrate import head_revision

    env = _db_env(f"sqlite:///{tmp_path / 'data.db'}")
    first = _run("migrate", cwd=tmp_path, env=env)
    assert (first.returncode, first.stdout) == (0, f"{head_revision()}\n"), first.stderr
    again = _run("migrate", cwd=tmp_path, env=env)
    assert (again.returncode, again.stdout) == (0, f"{head_revision()}\n"), again.stderr
    assert (tmp_path / "data.db").exists()
    assert not (tmp_path / "openslots.db").exists()


def test_migrate_uses_the_config_file(tmp_path: Path) -> None:
    config = _config(tmp_path, f"[database]\nurl = 'sqlite:///{tmp_path / 'from-file.db'}'\n")
    result = _run("--config", config, "migrate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "from-file.db").exists()


def test_migrate_creates_the_default_file_in_the_working_directory(tmp_path: Path) -> None:
    result = _run("migrate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "openslots.db").exists()


@pytest.mark.parametrize(
    ("url", "command"),
    [
        pytest.param("not a url", ["migrate"], id="not-a-url"),
        pytest.param("mysql://user@db/openslots", ["orgs", "create", "A"], id="no-driver"),
        pytest.param("nosuchdb://somewhere", ["serve"], id="unknown-dialect"),
    ],
)
def test_an_unusable_database_url_exits_2(url: str, command: list[str], tmp_path: Path) -> None:
    _assert_invalid(_run(*command, cwd=tmp_path, env=_db_env(url)), "database.url")


def test_a_database_that_cannot_be_opened_exits_1(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}"
    result = _run("migrate", cwd=tmp_path, env=_db_env(url))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    error = json.loads(result.stderr)
    assert error["error"]["code"] == "configuration_error"
    assert "unable to open database file" in error["error"]["message"]


def test_a_database_from_a_newer_openslots_is_refused(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "data.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        connection.execute("INSERT INTO alembic_version VALUES ('9999')")
    connection.close()
    result = _run("migrate", cwd=tmp_path, env=_db_env(f"sqlite:///{path}"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "newer openslots" in json.loads(result.stderr)["error"]["message"]


def test_help_lists_every_command(tmp_path: Path) -> None:
    result = _run("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("slots", "serve", "api", "migrate", "orgs", "keys"):
        assert command in result.stdout


def test_slots_does_not_load_the_server(tmp_path: Path) -> None:
    # `openslots slots` starts in a fraction of the time the server's imports take.
    code = (
        "import sys, runpy\n"
        "sys.argv = ['openslots', 'slots', sys.argv[1]]\n"
        "from openslots.cli import main\n"
        "assert main() == 0\n"
        "loaded = [m for m in ('sqlalchemy', 'fastapi', 'uvicorn') if m in sys.modules]\n"
        "print(loaded, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(HAIRCUT)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_environment(),
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "[]"
