"""The Outlook connector against an in-memory Graph (respx) and identity platform (msal's
``http_client``), through the real msal and httpx: the contract suite, delta rounds over
several pages, state-token expiry, throttling, token refresh and revocation, the busy mapping
(all-day days in the mailbox's zone across a DST change) and bad Graph answers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import msal
import pytest
import respx

from openslots.sync.contract import (
    AuthRevoked,
    CalendarDelta,
    CalendarSnapshot,
    CursorExpired,
    FeedInvalid,
    RateLimited,
    SyncRequest,
    SyncResult,
    SyncWindow,
    TransientError,
    ValidationError,
)
from openslots_outlook import OutlookConnector
from openslots_outlook.cursor import DeltaCursor
from tests.fakes.graph import (
    AUTHORITY,
    DEFAULT_CALENDAR,
    GRAPH_URL,
    FakeGraph,
    FakeIdentity,
    graph_event,
    utc,
)
from tests.sync.contract_suite import DAY, HOUR, WINDOW, ConnectorContract

T0 = WINDOW.start
CONFIG = {
    "client_id": "client-1",
    "client_secret": "secret",
    "redirect_uri": "https://openslots.example.org/v1/oauth/outlook/callback",
    "authority": AUTHORITY,
    "graph_url": GRAPH_URL,
}
LONDON = ZoneInfo("Europe/London")


def connect(identity: FakeIdentity) -> dict[str, Any]:
    """Credentials as the connect flow stores them: msal's cache after the code exchange."""
    cache = msal.SerializableTokenCache()
    app = msal.ConfidentialClientApplication(
        CONFIG["client_id"],
        client_credential=CONFIG["client_secret"],
        authority=AUTHORITY,
        token_cache=cache,
        http_client=identity,
        instance_discovery=False,
    )
    flow = app.initiate_auth_code_flow(
        ["Calendars.Read"], redirect_uri=CONFIG["redirect_uri"], response_mode="form_post"
    )
    # The consent page would bind the id token to the nonce of the authorize URL.
    identity.nonce = parse_qs(urlsplit(flow["auth_uri"]).query)["nonce"][0]
    result = app.acquire_token_by_auth_code_flow(flow, {"code": "the-code", "state": flow["state"]})
    assert "access_token" in result, result
    return {"token_cache": cache.serialize(), "home_account_id": identity.home_account_id}


class Mailbox:
    """A fake tenant: Graph behind respx, the identity platform, a connected account."""

    def __init__(self, *, lifetime: int = 3600) -> None:
        self.graph = FakeGraph()
        self.identity = FakeIdentity(self.graph, lifetime=lifetime)
        self.credentials = connect(self.identity)
        self.identity.posts.clear()
        self.connector = OutlookConnector(msal_http_client=self.identity)

    def request(
        self,
        *,
        window: SyncWindow = WINDOW,
        cursors: dict[str, str] | None = None,
        settings: dict[str, Any] | None = None,
        default_zone: str = "UTC",
    ) -> SyncRequest:
        settings = settings if settings is not None else {"calendars": "default"}
        self.connector.validate_settings(settings, self.credentials)
        return SyncRequest(
            settings=settings,
            credentials=self.credentials,
            window=window,
            http_client=httpx.AsyncClient,
            cursors=cursors or {},
            default_zone=default_zone,
            provider_config=CONFIG,
        )

    def sync(self, **options: Any) -> SyncResult:
        result = asyncio.run(self.connector.sync(self.request(**options)))
        if result.credentials is not None:
            self.credentials = dict(result.credentials)
        return result

    def put(self, ident: str, start: int, end: int, **fields: Any) -> None:
        self.graph.put(graph_event(ident, start, end, **fields))

    def graph_calls(self) -> list[str]:
        return [str(r.url) for r in self.graph.log]


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with respx.mock(assert_all_called=False) as router:
        box = Mailbox()
        router.route(host="graph.microsoft.com").mock(side_effect=box.graph.handle)
        yield box


