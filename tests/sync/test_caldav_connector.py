"""The CalDAV connector against a real Radicale on 127.0.0.1 (:mod:`tests.fakes.radicale`).

The test plays the calendar's owner with the caldav library directly (create, change, delete
events over CalDAV), syncs with the connector through the real SSRF-guarded client, and checks
the busy blocks after applying each result the way the runner does. Each test gets a fresh
account (so discovery sees only its calendars) on one Radicale per session.
"""

from __future__ import annotations

import ast
import asyncio
import json
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from caldav.collection import Calendar
from caldav.davclient import DAVClient
from caldav.elements import cdav
from caldav.lib.url import URL
from icalendar import Timezone

from openslots.errors import UnsafeUrl
from openslots.sync.contract import (
    AuthRevoked,
    BusyEvent,
    CalendarDelta,
    CalendarSnapshot,
    Connector,
    FeedInvalid,
    RateLimited,
    SyncRequest,
    SyncResult,
    SyncWindow,
    TransientError,
    ValidationError,
)
from openslots.sync.fetch import Fetcher
from openslots_caldav import CalDavConnector
from openslots_caldav.cursor import Basis
from openslots_caldav.events import object_events
from openslots_caldav.session import LoopSession, ServerAuth
from openslots_caldav.settings import AuthScheme
from tests.fakes.radicale import Account, Front, RadicaleServer
from tests.sync.contract_suite import DAY, HOUR, WINDOW, ConnectorContract

T0 = WINDOW.start  # 2026-12-01T00:00Z


@pytest.fixture(scope="session")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadicaleServer]:
    with RadicaleServer(tmp_path_factory.mktemp("radicale")) as server:
        yield server


@pytest.fixture(scope="session")
def fetcher() -> Iterator[Fetcher]:
    # The real guard; loopback is allowed the way `sync.allow_private_networks` allows it.
    with Fetcher(allow_private_networks=True) as guarded:
        yield guarded


@pytest.fixture
def account(radicale: RadicaleServer) -> Account:
    return radicale.new_account()


@pytest.fixture
def owner(radicale: RadicaleServer, account: Account) -> Iterator[Owner]:
    with DAVClient(
        url=radicale.url("/"), username=account.username, password=account.password
    ) as client:
        yield Owner(client)


class Owner:
    """The calendar's owner, editing over CalDAV with the caldav library (its own HTTP)."""

    def __init__(self, client: DAVClient) -> None:
        self.client = client
        self.principal = client.get_principal()

    def calendar(
        self, name: str, *, zone: str | None = None, components: tuple[str, ...] = ("VEVENT",)
    ) -> Calendar:
        calendar = self.principal.make_calendar(
            name=name, cal_id=name, supported_calendar_component_set=list(components)
        )
        assert isinstance(calendar, Calendar)  # the sync client's, not a coroutine
        if zone is not None:
            vtimezone = Timezone.from_tzid(zone).to_ical().decode()
            body = (
                f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{vtimezone}END:VCALENDAR\r\n"
            )
            calendar.set_properties([cdav.CalendarTimeZone(body)])
        return calendar

    def put(self, calendar: Calendar, ref: str, *components: str) -> str:
        """Create or replace the object ``ref``.ics holding ``components``; its href."""
        body = "".join(components)
        ics = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{body}END:VCALENDAR\r\n"
        url = _url(calendar).join(f"{ref}.ics")
        response = self.client.put(str(url), ics, {"Content-Type": "text/calendar; charset=utf-8"})
        assert response.status in (201, 204), response.status
        return str(url.path)

    def delete(self, calendar: Calendar, ref: str) -> None:
        response = self.client.delete(str(_url(calendar).join(f"{ref}.ics")))
        assert response.status in (200, 204), response.status


def vevent(uid: str, start: int | str, end: int | str, *lines: str) -> str:
    """A VEVENT; ``start``/``end`` are UTC seconds or ready-made ``DTSTART``/``DTEND`` lines."""
    dtstart = start if isinstance(start, str) else f"DTSTART:{_utc(start)}"
    dtend = end if isinstance(end, str) else f"DTEND:{_utc(end)}"
    extra = "".join(f"{line}\r\n" for line in lines)
    return (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n{dtstart}\r\n{dtend}\r\n"
        f"{extra}END:VEVENT\r\n"
    )


def _utc(seconds: int) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(seconds))


def sync_request(
    url: str,
    account: Account,
    http: Any,
    *,
    cursors: Mapping[str, str | None] | None = None,
    window: SyncWindow = WINDOW,
    **settings: Any,
) -> SyncRequest:
    """A sync of the account at ``url``; ``cursors`` as a result's (``None`` ones left out)."""
    return SyncRequest(
        settings={"url": url, "username": account.username, **settings},
        credentials={"password": account.password},
        window=window,
        http_client=http,
        cursors={k: v for k, v in (cursors or {}).items() if v is not None},
    )


def run(request: SyncRequest) -> SyncResult:
    return asyncio.run(CalDavConnector().sync(request))


def spans(events: tuple[BusyEvent, ...] | list[BusyEvent]) -> list[tuple[int, int, str]]:
    return sorted((e.start, e.end, e.kind) for e in events)


