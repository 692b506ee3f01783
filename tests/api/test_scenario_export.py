"""``GET /v1/availability/scenario``: the scenario behind an answer replays to the same slots.

The exported document is fed to the real command line (``python -m openslots slots FILE``) and
its output must equal the API's answer (without ``sources``, which the engine does not know).
The data exercise everything a scenario holds: inherited schedules (team, organization), date
overrides, a location, manual one-off and recurring blocks, synced blocks that start and end
together, tentative blocks, bookings, a live hold, buffers and caps.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from openslots.engine import parse_scenario
from openslots.store import versions
from openslots.store.database import Database
from openslots.store.schema import busy_blocks
from tests.api.test_availability import MONDAY, NY, Shop, week

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def shop(client: Any, make_tenant: Callable[[str], Any]) -> Shop:
    return Shop(client, make_tenant("acme").headers("admin"))


def build(shop: Shop, database: Database) -> dict[str, str]:
    """A small salon with one of everything; the ids by name."""
    ids: dict[str, str] = {}
    response = shop.client.put(
        "/v1/organization/schedule", json=week("mon tue", "08:00", "18:00"), headers=shop.headers
    )
    assert response.status_code == 200, response.text
    team = {"name": "stylists", "schedule": week("mon tue", "10:00", "16:00")}
    ids["team"] = shop.post("/v1/teams", team)["id"]
    alice_hours = {
        **week("mon tue", "09:00", "12:00"),
        "overrides": [{"date": "2026-03-03", "intervals": [{"start": "13:00", "end": "15:00"}]}],
    }
    alice_hours["rules"].append({"day": "mon", "start": "13:00", "end": "17:00"})
    ids["alice"] = shop.resource("alice", alice_hours)
    ids["bob"] = shop.resource("bob", team_id=ids["team"])
    ids["carol"] = shop.resource("carol", capacity=2)
    ids["salon"] = shop.location("salon", week("mon tue", "08:30", "16:30"))
    ids["annex"] = shop.location("annex", week("mon tue", "11:00", "15:00"))
    ids["service"] = shop.service(
        [ids["alice"], ids["bob"], ids["carol"]],
        duration_options=[30, 60],
        interval=15,
        buffer_after=10,
        caps={"per_day": 3},
        location_id=ids["salon"],
    )
    manual = shop.block(ids["alice"], "2026-03-02T15:00:00Z", "2026-03-02T15:45:00Z")
    shop.block(ids["bob"], "2026-03-02T17:00:00Z", "2026-03-02T18:00:00Z", rrule="FREQ=DAILY")
    shop.block(ids["carol"], "2026-03-02T16:00:00Z", "2026-03-02T17:00:00Z", kind="tentative")
    org_id = shop.get("/v1/organization").json()["id"]
    synced = {f"conn-{n}:primary": str(uuid.uuid4()) for n in (1, 2)}
    # Blocks that start and end together are ordered by their ids.
    ids["tied sources"] = ",".join(
        source for _, source in sorted([(manual, "manual")] + [(i, s) for s, i in synced.items()])
    )
    with database.write() as connection:
        # Synced blocks starting and ending with the manual one.
        connection.execute(
            insert(busy_blocks),
            [
                {
                    "id": block_id,
                    "org_id": org_id,
                    "resource_id": ids["alice"],
                    "source": source,
                    "start_at": 1_772_463_600,  # 2026-03-02T15:00:00Z
                    "end_at": 1_772_466_300,
                    "kind": "busy",
                }
                for source, block_id in synced.items()
            ],
        )
        versions.bump_resources(connection, [ids["alice"]])
    booked = shop.book(ids["service"], "2026-03-02T19:00:00Z", resource_ids=[ids["carol"]])
    ids["booking"] = booked["id"]
    shop.book(ids["service"], "2026-03-03T15:00:00Z", resource_ids=[ids["bob"]], duration=60)
    shop.post("/v1/holds", {"service_id": ids["service"], "start": "2026-03-02T20:00:00Z",
                            "resource_ids": [ids["alice"]]})  # fmt: skip
    return ids


def replay(document: dict[str, Any], path: Path) -> dict[str, Any]:
    """The answer of ``openslots slots`` on the document."""
    path.write_text(json.dumps(document))
    done = subprocess.run(
        [sys.executable, "-m", "openslots", "slots", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_the_exported_scenario_replays_to_the_same_slots(
    shop: Shop, database: Database, tmp_path: Path
) -> None:
    ids = build(shop, database)
    queries = [
        {"start": MONDAY, "end": "2026-03-03", "timezone": NY, "explain": "true"},
        {
            "start": MONDAY,
            "end": "2026-03-03",
            "timezone": NY,
            "mode": "combined",
            "resource_id": [ids["alice"], ids["bob"]],
            "duration": "60",
            "include_unavailable": "true",
        },
        {
            "start": "2026-03-02T00:00:00Z",
            "end": "2026-03-04T00:00:00Z",
            "timezone": "Europe/London",
            "location_id": ids["annex"],
            "reschedule_booking_id": ids["booking"],
            "tentative_as_busy": "false",
            "party_size": "1",
            "mode": "balanced",
        },
    ]
    documents = []
    for index, params in enumerate(queries):
        answer = shop.get(service_id=ids["service"], **params)
        assert answer.status_code == 200, answer.text
        exported = shop.get("/v1/availability/scenario", service_id=ids["service"], **params)
        assert exported.status_code == 200, exported.text
        document = exported.json()
        documents.append(document)
        expected = {k: v for k, v in answer.json().items() if k != "sources"}
        assert expected["slots"], "each query should find slots"
        assert replay(document, tmp_path / f"scenario-{index}.json") == expected

    first, combined, moved = documents
    assert first["now"] == "2026-03-01T12:00:00Z"
    assert first["query"]["start"] == "2026-03-02T05:00:00Z"
    assert first["query"]["end"] == "2026-03-04T05:00:00Z"  # the end of Tuesday
    assert first["service"]["location_id"] == ids["salon"]
    assert [t["id"] for t in first["teams"]] == [ids["team"]]
    assert first["organization"]["schedule"]["rules"][0]["start"] == "08:00"
    alice = first["resources"][0]
    assert ",".join(b["source"] for b in alice["busy"]) == ids["tied sources"]
    assert [b["id"][:5] for b in alice["bookings"]] == ["hold:"]
    assert combined["query"]["mode"] == "combined"
    assert combined["query"]["duration"] == 60
    assert moved["service"]["location_id"] == ids["annex"]
    assert [loc["id"] for loc in moved["locations"]] == [ids["annex"]]
    assert moved["query"]["reschedule_booking_id"] == ids["booking"]
    assert moved["query"]["tentative_as_busy"] is False
    assert parse_scenario(moved).query.resource_ids is None  # everyone works at the annex


def test_an_export_is_refused_like_the_listing(shop: Shop) -> None:
    alice = shop.resource("alice", week("mon"))
    service = shop.service([alice])
    for params, field in (
        ({"duration": "45"}, "duration"),
        ({"mode": "combined"}, "resource_id"),
        ({"end": "2026-06-04"}, "end"),
    ):
        query = {"service_id": service, "start": MONDAY, "end": MONDAY, **params}
        for path in ("/v1/availability", "/v1/availability/scenario"):
            response = shop.get(path, **query)
            assert response.status_code == 400, response.text
            assert response.json()["error"]["field"] == field
