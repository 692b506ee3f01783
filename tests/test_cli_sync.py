"""The operator's sync commands against a real feed server: `openslots connections list`
(a status table, or JSON) and `openslots sync ID|--all` (a progress bar, exit 1 on failure)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from openslots.credentials import cipher_for
from openslots.store import catalog
from openslots.store.connections import create_connection
from openslots.store.database import Database
from openslots.store.migrate import upgrade
from tests.fakes.ics_server import IcsServer


def _feed() -> bytes:
    day = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y%m%d")
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\nUID:a@tests\r\n"
        f"DTSTAMP:{day}T090000Z\r\nDTSTART:{day}T090000Z\r\nDTEND:{day}T100000Z\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def _openslots(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENSLOTS_")}
    env |= {"OPENSLOTS_DATABASE_URL": url, "OPENSLOTS_SYNC__ALLOW_PRIVATE_NETWORKS": "true"}
    return subprocess.run(
        [sys.executable, "-m", "openslots", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[str, IcsServer, dict[str, str]]]:
    url = f"sqlite:///{tmp_path / 'openslots.db'}"
    database = Database(url)
    upgrade(database)
    # The key the commands will use: generated beside the SQLite file on first use.
    cipher = cipher_for([], url)
    server = IcsServer()
    server.start()
    server.set_feed("/good.ics", _feed())
    server.set_feed("/also-good.ics", _feed())
    server.set_response("/broken.ics", 500, b"oops")
    ids = {}
    with database.write() as connection:
        org = catalog.create_org(connection, "Ops", "ops", int(time.time()))
        resource = catalog.create(
            connection, org["id"], "resources", {"name": "Room 1", "timezone": "UTC"}
        )
        for name in ("good", "also-good", "broken"):
            ids[name] = create_connection(
                connection,
                org["id"],
                resource_id=resource["id"],
                provider="ics",
                settings={"url": f"{server.base_url}/…"},
                credentials=cipher.encrypt({"url": server.url(f"/{name}.ics")}),
                sync_interval=900,
                now=int(time.time()),
            )["id"]
    database.dispose()
    yield url, server, ids
    server.stop()


def test_list_sync_all_and_one(seeded: tuple[str, IcsServer, dict[str, str]]) -> None:
    url, server, ids = seeded
    table = _openslots(url, "connections", "list")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:5] == ["ID", "ORG", "RESOURCE", "PROVIDER", "STATUS"]
    assert sum("pending" in line and "never" in line for line in lines) == 3

    everything = _openslots(url, "sync", "--all")
    assert everything.returncode == 1  # one feed is broken
    assert "3/3" in everything.stderr
    assert "ok 2" in everything.stderr
    assert "error 1" in everything.stderr
    shown = json.loads(_openslots(url, "connections", "list", "--json", "--org", "ops").stdout)
    statuses = {row["id"]: (row["status"], row["last_error"]) for row in shown}
    assert statuses[ids["good"]] == ("ok", None)
    assert statuses[ids["broken"]][0] == "error"
    assert "500" in statuses[ids["broken"]][1]
    assert server.url("/broken.ics") not in everything.stderr + json.dumps(shown)

    one = _openslots(url, "sync", ids["good"])
    assert one.returncode == 0, one.stderr
    assert json.loads(one.stdout) == {
        "id": ids["good"],
        "status": "ok",
        "last_error": None,
        "sync": "ok",
    }


@pytest.mark.parametrize(
    ("args", "code"),
    [(("sync",), 2), (("sync", "x", "--all"), 2), (("sync", "no-such-id"), 1)],
)
def test_sync_needs_one_target(
    seeded: tuple[str, IcsServer, dict[str, str]], args: tuple[str, ...], code: int
) -> None:
    result = _openslots(seeded[0], *args)
    assert result.returncode == code
    assert json.loads(result.stderr)["error"]["code"] in {"validation_error", "not_found"}


def test_connect_names_what_is_missing(seeded: tuple[str, IcsServer, dict[str, str]]) -> None:
    url = seeded[0]
    unknown = _openslots(url, "connect", "google", "--resource", "no-such-resource")
    assert unknown.returncode == 1
    assert json.loads(unknown.stderr)["error"]["code"] == "not_found"
    database = Database(url)
    with database.read() as connection:
        resource_id = connection.execute(text("SELECT id FROM resources")).scalar_one()
    database.dispose()
    # No OAuth client configured: refused before any prompt, naming the key to set.
    unconfigured = _openslots(url, "connect", "outlook", "--resource", resource_id)
    assert unconfigured.returncode == 1
    assert "outlook.client_id" in json.loads(unconfigured.stderr)["error"]["message"]