def snapshots(result: SyncResult) -> dict[str, list[tuple[int, int, str]]]:
    """The events of each calendar of ``result``, which must all be snapshots."""
    found = {}
    for part in result.calendars:
        assert isinstance(part, CalendarSnapshot)
        found[part.calendar] = spans(part.events)
    return found


@dataclass
class Store:
    """The events a runner holds per calendar after applying results, with the cursors."""

    events: dict[str, tuple[BusyEvent, ...]]
    cursors: dict[str, str]

    def apply(self, result: SyncResult, window: SyncWindow = WINDOW) -> None:
        for part in result.calendars:
            self.events[part.calendar] = part.apply(self.events.get(part.calendar, ()), window)
            if part.cursor is not None:
                self.cursors[part.calendar] = part.cursor
        for name in result.removed_calendars:
            self.events.pop(name, None)
            self.cursors.pop(name, None)

    def spans(self, calendar: str) -> list[tuple[int, int, str]]:
        return spans(list(self.events.get(calendar, ())))


def _url(calendar: Calendar) -> URL:
    assert calendar.url is not None
    return calendar.url


def path_of(calendar: Calendar) -> str:
    return str(_url(calendar).path)


# --------------------------------------------------------------------------- contract suite


class RadicaleUpstream:
    """The contract suite's harness: one calendar of a fresh account on ``front``."""

    def __init__(
        self,
        radicale: RadicaleServer,
        account: Account,
        owner: Owner,
        fetcher: Fetcher,
        front: Front,
        *,
        by_calendar_url: bool,
    ) -> None:
        self.radicale = radicale
        self.account = account
        self.owner = owner
        self.fetcher = fetcher
        self.front = front
        self.collection = owner.calendar("contract")
        self.calendar = path_of(self.collection)
        path = self.calendar if by_calendar_url else account.principal
        self.url = radicale.url(path, front=front)

    def request(self, window: SyncWindow, cursors: dict[str, str]) -> SyncRequest:
        return sync_request(
            self.url, self.account, self.fetcher.async_client, cursors=cursors, window=window
        )

    def put_event(self, ref: str, start: int, end: int) -> None:
        self.owner.put(self.collection, ref, vevent(ref, start, end))

    def delete_event(self, ref: str) -> None:
        self.owner.delete(self.collection, ref)

    def expire(self, cursor: str) -> str:
        if self.front == "legacy":
            # Nothing upstream can expire without sync tokens; an unreadable cursor stands in.
            return "expired"
        self.radicale.forget_sync_tokens(self.calendar)
        return cursor


class TestCalDavContractWithSyncTokens(ConnectorContract):
    """Calendars discovered from the principal; deltas by RFC 6578 sync-collection."""

    @pytest.fixture
    def connector(self) -> Connector:
        return CalDavConnector()

    @pytest.fixture
    def upstream(
        self, radicale: RadicaleServer, account: Account, owner: Owner, fetcher: Fetcher
    ) -> RadicaleUpstream:
        return RadicaleUpstream(radicale, account, owner, fetcher, "basic", by_calendar_url=False)


class TestCalDavContractWithoutSyncCollection(ConnectorContract):
    """A calendar URL on a server without sync-collection; deltas by ctag and object data."""

    @pytest.fixture
    def connector(self) -> Connector:
        return CalDavConnector()

    @pytest.fixture
    def upstream(
        self, radicale: RadicaleServer, account: Account, owner: Owner, fetcher: Fetcher
    ) -> RadicaleUpstream:
        return RadicaleUpstream(radicale, account, owner, fetcher, "legacy", by_calendar_url=True)


# --------------------------------------------------------------------------- events over CalDAV


