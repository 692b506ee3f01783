"""Free/busy feeds, checked the way their consumers read them.

Every feed body is parsed with icalendar, and what it says is compared with a reference computed
here from the store by brute force (every elementary segment between block edges, judged on
its own): the FREEBUSY periods per FBTYPE, and the busy events, must be exactly the store's busy
time. The last tests import the feed into a real Radicale over CalDAV and read it back with a
time-range query, as a calendar app that subscribes to it would.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from caldav.collection import Calendar as DavCalendar
from caldav.davclient import DAVClient
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from icalendar import Calendar
from sqlalchemy import insert, select

from openslots.store import catalog, reservations
from openslots.store.blocks import blocks_in_window
from openslots.store.database import Database
from openslots.store.feeds import Feed, combine_levels, feed_window, team_levels
from openslots.store.schema import booking_resources, bookings, busy_blocks, feeds
from tests.conftest import FakeClock, Tenant
from tests.fakes.radicale import RadicaleServer

NY = ZoneInfo("America/New_York")
DAY = 86_400
HOUR = 3600
# The default window at the fake clock's 2026-03-01T12:00Z: 7 whole UTC days back, 60 ahead.
WINDOW = (1_771_718_400, 1_777_593_600)  # [2026-02-22T00:00Z, 2026-05-01T00:00Z)
RANK = {"tentative": 1, "busy": 2, "oof": 3}
FBTYPE = {1: "BUSY-TENTATIVE", 2: "BUSY", 3: "BUSY-UNAVAILABLE"}

Segment = tuple[int, int, int]  # start, end, level (1 tentative, 2 busy, 3 out of office)


# -- the reference ------------------------------------------------------------------------


def reference(
    members: Sequence[Sequence[Segment]], window: tuple[int, int] | None
) -> list[Segment]:
    """Busy time by brute force: each elementary segment between any two edges is judged on
    its own (a member's level there is its strongest span covering it; the subject's is the
    weakest member's), then equal neighbours are joined. Clipped to ``window`` when given."""
    edges = sorted({edge for spans in members for s, e, _ in spans for edge in (s, e)})
    if window is not None:
        edges = sorted({*edges, *window})
    out: list[Segment] = []
    for a, b in itertools.pairwise(edges):
        if window is not None and (a < window[0] or b > window[1]):
            continue
        level = min(
            (max((r for s, e, r in spans if s <= a and b <= e), default=0) for spans in members),
            default=0,
        )
        if not level:
            continue
        if out and out[-1][1] == a and out[-1][2] == level:
            out[-1] = (out[-1][0], b, level)
        else:
            out.append((a, b, level))
    return out


def periods(segments: Sequence[Segment]) -> list[tuple[int, int]]:
    """Segments joined whatever their level."""
    out: list[tuple[int, int]] = []
    for start, end, _ in segments:
        if out and out[-1][1] == start:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def store_spans(database: Database, resource_id: str, window: tuple[int, int]) -> list[Segment]:
    """The resource's busy spans as the store holds them: every block overlapping the window
    (each occurrence of a recurring one) and every confirmed booking overlapping it."""
    start, end = window
    with database.read() as connection:
        blocks = blocks_in_window(connection, [resource_id], start, end)
        booked = connection.execute(
            select(bookings.c.start_at, bookings.c.end_at)
            .join(booking_resources, booking_resources.c.booking_id == bookings.c.id)
            .where(
                booking_resources.c.resource_id == resource_id,
                bookings.c.status == "confirmed",
                bookings.c.start_at < end,
                bookings.c.end_at > start,
            )
        ).all()
    return [(b.start, b.end, RANK[b.kind]) for b in blocks] + [(s, e, 2) for s, e in booked]


# -- reading a feed -------------------------------------------------------------------------


def parse(body: bytes) -> Calendar:
    """The body as icalendar reads it, after checking its lines: CRLF only, 75 octets at
    most, no bare CR or LF."""
    assert body.endswith(b"\r\n")
    lines = body.split(b"\r\n")[:-1]
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    assert max(len(line) for line in lines) <= 75
    calendar = Calendar.from_ical(body)
    assert isinstance(calendar, Calendar)
    return calendar


def text_value(calendar: Calendar, name: str) -> str:
    """A TEXT property unescaped (RFC 5545 §3.3.11); icalendar leaves ``NAME`` and ``X-``
    properties as it found them."""
    raw = calendar[name].to_ical().decode()
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], raw)


