"""The Google connector through the real google-api-python-client and google-auth, against the
local fake of the Calendar REST API and token endpoint (``tests/fakes/google_calendar.py``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from openslots.sync.contract import (
    AuthRevoked,
    BusyEvent,
    CalendarDelta,
    CalendarSnapshot,
    FeedInvalid,
    RateLimited,
    SyncRequest,
    SyncResult,
    SyncWindow,
    TransientError,
    ValidationError,
)
from openslots_google import GoogleConnector
from openslots_google.freebusy import chunks
from tests.fakes.google_calendar import Fault, GoogleFake, rate_limit_403
from tests.sync.contract_suite import DAY, HOUR, WINDOW, ConnectorContract

T0 = WINDOW.start
FAR = int(time.time()) + 10 * DAY


def _no_http_client() -> httpx.AsyncClient:
    raise AssertionError("the Google connector must not use the user-URL client")


def stamp(instant: int) -> str:
    return datetime.fromtimestamp(instant, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event(event_id: str, start: int, end: int, /, **extra: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "status": "confirmed",
        "start": {"dateTime": stamp(start)},
        "end": {"dateTime": stamp(end)},
        **extra,
    }


class Harness:
    """The contract suite's :class:`Upstream` over the fake, plus request building."""

    calendar = "primary"

    def __init__(self, fake: GoogleFake) -> None:
        self.fake = fake

    def config(self) -> dict[str, Any]:
        return {
            "client_id": "client-1",
            "client_secret": "secret-1",
            "token_uri": self.fake.token_uri,
            "api_endpoint": self.fake.root,
        }

    def request(
        self,
        window: SyncWindow,
        cursors: Mapping[str, str],
        settings: Mapping[str, Any] | None = None,
        credentials: Mapping[str, Any] | None = None,
        default_zone: str = "UTC",
    ) -> SyncRequest:
        return SyncRequest(
            settings=settings if settings is not None else {"calendars": "primary"},
            credentials=credentials
            if credentials is not None
            else {
                "refresh_token": "refresh-1",
                "access_token": "access-0",
                "expires_at": FAR,
                "scopes": ["https://www.googleapis.com/auth/calendar.readonly"],
            },
            window=window,
            http_client=_no_http_client,
            cursors=dict(cursors),
            default_zone=default_zone,
            provider_config=self.config(),
        )

    def put_event(self, ref: str, start: int, end: int) -> None:
        self.fake.put_event("primary", event(ref, start, end))

    def delete_event(self, ref: str) -> None:
        self.fake.delete_event("primary", ref)

    def expire(self, cursor: str) -> str:
        self.fake.compact()
        return cursor


@pytest.fixture
def fake() -> Iterator[GoogleFake]:
    with GoogleFake(page_size=2) as running:
        yield running


@pytest.fixture
def upstream(fake: GoogleFake) -> Harness:
    return Harness(fake)


@pytest.fixture
def connector() -> GoogleConnector:
    return GoogleConnector()


def sync(connector: GoogleConnector, request: SyncRequest) -> SyncResult:
    return asyncio.run(connector.sync(request))


def only(result: SyncResult) -> CalendarSnapshot | CalendarDelta:
    [part] = result.calendars
    return part


def spans(events: tuple[BusyEvent, ...]) -> set[tuple[str, int, int, str]]:
    return {(e.external_id, e.start, e.end, e.kind) for e in events}


class TestContract(ConnectorContract):
    pass


# -- sync tokens, pages, expiry -----------------------------------------------------------------