def test_create_change_and_delete_events_over_caldav(
    radicale: RadicaleServer, account: Account, owner: Owner, fetcher: Fetcher
) -> None:
    work = owner.calendar("work")
    name = path_of(work)
    store = Store({}, {})
    url = radicale.url(account.principal)

    def sync() -> CalendarSnapshot | CalendarDelta:
        result = run(sync_request(url, account, fetcher.async_client, cursors=store.cursors))
        assert result.problems == ()
        store.apply(result)
        [part] = result.calendars
        return part

    standup = owner.put(work, "standup", vevent("standup", T0 + 9 * HOUR, T0 + 10 * HOUR))
    owner.put(work, "lunch", vevent("lunch", T0 + DAY + 12 * HOUR, T0 + DAY + 13 * HOUR))
    first = sync()
    assert isinstance(first, CalendarSnapshot)
    assert first.calendar == name
    assert {e.external_id for e in first.events} == {standup, f"{name}lunch.ics"}
    assert store.spans(name) == [
        (T0 + 9 * HOUR, T0 + 10 * HOUR, "busy"),
        (T0 + DAY + 12 * HOUR, T0 + DAY + 13 * HOUR, "busy"),
    ]

    # Move one, add one: only those travel.
    owner.put(work, "lunch", vevent("lunch", T0 + DAY + 13 * HOUR, T0 + DAY + 14 * HOUR))
    owner.put(
        work, "review", vevent("review", T0 + 2 * DAY, T0 + 2 * DAY + HOUR, "STATUS:TENTATIVE")
    )
    second = sync()
    assert isinstance(second, CalendarDelta)
    assert spans(second.upserted) == [
        (T0 + DAY + 13 * HOUR, T0 + DAY + 14 * HOUR, "busy"),
        (T0 + 2 * DAY, T0 + 2 * DAY + HOUR, "tentative"),
    ]
    assert store.spans(name) == [
        (T0 + 9 * HOUR, T0 + 10 * HOUR, "busy"),
        (T0 + DAY + 13 * HOUR, T0 + DAY + 14 * HOUR, "busy"),
        (T0 + 2 * DAY, T0 + 2 * DAY + HOUR, "tentative"),
    ]

    # Delete one, make one free: both leave the store by href.
    owner.delete(work, "standup")
    owner.put(
        work, "review", vevent("review", T0 + 2 * DAY, T0 + 2 * DAY + HOUR, "TRANSP:TRANSPARENT")
    )
    third = sync()
    assert isinstance(third, CalendarDelta)
    assert third.upserted == ()
    assert set(third.deleted_ids) == {standup, f"{name}review.ics"}
    assert store.spans(name) == [(T0 + DAY + 13 * HOUR, T0 + DAY + 14 * HOUR, "busy")]

    # Nothing changed: an empty delta, and no REPORT sent for it.
    before = len(radicale.requests)
    fourth = sync()
    assert isinstance(fourth, CalendarDelta)
    assert (fourth.upserted, fourth.deleted_ids) == ((), ())
    assert not [r for r in radicale.requests[before:] if r.method == "REPORT"]


BERLIN_SERIES = (
    "DTSTART;TZID=Europe/Berlin:20261201T090000",
    "DTEND;TZID=Europe/Berlin:20261201T100000",
)


def test_a_recurring_event_with_an_exdate_and_a_moved_instance(
    radicale: RadicaleServer, account: Account, owner: Owner, fetcher: Fetcher
) -> None:
    work = owner.calendar("work")
    name = path_of(work)
    series = vevent(
        "daily",
        *BERLIN_SERIES,
        "RRULE:FREQ=DAILY;COUNT=5",
        "EXDATE;TZID=Europe/Berlin:20261202T090000",
    )
    moved = vevent(
        "daily",
        "DTSTART;TZID=Europe/Berlin:20261203T140000",
        "DTEND;TZID=Europe/Berlin:20261203T153000",
        "RECURRENCE-ID;TZID=Europe/Berlin:20261203T090000",
    )
    href = owner.put(work, "daily", series, moved)
    url = radicale.url(account.principal)
    result = run(sync_request(url, account, fetcher.async_client))
    [part] = result.calendars
    assert isinstance(part, CalendarSnapshot)
    # Berlin is UTC+1 in December: 09:00 local is 08:00Z.
    assert spans(part.events) == [
        (T0 + 8 * HOUR, T0 + 9 * HOUR, "busy"),  # Dec 1
        # Dec 2 excluded; Dec 3 moved to 14:00-15:30 local
        (T0 + 2 * DAY + 13 * HOUR, T0 + 2 * DAY + 14 * HOUR + 1800, "busy"),
        (T0 + 3 * DAY + 8 * HOUR, T0 + 3 * DAY + 9 * HOUR, "busy"),
        (T0 + 4 * DAY + 8 * HOUR, T0 + 4 * DAY + 9 * HOUR, "busy"),
    ]
    assert {e.external_id for e in part.events} == {href}

    # Cancel one instance: the delta carries the whole series again under the same href.
    cancelled = vevent(
        "daily",
        "DTSTART;TZID=Europe/Berlin:20261205T090000",
        "DTEND;TZID=Europe/Berlin:20261205T100000",
        "RECURRENCE-ID;TZID=Europe/Berlin:20261205T090000",
        "STATUS:CANCELLED",
    )
    owner.put(work, "daily", series, moved, cancelled)
    store = Store({name: part.events}, {})
    store.apply(result)
    delta = run(sync_request(url, account, fetcher.async_client, cursors=store.cursors))
    store.apply(delta)
    [changed] = delta.calendars
    assert isinstance(changed, CalendarDelta)
    assert {e.external_id for e in changed.upserted} == {href}
    assert store.spans(name) == spans(part.events)[:-1]