def only(result: SyncResult) -> CalendarSnapshot | CalendarDelta:
    [part] = result.calendars
    assert part.calendar == "default"
    return part


def spans(result: SyncResult) -> set[tuple[str, int, int, str]]:
    part = only(result)
    events = part.events if isinstance(part, CalendarSnapshot) else part.upserted
    return {(e.external_id, e.start, e.end, e.kind) for e in events}


# -- the contract suite -------------------------------------------------------------------------


class GraphUpstream:
    calendar = "default"

    def __init__(self, box: Mailbox) -> None:
        self.box = box

    def request(self, window: SyncWindow, cursors: dict[str, str]) -> SyncRequest:
        return self.box.request(window=window, cursors=cursors)

    def put_event(self, ref: str, start: int, end: int) -> None:
        self.box.put(ref, start, end)

    def delete_event(self, ref: str) -> None:
        self.box.graph.delete(ref)

    def expire(self, cursor: str) -> str:
        loaded = DeltaCursor.load(cursor)
        assert loaded is not None
        self.box.graph.expire(loaded.delta_link)
        return cursor


class TestOutlookContract(ConnectorContract):
    @pytest.fixture
    def connector(self, mailbox: Mailbox) -> OutlookConnector:
        return mailbox.connector

    @pytest.fixture
    def upstream(self, mailbox: Mailbox) -> GraphUpstream:
        return GraphUpstream(mailbox)


# -- delta rounds -------------------------------------------------------------------------------


def test_full_then_delta_sync_follows_next_links(mailbox: Mailbox) -> None:
    for n in range(25):
        mailbox.put(f"e{n}", T0 + n * HOUR, T0 + n * HOUR + 1800)
    first = mailbox.sync()
    part = only(first)
    assert isinstance(part, CalendarSnapshot)
    assert len(part.events) == 25
    calls = mailbox.graph_calls()
    # The fake serves pages of 10: the first request with the window, then two skip tokens.
    assert len(calls) == 3
    assert "startDateTime=2026-12-01T00%3A00%3A00Z" in calls[0]
    assert "endDateTime=2026-12-11T00%3A00%3A00Z" in calls[0]
    assert all("skiptoken" in c for c in calls[1:])
    prefer = mailbox.graph.log[0].headers.get_list("Prefer")
    assert 'outlook.timezone="UTC"' in prefer
    assert any(p.startswith("odata.maxpagesize=") for p in prefer)
    cursor = DeltaCursor.load(part.cursor)
    assert cursor is not None
    assert (cursor.start, cursor.end) == (WINDOW.start, WINDOW.end)
    assert "deltatoken" in cursor.delta_link

    mailbox.graph.log.clear()
    mailbox.put("e3", T0 + 5 * DAY, T0 + 5 * DAY + HOUR, showAs="tentative")
    mailbox.graph.delete("e4")
    mailbox.put("e5", T0 + 5 * DAY, T0 + 5 * DAY + HOUR, showAs="free")
    second = mailbox.sync(cursors={"default": part.cursor})
    delta = only(second)
    assert isinstance(delta, CalendarDelta)
    assert spans(second) == {("e3", T0 + 5 * DAY, T0 + 5 * DAY + HOUR, "tentative")}
    # Deleted, and changed to free: both leave the stored blocks.
    assert sorted(delta.deleted_ids) == ["e4", "e5"]
    assert mailbox.graph_calls() == [cursor.delta_link]


def test_removed_items_and_events_moved_out_become_deleted_ids(mailbox: Mailbox) -> None:
    mailbox.put("a", T0 + DAY, T0 + DAY + HOUR)
    mailbox.put("b", T0 + 2 * DAY, T0 + 2 * DAY + HOUR)
    cursor = only(mailbox.sync()).cursor
    assert cursor is not None
    mailbox.graph.delete("a")
    mailbox.put("b", WINDOW.end + DAY, WINDOW.end + DAY + HOUR)
    delta = only(mailbox.sync(cursors={"default": cursor}))
    assert isinstance(delta, CalendarDelta)
    assert delta.upserted == ()
    assert sorted(delta.deleted_ids) == ["a", "b"]


