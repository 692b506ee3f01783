"""``openslots serve``, ``orgs create`` and ``keys create``, run for real in subprocesses.

Each server runs in a temporary working directory on a free port, with its database named by
``OPENSLOTS_DATABASE_URL``; requests go over real HTTP. What is proven: the server migrates an
empty database and answers ``/healthz`` and ``/readyz``; ``--demo`` prints a key that works, ids
that exist and shell lines that book a slot; a second start adds nothing and prints no old key;
keys printed by ``orgs create`` (text and JSON) and ``keys create`` authenticate against the app.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from openslots.api.app import create_app
from openslots.api.settings import ApiSettings
from openslots.store import organizations
from openslots.store.database import Database
from openslots.store.migrate import current_revision, head_revision
from tests.fakes.ics_server import IcsServer

KEY = re.compile(r"osk_[0-9a-f]+_[A-Za-z0-9_-]+")


def _environment(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENSLOTS_")}
    env["OPENSLOTS_DATABASE_URL"] = database_url
    return {**env, **extra}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _request(
    url: str, token: str | None = None, body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@dataclass
class Running:
    url: str
    workdir: Path
    process: subprocess.Popen[bytes]

    @property
    def stdout(self) -> str:
        return (self.workdir / "stdout.txt").read_text(encoding="utf-8")

    @property
    def stderr(self) -> str:
        return (self.workdir / "stderr.txt").read_text(encoding="utf-8")


@contextmanager
def serving(
    workdir: Path,
    database_url: str,
    *args: str,
    command: str = "serve",
    env: dict[str, str] | None = None,
) -> Iterator[Running]:
    """``openslots serve ARGS`` in ``workdir`` until /healthz answers; stopped with SIGTERM,
    which must end it cleanly (a graceful shutdown, no traceback)."""
    port = _free_port()
    with (
        (workdir / "stdout.txt").open("wb") as out,
        (workdir / "stderr.txt").open("wb") as err,
    ):
        process = subprocess.Popen(
            [sys.executable, "-m", "openslots", command, "--port", str(port), *args],
            cwd=workdir,
            env=_environment(database_url, **(env or {})),
            stdout=out,
            stderr=err,
        )
    running = Running(f"http://127.0.0.1:{port}", workdir, process)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"serve exited early:\n{running.stderr}"
            try:
                if _request(f"{running.url}/healthz") == (200, {"status": "ok"}):
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert time.monotonic() < deadline, f"serve did not answer:\n{running.stderr}"
            time.sleep(0.1)
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
    # uvicorn finishes the requests, then re-raises SIGTERM so a supervisor sees why it ended.
    assert code in {0, -signal.SIGTERM}, running.stderr
    assert "Finished server process" in running.stderr
    assert "Traceback" not in running.stderr, running.stderr


def _run(workdir: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "openslots", *args],
        cwd=workdir,
        env=_environment(database_url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _org_count(database_url: str) -> int:
    db = Database(database_url)
    try:
        with db.read() as connection:
            return organizations.count_orgs(connection)
    finally:
        db.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    # An absolute path elsewhere than the working directory: the variable must be what is used.
    (tmp_path / "data").mkdir()
    return f"sqlite:///{tmp_path / 'data' / 'openslots.db'}"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


# -- serve ----------------------------------------------------------------------------------


def test_serve_migrates_an_empty_database_and_answers(workdir: Path, database_url: str) -> None:
    with serving(workdir, database_url) as server:
        assert _request(f"{server.url}/readyz") == (200, {"status": "ready", "revision": "0003"})
        db = Database(database_url)
        try:
            assert current_revision(db) == head_revision()
        finally:
            db.dispose()
        status, body = _request(f"{server.url}/v1/resources")
        assert status == 401, body
        assert body["error"]["code"] == "unauthorized"
        assert f"database schema at revision {head_revision()}" in server.stderr
        assert server.stdout.strip() == "" or "osk_" not in server.stdout  # no demo, no key
    assert _org_count(database_url) == 0
    assert list(workdir.glob("*.db")) == []  # the configured database, not the default file


def test_api_is_serve_for_now(workdir: Path, sqlite_url: str) -> None:
    with serving(workdir, sqlite_url, command="api") as server:
        assert _request(f"{server.url}/readyz")[0] == 200


def test_serve_uses_a_sqlite_file_in_the_working_directory_by_default(workdir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENSLOTS_")}
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "openslots", "serve", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not (workdir / "openslots.db").exists() or not _answers(port):
            assert process.poll() is None
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert _request(f"http://127.0.0.1:{port}/readyz")[0] == 200
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode in {0, -signal.SIGTERM}, stderr
    db = Database(f"sqlite:///{workdir / 'openslots.db'}")
    try:
        assert current_revision(db) == head_revision()
    finally:
        db.dispose()


def _answers(port: int) -> bool:
    try:
        return _request(f"http://127.0.0.1:{port}/healthz")[0] == 200
    except (urllib.error.URLError, ConnectionError):
        return False


def test_serve_refuses_an_unreachable_database(workdir: Path) -> None:
    result = _run(workdir, "postgresql://postgres:hunter2@127.0.0.1:1/none", "serve")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    error = json.loads(result.stderr.strip().splitlines()[-1])
    assert error["error"]["code"] == "configuration_error"
    assert "hunter2" not in result.stderr


# -- the demo -------------------------------------------------------------------------------


def _exports(stdout: str) -> dict[str, str]:
    return dict(re.findall(r"^export (\w+)=(\S+)", stdout, flags=re.MULTILINE))


def test_demo_prints_a_working_key_once_and_is_seeded_once(workdir: Path, sqlite_url: str) -> None:
    with serving(workdir, sqlite_url, "--demo") as server:
        printed = server.stdout
        keys = KEY.findall(printed)
        assert keys, printed
        token = keys[0]
        assert set(keys) == {token}
        exports = _exports(printed)
        assert exports["OPENSLOTS_KEY"] == token
        assert exports["OPENSLOTS_URL"] == server.url

        status, resources = _request(f"{server.url}/v1/resources", token)
        assert status == 200, resources
        by_name = {r["name"]: r for r in resources["items"]}
        assert set(by_name) == {"Alice", "Bob"}
        assert by_name["Alice"]["id"] == exports["ALICE_ID"]
        assert by_name["Bob"]["id"] == exports["BOB_ID"]
        assert by_name["Alice"]["timezone"] != by_name["Bob"]["timezone"]
        status, service = _request(f"{server.url}/v1/services/{exports['SERVICE_ID']}", token)
        assert status == 200, service
        assert sorted(service["resource_ids"]) == sorted([exports["ALICE_ID"], exports["BOB_ID"]])
        assert _request(f"{server.url}/v1/resources")[0] == 401

    with serving(workdir, sqlite_url, "--demo") as again:
        assert KEY.search(again.stdout) is None, again.stdout  # old keys are hashed, never shown
        assert "keys create demo" in again.stdout
        assert _exports(again.stdout)["SERVICE_ID"] == exports["SERVICE_ID"]
        # The first key still works, and nothing was added.
        status, resources = _request(f"{again.url}/v1/resources", token)
        assert status == 200
        assert len(resources["items"]) == 2
    assert _org_count(sqlite_url) == 1


@pytest.mark.skipif(shutil.which("curl") is None, reason="the demo's lines use curl")
def test_the_lines_the_demo_prints_book_a_slot(workdir: Path, sqlite_url: str) -> None:
    # What a new user does: paste the printed lines into a shell.
    with serving(workdir, sqlite_url, "--demo") as server:
        script = server.stdout.split("Paste these lines into a shell to try the API:", 1)[1]
        shell = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert shell.returncode == 0, shell.stderr
        answers = [json.loads(line) for line in shell.stdout.splitlines() if line.strip()]
        availability, hold, booking = answers
        assert availability["slots"], availability
        assert all(slot["available"] for slot in availability["slots"])
        assert hold["id"], hold
        assert booking["id"], booking
        assert booking["start"] == hold["start"]
        assert booking["status"] == "confirmed", booking
        token = _exports(server.stdout)["OPENSLOTS_KEY"]
        status, after = _request(
            f"{server.url}/v1/availability?service_id={_exports(server.stdout)['SERVICE_ID']}"
            f"&start={booking['start']}&end={booking['end']}&include_unavailable=true",
            token,
        )
        assert status == 200, after
        booked = [s for s in after["slots"] if s["start"] == booking["start"]]
        assert booked
        assert all(
            set(s["resource_ids"]) != set(booking["resource_ids"]) or not s["available"]
            for s in booked
        )


def test_demo_is_not_added_to_a_database_with_organizations(workdir: Path, sqlite_url: str) -> None:
    created = _run(workdir, sqlite_url, "orgs", "create", "Acme", "--json")
    assert created.returncode == 0, created.stderr
    with serving(workdir, sqlite_url, "--demo") as server:
        assert KEY.search(server.stdout) is None
        assert "already has organizations" in server.stdout
    assert _org_count(sqlite_url) == 1


# -- orgs create and keys create ------------------------------------------------------------


@contextmanager
def _app_client(database_url: str) -> Iterator[TestClient]:
    """The app over the same database, in process: keys printed by a command must work."""
    db = Database(database_url)
    try:
        with TestClient(create_app(ApiSettings(database=db))) as client:
            yield client
    finally:
        db.dispose()


def test_orgs_create_prints_a_working_admin_key(workdir: Path, database_url: str) -> None:
    text = _run(workdir, database_url, "orgs", "create", "Acme Dental")
    assert text.returncode == 0, text.stderr
    assert "Traceback" not in text.stderr
    text_keys = KEY.findall(text.stdout)
    assert len(text_keys) == 1, text.stdout
    assert "acme-dental" in text.stdout

    as_json = _run(workdir, database_url, "orgs", "create", "Acme Dental", "--json")
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert set(document) == {"org_id", "slug", "name", "api_key"}
    assert document["name"] == "Acme Dental"
    assert document["slug"].startswith("acme-dental-")  # the plain slug is taken
    assert KEY.fullmatch(document["api_key"])

    with _app_client(database_url) as client:
        for token in (text_keys[0], document["api_key"]):
            response = client.get("/v1/api-keys", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200, response.text
            assert len(response.json()["items"]) == 1  # each key sees its organization only
        wrong = client.get("/v1/api-keys", headers={"Authorization": f"Bearer {text_keys[0]}x"})
        assert wrong.status_code == 401
    assert _org_count(database_url) == 2


def test_keys_create_mints_a_key_of_the_scope_asked(workdir: Path, sqlite_url: str) -> None:
    org = json.loads(_run(workdir, sqlite_url, "orgs", "create", "Clinic", "--json").stdout)
    read = _run(workdir, sqlite_url, "keys", "create", org["slug"], "--scope", "read")
    assert read.returncode == 0, read.stderr
    token = read.stdout.strip()
    assert KEY.fullmatch(token)  # just the key, for $(...)
    by_id = _run(workdir, sqlite_url, "keys", "create", org["org_id"], "--json")
    assert json.loads(by_id.stdout)["scopes"] == ["admin"]

    with _app_client(sqlite_url) as client:
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/v1/resources", headers=headers).status_code == 200
        assert client.get("/v1/api-keys", headers=headers).status_code == 403  # read only


def test_keys_create_for_an_unknown_organization(workdir: Path, sqlite_url: str) -> None:
    result = _run(workdir, sqlite_url, "keys", "create", "nobody")
    assert result.returncode == 1
    assert result.stdout == ""
    assert json.loads(result.stderr)["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        pytest.param(["orgs", "create", "  "], "name", id="blank-name"),
        pytest.param(["orgs", "create", "x" * 201], "name", id="long-name"),
        pytest.param(["orgs", "create", "Acme", "--slug", "Not A Slug"], "--slug", id="slug"),
        pytest.param(["serve", "--port", "70000"], "--port", id="port"),
        pytest.param(["keys", "create", "demo", "--name", "k" * 201], "--name", id="key-name"),
    ],
)
def test_invalid_arguments_exit_2(
    args: list[str], field: str, workdir: Path, sqlite_url: str
) -> None:
    result = _run(workdir, sqlite_url, *args)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert json.loads(result.stderr)["error"]["field"] == field


def test_a_taken_slug_is_refused(workdir: Path, sqlite_url: str) -> None:
    assert _run(workdir, sqlite_url, "orgs", "create", "A", "--slug", "same").returncode == 0
    again = _run(workdir, sqlite_url, "orgs", "create", "B", "--slug", "same")
    assert again.returncode == 2
    assert json.loads(again.stderr)["error"]["field"] == "--slug"
    assert _org_count(sqlite_url) == 1


# -- readiness ------------------------------------------------------------------------------


def test_readyz_is_503_until_the_database_is_migrated(database_url: str) -> None:
    from openslots.store.startup import apply_migrations

    with _app_client(database_url) as client:
        assert client.get("/healthz").json() == {"status": "ok"}  # alive all the same
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "not_ready"
        assert "openslots migrate" in response.json()["error"]["message"]
        apply_migrations(client.app.state.settings.database)  # type: ignore[attr-defined]
        response = client.get("/readyz")
        assert (response.status_code, response.json()) == (
            200,
            {"status": "ready", "revision": head_revision()},
        )


def test_readyz_is_503_when_the_database_is_unreachable() -> None:
    with _app_client("postgresql://postgres:hunter2@127.0.0.1:1/none") as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "error": {"code": "not_ready", "message": "the database cannot be reached"}
    }


# -- the demo's data, in process on both backends -------------------------------------------


def test_demo_seed_finds_its_own_objects_again(database: Database) -> None:
    from sqlalchemy import insert, select

    from openslots import demo
    from openslots.store import catalog
    from openslots.store.schema import manual_blocks, services

    now = 1_772_366_400  # Sunday 2026-03-01T12:00:00Z
    first = demo.seed_demo(database, now)
    assert first is not None
    assert first.api_key is not None
    assert set(first.resource_ids) == {"Alice", "Bob"}
    with database.read() as connection:
        blocks = connection.execute(select(manual_blocks.c.rrule)).scalars().all()
    assert len(blocks) == 4
    assert sum(rule is not None for rule in blocks) == 2  # two recurring, two one-off

    slot = demo.first_free_slot(database, first, now)
    assert slot is not None
    assert slot["start"] == "2026-03-02T08:00:00Z"  # Monday 09:00 in Berlin, Alice
    assert slot["resource_ids"] == [first.resource_ids["Alice"]]

    # A service the user added, sorting before the demo's, does not replace it.
    with database.write() as connection:
        connection.execute(
            insert(services).values(
                id="00000000-0000-0000-0000-000000000000",
                org_id=first.org_id,
                name="Added later",
                duration=60,
                version=0,
            )
        )
    again = demo.seed_demo(database, now + 3600)
    assert again == demo.Demo(first.org_id, first.service_id, first.resource_ids, api_key=None)
    text = demo.instructions(again, base_url="http://x", slot=slot, mint="openslots")
    assert "osk_" not in text
    assert "export OPENSLOTS_KEY=$(openslots keys create demo)" in text
    assert f"export SERVICE_ID={first.service_id} " in text

    with database.write() as connection:
        assert first.service_id is not None
        catalog.delete_object(connection, first.org_id, "services", first.service_id)
    gone = demo.seed_demo(database, now)
    assert gone is not None
    assert gone.service_id is None
    assert demo.first_free_slot(database, gone, now) is None
    assert "no longer exists" in demo.instructions(gone, base_url="x", slot=None, mint="o")


def test_demo_is_nobodys_in_a_database_with_organizations(database: Database) -> None:
    from openslots import demo
    from openslots.store import catalog

    with database.write() as connection:
        catalog.create_org(connection, "Acme", "acme", 0)
    assert demo.seed_demo(database, 0) is None


# -- serve runs a sync worker; api does not -------------------------------------------------

SYNC_ENV = {"OPENSLOTS_SYNC__ALLOW_PRIVATE_NETWORKS": "true", "OPENSLOTS_SYNC__POLL_SECONDS": "0.2"}


def _feed() -> bytes:
    start = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y%m%dT100000Z")
    end = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y%m%dT110000Z")
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:one@tests\r\nDTSTAMP:{start}\r\nDTSTART:{start}\r\nDTEND:{end}\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def _connect(server: Running, workdir: Path, sqlite_url: str, feed_url: str) -> tuple[str, str]:
    created = _run(workdir, sqlite_url, "orgs", "create", "Sync Co", "--json")
    token = json.loads(created.stdout)["api_key"]
    status, resource = _request(
        f"{server.url}/v1/resources", token, {"name": "room", "timezone": "UTC"}
    )
    assert status == 201, resource
    body = {"resource_id": resource["id"], "provider": "ics", "settings": {"url": feed_url}}
    status, connection = _request(f"{server.url}/v1/connections", token, body)
    assert status == 201, connection
    return token, connection["id"]


def test_serve_syncs_a_new_connection_by_itself(workdir: Path, sqlite_url: str) -> None:
    with IcsServer() as feeds, serving(workdir, sqlite_url, env=SYNC_ENV) as server:
        feeds.set_feed("/cal.ics", _feed())
        token, connection_id = _connect(server, workdir, sqlite_url, feeds.url("/cal.ics"))
        deadline = time.monotonic() + 20
        while True:
            _, shown = _request(f"{server.url}/v1/connections/{connection_id}", token)
            if shown["status"] != "pending":
                break
            assert time.monotonic() < deadline, "serve's worker never synced the connection"
            time.sleep(0.1)
        assert (shown["status"], shown["last_error"]) == ("ok", None)
        assert feeds.requests_for("/cal.ics")
    # No key configured with SQLite: one was made beside the database, owner-only.
    key_file = Path(sqlite_url.removeprefix("sqlite:///") + ".key")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_api_alone_does_not_sync(workdir: Path, sqlite_url: str) -> None:
    with (
        IcsServer() as feeds,
        serving(workdir, sqlite_url, command="api", env=SYNC_ENV) as server,
    ):
        feeds.set_feed("/cal.ics", _feed())
        token, connection_id = _connect(server, workdir, sqlite_url, feeds.url("/cal.ics"))
        time.sleep(1.0)  # five poll intervals of a worker, had there been one
        _, shown = _request(f"{server.url}/v1/connections/{connection_id}", token)
        assert shown["status"] == "pending"
        assert feeds.requests_for("/cal.ics") == []
        # ... but it syncs on demand.
        status, synced = _request(f"{server.url}/v1/connections/{connection_id}/sync", token, {})
        assert (status, synced["sync"]) == (200, "ok"), synced