def test_all_day_events_are_read_in_the_calendar_zone(
    radicale: RadicaleServer, account: Account, owner: Owner, fetcher: Fetcher
) -> None:
    auckland = owner.calendar("auckland", zone="Pacific/Auckland")
    plain = owner.calendar("plain")
    day = vevent("day", "DTSTART;VALUE=DATE:20261203", "DTEND;VALUE=DATE:20261204")
    owner.put(auckland, "day", day)
    owner.put(plain, "day", day)
    # Days at the window's edges that overlap it only in the calendar's zone, not in UTC.
    owner.put(
        auckland, "last", vevent("last", "DTSTART;VALUE=DATE:20261211", "DTEND;VALUE=DATE:20261212")
    )
    owner.put(
        plain, "first", vevent("first", "DTSTART;VALUE=DATE:20261130", "DTEND;VALUE=DATE:20261201")
    )
    request = replace(
        sync_request(radicale.url(account.principal), account, fetcher.async_client),
        default_zone="America/New_York",
    )
    result = run(request)
    events = snapshots(result)
    # calendar-timezone wins: midnight in Auckland (UTC+13 in December) is 11:00Z the day before.
    assert events[path_of(auckland)] == [
        (T0 + DAY + 11 * HOUR, T0 + 2 * DAY + 11 * HOUR, "busy"),
        (T0 + 9 * DAY + 11 * HOUR, T0 + 10 * DAY + 11 * HOUR, "busy"),
    ]
    # Without one, the resource's zone: midnight in New York (UTC-5) is 05:00Z.
    assert events[path_of(plain)] == [
        (T0 - DAY + 5 * HOUR, T0 + 5 * HOUR, "busy"),
        (T0 + 2 * DAY + 5 * HOUR, T0 + 3 * DAY + 5 * HOUR, "busy"),
    ]


def test_busy_rules_are_the_shared_ones(
    radicale: RadicaleServer, account: Account, owner: Owner, fetcher: Fetcher
) -> None:
    work = owner.calendar("work")
    slot = (T0 + 10 * HOUR, T0 + 11 * HOUR)
    invited = "ATTENDEE;PARTSTAT=DECLINED:mailto:Owner@Example.org"
    owner.put(work, "busy", vevent("busy", *slot))
    owner.put(work, "free", vevent("free", *slot, "TRANSP:TRANSPARENT"))
    owner.put(work, "cancelled", vevent("cancelled", *slot, "STATUS:cancelled"))
    owner.put(work, "maybe", vevent("maybe", *slot, "STATUS:TENTATIVE"))
    owner.put(work, "declined", vevent("declined", *slot, invited))
    owner.put(work, "empty", vevent("empty", slot[0], slot[0]))
    url = radicale.url(account.principal)

    def busy(**settings: Any) -> dict[str, str]:
        [part] = run(sync_request(url, account, fetcher.async_client, **settings)).calendars
        assert isinstance(part, CalendarSnapshot)
        return {e.external_id.rsplit("/", 1)[1]: e.kind for e in part.events}

    assert busy() == {"busy.ics": "busy", "maybe.ics": "tentative", "declined.ics": "busy"}
    assert busy(emails=["owner@example.org"]) == {"busy.ics": "busy", "maybe.ics": "tentative"}


def test_a_broken_object_is_skipped_and_reported_while_the_rest_sync(
    radicale: RadicaleServer, account: Account, owner: Owner, fetcher: Fetcher
) -> None:
    # Radicale refuses objects that do not parse (PUT 400) and hides corrupt files, so the
    # broken object is one it stores but normalization must refuse: a rule that would
    # expand to 900,000 occurrences in the window.
    work = owner.calendar("work")
    good = owner.put(work, "good", vevent("good", T0 + HOUR, T0 + 2 * HOUR))
    bomb = owner.put(work, "bomb", vevent("bomb", T0, T0 + 1, "RRULE:FREQ=SECONDLY"))
    url = radicale.url(account.principal)
    result = run(sync_request(url, account, fetcher.async_client))
    [part] = result.calendars
    assert isinstance(part, CalendarSnapshot)
    assert [(e.external_id, e.start) for e in part.events] == [(good, T0 + HOUR)]
    [problem] = result.problems
    assert (problem.calendar, problem.external_id) == (path_of(work), bomb)
    assert "too expensive" in problem.message


def test_a_calendar_zone_that_is_not_an_iana_zone_is_reported(
    radicale: RadicaleServer, account: Account, owner: Owner, fetcher: Fetcher
) -> None:
    work = owner.calendar("work")
    custom = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VTIMEZONE\r\n"
        "TZID:Office Time\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n"
        "TZOFFSETFROM:+0300\r\nTZOFFSETTO:+0300\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
        "END:VCALENDAR\r\n"
    )
    work.set_properties([cdav.CalendarTimeZone(custom)])
    owner.put(
        work, "day", vevent("day", "DTSTART;VALUE=DATE:20261203", "DTEND;VALUE=DATE:20261204")
    )
    request = replace(
        sync_request(radicale.url(path_of(work)), account, fetcher.async_client),
        default_zone="Asia/Tokyo",
    )
    result = run(request)
    # Read in the resource's zone instead (UTC+9: midnight is 15:00Z the day before).
    assert snapshots(result) == {
        path_of(work): [(T0 + DAY + 15 * HOUR, T0 + 2 * DAY + 15 * HOUR, "busy")]
    }
    assert [p.message for p in result.problems] == [
        "calendar-timezone names no IANA zone; all-day events use the resource's zone"
    ]


def test_an_object_that_does_not_parse_is_skipped_with_a_problem() -> None:
    # Radicale never serves one (see above); other servers may.
    basis = Basis(WINDOW, "UTC", frozenset(), 100)
    read = object_events("/a/work/", "/a/work/x.ics", b"BEGIN:VCALENDAR\r\nBROKEN", basis)
    assert read.events == ()
    [problem] = read.problems
    assert (problem.calendar, problem.external_id) == ("/a/work/", "/a/work/x.ics")
    assert problem.message.startswith("object skipped: ")