def test_a_repeated_item_counts_once_with_its_last_version(mailbox: Mailbox) -> None:
    mailbox.put("a", T0 + DAY, T0 + DAY + HOUR)
    mailbox.put("a", T0 + 2 * DAY, T0 + 2 * DAY + HOUR)
    # Graph may list an item twice in a round; the fake lists it once, so send a page by hand.
    page = {
        "value": [
            graph_event("a", T0 + DAY, T0 + DAY + HOUR),
            graph_event("a", T0 + 2 * DAY, T0 + 2 * DAY + HOUR),
        ],
        "@odata.deltaLink": f"{GRAPH_URL}/me/calendarView/delta?$deltatoken=x",
    }
    mailbox.graph.faults.append(httpx.Response(200, json=page))
    assert spans(mailbox.sync()) == {("a", T0 + 2 * DAY, T0 + 2 * DAY + HOUR, "busy")}


@pytest.mark.parametrize(
    ("status", "code"), [(410, ""), (400, "syncStateNotFound"), (404, "resyncRequired")]
)
def test_an_expired_delta_link_gives_a_snapshot_in_the_same_sync(
    mailbox: Mailbox, status: int, code: str
) -> None:
    mailbox.put("a", T0 + DAY, T0 + DAY + HOUR)
    cursor = only(mailbox.sync()).cursor
    loaded = DeltaCursor.load(cursor)
    assert cursor is not None
    assert loaded is not None
    mailbox.graph.expire(loaded.delta_link, status=status, code=code)
    mailbox.put("b", T0 + 2 * DAY, T0 + 2 * DAY + HOUR)
    part = only(mailbox.sync(cursors={"default": cursor}))
    assert isinstance(part, CalendarSnapshot)
    assert len(part.events) == 2
    assert part.cursor != cursor


def test_a_skip_token_expiring_in_a_new_round_raises_cursor_expired(mailbox: Mailbox) -> None:
    body = {"error": {"code": "syncStateNotFound", "message": "gone"}}
    mailbox.graph.faults.append(httpx.Response(410, json=body))
    with pytest.raises(CursorExpired) as caught:
        mailbox.sync()
    assert caught.value.calendar == "default"


def test_a_cursor_of_another_window_starts_a_new_round(mailbox: Mailbox) -> None:
    mailbox.put("a", T0 + DAY, T0 + DAY + HOUR)
    cursor = only(mailbox.sync()).cursor
    assert cursor is not None
    mailbox.graph.log.clear()
    later = SyncWindow(WINDOW.start + DAY, WINDOW.end + DAY)
    part = only(mailbox.sync(window=later, cursors={"default": cursor}))
    assert isinstance(part, CalendarSnapshot)
    assert "startDateTime=2026-12-02" in mailbox.graph_calls()[0]


def test_an_unreadable_cursor_gives_a_snapshot(mailbox: Mailbox) -> None:
    mailbox.put("a", T0 + DAY, T0 + DAY + HOUR)
    assert isinstance(only(mailbox.sync(cursors={"default": "not json"})), CalendarSnapshot)


# -- throttling and faults ----------------------------------------------------------------------


def test_429_is_rate_limited_with_retry_after(mailbox: Mailbox) -> None:
    mailbox.graph.faults.append(httpx.Response(429, headers={"Retry-After": "7"}))
    with pytest.raises(RateLimited) as caught:
        mailbox.sync()
    assert caught.value.retry_after == 7


def test_503_is_transient_with_retry_after(mailbox: Mailbox) -> None:
    mailbox.graph.faults.append(httpx.Response(503, headers={"Retry-After": "30"}))
    with pytest.raises(TransientError) as caught:
        mailbox.sync()
    assert not isinstance(caught.value, RateLimited)
    assert caught.value.retry_after == 30