def _seconds(value: Any) -> int:
    moment = value.dt if hasattr(value, "dt") else value
    assert isinstance(moment, datetime)
    assert moment.utcoffset() == timedelta(0)
    return int(moment.timestamp())


def freebusy_of(body: bytes) -> tuple[tuple[int, int], list[Segment]]:
    """The VFREEBUSY's window and its periods with their levels, in the body's order."""
    calendar = parse(body)
    (component,) = calendar.walk("VFREEBUSY")
    window = (_seconds(component["DTSTART"]), _seconds(component["DTEND"]))
    found: list[Segment] = []
    lines = component.get("FREEBUSY", [])
    for line in lines if isinstance(lines, list) else [lines]:
        level = {v: k for k, v in FBTYPE.items()}[line.params["FBTYPE"]]
        for start, end in line.dt if isinstance(line.dt, list) else [line.dt]:
            found.append((_seconds(start), _seconds(end), level))
    return window, found


def events_of(body: bytes) -> dict[str, tuple[int, int]]:
    """The busy events by UID, after checking that each says nothing but "Busy"."""
    calendar = parse(body)
    out: dict[str, tuple[int, int]] = {}
    for event in calendar.walk("VEVENT"):
        assert set(event) == {"UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "TRANSP"}
        assert (event["SUMMARY"], event["TRANSP"]) == ("Busy", "OPAQUE")
        out[str(event["UID"])] = (_seconds(event["DTSTART"]), _seconds(event["DTEND"]))
    assert len(out) == len(calendar.walk("VEVENT")), "duplicate UIDs"
    return out


# -- set-up ---------------------------------------------------------------------------------


def utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def local(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=NY).timestamp())


def iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def acme(make_tenant: Callable[[str], Tenant]) -> Tenant:
    return make_tenant("acme")


class Org:
    """Requests as one tenant, and the store beside them."""

    def __init__(self, client: TestClient, database: Database, tenant: Tenant) -> None:
        self.client = client
        self.database = database
        self.tenant = tenant

    def post(self, path: str, body: dict[str, Any] | None = None, scope: str = "admin") -> Any:
        response = self.client.post(path, json=body, headers=self.tenant.headers(scope))
        assert response.status_code == 201, response.text
        return response.json()

    def resource(self, name: str = "alice", team_id: str | None = None) -> str:
        body = {"name": name, "timezone": "America/New_York", "team_id": team_id}
        return str(self.post("/v1/resources", body)["id"])

    def block(self, resource: str, start: int, end: int, **extra: Any) -> str:
        body = {"start": iso(start), "end": iso(end), **extra}
        return str(self.post(f"/v1/resources/{resource}/blocks", body)["id"])

    def synced(self, resource: str, start: int, end: int, kind: str = "busy") -> None:
        with self.database.write() as connection:
            connection.execute(
                insert(busy_blocks).values(
                    id=catalog.new_id(),
                    org_id=self.tenant.org_id,
                    resource_id=resource,
                    source="calendar:work",
                    start_at=start,
                    end_at=end,
                    kind=kind,
                )
            )

    def booking(self, resource: str, start: int, end: int, *, cancelled: bool = False) -> None:
        with self.database.write() as connection:
            service = catalog.create(
                connection,
                self.tenant.org_id,
                "services",
                {"name": "s", "duration": 30, "buffer_before": 900, "resource_ids": [resource]},
            )
            body = {
                "service_id": service["id"],
                "resource_ids": [resource],
                "party_size": 1,
                "buffer_before": 900,
                "buffer_after": 900,
            }
            booking = reservations.create_booking(
                connection, self.tenant.org_id, {**body, "start": start, "end": end}, 0
            )
            if cancelled:
                reservations.cancel_booking(connection, self.tenant.org_id, booking["id"], 0)
            # A live hold: it takes seats for a few minutes, but is not busy time.
            reservations.create_hold(
                connection,
                self.tenant.org_id,
                {**body, "start": end, "end": end + HOUR, "expires_at": 2_000_000_000},
                0,
            )

    def feed(self, path: str, **body: Any) -> dict[str, Any]:
        """Mint a feed; without arguments the request has no body (every field defaults)."""
        minted: dict[str, Any] = self.post(path, body or None, scope="write")
        return minted

    def get(self, url: str, **headers: str) -> Any:
        return self.client.get(url, headers=headers)