# --------------------------------------------------------------------------- cursors


@pytest.mark.parametrize("refusal", [("basic", 403), ("precondition", 412)])
def test_an_expired_sync_token_gives_a_snapshot(
    radicale: RadicaleServer,
    account: Account,
    owner: Owner,
    fetcher: Fetcher,
    refusal: tuple[Front, int],
) -> None:
    # Radicale refuses a token it no longer knows with 403, Xandikos with 412.
    front, status = refusal
    work = owner.calendar("work")
    owner.put(work, "a", vevent("a", T0 + HOUR, T0 + 2 * HOUR))
    url = radicale.url(account.principal, front)
    first = run(sync_request(url, account, fetcher.async_client))
    radicale.forget_sync_tokens(path_of(work))
    owner.put(work, "b", vevent("b", T0 + DAY, T0 + DAY + HOUR))
    before = len(radicale.requests)
    second = run(sync_request(url, account, fetcher.async_client, cursors=first.cursors))
    [part] = second.calendars
    assert isinstance(part, CalendarSnapshot)
    assert spans(part.events) == [
        (T0 + HOUR, T0 + 2 * HOUR, "busy"),
        (T0 + DAY, T0 + DAY + HOUR, "busy"),
    ]
    refused = [r for r in radicale.requests[before:] if r.method == "REPORT" and r.status == status]
    assert len(refused) == 1  # the sync-collection with the forgotten token
    # The new cursor works again.
    third = run(sync_request(url, account, fetcher.async_client, cursors=second.cursors))
    assert isinstance(third.calendars[0], CalendarDelta)


@pytest.mark.parametrize("cursor", ["", "not json", '{"v": 99}', '{"v": 1, "window": "x"}'])
def test_an_unreadable_cursor_gives_a_snapshot(
    radicale: RadicaleServer, account: Account, owner: Owner, fetcher: Fetcher, cursor: str
) -> None:
    work = owner.calendar("work")
    owner.put(work, "a", vevent("a", T0 + HOUR, T0 + 2 * HOUR))
    url = radicale.url(path_of(work))
    cursors = {path_of(work): cursor}
    [part] = run(sync_request(url, account, fetcher.async_client, cursors=cursors)).calendars
    assert isinstance(part, CalendarSnapshot)
    assert spans(part.events) == [(T0 + HOUR, T0 + 2 * HOUR, "busy")]


def test_a_cursor_made_for_other_addresses_is_not_used_for_a_delta(
    radicale: RadicaleServer, account: Account, owner: Owner, fetcher: Fetcher
) -> None:
    work = owner.calendar("work")
    invited = "ATTENDEE;PARTSTAT=DECLINED:mailto:me@example.org"
    owner.put(work, "declined", vevent("declined", T0 + HOUR, T0 + 2 * HOUR, invited))
    url = radicale.url(account.principal)
    first = run(sync_request(url, account, fetcher.async_client))
    assert snapshots(first) == {path_of(work): [(T0 + HOUR, T0 + 2 * HOUR, "busy")]}
    # Same window, same server state, but now the declining owner is known: a delta would
    # say "nothing changed" and keep the declined event busy.
    second = run(
        sync_request(
            url, account, fetcher.async_client, cursors=first.cursors, emails=["me@example.org"]
        )
    )
    [part] = second.calendars
    assert isinstance(part, CalendarSnapshot)
    assert part.events == ()


def test_without_sync_collection_an_unchanged_ctag_costs_no_query(
    radicale: RadicaleServer, account: Account, owner: Owner, fetcher: Fetcher
) -> None:
    work = owner.calendar("work")
    owner.put(work, "a", vevent("a", T0 + HOUR, T0 + 2 * HOUR))
    url = radicale.url(path_of(work), front="legacy")
    first = run(sync_request(url, account, fetcher.async_client))
    assert "objects" in json.loads(first.cursors[path_of(work)] or "")  # the scan cursor
    before = len(radicale.requests)
    second = run(sync_request(url, account, fetcher.async_client, cursors=first.cursors))
    [part] = second.calendars
    assert isinstance(part, CalendarDelta)
    assert (part.upserted, part.deleted_ids) == ((), ())
    assert not [r for r in radicale.requests[before:] if r.method == "REPORT"]
    assert not [r for r in radicale.requests if r.front == "legacy" and r.status == 501]