def test_full_then_incremental_through_pages(
    connector: GoogleConnector, upstream: Harness, fake: GoogleFake
) -> None:
    for i in range(5):
        upstream.put_event(f"e{i}", T0 + i * DAY, T0 + i * DAY + HOUR)
    first = only(sync(connector, upstream.request(WINDOW, {})))
    assert isinstance(first, CalendarSnapshot)
    assert len(first.events) == 5
    full = fake.requests_to("/events")
    # Five events two per page: three pages, the bounded parameters on each.
    assert len(full) == 3
    assert all(q["timeMin"] == stamp(T0) and q["timeMax"] == stamp(WINDOW.end) for _, _, q in full)
    assert all(q["singleEvents"] == "true" and q["showDeleted"] == "false" for _, _, q in full)
    assert full[0][1] == "/calendar/v3/calendars/primary/events"

    upstream.put_event("e1", T0 + 8 * DAY, T0 + 8 * DAY + HOUR)
    upstream.delete_event("e2")
    assert first.cursor is not None
    second = only(sync(connector, upstream.request(WINDOW, {"primary": first.cursor})))
    assert isinstance(second, CalendarDelta)
    assert spans(second.upserted) == {("e1", T0 + 8 * DAY, T0 + 8 * DAY + HOUR, "busy")}
    assert second.deleted_ids == ("e2",)
    incremental = fake.requests_to("/events")[3:]
    assert incremental
    for _, _, query in incremental:
        assert "syncToken" in query
        assert not {"timeMin", "timeMax", "orderBy", "q", "showDeleted"} & set(query)


def test_gone_sync_token_is_answered_with_a_snapshot(
    connector: GoogleConnector, upstream: Harness, fake: GoogleFake
) -> None:
    upstream.put_event("a", T0 + DAY, T0 + DAY + HOUR)
    first = only(sync(connector, upstream.request(WINDOW, {})))
    assert first.cursor is not None
    fake.compact()
    upstream.put_event("b", T0 + 2 * DAY, T0 + 2 * DAY + HOUR)
    again = only(sync(connector, upstream.request(WINDOW, {"primary": first.cursor})))
    assert isinstance(again, CalendarSnapshot)
    assert {e.external_id for e in again.events} == {"a", "b"}
    assert again.cursor is not None
    assert again.cursor != first.cursor


def test_a_cursor_for_another_zone_or_garbage_gives_a_snapshot(
    connector: GoogleConnector, upstream: Harness
) -> None:
    upstream.put_event("a", T0 + DAY, T0 + DAY + HOUR)
    first = only(sync(connector, upstream.request(WINDOW, {})))
    assert first.cursor is not None
    other_zone = upstream.request(WINDOW, {"primary": first.cursor}, default_zone="Europe/Paris")
    assert isinstance(only(sync(connector, other_zone)), CalendarSnapshot)
    garbage = upstream.request(WINDOW, {"primary": "{not json"})
    assert isinstance(only(sync(connector, garbage)), CalendarSnapshot)


# -- faults -------------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["rateLimitExceeded", "userRateLimitExceeded"])
def test_403_quota_is_rate_limited(
    connector: GoogleConnector, upstream: Harness, fake: GoogleFake, reason: str
) -> None:
    fake.fail_next(rate_limit_403(reason))
    with pytest.raises(RateLimited) as caught:
        sync(connector, upstream.request(WINDOW, {}))
    assert caught.value.retry_after is None
    assert len(fake.requests_to("/events")) == 1  # no retries of its own


def test_429_carries_retry_after(
    connector: GoogleConnector, upstream: Harness, fake: GoogleFake
) -> None:
    fake.fail_next(Fault(429, b'{"error": {"code": 429}}', {"Retry-After": "17"}))
    with pytest.raises(RateLimited) as caught:
        sync(connector, upstream.request(WINDOW, {}))
    assert caught.value.retry_after == 17.0


def test_other_403_is_a_problem_of_that_calendar(
    connector: GoogleConnector, upstream: Harness, fake: GoogleFake
) -> None:
    body = b'{"error": {"code": 403, "errors": [{"reason": "forbidden"}]}}'
    fake.fail_next(Fault(403, body))
    result = sync(connector, upstream.request(WINDOW, {}))
    assert result.calendars == ()
    assert [p.calendar for p in result.problems] == ["primary"]


def test_5xx_is_transient_and_garbage_is_invalid(
    connector: GoogleConnector, upstream: Harness, fake: GoogleFake
) -> None:
    fake.fail_next(Fault(500, b'{"error": {"code": 500}}'))
    with pytest.raises(TransientError) as caught:
        sync(connector, upstream.request(WINDOW, {}))
    assert not isinstance(caught.value, RateLimited)
    fake.fail_next(Fault(200, b"<html>captive portal</html>", content_type="text/html"))
    with pytest.raises(FeedInvalid):
        sync(connector, upstream.request(WINDOW, {}))