@pytest.fixture
def org(client: TestClient, database: Database, acme: Tenant) -> Org:
    return Org(client, database, acme)


def populate(org: Org, resource: str) -> None:
    """Busy time of every source and kind around the window's edges and a DST change
    (2026-03-08 in New York), overlapping one another."""
    # Daily 09:00-10:00 in New York from before the window, across the change: 14:00Z, then 13:00Z.
    org.block(
        resource,
        local("2026-02-18T09:00"),
        local("2026-02-18T10:00"),
        rrule="FREQ=DAILY;COUNT=40",
        timezone="America/New_York",
    )
    # Out of office every Monday 08:00-12:00 in New York, over the daily block.
    org.block(
        resource,
        local("2026-02-23T08:00"),
        local("2026-02-23T12:00"),
        rrule="FREQ=WEEKLY;BYDAY=MO",
        kind="oof",
        timezone="America/New_York",
    )
    # Tentative over the daily block's start, on the day after the change.
    org.block(resource, local("2026-03-10T08:30"), local("2026-03-10T09:30"), kind="tentative")
    # Synced: one across the window's start, one tentative across its end, one inside a booking.
    org.synced(resource, utc("2026-02-21T20:00"), utc("2026-02-22T02:00"))
    org.synced(resource, utc("2026-04-30T22:00"), utc("2026-05-01T03:00"), kind="tentative")
    org.synced(resource, utc("2026-03-04T16:00"), utc("2026-03-04T17:00"), kind="tentative")
    org.booking(resource, utc("2026-03-04T15:30"), utc("2026-03-04T16:30"))
    org.booking(resource, utc("2026-03-05T15:00"), utc("2026-03-05T16:00"), cancelled=True)
    # Touching a daily occurrence (14:00-15:00Z before the change): joined into one period.
    org.synced(resource, utc("2026-03-03T15:00"), utc("2026-03-03T15:45"))


# -- minting, listing, revoking -------------------------------------------------------------


def test_a_feed_shows_its_token_once_and_stores_only_its_hash(org: Org, database: Database) -> None:
    resource = org.resource()
    minted = org.feed(f"/v1/resources/{resource}/feeds", label="Alice (busy)")
    token = minted["token"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)  # 256 bits, >= 128 asked
    assert minted["freebusy_url"] == f"http://testserver/feeds/{token}/freebusy.ics"
    assert minted["busy_url"] == f"http://testserver/feeds/{token}/busy.ics"
    assert {k: minted[k] for k in ("resource_id", "team_id", "label")} == {
        "resource_id": resource,
        "team_id": None,
        "label": "Alice (busy)",
    }
    assert (minted["past_days"], minted["future_days"]) == (7, 60)

    listed = org.get(f"/v1/resources/{resource}/feeds", Authorization=f"Bearer {org.tenant.read}")
    assert listed.status_code == 200
    shown = {k: v for k, v in minted.items() if k not in {"token", "freebusy_url", "busy_url"}}
    assert listed.json() == {"items": [shown], "next_after": None}
    one = org.get(f"/v1/feeds/{minted['id']}", Authorization=f"Bearer {org.tenant.read}")
    assert one.json() == shown
    assert token not in listed.text + one.text

    with database.read() as connection:
        row = connection.execute(select(feeds)).one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in " ".join(map(str, row))
    assert org.get(minted["busy_url"]).status_code == 200


def test_tokens_differ_and_a_second_feed_has_its_own(org: Org) -> None:
    resource = org.resource()
    tokens = {org.feed(f"/v1/resources/{resource}/feeds")["token"] for _ in range(20)}
    assert len(tokens) == 20
    listed = org.get(
        f"/v1/resources/{resource}/feeds?limit=7", Authorization=f"Bearer {org.tenant.read}"
    )
    assert len(listed.json()["items"]) == 7
    assert listed.json()["next_after"]