def test_a_server_that_refuses_sync_collection_is_scanned(
    radicale: RadicaleServer, account: Account, owner: Owner, fetcher: Fetcher
) -> None:
    # It reports a sync token, so the first cursor is a token; the REPORT is then refused.
    work = owner.calendar("work")
    name = path_of(work)
    owner.put(work, "a", vevent("a", T0 + HOUR, T0 + 2 * HOUR))
    url = radicale.url(name, front="refusing")
    store = Store({}, {})
    kinds = []
    for ref, day in (("b", 1), ("c", 2), (None, 0)):
        result = run(sync_request(url, account, fetcher.async_client, cursors=store.cursors))
        store.apply(result)
        [part] = result.calendars
        kinds.append(type(part).__name__)
        if ref is not None:
            owner.put(work, ref, vevent(ref, T0 + day * DAY, T0 + day * DAY + HOUR))
    assert kinds == ["CalendarSnapshot", "CalendarSnapshot", "CalendarDelta"]
    assert "token" not in json.loads(store.cursors[name])
    assert store.spans(name) == [
        (T0 + HOUR, T0 + 2 * HOUR, "busy"),
        (T0 + DAY, T0 + DAY + HOUR, "busy"),
        (T0 + 2 * DAY, T0 + 2 * DAY + HOUR, "busy"),
    ]
    refused = [r for r in radicale.requests if r.front == "refusing" and r.status == 403]
    assert len(refused) == 1


# --------------------------------------------------------------------------- discovery


def test_discovery_from_the_server_the_principal_or_one_calendar(
    radicale: RadicaleServer, account: Account, owner: Owner, fetcher: Fetcher
) -> None:
    work = owner.calendar("work")
    home = owner.calendar("home")
    owner.calendar("tasks", components=("VTODO",))
    for calendar in (work, home):
        owner.put(calendar, "e", vevent("e", T0 + HOUR, T0 + 2 * HOUR))

    def calendars(url: str, **settings: Any) -> list[str]:
        result = run(sync_request(url, account, fetcher.async_client, **settings))
        assert result.problems == ()
        return sorted(part.calendar for part in result.calendars)

    both = sorted([path_of(work), path_of(home)])
    assert calendars(radicale.url("/")) == both  # current-user-principal
    assert calendars(radicale.url(account.principal)) == both
    assert calendars(radicale.url(path_of(work))) == [path_of(work)]
    # A calendar URL without its trailing slash is the same calendar.
    assert calendars(radicale.url(path_of(work).rstrip("/"))) == [path_of(work)]
    assert calendars(radicale.url("/"), calendars=[path_of(home)]) == [path_of(home)]


def test_removed_calendars_are_reported(
    radicale: RadicaleServer, account: Account, owner: Owner, fetcher: Fetcher
) -> None:
    work = owner.calendar("work")
    gone = owner.calendar("gone")
    url = radicale.url(account.principal)
    first = run(sync_request(url, account, fetcher.async_client))
    assert sorted(first.cursors) == sorted([path_of(work), path_of(gone)])
    owner.client.delete(str(gone.url))
    second = run(sync_request(url, account, fetcher.async_client, cursors=first.cursors))
    assert [part.calendar for part in second.calendars] == [path_of(work)]
    assert second.removed_calendars == (path_of(gone),)
    # A configured calendar that the server no longer has is removed, and said so.
    configured = run(
        sync_request(
            url,
            account,
            fetcher.async_client,
            cursors=first.cursors,
            calendars=[path_of(work), path_of(gone)],
        )
    )
    assert configured.removed_calendars == (path_of(gone),)
    assert [(p.calendar, p.message) for p in configured.problems] == [
        (path_of(gone), "calendar not found on the server")
    ]


def test_a_calendar_of_another_account_is_a_problem_not_a_failure(
    radicale: RadicaleServer, account: Account, owner: Owner, fetcher: Fetcher
) -> None:
    work = owner.calendar("work")
    stranger = radicale.new_account()
    forbidden = f"{stranger.principal}secret/"
    url = radicale.url(account.principal)
    # As if it had been readable before (it has a cursor): it keeps its events, not removed.
    cursors = {forbidden: "{}"}
    result = run(
        sync_request(
            url,
            account,
            fetcher.async_client,
            cursors=cursors,
            calendars=[path_of(work), forbidden],
        )
    )
    assert [part.calendar for part in result.calendars] == [path_of(work)]
    assert [(p.calendar, p.message) for p in result.problems] == [
        (forbidden, "calendar cannot be read (HTTP 403)")
    ]
    assert result.removed_calendars == ()


# --------------------------------------------------------------------------- authentication


@pytest.mark.parametrize("front", ["basic", "digest"])
def test_a_wrong_password_revokes_the_connection(
    radicale: RadicaleServer, account: Account, fetcher: Fetcher, front: Front
) -> None:
    wrong = Account(account.username, "not-the-password")
    with pytest.raises(AuthRevoked, match="401"):
        run(sync_request(radicale.url(account.principal, front), wrong, fetcher.async_client))


@pytest.mark.parametrize("auth", [None, "digest"])
def test_digest_auth(
    radicale: RadicaleServer,
    account: Account,
    owner: Owner,
    fetcher: Fetcher,
    auth: str | None,
) -> None:
    work = owner.calendar("work")
    owner.put(work, "a", vevent("a", T0 + HOUR, T0 + 2 * HOUR))
    url = radicale.url(account.principal, front="digest")
    settings: dict[str, Any] = {"auth": auth} if auth else {}
    before = len(radicale.requests)
    result = run(sync_request(url, account, fetcher.async_client, **settings))
    assert snapshots(result) == {path_of(work): [(T0 + HOUR, T0 + 2 * HOUR, "busy")]}
    seen = radicale.requests[before:]
    assert {r.front for r in seen} == {"digest"}
    # One challenge, then Digest on every request: the password itself never travels.
    assert [r.auth for r in seen] == [None] + ["digest"] * (len(seen) - 1)