def test_unreachable_google_is_transient(connector: GoogleConnector, upstream: Harness) -> None:
    request = upstream.request(WINDOW, {})
    closed = {**request.provider_config, "api_endpoint": "http://127.0.0.1:9/"}
    with pytest.raises(TransientError):
        sync(connector, replace(request, provider_config=closed))


def test_garbled_events_are_problems_not_crashes(
    connector: GoogleConnector, upstream: Harness, fake: GoogleFake
) -> None:
    upstream.put_event("good", T0 + DAY, T0 + DAY + HOUR)
    fake.put_event("primary", {"id": "no-times", "start": {}, "end": {}})
    fake.put_event("primary", {"id": "bad-time", "start": {"dateTime": "soon"}, "end": {}})
    fake.put_event("primary", {"id": "odd", "start": "x", "end": 3})
    result = sync(connector, upstream.request(WINDOW, {}))
    first = only(result)
    assert isinstance(first, CalendarSnapshot)
    assert {e.external_id for e in first.events} == {"good"}
    assert first.cursor is not None
    assert sorted(p.external_id or "" for p in result.problems) == ["bad-time", "no-times", "odd"]


def test_garbled_changes_are_problems_and_keep_stored_blocks(
    connector: GoogleConnector, upstream: Harness, fake: GoogleFake
) -> None:
    upstream.put_event("good", T0 + DAY, T0 + DAY + HOUR)
    first = only(sync(connector, upstream.request(WINDOW, {})))
    assert first.cursor is not None
    fake.put_event("primary", {"id": "good", "start": {}, "end": {}})
    fake.put_event("primary", {"id": "odd", "start": "x", "end": 3})
    upstream.put_event("new", T0 + 2 * DAY, T0 + 2 * DAY + HOUR)
    result = sync(connector, upstream.request(WINDOW, {"primary": first.cursor}))
    delta = only(result)
    assert isinstance(delta, CalendarDelta)
    assert [e.external_id for e in delta.upserted] == ["new"]
    assert delta.deleted_ids == ()
    assert sorted(p.external_id or "" for p in result.problems) == ["good", "odd"]
    assert "neither date nor dateTime" in result.problems[0].message


# -- credentials --------------------------------------------------------------------------------


def test_expired_access_token_is_refreshed_and_returned(
    connector: GoogleConnector, upstream: Harness, fake: GoogleFake
) -> None:
    upstream.put_event("a", T0 + DAY, T0 + DAY + HOUR)
    fake.expire_access_tokens()  # Google says 401 although the stored expiry is far ahead
    result = sync(connector, upstream.request(WINDOW, {}))
    assert result.credentials is not None
    assert result.credentials["access_token"] == "access-1"
    assert result.credentials["refresh_token"] == "refresh-1"
    assert result.credentials["expires_at"] == pytest.approx(time.time() + 3600, abs=60)
    assert len(fake.requests_to("/token")) == 1
    # Unchanged token: nothing to store.
    stored = {**upstream.request(WINDOW, {}).credentials, "access_token": "access-1"}
    assert sync(connector, upstream.request(WINDOW, {}, credentials=stored)).credentials is None


def test_stored_expiry_refreshes_first_and_rotation_is_kept(
    connector: GoogleConnector, upstream: Harness, fake: GoogleFake
) -> None:
    fake.rotate_refresh_token = True
    credentials = {"refresh_token": "refresh-1", "access_token": "access-0", "expires_at": 1}
    result = sync(connector, upstream.request(WINDOW, {}, credentials=credentials))
    assert result.credentials is not None
    assert result.credentials["refresh_token"] == "refresh-2"
    # Refreshed before the first API call, not after a 401.
    assert fake.log[0][1] == "/token"


def test_revoked_refresh_token_is_auth_revoked(
    connector: GoogleConnector, upstream: Harness, fake: GoogleFake
) -> None:
    fake.refresh_tokens["refresh-1"] = False
    fake.expire_access_tokens()
    with pytest.raises(AuthRevoked):
        sync(connector, upstream.request(WINDOW, {}))


