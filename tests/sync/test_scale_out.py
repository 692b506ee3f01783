"""Scale-out on PostgreSQL (DESIGN §5-6, issue 4 item 6): three real `openslots worker`
processes share 200 ICS connections to a local feed server.

* each connection is synced about once per period and never by two workers at once (the feed
  server counts requests for one feed being answered at the same moment);
* `kill -9` of the worker syncing a connection (its request held open by the server): another
  worker syncs that connection within lease + poll interval + 1 s, and no block is lost.
"""

from __future__ import annotations

import itertools
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from openslots.credentials import CredentialCipher, generate_key
from openslots.store import catalog
from openslots.store.connections import create_connection
from openslots.store.database import Database
from openslots.store.migrate import upgrade
from openslots.store.schema import busy_blocks, connections
from tests.databases import fresh_postgres_database
from tests.fakes.ics_server import IcsServer

CONNECTIONS = 200
PERIOD = 4  # seconds between syncs of one connection
POLL = 0.5
LEASE = 3
WORKERS = 3


def feed(index: int) -> bytes:
    start = (datetime.now(UTC) + timedelta(days=2, minutes=index)).replace(microsecond=0)
    stamp = "%Y%m%dT%H%M%SZ"
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//openslots tests//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:event-{index}@tests\r\nDTSTAMP:{start.strftime(stamp)}\r\n"
        f"DTSTART:{start.strftime(stamp)}\r\n"
        f"DTEND:{(start + timedelta(minutes=30)).strftime(stamp)}\r\n"
        "SUMMARY:busy\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


class Fleet:
    """The worker processes."""

    def __init__(self, url: str, key: str, logs: Path) -> None:
        self.env = {
            **os.environ,
            "OPENSLOTS_DATABASE_URL": url,
            "OPENSLOTS_SECURITY__ENCRYPTION_KEYS": key,
            "OPENSLOTS_SYNC__ALLOW_PRIVATE_NETWORKS": "true",
            "OPENSLOTS_SYNC__POLL_SECONDS": str(POLL),
            "OPENSLOTS_SYNC__LEASE_SECONDS": str(LEASE),
            "OPENSLOTS_SYNC__CONCURRENCY": "8",
        }
        self.logs = logs
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, count: int) -> None:
        for index in range(count):
            with (self.logs / f"worker-{index}.log").open("wb") as log:
                self.processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "openslots", "worker"],
                        env=self.env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )

    def stop(self) -> None:
        began = time.monotonic()
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            # A worker finishes the syncs it runs first, each bounded by the fetch's 30 s.
            try:
                process.wait(timeout=45)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        print(f"workers stopped {time.monotonic() - began:.2f} s after SIGTERM")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with fresh_postgres_database("openslots_scale") as url:
        yield url


def _wait(condition: object, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, message
        time.sleep(0.05)


def test_three_workers_share_two_hundred_connections(postgres_url: str, tmp_path: Path) -> None:
    database = Database(postgres_url)
    upgrade(database)
    key = generate_key()
    cipher = CredentialCipher([key])
    fleet = Fleet(postgres_url, key, tmp_path)
    with IcsServer() as server:
        server.set_delay(0.02)  # a feed takes a little while: syncs overlap in time
        paths = {}
        with database.write() as connection:
            org = catalog.create_org(connection, "fleet", "fleet", int(time.time()))
            resource = catalog.create(
                connection, org["id"], "resources", {"name": "room", "timezone": "UTC"}
            )
            for index in range(CONNECTIONS):
                path = f"/feeds/{index}.ics"
                server.set_feed(path, feed(index))
                row = create_connection(
                    connection,
                    org["id"],
                    resource_id=resource["id"],
                    provider="ics",
                    settings={"url": f"http://127.0.0.1:{server.port}/…"},
                    credentials=cipher.encrypt({"url": server.url(path)}),
                    sync_interval=PERIOD,
                    now=int(time.time()),
                )
                paths[row["id"]] = path

        def synced_once() -> bool:
            with database.read() as connection:
                return (
                    connection.execute(
                        select(func.count()).where(connections.c.last_success_at.is_not(None))
                    ).scalar_one()
                    == CONNECTIONS
                )

        def block_count() -> int:
            with database.read() as connection:
                return int(
                    connection.execute(select(func.count()).select_from(busy_blocks)).scalar_one()
                )

        fleet.start(WORKERS)
        try:
            _wait(synced_once, 60, "not every connection was synced within a minute")
            assert block_count() == CONNECTIONS
            # -- steady state: about once per period, never two at once --------------------
            server.clear_log()
            began = time.monotonic()
            time.sleep(4 * PERIOD)
            ended = time.monotonic()
            requests = [r for r in server.requests if began <= r.at < ended]
            per_path: dict[str, list[float]] = {}
            for request in requests:
                per_path.setdefault(request.path, []).append(request.at)
            assert set(per_path) == set(paths.values())
            counts = [len(times) for times in per_path.values()]
            gaps = [b - a for times in per_path.values() for a, b in itertools.pairwise(times)]
            median_gap = statistics.median(gaps)
            print(
                f"\nsteady state: {len(requests)} syncs in {ended - began:.1f} s, "
                f"per connection {min(counts)}-{max(counts)}, median gap {median_gap:.2f} s "
                f"(period {PERIOD} s, poll {POLL} s)"
            )
            # A sync is due one period after its last one started, and is picked up by the
            # next poll; seconds are whole in the database, so a gap can also be a second less.
            assert PERIOD - 1 <= median_gap <= PERIOD + POLL + 1
            assert min(counts) >= 3
            assert max(counts) <= 5
            assert server.max_in_flight() == 1
            assert block_count() == CONNECTIONS

            # -- kill -9 the worker that is syncing one connection ---------------------------
            victim_id, victim_path = next(iter(paths.items()))
            server.hang(victim_path)
            _wait(lambda: server.in_flight(victim_path) == 1, 3 * PERIOD, "never fetched")
            with database.read() as connection:
                owner = connection.execute(
                    select(connections.c.lease_owner).where(connections.c.id == victim_id)
                ).scalar_one()
            pid = int(owner.split(":")[1])
            assert pid in {p.pid for p in fleet.processes}
            os.kill(pid, signal.SIGKILL)
            killed_at = time.monotonic()
            server.release(victim_path)

            def taken_over() -> bool:
                return any(
                    r.at > killed_at and r.status is not None
                    for r in server.requests_for(victim_path)
                )

            _wait(taken_over, LEASE + POLL + 10, "the dead worker's connection was never synced")
            took = min(r.at for r in server.requests_for(victim_path) if r.at > killed_at)
            print(f"taken over {took - killed_at:.2f} s after kill -9 (lease {LEASE} s)")
            assert took - killed_at <= LEASE + POLL + 1
            assert block_count() == CONNECTIONS
            with database.read() as connection:
                row = connection.execute(
                    select(connections).where(connections.c.id == victim_id)
                ).one()
            assert row.lease_owner != owner
            assert server.max_in_flight() == 1
        finally:
            fleet.stop()
            database.dispose()