def test_basic_auth_forced_on_a_digest_only_server_is_refused(
    radicale: RadicaleServer, account: Account, fetcher: Fetcher
) -> None:
    url = radicale.url(account.principal, front="digest")
    with pytest.raises(AuthRevoked):
        run(sync_request(url, account, fetcher.async_client, auth="basic"))


# --------------------------------------------------------------------------- the SSRF guard


def test_all_http_goes_through_the_guarded_client(
    radicale: RadicaleServer, account: Account, owner: Owner
) -> None:
    work = owner.calendar("work")
    owner.put(work, "a", vevent("a", T0 + HOUR, T0 + 2 * HOUR))
    url = radicale.url(account.principal)
    requests, connections = len(radicale.requests), radicale.connections()
    with Fetcher(allow_private_networks=False) as guarded, pytest.raises(UnsafeUrl):
        run(sync_request(url, account, guarded.async_client))
    # Refused before any byte was sent: caldav's own HTTP library opened nothing either.
    assert len(radicale.requests) == requests
    assert radicale.connections() == connections
    with Fetcher(allow_private_networks=True) as allowed:
        result = run(sync_request(url, account, allowed.async_client))
    assert snapshots(result) == {path_of(work): [(T0 + HOUR, T0 + 2 * HOUR, "busy")]}
    assert radicale.connections() > connections


# --------------------------------------------------------------------------- upstream failures


def _mock(handler: Any) -> Any:
    return lambda: httpx.AsyncClient(transport=httpx.MockTransport(handler))


MOCK_ACCOUNT = Account("alice", "secret")


@pytest.mark.parametrize(
    ("status", "headers", "error", "retry_after"),
    [
        (429, {"Retry-After": "7"}, RateLimited, 7.0),
        (429, {}, RateLimited, None),
        (503, {"Retry-After": "30"}, TransientError, 30.0),
        (502, {}, TransientError, None),
        (401, {"WWW-Authenticate": 'Basic realm="x"'}, AuthRevoked, None),
        (404, {}, FeedInvalid, None),
        (500, {}, TransientError, None),
    ],
)
def test_upstream_failures_become_contract_errors(
    status: int,
    headers: dict[str, str],
    error: type[Exception],
    retry_after: float | None,
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers)

    request = sync_request("https://dav.example/alice/", MOCK_ACCOUNT, _mock(answer))
    with pytest.raises(error) as caught:
        run(request)
    assert getattr(caught.value, "retry_after", None) == retry_after
    if error is RateLimited:
        assert not isinstance(caught.value, AuthRevoked)


def test_a_refused_connection_is_transient(account: Account, fetcher: Fetcher) -> None:
    with socket.socket() as probe:  # a free port, closed again: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    request = sync_request(f"http://127.0.0.1:{port}/", account, fetcher.async_client)
    with pytest.raises(TransientError):
        run(request)


@pytest.mark.parametrize("scheme", ["basic", "digest", None])
def test_credentials_go_to_the_servers_origin_only(scheme: AuthScheme | None) -> None:
    seen: list[tuple[str, str | None]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers.get("authorization")))
        challenge = 'Digest realm="x", nonce="n", qop="auth"' if scheme == "digest" else "Basic"
        return httpx.Response(401, headers={"WWW-Authenticate": challenge})

    auth = ServerAuth(("https", "dav.example", 443), "alice", "secret", scheme)

    async def main() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer), auth=auth) as http:
            for url in (
                "https://dav.example/alice/",
                "https://elsewhere.example/alice/",
                "http://dav.example/alice/",
                "https://dav.example:8443/alice/",
            ):
                await http.get(url)

    asyncio.run(main())
    sent = {url for url, authorization in seen if authorization is not None}
    assert sent == {"https://dav.example/alice/"}


def test_credentials_are_not_carried_across_a_redirect() -> None:
    seen: list[tuple[str, str | None]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.headers.get("authorization")))
        if request.url.host == "dav.example":
            if "authorization" not in request.headers:
                return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="x"'})
            return httpx.Response(302, headers={"Location": "https://elsewhere.example/dav/"})
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="y"'})

    with pytest.raises(AuthRevoked):
        run(sync_request("https://dav.example/alice/", MOCK_ACCOUNT, _mock(answer)))
    assert ("dav.example", "Basic YWxpY2U6c2VjcmV0") in seen
    assert [auth for host, auth in seen if host == "elsewhere.example"] == [None]