def test_revoking_a_feed_closes_its_address_at_once(org: Org) -> None:
    resource = org.resource()
    minted = org.feed(f"/v1/resources/{resource}/feeds")
    kept = org.feed(f"/v1/resources/{resource}/feeds")
    assert org.get(minted["freebusy_url"]).status_code == 200

    write = {"Authorization": f"Bearer {org.tenant.write}"}
    assert org.client.delete(f"/v1/feeds/{minted['id']}", headers=write).status_code == 204

    for url in (minted["freebusy_url"], minted["busy_url"]):
        gone = org.get(url)
        assert gone.status_code == 404
        assert gone.json() == {
            "error": {
                "code": "not_found",
                "message": "not found: no such feed (the address is wrong or was revoked)",
            }
        }
    assert org.get(kept["busy_url"]).status_code == 200
    again = org.client.delete(f"/v1/feeds/{minted['id']}", headers=write)
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "not_found"
    listed = org.get(f"/v1/resources/{resource}/feeds", Authorization=f"Bearer {org.tenant.read}")
    assert [f["id"] for f in listed.json()["items"]] == [kept["id"]]


def test_deleting_the_resource_revokes_its_feeds(org: Org) -> None:
    resource = org.resource()
    minted = org.feed(f"/v1/resources/{resource}/feeds")
    deleted = org.client.delete(f"/v1/resources/{resource}", headers=org.tenant.headers())
    assert deleted.status_code == 204, deleted.text
    assert org.get(minted["busy_url"]).status_code == 404


@pytest.mark.parametrize(
    "token",
    [
        "x",
        "00000000-0000-4000-8000-000000000000",
        "A" * 42,
        "A" * 44,
        "A" * 42 + "=",
        "A" * 43,  # well formed, never minted
    ],
)
def test_a_wrong_or_malformed_token_is_a_404_like_any_other(org: Org, token: str) -> None:
    resource = org.resource()
    org.feed(f"/v1/resources/{resource}/feeds")
    for name in ("freebusy.ics", "busy.ics"):
        response = org.get(f"/feeds/{token}/{name}")
        assert response.status_code == 404
        assert response.json()["error"] == {
            "code": "not_found",
            "message": "not found: no such feed (the address is wrong or was revoked)",
        }