# -- calendars ----------------------------------------------------------------------------------


def test_owned_calendars_are_listed_and_dropped_ones_removed(
    connector: GoogleConnector, upstream: Harness, fake: GoogleFake
) -> None:
    for name in ("a@group", "b@group", "c@group"):
        fake.add_calendar(name, "UTC")
        fake.put_event(name, event(f"in-{name}", T0 + DAY, T0 + DAY + HOUR))
    fake.add_calendar("shared@group", "UTC", access_role="reader")
    result = sync(connector, upstream.request(WINDOW, {"gone@group": "x"}, {"calendars": "owned"}))
    assert sorted(p.calendar for p in result.calendars) == ["a@group", "b@group", "c@group"]
    assert result.removed_calendars == ("gone@group",)
    # Three owned calendars, two per page: the list was paged.
    assert len(fake.requests_to("calendarList")) == 2


def test_explicit_calendar_that_does_not_exist_is_removed(
    connector: GoogleConnector, upstream: Harness
) -> None:
    settings = {"calendars": ["primary", "missing@group"]}
    result = sync(connector, upstream.request(WINDOW, {}, settings))
    assert [p.calendar for p in result.calendars] == ["primary"]
    assert result.removed_calendars == ("missing@group",)
    assert [p.calendar for p in result.problems] == ["missing@group"]


# -- mapping ------------------------------------------------------------------------------------

H = T0 + DAY


@pytest.mark.parametrize(
    ("extra", "kind"),
    [
        ({}, "busy"),
        ({"transparency": "transparent"}, None),
        ({"attendees": [{"email": "me@x.org", "self": True, "responseStatus": "declined"}]}, None),
        ({"attendees": [{"email": "me@x.org", "responseStatus": "declined"}]}, None),
        ({"attendees": [{"email": "o@x.org", "responseStatus": "declined"}]}, "busy"),
        ({"attendees": [{"self": True, "responseStatus": "tentative"}]}, "tentative"),
        ({"status": "tentative"}, "tentative"),
        ({"eventType": "outOfOffice"}, "oof"),
        ({"eventType": "workingLocation"}, None),
        ({"eventType": "birthday"}, None),
        ({"eventType": "focusTime"}, "busy"),
        ({"end": {"dateTime": stamp(H)}}, None),
    ],
)
def test_busy_rules(
    connector: GoogleConnector,
    upstream: Harness,
    fake: GoogleFake,
    extra: dict[str, Any],
    kind: str | None,
) -> None:
    fake.put_event("primary", event("x", H, H + HOUR, **extra))
    settings = {"calendars": "primary", "emails": ["ME@x.org"]}
    part = only(sync(connector, upstream.request(WINDOW, {}, settings)))
    assert isinstance(part, CalendarSnapshot)
    assert [e.kind for e in part.events] == ([kind] if kind else [])


def test_cancelled_instance_is_deleted_in_a_delta(
    connector: GoogleConnector, upstream: Harness, fake: GoogleFake
) -> None:
    fake.put_event("primary", event("series_20261202", H, H + HOUR, recurringEventId="series"))
    first = only(sync(connector, upstream.request(WINDOW, {})))
    assert first.cursor is not None
    fake.put_event("primary", {"id": "series_20261202", "status": "cancelled"})
    fake.put_event("primary", event("later", H, H + HOUR, transparency="transparent"))
    delta = only(sync(connector, upstream.request(WINDOW, {"primary": first.cursor})))
    assert isinstance(delta, CalendarDelta)
    assert delta.upserted == ()
    assert set(delta.deleted_ids) == {"series_20261202", "later"}


