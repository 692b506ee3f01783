"""The demo organization of ``openslots serve --demo``: enough data to try every call.

Two resources in different zones with different hours, one service over both, and a few manual
blocks (one-off and recurring) placed relative to "now", so the demo looks the same whenever it
is started. It is seeded only into a database without any organization, in one transaction;
its admin key is shown once, at creation (keys are stored hashed, so a later start can only say
how to mint a new one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from openslots.engine import compute_availability
from openslots.engine.model import Query
from openslots.engine.scenario import format_instant
from openslots.store import catalog, organizations
from openslots.store.blocks import create_manual_block
from openslots.store.database import Database
from openslots.store.keys import mint_key
from openslots.store.scenarios import load_scenario

__all__ = ["DEMO_SLUG", "Demo", "first_free_slot", "instructions", "seed_demo"]

DEMO_SLUG = "demo"
DEMO_NAME = "openslots demo"
DAY = 86_400

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
_ALICE = {
    "name": "Alice",
    "timezone": "Europe/Berlin",
    "capacity": 1,
    "schedule": {
        "timezone": "Europe/Berlin",
        "rules": [
            *({"day": d, "start": "09:00", "end": "12:00"} for d in _WEEKDAYS),
            *({"day": d, "start": "13:00", "end": "17:00"} for d in _WEEKDAYS),
        ],
        "overrides": [],
    },
}
_BOB = {
    "name": "Bob",
    "timezone": "America/New_York",
    "capacity": 1,
    "schedule": {
        "timezone": "America/New_York",
        "rules": [
            *({"day": d, "start": "08:00", "end": "16:00"} for d in _WEEKDAYS[:4]),
            {"day": "sat", "start": "10:00", "end": "14:00"},
        ],
        "overrides": [],
    },
}
SERVICE_NAME = "Consultation"
_SERVICE = {
    "name": SERVICE_NAME,
    "duration": 30,
    "duration_options": None,
    "duration_interval": None,
    "interval": 30,
    "buffer_before": 0,
    "buffer_after": 0,
    "min_notice": 60,
    "horizon": 60 * 24 * 60,
    "seats": None,
    "caps": {"per_day": None, "per_week": None},
    "mode": "none",
    "location_id": None,
}


@dataclass(frozen=True, slots=True)
class Demo:
    """The demo organization's ids; ``api_key`` only when it was created just now."""

    org_id: str
    service_id: str | None  # None when the user deleted or renamed the demo's service
    resource_ids: dict[str, str]  # name -> id
    api_key: str | None


def _next_weekday(now: int, zone: str) -> date:
    """The first Monday-to-Friday date after today in ``zone``."""
    day = datetime.fromtimestamp(now, ZoneInfo(zone)).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _block(
    day: date, span: tuple[str, str], zone: str, *, kind: str, note: str, rrule: str | None = None
) -> dict[str, Any]:
    """A manual block's body: ``span`` is (start, end) in wall times ``HH:MM`` of ``day`` in
    ``zone``."""

    def at(wall: str) -> int:
        hour, minute = map(int, wall.split(":"))
        local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone))
        return int(local.timestamp())

    block = {"start": at(span[0]), "end": at(span[1]), "kind": kind, "timezone": zone, "note": note}
    return {**block, "rrule": rrule} if rrule else block


def _blocks(alice: str, bob: str, now: int) -> list[tuple[str, dict[str, Any]]]:
    """A one-off meeting and a weekly Friday afternoon off for Alice; a daily lunch and a
    one-off morning appointment for Bob. Recurring blocks follow each zone's wall clock."""
    berlin, new_york = "Europe/Berlin", "America/New_York"
    a_day = _next_weekday(now, berlin)
    b_day = _next_weekday(now, new_york)
    friday = a_day + timedelta(days=(4 - a_day.weekday()) % 7)
    return [
        (alice, _block(a_day, ("10:00", "11:00"), berlin, kind="busy", note="team meeting")),
        (
            alice,
            _block(
                friday,
                ("15:00", "17:00"),
                berlin,
                kind="oof",
                note="Fridays off",
                rrule="FREQ=WEEKLY",
            ),
        ),
        (
            bob,
            _block(
                b_day, ("12:00", "13:00"), new_york, kind="busy", note="lunch", rrule="FREQ=DAILY"
            ),
        ),
        (bob, _block(b_day, ("08:00", "09:30"), new_york, kind="busy", note="dentist")),
    ]