def test_minting_needs_the_write_scope_and_an_own_subject(org: Org) -> None:
    resource = org.resource()
    read = {"Authorization": f"Bearer {org.tenant.read}"}
    denied = org.client.post(f"/v1/resources/{resource}/feeds", json={}, headers=read)
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "forbidden"
    anonymous = org.client.post(f"/v1/resources/{resource}/feeds", json={})
    assert anonymous.status_code == 401
    ghost = "00000000-0000-4000-8000-000000000000"
    for path in (f"/v1/resources/{ghost}/feeds", f"/v1/teams/{ghost}/feeds"):
        missing = org.client.post(path, json={}, headers=org.tenant.headers("write"))
        assert missing.status_code == 404, missing.text
        listed = org.client.get(path, headers=read)
        assert listed.status_code == 404, listed.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"past_days": -1}, "past_days"),
        ({"past_days": 91}, "past_days"),
        ({"future_days": 0}, "future_days"),
        ({"future_days": 367}, "future_days"),
        ({"future_days": "60"}, "future_days"),
        ({"label": "x" * 201}, "label"),
        ({"token": "mine"}, "token"),
    ],
)
def test_a_bad_window_or_label_is_a_422_naming_it(
    org: Org, body: dict[str, Any], field: str
) -> None:
    resource = org.resource()
    response = org.client.post(
        f"/v1/resources/{resource}/feeds", json=body, headers=org.tenant.headers("write")
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


def test_the_window_is_whole_utc_days_and_may_be_chosen(org: Org, clock: FakeClock) -> None:
    resource = org.resource()
    org.block(resource, utc("2026-02-27T10:00"), utc("2026-02-27T11:00"))
    org.block(resource, utc("2026-03-03T10:00"), utc("2026-03-03T11:00"))
    org.block(resource, utc("2026-03-05T10:00"), utc("2026-03-05T11:00"))
    minted = org.feed(f"/v1/resources/{resource}/feeds", past_days=2, future_days=3)
    window, found = freebusy_of(org.get(minted["freebusy_url"]).content)
    assert window == (utc("2026-02-27T00:00"), utc("2026-03-05T00:00"))
    assert found == [
        (utc("2026-02-27T10:00"), utc("2026-02-27T11:00"), 2),
        (utc("2026-03-03T10:00"), utc("2026-03-03T11:00"), 2),
    ]
    clock.advance(11 * HOUR + 59 * 60)  # 23:59Z, the same UTC day: the same window
    assert freebusy_of(org.get(minted["freebusy_url"]).content)[0] == window
    clock.advance(60)
    assert freebusy_of(org.get(minted["freebusy_url"]).content)[0] == (
        window[0] + DAY,
        window[1] + DAY,
    )


# -- what a feed says -----------------------------------------------------------------------


def test_free_busy_is_exactly_the_stores_busy_time(org: Org, database: Database) -> None:
    resource = org.resource()
    populate(org, resource)
    minted = org.feed(f"/v1/resources/{resource}/feeds")
    response = org.get(minted["freebusy_url"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["cache-control"] == "private, max-age=300"

    window, found = freebusy_of(response.content)
    assert window == WINDOW
    expected = reference([store_spans(database, resource, WINDOW)], WINDOW)
    assert sorted(found) == found  # by start, then end
    assert found == expected
    # And the facts behind it, spelled out: the DST change moves the daily block in UTC...
    mine = {(s, e) for s, e, _ in found}
    assert (utc("2026-03-07T14:00"), utc("2026-03-07T15:00")) in mine
    assert (utc("2026-03-10T12:30"), utc("2026-03-10T13:00")) in mine  # tentative alone
    assert (utc("2026-03-10T13:00"), utc("2026-03-10T14:00"), 2) in found  # busy wins
    # ...out of office wins over the daily block on Mondays, either side of the change...
    assert (local("2026-03-02T08:00"), local("2026-03-02T12:00"), 3) in found
    assert (local("2026-03-09T08:00"), local("2026-03-09T12:00"), 3) in found
    # ...a booking is busy over a tentative block, a cancelled one and a hold are not...
    assert (utc("2026-03-04T15:30"), utc("2026-03-04T16:30"), 2) in found
    assert (utc("2026-03-04T16:30"), utc("2026-03-04T17:00"), 1) in found
    assert not any(s < utc("2026-03-05T16:00") and e > utc("2026-03-05T15:00") for s, e in mine)
    # ...and blocks across the window's edges are cut there.
    assert found[0] == (WINDOW[0], utc("2026-02-22T02:00"), 2)
    assert found[-1] == (utc("2026-04-30T22:00"), WINDOW[1], 1)


def test_busy_events_are_exactly_the_stores_busy_periods(org: Org, database: Database) -> None:
    resource = org.resource()
    populate(org, resource)
    minted = org.feed(f"/v1/resources/{resource}/feeds")
    response = org.get(minted["busy_url"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = parse(response.content)
    assert text_value(calendar, "X-WR-CALNAME") == "alice"
    assert str(calendar["REFRESH-INTERVAL"].to_ical().decode()) == "PT15M"
    assert "METHOD" not in calendar

    events = events_of(response.content)
    spans = store_spans(database, resource, WINDOW)
    # Whole periods: one that began before the window keeps its start.
    assert sorted(events.values()) == periods(reference([spans], None))
    assert (utc("2026-02-21T20:00"), utc("2026-02-22T02:00")) in events.values()
    assert (utc("2026-03-03T14:00"), utc("2026-03-03T15:45")) in events.values()  # joined
    # Inside the window, the events cover exactly the free/busy periods of every type.
    _, found = freebusy_of(org.get(minted["freebusy_url"]).content)
    inside = [(max(s, WINDOW[0]), min(e, WINDOW[1])) for s, e in sorted(events.values())]
    assert inside == periods(found)


def test_nothing_but_busy_time_is_published(org: Org) -> None:
    resource = org.resource("Dr. Secret; Room 4, Floor 2")
    org.block(resource, utc("2026-03-02T10:00"), utc("2026-03-02T11:00"), note="dentist")
    minted = org.feed(f"/v1/resources/{resource}/feeds")
    for url in (minted["freebusy_url"], minted["busy_url"]):
        body = org.get(url).content
        calendar = parse(body)
        for name in ("DESCRIPTION", "ATTENDEE", "LOCATION", "ORGANIZER", "URL", "COMMENT"):
            assert not [c for c in calendar.walk() if name in c], name
        text = body.decode()
        for secret in ("dentist", resource, minted["id"], minted["token"], org.tenant.org_id):
            assert secret not in text
        assert text_value(calendar, "X-WR-CALNAME") == "Dr. Secret; Room 4, Floor 2"
        assert "NAME:Dr. Secret\\; Room 4\\, Floor 2\r\n" in text


def test_a_long_name_is_folded_and_read_back_whole(org: Org) -> None:
    label = "Équipe d'accueil — salle de réunion « Été » 🗓️ " * 4 + "\nsecond line\x07"
    resource = org.resource()
    minted = org.feed(f"/v1/resources/{resource}/feeds", label=label[:200])
    body = org.get(minted["busy_url"]).content
    calendar = parse(body)  # every line within 75 octets, CRLF only
    expected = label[:200].replace("\x07", "")
    assert text_value(calendar, "X-WR-CALNAME") == expected
    assert text_value(calendar, "NAME") == expected
    assert b"\r\n " in body


def test_uids_are_stable_across_regenerations_and_unrelated_changes(
    org: Org, clock: FakeClock
) -> None:
    resource = org.resource()
    org.block(resource, utc("2026-03-02T10:00"), utc("2026-03-02T11:00"))
    org.block(resource, utc("2026-03-03T10:00"), utc("2026-03-03T11:00"))
    minted = org.feed(f"/v1/resources/{resource}/feeds")
    first = events_of(org.get(minted["busy_url"]).content)
    assert events_of(org.get(minted["busy_url"]).content) == first
    (monday,) = [u for u, (s, _) in first.items() if s == utc("2026-03-02T10:00")]
    (tuesday,) = [u for u, (s, _) in first.items() if s == utc("2026-03-03T10:00")]

    # An unrelated period appears: the others keep their UIDs.
    org.block(resource, utc("2026-03-05T10:00"), utc("2026-03-05T11:00"))
    second = events_of(org.get(minted["busy_url"]).content)
    assert {monday, tuesday} < set(second)
    assert len(second) == 3
    # Monday's period grows: same UID, new end (subscribers update it in place).
    org.block(resource, utc("2026-03-02T11:00"), utc("2026-03-02T12:30"))
    third = events_of(org.get(minted["busy_url"]).content)
    assert third[monday] == (utc("2026-03-02T10:00"), utc("2026-03-02T12:30"))
    assert third[tuesday] == second[tuesday]
    # Days later the window has moved; periods still in it keep their UIDs.
    clock.advance(2 * DAY)
    assert events_of(org.get(minted["busy_url"]).content) == third
    # Another feed of the same resource publishes the same periods under its own UIDs.
    other = events_of(org.get(org.feed(f"/v1/resources/{resource}/feeds")["busy_url"]).content)
    assert sorted(other.values()) == sorted(third.values())
    assert not set(other) & set(third)


def test_etag_and_if_none_match(org: Org) -> None:
    resource = org.resource()
    org.block(resource, utc("2026-03-02T10:00"), utc("2026-03-02T11:00"))
    minted = org.feed(f"/v1/resources/{resource}/feeds")
    for url in (minted["freebusy_url"], minted["busy_url"]):
        first = org.get(url)
        etag = first.headers["etag"]
        assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
        again = org.get(url)
        assert (again.content, again.headers["etag"]) == (first.content, etag)

        for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            cached = org.get(url, **{"If-None-Match": header})
            assert cached.status_code == 304, header
            assert cached.content == b""
            assert cached.headers["etag"] == etag
            assert cached.headers["cache-control"] == "private, max-age=300"
        assert org.get(url, **{"If-None-Match": '"other"'}).status_code == 200

    before = {
        url: org.get(url).headers["etag"] for url in (minted["freebusy_url"], minted["busy_url"])
    }
    org.block(resource, utc("2026-03-03T10:00"), utc("2026-03-03T11:00"))
    for url, etag in before.items():
        changed = org.get(url, **{"If-None-Match": etag})
        assert changed.status_code == 200
        assert changed.headers["etag"] != etag


def test_a_change_outside_the_window_changes_nothing(org: Org) -> None:
    resource = org.resource()
    minted = org.feed(f"/v1/resources/{resource}/feeds")
    etag = org.get(minted["busy_url"]).headers["etag"]
    org.block(resource, utc("2026-06-01T10:00"), utc("2026-06-01T11:00"))
    assert org.get(minted["busy_url"], **{"If-None-Match": etag}).status_code == 304


# -- teams ----------------------------------------------------------------------------------


def test_a_team_is_busy_only_when_every_member_is(org: Org, database: Database) -> None:
    team = str(org.post("/v1/teams", {"name": "Front desk"})["id"])
    ann, bob, cyd = (org.resource(name, team) for name in ("ann", "bob", "cyd"))
    org.resource("outsider")  # not a member: never consulted
    org.block(ann, utc("2026-03-02T10:00"), utc("2026-03-02T12:00"))
    org.block(bob, utc("2026-03-02T11:00"), utc("2026-03-02T13:00"), kind="tentative")
    org.block(cyd, utc("2026-03-02T09:00"), utc("2026-03-02T14:00"), kind="oof")
    org.block(ann, utc("2026-03-03T09:00"), utc("2026-03-03T17:00"), kind="oof")
    org.block(bob, utc("2026-03-03T09:00"), utc("2026-03-03T17:00"), kind="oof")
    org.block(cyd, utc("2026-03-03T12:00"), utc("2026-03-03T13:00"))
    org.booking(cyd, utc("2026-03-03T13:00"), utc("2026-03-03T14:00"))
    org.block(ann, utc("2026-03-04T10:00"), utc("2026-03-04T11:00"))  # only ann: free

    minted = org.feed(f"/v1/teams/{team}/feeds")
    assert minted["team_id"] == team
    assert minted["resource_id"] is None
    _, found = freebusy_of(org.get(minted["freebusy_url"]).content)
    assert found == [
        (utc("2026-03-02T11:00"), utc("2026-03-02T12:00"), 1),  # the weakest member: tentative
        (utc("2026-03-03T12:00"), utc("2026-03-03T14:00"), 2),
    ]
    members = [store_spans(database, r, WINDOW) for r in (ann, bob, cyd)]
    assert found == reference(members, WINDOW)
    body = org.get(minted["busy_url"]).content
    assert text_value(parse(body), "X-WR-CALNAME") == "Front desk"
    assert sorted(events_of(body).values()) == periods(reference(members, None))

    # Cyd leaves the team: Ann and Bob alone are both busy more often.
    moved = org.client.patch(
        f"/v1/resources/{cyd}", json={"team_id": None}, headers=org.tenant.headers()
    )
    assert moved.status_code == 200, moved.text
    _, found = freebusy_of(org.get(minted["freebusy_url"]).content)
    assert found == reference(members[:2], WINDOW)
    assert (utc("2026-03-03T09:00"), utc("2026-03-03T17:00"), 3) in found


def test_a_team_without_members_is_never_busy(org: Org) -> None:
    team = str(org.post("/v1/teams", {"name": "Nobody"})["id"])
    minted = org.feed(f"/v1/teams/{team}/feeds", label="Empty team")
    window, found = freebusy_of(org.get(minted["freebusy_url"]).content)
    assert (window, found) == (WINDOW, [])
    body = org.get(minted["busy_url"]).content
    assert events_of(body) == {}
    assert text_value(parse(body), "X-WR-CALNAME") == "Empty team"
    listed = org.get(f"/v1/teams/{team}/feeds", Authorization=f"Bearer {org.tenant.read}")
    assert [f["id"] for f in listed.json()["items"]] == [minted["id"]]


# -- the level algebra, against the brute-force reference -----------------------------------

_spans = st.lists(
    st.tuples(
        st.integers(0, 40), st.integers(1, 12), st.sampled_from(["busy", "tentative", "oof"])
    ),
    max_size=8,
)


@given(st.lists(_spans, max_size=4))
def test_levels_agree_with_brute_force(members: list[list[tuple[int, int, str]]]) -> None:
    segments = [[(s, s + n, RANK[kind]) for s, n, kind in spans] for spans in members]
    levels = team_levels(
        [
            combine_levels({k: [(s, s + n) for s, n, kind in spans if kind == k] for k in RANK})
            for spans in members
        ]
    )
    expected = reference(segments, None)
    for level in (1, 2, 3):
        at_least = periods([seg for seg in expected if seg[2] >= level])
        assert levels[level - 1].spans == at_least


def test_the_window_is_built_from_the_utc_day() -> None:
    feed = Feed("f", "o", "r", None, None, 7, 60, 0)
    assert feed_window(feed, 1_772_366_400) == WINDOW
    assert feed_window(feed, utc("2026-03-01T00:00")) == WINDOW
    assert feed_window(feed, utc("2026-03-01T23:59")) == WINDOW


# -- a real subscriber: Radicale over CalDAV ------------------------------------------------


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadicaleServer]:
    with RadicaleServer(tmp_path_factory.mktemp("radicale-feeds")) as server:
        yield server


@pytest.fixture
def dav(radicale: RadicaleServer) -> Iterator[tuple[DAVClient, str]]:
    account = radicale.new_account()
    with DAVClient(
        url=radicale.url("/"), username=account.username, password=account.password
    ) as client:
        client.get_principal()  # Radicale creates the principal on first login
        yield client, radicale.url(f"/{account.username}/busy/")


def subscribe(client: DAVClient, collection: str, body: bytes) -> DavCalendar:
    """Import the feed's bytes as they are: a PUT of the whole calendar to a collection, which
    Radicale stores as one object per UID (what a refresh of a subscription amounts to)."""
    response = client.put(
        collection, body.decode(), {"Content-Type": "text/calendar; charset=utf-8"}
    )
    assert response.status in (201, 204), response.status
    return DavCalendar(client=client, url=collection)


def seen_by(calendar: DavCalendar, start: int, end: int) -> dict[str, tuple[int, int, str]]:
    """What a time-range query (CalDAV calendar-query REPORT) finds, by object href: each
    event's span and its data."""
    found: dict[str, tuple[int, int, str]] = {}
    for item in calendar.search(
        start=datetime.fromtimestamp(start, UTC), end=datetime.fromtimestamp(end, UTC), event=True
    ):
        assert item.data is not None
        (event,) = Calendar.from_ical(item.data).walk("VEVENT")
        found[str(item.url)] = (_seconds(event["DTSTART"]), _seconds(event["DTEND"]), item.data)
    return found


def test_radicale_sees_exactly_the_busy_periods(
    org: Org, database: Database, dav: tuple[DAVClient, str]
) -> None:
    client, collection = dav
    resource = org.resource()
    populate(org, resource)
    minted = org.feed(f"/v1/resources/{resource}/feeds")
    body = org.get(minted["busy_url"]).content
    calendar = subscribe(client, collection, body)
    assert calendar.get_display_name() == "alice"  # X-WR-CALNAME, as Radicale reads it

    expected = periods(reference([store_spans(database, resource, WINDOW)], None))
    seen = seen_by(calendar, *WINDOW)
    assert sorted((s, e) for s, e, _ in seen.values()) == expected
    # The server filters by time too: one day after the change holds the daily block alone.
    day = seen_by(calendar, utc("2026-03-11T00:00"), utc("2026-03-12T00:00"))
    assert [(s, e) for s, e, _ in day.values()] == [
        (utc("2026-03-11T13:00"), utc("2026-03-11T14:00"))
    ]


def test_radicale_updates_in_place_on_refresh(
    org: Org, database: Database, dav: tuple[DAVClient, str]
) -> None:
    client, collection = dav
    resource = org.resource()
    org.block(resource, utc("2026-03-02T10:00"), utc("2026-03-02T11:00"))
    doomed = org.block(resource, utc("2026-03-03T10:00"), utc("2026-03-03T11:00"))
    org.block(resource, utc("2026-03-05T10:00"), utc("2026-03-05T11:00"))
    minted = org.feed(f"/v1/resources/{resource}/feeds")
    calendar = subscribe(client, collection, org.get(minted["busy_url"]).content)
    before = seen_by(calendar, *WINDOW)
    assert len(before) == 3

    org.block(resource, utc("2026-03-02T11:00"), utc("2026-03-02T12:00"))  # Monday grows
    gone = org.client.delete(
        f"/v1/resources/{resource}/blocks/{doomed}", headers=org.tenant.headers()
    )
    assert gone.status_code == 204
    subscribe(client, collection, org.get(minted["busy_url"]).content)
    after = seen_by(calendar, *WINDOW)

    expected = periods(reference([store_spans(database, resource, WINDOW)], None))
    assert sorted((s, e) for s, e, _ in after.values()) == expected
    by_start = {s: href for href, (s, _, _) in before.items()}
    monday, tuesday, thursday = (by_start[utc(f"2026-03-0{d}T10:00")] for d in (2, 3, 5))
    # The same objects, not copies: Monday's changed in place, Thursday's untouched.
    assert set(after) == {monday, thursday}
    assert tuesday not in after
    assert after[monday][:2] == (utc("2026-03-02T10:00"), utc("2026-03-02T12:00"))
    assert after[thursday] == before[thursday]