def test_other_server_errors_and_network_errors_are_transient(mailbox: Mailbox) -> None:
    mailbox.graph.faults.append(httpx.Response(500, json={"error": {"code": "generalException"}}))
    with pytest.raises(TransientError) as caught:
        mailbox.sync()
    assert caught.value.retry_after is None


def test_a_connection_error_is_transient() -> None:
    with respx.mock() as router:
        box = Mailbox()
        router.route(host="graph.microsoft.com").mock(side_effect=httpx.ConnectError("refused"))
        with pytest.raises(TransientError):
            box.sync()


def test_rate_limit_mid_round_keeps_nothing_partial(mailbox: Mailbox) -> None:
    for n in range(15):
        mailbox.put(f"e{n}", T0 + n * HOUR, T0 + n * HOUR + 1800)
    # The first page is served, the second is throttled: the whole sync fails, nothing applies.
    mailbox.graph.faults_at[2] = httpx.Response(429, headers={"Retry-After": "2"})
    with pytest.raises(RateLimited) as caught:
        mailbox.sync()
    assert caught.value.retry_after == 2
    assert len(mailbox.graph.log) == 2


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, content=b'{"value": [ {"id": '),
        httpx.Response(200, content=b"<html>login</html>"),
        httpx.Response(200, json=["not", "an", "object"]),
        httpx.Response(200, json={"value": "nope", "@odata.deltaLink": "x"}),
        httpx.Response(200, json={"value": []}),
        httpx.Response(400, json={"error": {"code": "ErrorInvalidParameter"}}),
    ],
)
def test_garbled_graph_answers_are_feed_invalid(mailbox: Mailbox, answer: httpx.Response) -> None:
    mailbox.graph.faults.append(answer)
    with pytest.raises(FeedInvalid):
        mailbox.sync()


def test_links_to_another_host_are_not_followed(mailbox: Mailbox) -> None:
    page = {"value": [], "@odata.nextLink": "https://evil.example.net/steal?$skiptoken=1"}
    mailbox.graph.faults.append(httpx.Response(200, json=page))
    with pytest.raises(FeedInvalid, match="another host"):
        mailbox.sync()
    assert all(r.url.host == "graph.microsoft.com" for r in mailbox.graph.log)


# -- tokens -------------------------------------------------------------------------------------


def test_a_valid_cached_token_needs_no_identity_request(mailbox: Mailbox) -> None:
    mailbox.put("a", T0 + DAY, T0 + DAY + HOUR)
    result = mailbox.sync()
    assert result.credentials is None
    assert mailbox.identity.posts == []
    assert mailbox.graph.log[0].headers["Authorization"] == "Bearer access-1"


def test_an_expired_access_token_is_refreshed_and_the_cache_returned() -> None:
    with respx.mock() as router:
        # Tokens that expire within msal's 5-minute margin count as expired at once.
        box = Mailbox(lifetime=60)
        router.route(host="graph.microsoft.com").mock(side_effect=box.graph.handle)
        box.put("a", T0 + DAY, T0 + DAY + HOUR)
        before = box.credentials
        result = box.sync()
        assert [p["grant_type"] for p in box.identity.posts] == ["refresh_token"]
        assert box.identity.posts[0]["refresh_token"] == "refresh-1"
        assert result.credentials is not None
        assert result.credentials["home_account_id"] == before["home_account_id"]
        assert result.credentials["token_cache"] != before["token_cache"]
        assert box.graph.log[0].headers["Authorization"] == "Bearer access-2"
        assert len(only(result).events) == 1  # type: ignore[union-attr]
        # The rotated refresh token is in the returned cache: the old one is spent.
        box.identity.posts.clear()
        box.sync()
        assert box.identity.posts[0]["refresh_token"] == "refresh-2"


def test_a_revoked_grant_is_auth_revoked_without_calling_graph() -> None:
    with respx.mock(assert_all_called=False) as router:
        box = Mailbox(lifetime=60)
        router.route(host="graph.microsoft.com").mock(side_effect=box.graph.handle)
        box.identity.revoked = True
        with pytest.raises(AuthRevoked, match="invalid_grant"):
            box.sync()
        assert box.graph.log == []