def seed_demo(database: Database, now: int) -> Demo | None:
    """Create the demo organization when the database has no organization yet, or find the
    existing one; None when the database holds other organizations (it is nobody's demo)."""
    with database.write() as connection:
        existing = organizations.find_org(connection, DEMO_SLUG)
        if existing is not None:
            # Found by name: the user may have added objects to the demo, or removed these.
            org_id = existing["id"]
            services = organizations.ids_by_name(connection, org_id, "services", {SERVICE_NAME})
            people = organizations.ids_by_name(connection, org_id, "resources", {"Alice", "Bob"})
            return Demo(org_id, services.get(SERVICE_NAME), people, api_key=None)
        if organizations.count_orgs(connection):
            return None
        org = catalog.create_org(connection, DEMO_NAME, DEMO_SLUG, now)
        alice = catalog.create(connection, org["id"], "resources", _ALICE)
        bob = catalog.create(connection, org["id"], "resources", _BOB)
        service = catalog.create(
            connection,
            org["id"],
            "services",
            {**_SERVICE, "resource_ids": [alice["id"], bob["id"]]},
        )
        for resource_id, block in _blocks(alice["id"], bob["id"], now):
            create_manual_block(connection, org["id"], resource_id, block)
        _, token = mint_key(connection, org["id"], ("admin",), "demo", now)
    return Demo(org["id"], service["id"], {"Alice": alice["id"], "Bob": bob["id"]}, token)


def first_free_slot(database: Database, demo: Demo, now: int) -> dict[str, Any] | None:
    """The first available slot of the demo service in the next week (engine answer, UTC)."""
    if demo.service_id is None:
        return None
    query = Query(start=now, end=now + 7 * DAY, first_available=True)
    with database.read() as connection:
        scenario = load_scenario(connection, demo.org_id, demo.service_id, query, now)
    for slot in compute_availability(scenario).slots:
        if slot.available:
            return {
                "start": format_instant(slot.start),
                "end": format_instant(slot.end),
                "resource_ids": list(slot.resource_ids),
            }
    return None


def instructions(demo: Demo, *, base_url: str, slot: dict[str, Any] | None, mint: str) -> str:
    """What ``serve --demo`` prints: the key (once), the ids, and curl lines ready to paste."""
    lines: list[str] = []
    if demo.api_key is not None:
        lines += [
            f'Created the demo organization "{DEMO_NAME}" (slug {DEMO_SLUG}).',
            "Its admin API key is shown only this once (it is stored as a hash):",
            "",
            f"    {demo.api_key}",
            "",
            "Paste these lines into a shell to try the API:",
            "",
            f"export OPENSLOTS_KEY={demo.api_key}",
        ]
    else:
        lines += [
            f"The demo organization (slug {DEMO_SLUG}) already exists. Its key was printed when it",
            "was created and is stored only as a hash; this mints a new admin key:",
            "",
            f"export OPENSLOTS_KEY=$({mint} keys create {DEMO_SLUG})",
        ]
    if demo.service_id is None:
        lines += ["", f"(The demo's {SERVICE_NAME} service no longer exists.)", ""]
        return "\n".join(lines)
    alice, bob = demo.resource_ids.get("Alice", "-"), demo.resource_ids.get("Bob", "-")
    # -w '\n' ends each answer with a newline, so the next prompt starts on its own line.
    curl = "curl -s -w '\\n' -H \"Authorization: Bearer $OPENSLOTS_KEY\""
    post = f'{curl} -X POST -H "Content-Type: application/json"'
    # Without a free slot in the week (everything booked), the user picks one from an answer.
    start = slot["start"] if slot else "PICK-A-START-FROM-AN-ANSWER"
    day = slot["start"][:10] if slot else "PICK-A-DATE"
    hold = '{\\"service_id\\": \\"$SERVICE_ID\\", \\"start\\": \\"$SLOT_START\\"}'
    lines += [
        f"export OPENSLOTS_URL={base_url}",
        f"export SERVICE_ID={demo.service_id}  # Consultation, 30 minutes, Alice or Bob",
        f"export ALICE_ID={alice}  # Europe/Berlin, Mon-Fri 09:00-12:00 and 13:00-17:00",
        f"export BOB_ID={bob}  # America/New_York, Mon-Thu 08:00-16:00, Sat 10:00-14:00",
        f"export SLOT_START={start}  # the first free slot",
        f"export DAY={day}  # its date (UTC)",
        "",
        "# the free slots on $DAY (times in UTC unless you add &timezone=Europe/Berlin or another)",
        f'{curl} "$OPENSLOTS_URL/v1/availability?service_id=$SERVICE_ID&start=$DAY&end=$DAY"',
        "# hold the first free slot for 5 minutes",
        f'HOLD=$({post} "$OPENSLOTS_URL/v1/holds" -d "{hold}"); echo "$HOLD"',
        "# book it: the hold's id confirms it",
        'HOLD_ID=$(echo "$HOLD" | python3 -c '
        "'import json, sys; print(json.load(sys.stdin)[\"id\"])')",
        f'{post} "$OPENSLOTS_URL/v1/bookings" -d "{{\\"hold_id\\": \\"$HOLD_ID\\"}}"',
        "",
        '# More in README.md ("Try it"); the API\'s reference is at $OPENSLOTS_URL/docs',
        "",
    ]
    return "\n".join(lines)