def test_a_cancelled_sync_releases_its_request_and_its_thread() -> None:
    calls: list[str] = []

    async def hang(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            calls.append("cancelled")
            raise
        return httpx.Response(500)

    async def main() -> None:
        request = sync_request("https://dav.example/alice/", MOCK_ACCOUNT, _mock(hang))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(CalDavConnector().sync(request), 0.5)
        # The loop runs on, as a server's does: the abandoned request is cancelled at once
        # instead of waiting for its own deadline, and the caldav thread sends nothing more.
        for _ in range(100):
            if "cancelled" in calls:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        assert calls == ["PROPFIND", "cancelled"]

    asyncio.run(main())


def test_the_session_refuses_requests_after_a_failure() -> None:
    calls = 0

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(429, headers={"Retry-After": "3"})

    async def main() -> None:
        loop = asyncio.get_running_loop()
        async with _mock(answer)() as http:
            session = LoopSession(http, loop, None)

            def twice() -> list[str]:
                outcomes = []
                for _ in range(2):
                    try:
                        session.request("GET", "https://dav.example/")
                    except RateLimited as exc:
                        outcomes.append(f"{exc.retry_after}")
                return outcomes

            assert await asyncio.to_thread(twice) == ["3.0", "3.0"]

    asyncio.run(main())
    assert calls == 1


# --------------------------------------------------------------------------- the connection body


@pytest.mark.parametrize(
    ("settings", "credentials", "field"),
    [
        ({"username": "a"}, {"password": "p"}, "settings.url"),
        ({"url": "ftp://x/", "username": "a"}, {"password": "p"}, "settings.url"),
        ({"url": "https:///nohost", "username": "a"}, {"password": "p"}, "settings.url"),
        ({"url": "https://x:99999/", "username": "a"}, {"password": "p"}, "settings.url"),
        ({"url": "https://u:p@x/", "username": "a"}, {"password": "p"}, "settings.url"),
        ({"url": "https://x/"}, {"password": "p"}, "settings.username"),
        ({"url": "https://x/", "username": " "}, {"password": "p"}, "settings.username"),
        ({"url": "https://x/", "username": "a"}, {}, "credentials.password"),
        ({"url": "https://x/", "username": "a"}, {"password": 5}, "credentials.password"),
        (
            {"url": "https://x/", "username": "a", "calendars": "/a/"},
            {"password": "p"},
            "settings.calendars",
        ),
        (
            {"url": "https://x/", "username": "a", "calendars": ["/a/", ""]},
            {"password": "p"},
            "settings.calendars.1",
        ),
        (
            {"url": "https://x/", "username": "a", "calendars": ["https://y/a/"]},
            {"password": "p"},
            "settings.calendars.0",
        ),
        (
            {"url": "https://x/", "username": "a", "calendars": ["/a/", "https://x/a"]},
            {"password": "p"},
            "settings.calendars",
        ),
        (
            {"url": "https://x/", "username": "a", "emails": ["no-at"]},
            {"password": "p"},
            "settings.emails.0",
        ),
        (
            {"url": "https://x/", "username": "a", "emails": "a@b"},
            {"password": "p"},
            "settings.emails",
        ),
        (
            {"url": "https://x/", "username": "a", "auth": "ntlm"},
            {"password": "p"},
            "settings.auth",
        ),
        (
            {"url": "https://x/", "username": "a", "calender": []},
            {"password": "p"},
            "settings.calender",
        ),
        (
            {"url": "https://x/", "username": "a"},
            {"password": "p", "token": "t"},
            "credentials.token",
        ),
    ],
)
def test_validate_settings_points_at_the_offending_field(
    settings: dict[str, Any], credentials: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        CalDavConnector().validate_settings(settings, credentials)
    assert caught.value.field == field


def test_a_valid_body_passes() -> None:
    CalDavConnector().validate_settings(
        {
            "url": "https://dav.example/",
            "username": "alice",
            "calendars": ["/alice/work/", "https://dav.example:443/alice/home/"],
            "emails": ["Alice@Example.org", "mailto:a@example.org"],
            "auth": "digest",
        },
        {"password": ""},
    )


def test_separate_secrets_moves_passwords_out_of_the_settings() -> None:
    settings, credentials = CalDavConnector().separate_secrets(
        {
            "url": "https://alice:s%40cret@dav.example/alice/",
            "calendars": ["https://alice:s%40cret@dav.example/alice/work/", "/alice/home/"],
        },
        {},
    )
    assert settings == {
        "url": "https://dav.example/alice/",
        "username": "alice",
        "calendars": ["https://dav.example/alice/work/", "/alice/home/"],
    }
    assert credentials == {"password": "s@cret"}
    # Explicit values win; a password in the settings moves too.
    settings, credentials = CalDavConnector().separate_secrets(
        {"url": "https://bob:x@dav.example/", "username": "carol", "password": "p"}, {}
    )
    assert settings == {"url": "https://dav.example/", "username": "carol"}
    assert credentials == {"password": "p"}
    # Malformed input is left for validate_settings to report.
    assert CalDavConnector().separate_secrets({"url": 5}, {}) == ({"url": 5}, {})


def test_the_connector_imports_nothing_of_openslots_but_contract_and_normalize() -> None:
    import openslots_caldav

    imported: set[str] = set()
    for path in Path(openslots_caldav.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module)
    ours = {m for m in imported if m.split(".")[0] == "openslots"}
    assert ours == {"openslots.sync.contract", "openslots.sync.normalize"}
