"""On-demand sync: `availability?sync=true` over 20 ICS connections whose server takes 200 ms.

Issue 4's figure: 20 connections synced on demand answer in under 600 ms. The connections
belong to the 5 resources of one service (4 each), their feeds are served by the local feed
server of the tests with a 200 ms delay on every request (304s included), and the API runs
in-process over a SQLite file, as `openslots serve` would. Every query really syncs all 20
(each source reports ``sync: ok``); a query without sync is shown for comparison.

Run: ``.venv/bin/python bench/on_demand.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from openslots.api.app import create_app
from openslots.api.settings import ApiSettings
from openslots.credentials import CredentialCipher, generate_key
from openslots.store import catalog
from openslots.store.connections import create_connection
from openslots.store.database import Database
from openslots.store.keys import mint_key
from openslots.store.migrate import upgrade
from openslots.sync.fetch import Fetcher
from openslots.sync.registry import ConnectorRegistry
from openslots.sync.services import SyncServices

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.fakes.ics_server import IcsServer

RESOURCES = 5
PER_RESOURCE = 4
UPSTREAM_SECONDS = 0.2
TARGET_MS = 600.0
WEEKDAYS = {
    "timezone": "UTC",
    "rules": [{"day": d, "start": "09:00", "end": "17:00"} for d in ("mon", "tue", "wed", "thu")],
}


def feed(index: int, now: datetime) -> bytes:
    start = (now + timedelta(days=1, hours=index % 8)).replace(minute=0, second=0, microsecond=0)
    stamp = "%Y%m%dT%H%M%SZ"
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//openslots bench//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:bench-{index}\r\nDTSTAMP:{start.strftime(stamp)}\r\n"
        f"DTSTART:{start.strftime(stamp)}\r\n"
        f"DTEND:{(start + timedelta(minutes=45)).strftime(stamp)}\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def seed(database: Database, server: IcsServer, cipher: CredentialCipher) -> tuple[str, str]:
    """An organization with one service over 5 resources with 4 ICS connections each; its
    service id and an API key."""
    now = datetime.now(UTC)
    with database.write() as connection:
        org = catalog.create_org(connection, "bench", "bench", int(now.timestamp()))
        _, token = mint_key(connection, org["id"], ("admin",), "bench", int(now.timestamp()))
        resource_ids = []
        for r in range(RESOURCES):
            body = {"name": f"room {r}", "timezone": "UTC", "schedule": WEEKDAYS}
            resource_ids.append(catalog.create(connection, org["id"], "resources", body)["id"])
            for c in range(PER_RESOURCE):
                index = r * PER_RESOURCE + c
                path = f"/feeds/{index}.ics"
                server.set_feed(path, feed(index, now))
                create_connection(
                    connection,
                    org["id"],
                    resource_id=resource_ids[-1],
                    provider="ics",
                    settings={"url": f"{server.base_url}/…"},
                    credentials=cipher.encrypt({"url": server.url(path)}),
                    sync_interval=900,
                    now=int(now.timestamp()),
                )
        service = catalog.create(
            connection,
            org["id"],
            "services",
            {"name": "consult", "duration": 30, "resource_ids": resource_ids},
        )
    return service["id"], token


async def measure(app: object, service_id: str, token: str, runs: int) -> dict[str, list[float]]:
    today = datetime.now(UTC).date()
    params = {
        "service_id": service_id,
        "start": today.isoformat(),
        "end": (today + timedelta(days=6)).isoformat(),
    }
    headers = {"Authorization": f"Bearer {token}"}
    timings: dict[str, list[float]] = {"sync=true": [], "without sync": []}
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=transport, base_url="http://bench", headers=headers
    ) as client:
        for run in range(runs + 1):
            for label, extra in (("sync=true", {"sync": "true"}), ("without sync", {})):
                began = time.perf_counter()
                response = await client.get("/v1/availability", params={**params, **extra})
                elapsed = (time.perf_counter() - began) * 1000
                response.raise_for_status()
                sources = response.json()["sources"]
                assert len(sources) == RESOURCES * PER_RESOURCE, sources
                if extra:
                    assert all(s["sync"] == "ok" for s in sources), sources
                if run:  # the first round warms imports and connections
                    timings[label].append(elapsed)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, IcsServer() as server:
        server.set_delay(UPSTREAM_SECONDS)
        database = Database(f"sqlite:///{Path(folder) / 'bench.db'}")
        upgrade(database)
        cipher = CredentialCipher([generate_key()])
        service_id, token = seed(database, server, cipher)
        fetcher = Fetcher(allow_private_networks=True)
        sync = SyncServices(
            registry=ConnectorRegistry(), http_client=fetcher.async_client, cipher=cipher
        )
        app = create_app(ApiSettings(database=database, sync=sync))
        timings = asyncio.run(measure(app, service_id, token, args.runs))
        fetcher.close()
        database.dispose()
    connections = RESOURCES * PER_RESOURCE
    print(
        f"availability over {connections} connections, upstream {UPSTREAM_SECONDS * 1000:.0f} ms "
        f"per request, {args.runs} runs"
    )
    print(f"{'query':<14} {'median ms':>10} {'p90 ms':>8} {'min ms':>8} {'max ms':>8}")
    for label, values in timings.items():
        ordered = sorted(values)
        p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
        print(
            f"{label:<14} {statistics.median(values):>10.1f} {p90:>8.1f} "
            f"{ordered[0]:>8.1f} {ordered[-1]:>8.1f}"
        )
    median = statistics.median(timings["sync=true"])
    verdict = "met" if median < TARGET_MS else "MISSED"
    print(f"target: sync=true under {TARGET_MS:.0f} ms: {verdict} (median {median:.1f} ms)")


if __name__ == "__main__":
    main()