def test_graph_refusing_a_token_refreshes_it_once(mailbox: Mailbox) -> None:
    mailbox.put("a", T0 + DAY, T0 + DAY + HOUR)
    mailbox.graph.access_tokens.discard("access-1")  # revoked server-side before expiry
    result = mailbox.sync()
    assert len(only(result).events) == 1  # type: ignore[union-attr]
    assert [p["grant_type"] for p in mailbox.identity.posts] == ["refresh_token"]
    assert result.credentials is not None


def test_graph_refusing_a_fresh_token_too_is_auth_revoked(mailbox: Mailbox) -> None:
    mailbox.graph.faults.extend([httpx.Response(401), httpx.Response(401)])
    with pytest.raises(AuthRevoked):
        mailbox.sync()
    assert len(mailbox.identity.posts) == 1


def test_a_cache_without_the_account_is_auth_revoked(mailbox: Mailbox) -> None:
    mailbox.credentials = {**mailbox.credentials, "home_account_id": "someone.else"}
    with pytest.raises(AuthRevoked):
        mailbox.sync()


# -- mapping ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ({"showAs": "busy"}, "busy"),
        ({"showAs": "unknown"}, "busy"),
        ({"showAs": "somethingNew"}, "busy"),
        ({"showAs": "tentative"}, "tentative"),
        ({"showAs": "oof"}, "oof"),
        ({"showAs": "free"}, None),
        ({"showAs": "workingElsewhere"}, None),
        ({"isCancelled": True}, None),
        ({"responseStatus": {"response": "declined"}}, None),
        (
            {"responseStatus": {"response": "tentativelyAccepted"}, "showAs": "tentative"},
            "tentative",
        ),
        ({"responseStatus": {"response": "notResponded"}}, "busy"),
        ({"type": "seriesMaster"}, None),
        ({"type": "occurrence"}, "busy"),
    ],
)
def test_busy_mapping(mailbox: Mailbox, fields: dict[str, Any], kind: str | None) -> None:
    mailbox.put("x", T0 + DAY, T0 + DAY + HOUR, **fields)
    expected = set() if kind is None else {("x", T0 + DAY, T0 + DAY + HOUR, kind)}
    assert spans(mailbox.sync()) == expected


def test_zero_length_events_are_not_busy(mailbox: Mailbox) -> None:
    mailbox.put("x", T0 + DAY, T0 + DAY)
    assert spans(mailbox.sync()) == set()


def test_times_in_another_zone_are_converted(mailbox: Mailbox) -> None:
    start = {"dateTime": "2026-12-02T09:00:00.0000000", "timeZone": "W. Europe Standard Time"}
    end = {"dateTime": "2026-12-02T10:00:00.0000000", "timeZone": "Europe/Berlin"}
    mailbox.graph.put({**graph_event("x", 0, 1), "start": start, "end": end})
    berlin = datetime(2026, 12, 2, 9, tzinfo=ZoneInfo("Europe/Berlin")).timestamp()
    assert spans(mailbox.sync()) == {("x", int(berlin), int(berlin) + HOUR, "busy")}


def _london(y: int, m: int, d: int) -> int:
    return int(datetime(y, m, d, tzinfo=LONDON).timestamp())


# 2027-03-28: the UK goes from GMT to BST.
DST_WINDOW = SyncWindow(_london(2027, 3, 20), _london(2027, 4, 10))


def _all_day(ident: str, start: str, end: str, **fields: Any) -> dict[str, Any]:
    return {
        **graph_event(ident, 0, 1),
        "isAllDay": True,
        "start": {"dateTime": f"{start}.0000000", "timeZone": "UTC"},
        "end": {"dateTime": f"{end}.0000000", "timeZone": "UTC"},
        **fields,
    }


