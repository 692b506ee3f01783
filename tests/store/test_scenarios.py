"""Loading a query's scenario from the store (``store/scenarios.py``), on SQLite and PostgreSQL.

The loader reads with raw column selects and builds blocks without their constructor, for speed;
these tests pin that it loads exactly what a plain reading through the store's own functions
(catalog objects, ``blocks_in_window``, ``reservations_in_window``) gives, and the semantics it
adds: holds' expiry, rescheduled bookings far from the window, locations, foreign ids.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import insert, select

from openslots.engine import (
    Booking,
    BusyBlock,
    Location,
    Organization,
    Query,
    Resource,
    Scenario,
    Team,
)
from openslots.errors import NotFound, ValidationError
from openslots.store import blocks, catalog, reservations, versions
from openslots.store.database import Database
from openslots.store.scenarios import (
    load_query_scenario,
    load_scenario,
    schedule_of,
    service_of,
)
from openslots.store.schema import busy_blocks, resources

NOW = 1_772_366_400  # 2026-03-01T12:00:00Z
MONDAY = NOW + 12 * 3600 + 5 * 3600  # 2026-03-02T05:00:00Z, midnight in New York
DAY = 86_400
NY = "America/New_York"


def week(days: str = "mon tue wed thu fri", start: str = "09:00", end: str = "17:00") -> Any:
    return {"timezone": NY, "rules": [{"day": d, "start": start, "end": end} for d in days.split()]}


def reference_scenario(
    connection: Any, org_id: str, service_id: str, query: Query, now: int
) -> Scenario:
    """The scenario as the store's plain functions read it (the loader's first version)."""
    service_row = catalog.get(connection, org_id, "services", service_id)
    service = service_of(service_row)
    ids = list(service_row["resource_ids"])
    rows = [catalog.get(connection, org_id, "resources", r) for r in ids]
    team_ids = sorted({r["team_id"] for r in rows if r["team_id"]})
    teams = tuple(
        Team(t, schedule_of(catalog.get(connection, org_id, "teams", t)["schedule"]))
        for t in team_ids
    )
    locations: tuple[Location, ...] = ()
    if service.location_id is not None:
        location = catalog.get(connection, org_id, "locations", service.location_id)
        locations = (
            Location(location["id"], location["timezone"], schedule_of(location["schedule"])),
        )
    margin = max(service.buffer_before, service.buffer_after) * 60 + service.duration * 60 + DAY
    longest = max((service.duration, *(service.duration_options or ()))) * 60
    found = blocks.blocks_in_window(
        connection, ids, query.start - margin, query.end + margin + longest
    )
    busy: dict[str, list[BusyBlock]] = {r: [] for r in ids}
    for block in found:
        busy[block.resource_id].append(BusyBlock(block.start, block.end, block.kind, block.source))  # type: ignore[arg-type]
    held = reservations.reservations_in_window(
        connection, ids, query.start - 40 * DAY, query.end + 40 * DAY, now
    )
    return Scenario(
        now=now,
        service=service,
        resources=tuple(
            Resource(
                id=r["id"],
                timezone=r["timezone"],
                capacity=r["capacity"],
                team_id=r["team_id"],
                schedule=schedule_of(r["schedule"]),
                busy=tuple(busy[r["id"]]),
                bookings=_ordered(held[r["id"]]),
            )
            for r in rows
        ),
        query=query,
        organization=Organization(schedule_of(catalog.get_org(connection, org_id)["schedule"])),
        teams=teams,
        locations=locations,
    )


def _ordered(bookings: list[Booking]) -> tuple[Booking, ...]:
    """Bookings by start, then live holds by start (the first loader left the order to the
    database)."""
    return tuple(sorted(bookings, key=lambda b: (b.id.startswith("hold:"), b.start, b.id)))


@dataclass
class Salon:
    org_id: str
    ids: dict[str, str]


@pytest.fixture
def salon(database: Database) -> Salon:
    """An organization with one of everything the scenario holds."""
    ids: dict[str, str] = {}
    with database.write() as c:
        org = catalog.create_org(c, "salon", f"salon-{uuid.uuid4().hex[:6]}", NOW)
        org_id = org["id"]
        catalog.set_org_schedule(c, org_id, week(start="08:00", end="18:00"))
        ids["team"] = catalog.create(
            c, org_id, "teams", {"name": "t", "schedule": week(start="10:00")}
        )["id"]
        ids["location"] = catalog.create(
            c, org_id, "locations", {"name": "l", "timezone": NY, "schedule": week(end="16:00")}
        )["id"]
        ids["other location"] = catalog.create(
            c, org_id, "locations", {"name": "m", "timezone": NY, "schedule": week(end="12:00")}
        )["id"]
        for name, fields in (
            ("alice", {"schedule": week()}),
            ("bob", {"team_id": ids["team"]}),  # the team's hours
            # the org's hours (a null schedule is stored as the JSON text "null")
            ("carol", {"capacity": 2, "location_ids": [ids["other location"]], "schedule": None}),
            ("dave", {"schedule": week()}),  # manual blocks only
        ):
            body = {"name": name, "timezone": NY, **fields}
            ids[name] = catalog.create(c, org_id, "resources", body)["id"]
        make = catalog.create
        ids["service"] = make(
            c,
            org_id,
            "services",
            {
                "name": "s",
                "duration": 30,
                "duration_options": [30, 90],
                "buffer_before": 5,
                "buffer_after": 10,
                "caps": {"per_day": 4, "per_week": None},
                "resource_ids": [ids["alice"], ids["bob"], ids["carol"], ids["dave"]],
                "location_id": ids["location"],
            },
        )["id"]
        alice, bob, carol = ids["alice"], ids["bob"], ids["carol"]
        for hour, kind in ((9, "busy"), (9, "tentative"), (8, "busy")):  # a tie, by block id
            start = MONDAY + hour * 3600
            body = {"start": start, "end": start + 900, "kind": kind}
            blocks.create_manual_block(c, org_id, ids["dave"], body)
        manual = blocks.create_manual_block(
            c, org_id, alice, {"start": MONDAY + 14 * 3600, "end": MONDAY + 15 * 3600}
        )
        ids["manual"] = manual["id"]
        blocks.create_manual_block(
            c,
            org_id,
            bob,
            {
                "start": MONDAY + 12 * 3600,
                "end": MONDAY + 13 * 3600,
                "rrule": "FREQ=DAILY",
                "timezone": NY,
            },
        )
        blocks.create_manual_block(
            c, org_id, carol, {"start": MONDAY - 3 * DAY, "end": MONDAY - 3 * DAY + 600}
        )  # outside the window
        synced = [
            # alice: two blocks tied with the manual one (ordered by id), one identical pair
            (alice, "conn-1:work", MONDAY + 14 * 3600, MONDAY + 15 * 3600, "busy"),
            (alice, "conn-2:home", MONDAY + 14 * 3600, MONDAY + 15 * 3600, "tentative"),
            (alice, "conn-1:work", MONDAY + 9 * 3600, MONDAY + 10 * 3600, "busy"),
            (alice, "conn-1:work", MONDAY + 9 * 3600, MONDAY + 10 * 3600, "busy"),
            (bob, "conn-3:cal", MONDAY + DAY + 11 * 3600, MONDAY + DAY + 12 * 3600, "oof"),
            (bob, "conn-3:cal", MONDAY - 30 * DAY, MONDAY - 29 * DAY, "busy"),  # too early
            (carol, "conn-4:cal", MONDAY + 8 * 3600, MONDAY + 20 * 3600, "busy"),
        ]
        c.execute(
            insert(busy_blocks),
            [
                {
                    "id": str(uuid.uuid4()),
                    "org_id": org_id,
                    "resource_id": r,
                    "source": source,
                    "start_at": start,
                    "end_at": end,
                    "kind": kind,
                }
                for r, source, start, end, kind in synced
            ],
        )

        def reservation(resource_ids: list[str], start: int, **extra: Any) -> dict[str, Any]:
            return {
                "service_id": ids["service"],
                "resource_ids": resource_ids,
                "start": start,
                "end": start + 1800,
                "party_size": 1,
                "buffer_before": 5,
                "buffer_after": 10,
                **extra,
            }

        ids["booking"] = reservations.create_booking(
            c, org_id, reservation([alice, carol], MONDAY + 10 * 3600), NOW
        )["id"]
        reservations.create_booking(c, org_id, reservation([bob], MONDAY - 20 * DAY), NOW)
        cancelled = reservations.create_booking(c, org_id, reservation([bob], MONDAY), NOW)
        reservations.cancel_booking(c, org_id, cancelled["id"], NOW)
        ids["cancelled"] = cancelled["id"]
        ids["far"] = reservations.create_booking(
            c, org_id, reservation([carol], MONDAY + 70 * DAY), NOW
        )["id"]
        for expires in (NOW + 300, NOW + 120, NOW - 1):
            reservations.create_hold(
                c, org_id, reservation([bob], MONDAY + 11 * 3600, expires_at=expires), NOW
            )
    return Salon(org_id, ids)


def query(**fields: Any) -> Query:
    return Query(**{"start": MONDAY, "end": MONDAY + 5 * DAY, "timezone": NY, **fields})


def test_the_loader_reads_what_the_store_functions_read(database: Database, salon: Salon) -> None:
    with database.read() as c:
        loaded = load_scenario(c, salon.org_id, salon.ids["service"], query(), NOW)
        expected = reference_scenario(c, salon.org_id, salon.ids["service"], query(), NOW)
    assert loaded == expected
    alice, bob, carol, dave = loaded.resources
    assert len(alice.busy) == 5  # the identical pair twice, three tied at 09:00 New York
    assert {b.kind for b in bob.busy} == {"busy", "oof"}  # the daily lunch and a synced block
    held = [b.id.startswith("hold:") for b in bob.bookings]
    assert held == [False, True, True]  # a booking 20 days back, two live holds
    assert {b.id for b in carol.bookings} == {salon.ids["booking"]}
    assert [b.start - MONDAY for b in dave.busy] == [8 * 3600, 9 * 3600, 9 * 3600]


def test_blocks_built_without_the_constructor_equal_constructed_ones(
    database: Database, salon: Salon
) -> None:
    with database.read() as c:
        loaded = load_scenario(c, salon.org_id, salon.ids["service"], query(), NOW)
    for resource in loaded.resources:
        for block in resource.busy:
            rebuilt = BusyBlock(block.start, block.end, block.kind, block.source)
            assert block == rebuilt
            assert hash(block) == hash(rebuilt)
            assert repr(block) == repr(rebuilt)


def test_the_earliest_live_hold_bounds_the_answer(database: Database, salon: Salon) -> None:
    with database.read() as c:
        loaded = load_query_scenario(c, salon.org_id, salon.ids["service"], query(), NOW)
        assert loaded.hold_expires_at == NOW + 120
        later = load_query_scenario(c, salon.org_id, salon.ids["service"], query(), NOW + 200)
        assert later.hold_expires_at == NOW + 300
        bob = later.scenario.resources[1]
        assert [b.id.startswith("hold:") for b in bob.bookings] == [False, True]
        none = load_query_scenario(c, salon.org_id, salon.ids["service"], query(), NOW + 300)
        assert none.hold_expires_at is None


def test_a_booking_to_reschedule_is_loaded_wherever_it_is(database: Database, salon: Salon) -> None:
    with database.read() as c:
        plain = load_scenario(c, salon.org_id, salon.ids["service"], query(), NOW)
        moved = load_scenario(
            c,
            salon.org_id,
            salon.ids["service"],
            query(reschedule_booking_id=salon.ids["far"]),
            NOW,
        )
        carol = moved.resources[2]
        assert salon.ids["far"] in {b.id for b in carol.bookings}
        assert salon.ids["far"] not in {b.id for b in plain.resources[2].bookings}
        near = load_scenario(
            c,
            salon.org_id,
            salon.ids["service"],
            query(reschedule_booking_id=salon.ids["booking"]),
            NOW,
        )
        assert near.resources == plain.resources
        cancelled = load_scenario(
            c,
            salon.org_id,
            salon.ids["service"],
            query(reschedule_booking_id=salon.ids["cancelled"]),
            NOW,
        )
        assert cancelled.resources == plain.resources  # the engine then refuses it


def test_a_query_location_replaces_the_services_and_narrows_the_pool(
    database: Database, salon: Salon
) -> None:
    ids = salon.ids
    with database.read() as c:
        at_other = load_query_scenario(
            c, salon.org_id, ids["service"], query(), NOW, location_id=ids["other location"]
        ).scenario
        # Nobody is linked to the service's location but carol to the other: all work there.
        assert at_other.service.location_id == ids["other location"]
        assert [loc.id for loc in at_other.locations] == [ids["other location"]]
        assert at_other.query.resource_ids is None
        at_home = load_query_scenario(
            c, salon.org_id, ids["service"], query(), NOW, location_id=ids["location"]
        ).scenario
        assert at_home.query.resource_ids == (ids["alice"], ids["bob"], ids["dave"])
        assert len(at_home.resources) == 4  # the whole pool is loaded, the query narrows it
        with pytest.raises(ValidationError) as refused:
            load_query_scenario(
                c,
                salon.org_id,
                ids["service"],
                query(resource_ids=(ids["carol"],)),
                NOW,
                location_id=ids["location"],
            )
        assert refused.value.field == "query.resource_ids.0"


def test_foreign_ids_are_not_found(database: Database, salon: Salon) -> None:
    with database.write() as c:
        other = catalog.create_org(c, "other", f"other-{uuid.uuid4().hex[:6]}", NOW)
        their = catalog.create(c, other["id"], "resources", {"name": "x", "timezone": NY})["id"]
        their_location = catalog.create(c, other["id"], "locations", {"name": "y", "timezone": NY})[
            "id"
        ]
    ids = salon.ids
    attempts: list[Callable[[Any], object]] = [
        lambda c: load_scenario(c, other["id"], ids["service"], query(), NOW),
        lambda c: load_scenario(c, salon.org_id, str(uuid.uuid4()), query(), NOW),
        lambda c: load_scenario(c, salon.org_id, ids["service"], query(resource_ids=(their,)), NOW),
        lambda c: load_query_scenario(
            c, salon.org_id, ids["service"], query(), NOW, location_id=their_location
        ),
        lambda c: load_scenario(
            c, other["id"], ids["service"], query(reschedule_booking_id=ids["booking"]), NOW
        ),
        lambda c: load_scenario(
            c,
            salon.org_id,
            ids["service"],
            query(reschedule_booking_id=str(uuid.uuid4())),
            NOW,
        ),
    ]
    with database.read() as c:
        for attempt in attempts:
            with pytest.raises(NotFound):
                attempt(c)


def test_service_state_moves_with_every_change_it_covers(database: Database, salon: Salon) -> None:
    ids = salon.ids

    def state() -> tuple[object, ...]:
        with database.read() as c:
            found = versions.service_state(c, salon.org_id, ids["service"])
            assert found is not None
            return found.versions

    first = state()
    assert first[2::2] == (ids["alice"], ids["bob"], ids["carol"], ids["dave"])
    with database.read() as c:
        assert versions.service_state(c, salon.org_id, str(uuid.uuid4())) is None
        assert versions.service_state(c, str(uuid.uuid4()), ids["service"]) is None
        assert first == (
            *versions.read_versions(c, salon.org_id, ids["service"], [])[:2],
            *(x for r in first[2::2] for x in (r, _version(c, str(r)))),
        )
    changes: list[Callable[[Any], object]] = [
        lambda c: blocks.create_manual_block(
            c, salon.org_id, ids["bob"], {"start": MONDAY, "end": MONDAY + 60}
        ),
        lambda c: catalog.update_object(
            c, salon.org_id, "services", ids["service"], {"interval": 15}
        ),
        lambda c: catalog.update_object(c, salon.org_id, "teams", ids["team"], {"schedule": None}),
        lambda c: catalog.set_org_schedule(c, salon.org_id, None),
        lambda c: reservations.cancel_booking(c, salon.org_id, ids["booking"], NOW),
    ]
    seen = {first}
    for change in changes:
        with database.write() as c:
            change(c)
        seen.add(state())
    assert len(seen) == len(changes) + 1


def _version(connection: Any, resource_id: str) -> int:
    value: int = connection.execute(
        select(resources.c.version).where(resources.c.id == resource_id)
    ).scalar_one()
    return value


def test_ties_keep_the_order_of_block_ids(database: Database, salon: Salon) -> None:
    start = MONDAY + 14 * 3600
    with database.read() as c:
        loaded = load_scenario(c, salon.org_id, salon.ids["service"], query(), NOW)
        synced = c.execute(
            select(busy_blocks.c.id, busy_blocks.c.source).where(
                busy_blocks.c.resource_id == salon.ids["alice"], busy_blocks.c.start_at == start
            )
        ).all()
    expected = [source for _, source in sorted([(salon.ids["manual"], "manual"), *synced])]
    assert len(expected) == 3
    assert [b.source for b in loaded.resources[0].busy if b.start == start] == expected