def test_all_day_events_in_the_calendar_zone_across_dst(
    connector: GoogleConnector, upstream: Harness, fake: GoogleFake
) -> None:
    fake.add_calendar("ny@group", "America/New_York")
    # 2027-03-14 is the US spring-forward day: 23 hours long; 2027-11-07 falls back: 25.
    fake.put_event(
        "ny@group", {"id": "spring", "start": {"date": "2027-03-14"}, "end": {"date": "2027-03-15"}}
    )
    fake.put_event(
        "ny@group", {"id": "fall", "start": {"date": "2027-11-07"}, "end": {"date": "2027-11-08"}}
    )
    window = SyncWindow(
        int(datetime(2027, 3, 1, tzinfo=UTC).timestamp()),
        int(datetime(2027, 12, 1, tzinfo=UTC).timestamp()),
    )
    part = only(sync(connector, upstream.request(window, {}, {"calendars": ["ny@group"]})))
    assert isinstance(part, CalendarSnapshot)
    got = {e.external_id: e for e in part.events}
    spring, fall = got["spring"], got["fall"]
    assert spring.start == int(datetime(2027, 3, 14, 5, tzinfo=UTC).timestamp())
    assert spring.end - spring.start == 23 * HOUR
    assert fall.start == int(datetime(2027, 11, 7, 4, tzinfo=UTC).timestamp())
    assert fall.end - fall.start == 25 * HOUR


# -- freeBusy -----------------------------------------------------------------------------------


def test_freebusy_is_chunked_and_merged(
    connector: GoogleConnector, upstream: Harness, fake: GoogleFake
) -> None:
    window = SyncWindow(T0, T0 + 120 * DAY)
    boundary = T0 + 90 * DAY
    upstream.put_event("across", boundary - HOUR, boundary + HOUR)
    upstream.put_event("early", T0 + DAY, T0 + DAY + HOUR)
    fake.put_event(
        "primary", event("free", T0 + 2 * DAY, T0 + 2 * DAY + HOUR, transparency="transparent")
    )
    settings = {"calendars": "primary", "use_freebusy": True}
    part = only(sync(connector, upstream.request(window, {}, settings)))
    assert isinstance(part, CalendarSnapshot)
    assert part.cursor is None
    assert {(e.start, e.end) for e in part.events} == {
        (T0 + DAY, T0 + DAY + HOUR),
        (boundary - HOUR, boundary + HOUR),  # one block although two queries each saw half
    }
    queries = fake.requests_to("freeBusy")
    assert [(q["timeMin"], q["timeMax"]) for _, _, q in queries] == [
        (stamp(T0), stamp(boundary)),
        (stamp(boundary), stamp(window.end)),
    ]
    assert fake.requests_to("/events") == []


def test_chunks_never_exceed_90_days() -> None:
    assert chunks(SyncWindow(0, 90 * DAY)) == [(0, 90 * DAY)]
    assert len(chunks(SyncWindow(0, 365 * DAY))) == 5


# -- settings -----------------------------------------------------------------------------------

GOOD = {"refresh_token": "r"}


@pytest.mark.parametrize(
    ("settings", "credentials", "field"),
    [
        ({"calendars": "all"}, GOOD, "settings.calendars"),
        ({"calendars": []}, GOOD, "settings.calendars"),
        ({"calendars": ["a", 3]}, GOOD, "settings.calendars.1"),
        ({"emails": "me@x.org"}, GOOD, "settings.emails"),
        ({"emails": ["nobody"]}, GOOD, "settings.emails.0"),
        ({"use_freebusy": "yes"}, GOOD, "settings.use_freebusy"),
        ({"calendar": "primary"}, GOOD, "settings.calendar"),
        ({}, {}, "credentials.refresh_token"),
        ({}, {"refresh_token": 5}, "credentials.refresh_token"),
        ({}, {**GOOD, "expires_at": "soon"}, "credentials.expires_at"),
    ],
)
def test_invalid_bodies_name_the_field(
    connector: GoogleConnector, settings: dict[str, Any], credentials: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        connector.validate_settings(settings, credentials)
    assert caught.value.field == field


def test_valid_bodies_pass(connector: GoogleConnector) -> None:
    for calendars in ("primary", "owned", ["a@group", "primary"]):
        connector.validate_settings(
            {"calendars": calendars, "emails": ["me@x.org"], "use_freebusy": True},
            {**GOOD, "access_token": None, "expires_at": 5, "scopes": ["s"]},
        )