def test_all_day_events_are_days_in_the_mailbox_zone_across_dst(mailbox: Mailbox) -> None:
    mailbox.graph.mailbox_zone = "GMT Standard Time"  # Windows name for Europe/London
    # Dates rendered as midnights, over the change; and a BST day rendered as an instant.
    mailbox.graph.put(_all_day("over", "2027-03-27T00:00:00", "2027-03-30T00:00:00"))
    mailbox.graph.put(_all_day("instant", "2027-03-31T23:00:00", "2027-04-01T23:00:00"))
    # Made in Berlin (an hour off the mailbox): the nearest London midnights are still its days.
    mailbox.graph.put(_all_day("berlin", "2027-03-31T22:00:00", "2027-04-01T22:00:00"))
    result = mailbox.sync(window=DST_WINDOW, default_zone="America/New_York")
    assert spans(result) == {
        # 3 days of 24 + 23 + 24 hours: the last midnight is BST.
        ("over", _london(2027, 3, 27), _london(2027, 3, 30), "busy"),
        ("instant", _london(2027, 4, 1), _london(2027, 4, 2), "busy"),
        ("berlin", _london(2027, 4, 1), _london(2027, 4, 2), "busy"),
    }
    assert _london(2027, 3, 30) - _london(2027, 3, 27) == 71 * HOUR
    assert sum("mailboxSettings" in c for c in mailbox.graph_calls()) == 1


def test_all_day_without_mailbox_settings_uses_the_events_zone_then_the_resources(
    mailbox: Mailbox,
) -> None:
    mailbox.graph.mailbox_zone = None  # 403: no MailboxSettings.Read consent
    mailbox.graph.put(
        _all_day(
            "event-zone",
            "2027-03-29T00:00:00",
            "2027-03-30T00:00:00",
            originalStartTimeZone="GMT Standard Time",
        )
    )
    mailbox.graph.put(
        _all_day(
            "resource-zone",
            "2027-03-29T00:00:00",
            "2027-03-30T00:00:00",
            originalStartTimeZone="tzone://Microsoft/Custom",
        )
    )
    result = mailbox.sync(window=DST_WINDOW, default_zone="America/New_York")
    york = ZoneInfo("America/New_York")
    assert spans(result) == {
        ("event-zone", _london(2027, 3, 29), _london(2027, 3, 30), "busy"),
        (
            "resource-zone",
            int(datetime(2027, 3, 29, tzinfo=york).timestamp()),
            int(datetime(2027, 3, 30, tzinfo=york).timestamp()),
            "busy",
        ),
    }


def test_no_all_day_events_means_no_mailbox_settings_request(mailbox: Mailbox) -> None:
    mailbox.put("a", T0 + DAY, T0 + DAY + HOUR)
    mailbox.sync()
    assert not any("mailboxSettings" in c for c in mailbox.graph_calls())


@pytest.mark.parametrize(
    "broken",
    [
        {"start": None},
        {"end": {"timeZone": "UTC"}},
        {"start": {"dateTime": "next tuesday", "timeZone": "UTC"}},
        {"start": {"dateTime": "2026-13-45T00:00:00", "timeZone": "UTC"}},
        {"end": {"dateTime": "2026-12-02T10:00:00", "timeZone": "Mars/Olympus"}},
        {"start": utc(T0 + DAY + HOUR), "end": utc(T0 + DAY)},
    ],
)
def test_an_event_with_missing_or_bad_times_is_a_problem(
    mailbox: Mailbox, broken: dict[str, Any]
) -> None:
    mailbox.put("good", T0 + 2 * DAY, T0 + 2 * DAY + HOUR)
    mailbox.graph.put({**graph_event("bad", T0 + DAY, T0 + DAY + HOUR), **broken})
    mailbox.graph.put({"subject": "no id at all"})
    result = mailbox.sync()
    assert spans(result) == {("good", T0 + 2 * DAY, T0 + 2 * DAY + HOUR, "busy")}
    assert [p.external_id for p in result.problems] == ["bad", None]
    assert all(p.calendar == "default" for p in result.problems)


def test_an_event_broken_later_leaves_the_stored_blocks(mailbox: Mailbox) -> None:
    mailbox.put("a", T0 + DAY, T0 + DAY + HOUR)
    cursor = only(mailbox.sync()).cursor
    assert cursor is not None
    mailbox.graph.put({**graph_event("a", T0, T0 + 1), "start": None})
    result = mailbox.sync(cursors={"default": cursor})
    delta = only(result)
    assert isinstance(delta, CalendarDelta)
    assert delta.deleted_ids == ("a",)  # as a fresh snapshot would skip it
    assert [p.external_id for p in result.problems] == ["a"]


# -- calendars ----------------------------------------------------------------------------------


def test_chosen_calendars_gone_and_dropped(mailbox: Mailbox) -> None:
    mailbox.graph.events["cal/work"] = {}
    mailbox.graph.put(graph_event("w", T0 + DAY, T0 + DAY + HOUR), "cal/work")
    result = mailbox.sync(
        settings={"calendars": ["cal/work", "gone"]}, cursors={"default": "old", "gone": "x"}
    )
    assert [p.calendar for p in result.calendars] == ["cal/work"]
    assert "/me/calendars/cal%2Fwork/calendarView/delta" in mailbox.graph_calls()[0]
    assert sorted(result.removed_calendars) == ["default", "gone"]
    assert [p.calendar for p in result.problems] == ["gone"]


def test_a_forbidden_calendar_is_a_problem_and_keeps_its_blocks(mailbox: Mailbox) -> None:
    mailbox.graph.faults.append(httpx.Response(403, json={"error": {"code": "ErrorAccessDenied"}}))
    result = mailbox.sync()
    assert result.calendars == ()
    assert result.removed_calendars == ()
    assert "ErrorAccessDenied" in result.problems[0].message


# -- settings -----------------------------------------------------------------------------------

CREDENTIALS = {"token_cache": "{}", "home_account_id": "u.t"}


@pytest.mark.parametrize(
    ("settings", "credentials", "field"),
    [
        ({"calendar": "default"}, CREDENTIALS, "settings.calendar"),
        ({"calendars": "primary"}, CREDENTIALS, "settings.calendars"),
        ({"calendars": []}, CREDENTIALS, "settings.calendars"),
        ({"calendars": ["ok", 3]}, CREDENTIALS, "settings.calendars.1"),
        ({"calendars": ["with space"]}, CREDENTIALS, "settings.calendars.0"),
        ({"emails": ["nope"]}, CREDENTIALS, "settings.emails.0"),
        ({"emails": "ada@example.org"}, CREDENTIALS, "settings.emails"),
        ({}, {"home_account_id": "u.t"}, "credentials.token_cache"),
        ({}, {"token_cache": "{}", "home_account_id": ""}, "credentials.home_account_id"),
        ({}, {**CREDENTIALS, "refresh_token": "r"}, "credentials.refresh_token"),
    ],
)
def test_invalid_bodies_name_the_field(
    settings: dict[str, Any], credentials: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        OutlookConnector().validate_settings(settings, credentials)
    assert caught.value.field == field


def test_valid_bodies() -> None:
    connector = OutlookConnector()
    connector.validate_settings({}, CREDENTIALS)
    connector.validate_settings(
        {"calendars": "default", "emails": ["ada@example.org"]}, CREDENTIALS
    )
    connector.validate_settings({"calendars": ["AAMkAD=="]}, CREDENTIALS)


def test_registered_as_the_outlook_entry_point() -> None:
    from importlib.metadata import entry_points

    [entry] = [e for e in entry_points(group="openslots.connectors") if e.name == "outlook"]
    assert entry.load() is OutlookConnector
    assert OutlookConnector.provider == "outlook"


def test_default_calendar_id_is_not_leaked_into_calendar_names(mailbox: Mailbox) -> None:
    mailbox.graph.put(graph_event("a", T0 + DAY, T0 + DAY + HOUR), DEFAULT_CALENDAR)
    assert [p.calendar for p in mailbox.sync().calendars] == ["default"]
