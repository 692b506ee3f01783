"""The ICS URL connector against the local feed server, through the real SSRF-guarded client.

Every sync goes through ``Fetcher(allow_private_networks=True).async_client`` (the production
client with the loopback switch on), so redirects, caps and the guard are the real ones. What
the connector must not do on an unchanged feed (parse it) is observed by counting calls of the
normalization it imports, and by the server's log of conditional requests and 304s.
"""

from __future__ import annotations

import ast
import asyncio
import base64
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import openslots_ics.connector
from openslots.errors import FeedTooLarge, FetchFailed, UnsafeUrl
from openslots.sync.contract import (
    AuthRevoked,
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
from openslots.sync.fetch import Fetcher, FetchLimits
from openslots.sync.normalize import normalize
from openslots_ics import CALENDAR, IcsConnector
from openslots_ics.cursor import FeedCursor
from tests.fakes.ics_server import IcsServer
from tests.sync import ics, ts
from tests.sync.contract_suite import DAY, HOUR, WINDOW, ConnectorContract

T0 = WINDOW.start
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "ics"
PACKAGE = Path(openslots_ics.connector.__file__).parent
SECRET = "/calendar/ical/ada%40example.org/private-5f3c9e0d1b2a/basic.ics"


def event(uid: str, start: int, end: int, *extra: str) -> str:
    return "\n".join([f"UID:{uid}", f"DTSTART:{_utc(start)}", f"DTEND:{_utc(end)}", *extra])


def _utc(instant: int) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(instant))


ONE = ics(event("one", T0 + DAY, T0 + DAY + HOUR))
TWO = ics(event("one", T0 + DAY, T0 + DAY + HOUR), event("two", T0 + 2 * DAY, T0 + 2 * DAY + HOUR))


# -- fixtures and helpers -----------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[IcsServer]:
    with IcsServer() as running:
        yield running
        assert running.errors == []


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(allow_private_networks=True) as guarded:
        yield guarded


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The bodies the connector handed to normalization, in order."""
    seen: list[bytes] = []

    def counting(data: bytes, *args: Any, **kwargs: Any) -> Any:
        seen.append(data)
        return normalize(data, *args, **kwargs)

    monkeypatch.setattr(openslots_ics.connector, "normalize", counting)
    return seen


def request(
    url: str,
    client: Callable[[], httpx.AsyncClient],
    *,
    window: SyncWindow = WINDOW,
    cursor: str | None = None,
    settings: dict[str, Any] | None = None,
    credentials: dict[str, Any] | None = None,
    **options: Any,
) -> SyncRequest:
    """A request as the API and runner make it: secrets separated, the body validated."""
    connector = IcsConnector()
    stored = connector.separate_secrets({"url": url, **(settings or {})}, credentials or {})
    connector.validate_settings(*stored)
    return SyncRequest(
        settings=stored[0],
        credentials=stored[1],
        window=window,
        http_client=client,
        cursors={CALENDAR: cursor} if cursor is not None else {},
        **options,
    )


def sync(req: SyncRequest) -> SyncResult:
    return asyncio.run(IcsConnector().sync(req))


def part(result: SyncResult) -> CalendarSnapshot | CalendarDelta:
    [only] = result.calendars
    assert only.calendar == CALENDAR
    return only


def spans(result: SyncResult) -> set[tuple[int, int, str]]:
    snapshot = part(result)
    assert isinstance(snapshot, CalendarSnapshot)
    return {(e.start, e.end, e.kind) for e in snapshot.events}


def is_empty_delta(result: SyncResult) -> bool:
    delta = part(result)
    return isinstance(delta, CalendarDelta) and delta.upserted == () and delta.deleted_ids == ()


# -- the contract suite -------------------------------------------------------------------------


class IcsUpstream:
    """The suite's harness: one feed on the local server, regenerated on every change."""

    calendar = CALENDAR

    def __init__(self, server: IcsServer, fetcher: Fetcher) -> None:
        self.server = server
        self.fetcher = fetcher
        self.events: dict[str, tuple[int, int]] = {}
        self._publish()

    def request(self, window: SyncWindow, cursors: dict[str, str]) -> SyncRequest:
        return request(
            self.server.url("/feed.ics"),
            self.fetcher.async_client,
            window=window,
            cursor=cursors.get(CALENDAR),
        )

    def put_event(self, ref: str, start: int, end: int) -> None:
        self.events[ref] = (start, end)
        self._publish()

    def delete_event(self, ref: str) -> None:
        del self.events[ref]
        self._publish()

    def expire(self, cursor: str) -> str:
        # A feed server that restarted: no ETag it handed out before matches any more.
        self.server.forget_validators()
        return cursor

    def _publish(self) -> None:
        body = ics(*(event(ref, s, e) for ref, (s, e) in sorted(self.events.items())))
        self.server.set_feed("/feed.ics", body)


class TestIcsConnectorContract(ConnectorContract):
    # A feed has no change log: changes come as snapshots, "unchanged" as an empty delta.
    supports_delta = False

    @pytest.fixture
    def connector(self) -> Connector:
        return IcsConnector()

    @pytest.fixture
    def upstream(self, server: IcsServer, fetcher: Fetcher) -> IcsUpstream:
        return IcsUpstream(server, fetcher)


def test_the_entry_point_names_this_connector() -> None:
    from openslots.sync.registry import ConnectorRegistry

    assert isinstance(ConnectorRegistry().get("ics"), IcsConnector)


def test_the_package_imports_only_the_contract_and_normalization() -> None:
    imported: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module)
    ours = {m for m in imported if m.split(".")[0] == "openslots"}
    assert ours == {"openslots.sync.contract", "openslots.sync.normalize"}


# -- conditional GET: no parse, no write for an unchanged feed -----------------------------------


def test_an_etag_turns_the_next_sync_into_a_304_and_an_empty_delta(
    server: IcsServer, fetcher: Fetcher, parses: list[bytes]
) -> None:
    server.set_feed("/a.ics", ONE, last_modified=False)
    etag = httpx.get(server.url("/a.ics")).headers["etag"]
    server.clear_log()
    first = sync(request(server.url("/a.ics"), fetcher.async_client))
    assert spans(first) == {(T0 + DAY, T0 + DAY + HOUR, "busy")}
    cursor = part(first).cursor
    second = sync(request(server.url("/a.ics"), fetcher.async_client, cursor=cursor))
    assert is_empty_delta(second)
    assert len(parses) == 1
    [plain, conditional] = server.requests_for("/a.ics")
    assert "if-none-match" not in plain.headers
    assert conditional.headers["if-none-match"] == etag
    assert "if-modified-since" not in conditional.headers
    assert (plain.status, conditional.status) == (200, 304)
    # The chain goes on from the delta's cursor, and a change is a snapshot again.
    third = sync(request(server.url("/a.ics"), fetcher.async_client, cursor=part(second).cursor))
    assert is_empty_delta(third)
    server.set_feed("/a.ics", TWO, last_modified=False)
    fourth = sync(request(server.url("/a.ics"), fetcher.async_client, cursor=part(third).cursor))
    assert len(spans(fourth)) == 2
    assert len(parses) == 2


def test_last_modified_alone_gives_a_304(
    server: IcsServer, fetcher: Fetcher, parses: list[bytes]
) -> None:
    server.set_feed("/a.ics", ONE, etag=False)
    first = sync(request(server.url("/a.ics"), fetcher.async_client))
    second = sync(request(server.url("/a.ics"), fetcher.async_client, cursor=part(first).cursor))
    assert is_empty_delta(second)
    assert len(parses) == 1
    [_, conditional] = server.requests_for("/a.ics")
    assert "if-none-match" not in conditional.headers
    assert conditional.headers["if-modified-since"]
    assert conditional.status == 304
    # A new body gets a later Last-Modified, so it is fetched and parsed.
    server.set_feed("/a.ics", TWO, etag=False)
    third = sync(request(server.url("/a.ics"), fetcher.async_client, cursor=part(second).cursor))
    assert len(spans(third)) == 2
    assert len(parses) == 2


def test_without_validators_an_identical_body_is_not_parsed(
    server: IcsServer, fetcher: Fetcher, parses: list[bytes]
) -> None:
    server.set_feed("/a.ics", ONE, etag=False, last_modified=False)
    first = sync(request(server.url("/a.ics"), fetcher.async_client))
    cursor = part(first).cursor
    assert cursor is not None
    second = sync(request(server.url("/a.ics"), fetcher.async_client, cursor=cursor))
    assert is_empty_delta(second)
    assert len(parses) == 1
    # The body was sent again (no validators to send), and only its digest was compared.
    assert [r.status for r in server.requests_for("/a.ics")] == [200, 200]
    assert all("if-none-match" not in r.headers for r in server.requests_for("/a.ics"))
    server.set_feed("/a.ics", TWO, etag=False, last_modified=False)
    third = sync(request(server.url("/a.ics"), fetcher.async_client, cursor=part(second).cursor))
    assert len(spans(third)) == 2
    assert parses == [ONE, TWO]


def test_the_cursor_records_validators_digest_and_window(
    server: IcsServer, fetcher: Fetcher
) -> None:
    server.set_feed("/a.ics", ONE)
    result = sync(request(server.url("/a.ics"), fetcher.async_client))
    text = part(result).cursor
    cursor = FeedCursor.load(text)
    assert cursor is not None
    answer = httpx.get(server.url("/a.ics"))
    assert cursor.etag == answer.headers["etag"]
    assert cursor.last_modified == answer.headers["last-modified"]
    assert cursor.window == (WINDOW.start, WINDOW.end)
    assert cursor.sha256 == hashlib.sha256(ONE).hexdigest()
    # Cursors are stored in plain text: no part of the feed's address may be in one.
    assert text is not None
    assert "127.0.0.1" not in text
    assert "a.ics" not in text


def test_another_window_is_parsed_again_without_validators(
    server: IcsServer, fetcher: Fetcher, parses: list[bytes]
) -> None:
    late = T0 + WINDOW.end - WINDOW.start + HOUR  # after the first window, inside the next
    server.set_feed(
        "/a.ics", ics(event("one", T0 + DAY, T0 + DAY + HOUR), event("late", late, late + HOUR))
    )
    first = sync(request(server.url("/a.ics"), fetcher.async_client))
    assert spans(first) == {(T0 + DAY, T0 + DAY + HOUR, "busy")}
    later = SyncWindow(WINDOW.start + DAY, WINDOW.end + DAY)
    second = sync(
        request(server.url("/a.ics"), fetcher.async_client, window=later, cursor=part(first).cursor)
    )
    assert spans(second) == {(T0 + DAY, T0 + DAY + HOUR, "busy"), (late, late + HOUR, "busy")}
    assert len(parses) == 2
    # No conditional headers: a 304 would leave nothing to parse for the new window.
    assert all("if-none-match" not in r.headers for r in server.requests_for("/a.ics"))
    assert [r.status for r in server.requests_for("/a.ics")] == [200, 200]


def test_other_normalization_parameters_are_parsed_again(
    server: IcsServer, fetcher: Fetcher, parses: list[bytes]
) -> None:
    # An all-day event is read in the resource's zone when the feed names none.
    server.set_feed(
        "/a.ics", ics("UID:day\nDTSTART;VALUE=DATE:20261203\nDTEND;VALUE=DATE:20261204")
    )
    url = server.url("/a.ics")
    first = sync(request(url, fetcher.async_client, default_zone="UTC"))
    assert spans(first) == {(ts("2026-12-03T00:00"), ts("2026-12-04T00:00"), "busy")}
    second = sync(
        request(url, fetcher.async_client, cursor=part(first).cursor, default_zone="Asia/Tokyo")
    )
    assert spans(second) == {(ts("2026-12-02T15:00"), ts("2026-12-03T15:00"), "busy")}
    assert len(parses) == 2


def test_an_unreadable_cursor_gives_a_snapshot(server: IcsServer, fetcher: Fetcher) -> None:
    server.set_feed("/a.ics", ONE)
    for cursor in ("not json", '{"v": 99}', '{"v": 1, "window": "x"}', "[]"):
        result = sync(request(server.url("/a.ics"), fetcher.async_client, cursor=cursor))
        assert spans(result) == {(T0 + DAY, T0 + DAY + HOUR, "busy")}
    assert all("if-none-match" not in r.headers for r in server.requests_for("/a.ics"))


def test_a_304_to_a_plain_request_is_refused(server: IcsServer, fetcher: Fetcher) -> None:
    server.set_response("/a.ics", 304)
    with pytest.raises(FeedInvalid, match="304"):
        sync(request(server.url("/a.ics"), fetcher.async_client))


# -- URLs, redirects, caps, the guard -----------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "fetched"),
    [
        ("webcal://calendar.example/feeds/a.ics?t=1", "https://calendar.example/feeds/a.ics?t=1"),
        ("WEBCAL://calendar.example/a.ics", "https://calendar.example/a.ics"),
        ("webcals://calendar.example:8443/a.ics", "https://calendar.example:8443/a.ics"),
        ("http://calendar.example/a.ics", "http://calendar.example/a.ics"),
    ],
)
def test_webcal_is_fetched_over_https(given: str, fetched: str) -> None:
    seen: list[str] = []

    def answer(req: httpx.Request) -> httpx.Response:
        seen.append(str(req.url))
        return httpx.Response(200, content=ONE)

    def client() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(answer))

    result = sync(request(given, client))
    assert seen == [fetched]
    assert len(spans(result)) == 1


def test_redirects_are_followed(server: IcsServer, fetcher: Fetcher) -> None:
    server.set_feed("/new.ics", ONE)
    server.set_redirect("/old.ics", "/moved.ics", status=301)
    server.set_redirect("/moved.ics", server.url("/new.ics"), status=307)
    result = sync(request(server.url("/old.ics"), fetcher.async_client))
    assert spans(result) == {(T0 + DAY, T0 + DAY + HOUR, "busy")}
    assert [r.path for r in server.requests] == ["/old.ics", "/moved.ics", "/new.ics"]


def test_too_many_redirects_and_loops_are_feed_errors(server: IcsServer, fetcher: Fetcher) -> None:
    server.set_feed("/4.ics", ONE)
    for hop in range(4):
        server.set_redirect(f"/{hop}.ics", f"/{hop + 1}.ics")
    server.set_redirect("/loop.ics", "/loop.ics")
    for path in ("/0.ics", "/loop.ics"):
        with pytest.raises(FeedInvalid, match=r"127\.0\.0\.1 redirected the feed request too many"):
            sync(request(server.url(path), fetcher.async_client))
    # Three redirects are followed (the client's cap), so a chain of three works.
    assert len(spans(sync(request(server.url("/1.ics"), fetcher.async_client)))) == 1


def test_the_size_cap_of_the_real_client_applies(server: IcsServer) -> None:
    big = ics(*(event(f"e{i}", T0 + i * HOUR, T0 + i * HOUR + 60) for i in range(50)))
    assert len(big) > 2048
    server.set_feed("/big.ics", big)
    server.set_feed("/small.ics", ONE)
    with Fetcher(allow_private_networks=True, limits=FetchLimits(max_bytes=2048)) as small:
        assert len(spans(sync(request(server.url("/small.ics"), small.async_client)))) == 1
        with pytest.raises(FeedTooLarge):
            sync(request(server.url("/big.ics"), small.async_client))


def test_the_time_cap_of_the_real_client_applies(server: IcsServer) -> None:
    server.set_feed("/slow.ics", ONE)
    server.hang("/slow.ics")
    limits = FetchLimits(total_seconds=0.3, read_seconds=0.3)
    with Fetcher(allow_private_networks=True, limits=limits) as quick:
        started = time.monotonic()
        with pytest.raises(FetchFailed) as caught:
            sync(request(server.url("/slow.ics"), quick.async_client))
        assert time.monotonic() - started < 5
    assert isinstance(caught.value, TransientError)
    assert caught.value.kind == "timeout"
    server.release("/slow.ics")


def test_the_guard_refuses_loopback_unless_private_networks_are_allowed(
    server: IcsServer,
) -> None:
    server.set_feed("/a.ics", ONE)
    with Fetcher() as strict, pytest.raises(UnsafeUrl):
        sync(request(server.url("/a.ics"), strict.async_client))
    assert server.requests == []


def test_basic_auth_is_sent_when_configured(server: IcsServer, fetcher: Fetcher) -> None:
    server.set_feed("/a.ics", ONE)
    credentials = {"username": "ada", "password": "s3cret"}
    sync(request(server.url("/a.ics"), fetcher.async_client, credentials=credentials))
    sync(request(server.url("/a.ics"), fetcher.async_client))
    with_auth, without = server.requests_for("/a.ics")
    assert with_auth.headers["authorization"] == "Basic " + base64.b64encode(b"ada:s3cret").decode()
    assert "authorization" not in without.headers


# -- content check and status mapping -----------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "says"),
    [
        (b"<!DOCTYPE html><html><body>Sign in</body></html>", "text/html", "HTML page"),
        (b"\n<html><head></head></html>", "text/calendar", "HTML page"),
        (b'{"error": "not found"}', "application/json", "JSON"),
        (b"", "text/calendar", "empty"),
        (b"Hello", "text/plain", "does not start with BEGIN:VCALENDAR"),
    ],
)
def test_a_body_that_is_not_icalendar_is_refused_naming_the_host_only(
    server: IcsServer, fetcher: Fetcher, body: bytes, content_type: str, says: str
) -> None:
    server.set_feed(SECRET, body, content_type=content_type)
    with pytest.raises(FeedInvalid) as caught:
        sync(request(server.url(SECRET), fetcher.async_client))
    message = str(caught.value)
    assert "127.0.0.1" in message
    assert says in message
    assert "private-" not in message
    assert "basic.ics" not in message


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (ONE, "text/plain"),
        (ONE, "text/html"),
        (ONE, "application/octet-stream"),
        (b"\xef\xbb\xbf\r\n\r\n" + ONE, "text/calendar"),
        (ONE.replace(b"BEGIN:VCALENDAR", b"begin:vcalendar", 1), "text/calendar"),
    ],
)
def test_icalendar_is_accepted_whatever_its_content_type(
    server: IcsServer, fetcher: Fetcher, body: bytes, content_type: str
) -> None:
    server.set_feed("/a.ics", body, content_type=content_type)
    result = sync(request(server.url("/a.ics"), fetcher.async_client))
    assert spans(result) == {(T0 + DAY, T0 + DAY + HOUR, "busy")}


@pytest.mark.parametrize(
    ("answer", "error", "retry_after"),
    [
        ((401, {}), AuthRevoked, None),
        ((403, {}), AuthRevoked, None),
        ((404, {}), FeedInvalid, None),
        ((410, {}), FeedInvalid, None),
        ((400, {}), FeedInvalid, None),
        ((418, {}), FeedInvalid, None),
        ((300, {}), FeedInvalid, None),
        ((429, {"Retry-After": "7"}), RateLimited, 7.0),
        ((429, {}), RateLimited, None),
        ((503, {"Retry-After": "120"}), TransientError, 120.0),
        ((500, {}), TransientError, None),
        ((502, {"Retry-After": "soon"}), TransientError, None),
    ],
)
def test_statuses_become_contract_errors(
    server: IcsServer,
    fetcher: Fetcher,
    answer: tuple[int, dict[str, str]],
    error: type[Exception],
    retry_after: float | None,
) -> None:
    status, headers = answer
    server.set_response(SECRET, status, b"<html>no</html>", headers)
    with pytest.raises(error) as caught:
        sync(request(server.url(SECRET), fetcher.async_client))
    assert type(caught.value) is error
    assert getattr(caught.value, "retry_after", None) == retry_after
    assert "127.0.0.1" in str(caught.value)
    assert "private-" not in str(caught.value)


def test_retry_after_as_an_http_date(server: IcsServer, fetcher: Fetcher) -> None:
    when = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 600))
    server.set_response("/a.ics", 429, headers={"Retry-After": when})
    with pytest.raises(RateLimited) as caught:
        sync(request(server.url("/a.ics"), fetcher.async_client))
    assert caught.value.retry_after is not None
    assert 500 < caught.value.retry_after <= 600


def test_a_connection_refused_is_transient(fetcher: Fetcher) -> None:
    with IcsServer() as gone:
        url = gone.url("/a.ics")
    with pytest.raises(TransientError):
        sync(request(url, fetcher.async_client))


# -- normalization: busy rules, window, problems ------------------------------------------------


def test_owner_addresses_from_settings_and_request_both_decline(
    server: IcsServer, fetcher: Fetcher
) -> None:
    def invited(uid: str, day: int, who: str) -> str:
        start = T0 + day * DAY
        return event(uid, start, start + HOUR, f"ATTENDEE;PARTSTAT=DECLINED:mailto:{who}")

    server.set_feed(
        "/a.ics",
        ics(
            invited("ada", 1, "Ada@Example.org"),
            invited("bob", 2, "bob@example.org"),
            invited("eve", 3, "eve@example.org"),
        ),
    )
    result = sync(
        request(
            server.url("/a.ics"),
            fetcher.async_client,
            settings={"emails": ["mailto:ada@example.ORG"]},
            owner_emails=frozenset({"bob@example.org"}),
        )
    )
    assert spans(result) == {(T0 + 3 * DAY, T0 + 3 * DAY + HOUR, "busy")}


def test_a_series_is_expanded_in_the_window_under_one_external_id(
    server: IcsServer, fetcher: Fetcher
) -> None:
    long_uid = "x" * 400
    server.set_feed(
        "/a.ics",
        ics(
            event("daily", T0 - 30 * DAY + 9 * HOUR, T0 - 30 * DAY + 10 * HOUR, "RRULE:FREQ=DAILY"),
            event(long_uid, T0 + 5 * HOUR, T0 + 6 * HOUR, "STATUS:TENTATIVE"),
            event("free", T0 + 7 * HOUR, T0 + 8 * HOUR, "TRANSP:TRANSPARENT"),
        ),
    )
    result = sync(request(server.url("/a.ics"), fetcher.async_client))
    snapshot = part(result)
    assert isinstance(snapshot, CalendarSnapshot)
    daily = [e for e in snapshot.events if e.external_id == "daily"]
    assert [(e.start, e.end) for e in daily] == [
        (T0 + d * DAY + 9 * HOUR, T0 + d * DAY + 10 * HOUR) for d in range(10)
    ]
    [tentative] = [e for e in snapshot.events if e.kind == "tentative"]
    assert tentative.external_id.startswith("sha256:")
    assert len(snapshot.events) == 11
    assert all(WINDOW.overlaps(e.start, e.end) for e in snapshot.events)


def test_a_bad_series_is_a_problem_and_the_rest_still_counts(
    server: IcsServer, fetcher: Fetcher
) -> None:
    server.set_feed(
        "/a.ics",
        ics(
            event("good", T0 + DAY, T0 + DAY + HOUR),
            event("bad", T0, T0 + HOUR, "RRULE:FREQ=WEEKLY;UNTL=20271023;BYDAY=TH"),
        ),
    )
    result = sync(request(server.url("/a.ics"), fetcher.async_client))
    assert spans(result) == {(T0 + DAY, T0 + DAY + HOUR, "busy")}
    [problem] = result.problems
    assert (problem.calendar, problem.external_id) == (CALENDAR, "bad")
    assert problem.message.startswith("skipped: ")


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the shared ICS corpus is missing at {CORPUS}")
@pytest.mark.parametrize(
    ("name", "day", "external_id"),
    [
        ("bad_rrule_missing_until_event.ics", "2019-08-01", "blabla"),
        ("issue_165_missing_event.ics", "2019-09-01", None),
        ("one_day_event_repeat_every_day.ics", "2019-03-04", "UYDQSG9TH4DE0WM3QFL2J"),
    ],
)
def test_broken_corpus_feeds_record_problems(
    server: IcsServer, fetcher: Fetcher, name: str, day: str, external_id: str | None
) -> None:
    server.set_feed("/a.ics", (CORPUS / name).read_bytes())
    start = ts(f"{day}T00:00")
    result = sync(
        request(
            server.url("/a.ics"),
            fetcher.async_client,
            window=SyncWindow(start, start + 30 * DAY),
            max_instances_per_series=5,
        )
    )
    assert isinstance(part(result), CalendarSnapshot)
    assert result.problems
    assert all(p.calendar == CALENDAR for p in result.problems)
    if external_id is not None:
        assert external_id in {p.external_id for p in result.problems}


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the shared ICS corpus is missing at {CORPUS}")
def test_an_unparsable_corpus_feed_is_invalid_naming_the_host(
    server: IcsServer, fetcher: Fetcher
) -> None:
    server.set_feed(SECRET, (CORPUS / "issue_104_broken_calendar.ics").read_bytes())
    with pytest.raises(FeedInvalid) as caught:
        sync(request(server.url(SECRET), fetcher.async_client))
    assert "the feed from 127.0.0.1 cannot be read" in str(caught.value)
    assert "private-" not in str(caught.value)


# -- separate_secrets and validate_settings -----------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://calendar.google.com/calendar/ical/a%40b.c/private-0123/basic.ics",
            "https://calendar.google.com/…",
        ),
        (
            "webcal://ada:pw@Feeds.Example.org:8443/x.ics?token=1#f",
            "webcal://feeds.example.org:8443/…",
        ),
        ("http://[2001:db8::1]/cal.ics", "http://[2001:db8::1]/…"),
        ("WEBCALS://example.org", "webcals://example.org/…"),
    ],
)
def test_the_url_moves_to_credentials_and_settings_keep_a_display_form(
    url: str, shown: str
) -> None:
    connector = IcsConnector()
    settings, credentials = connector.separate_secrets(
        {"url": url, "emails": ["a@b.c"]}, {"username": "u"}
    )
    assert settings == {"url": shown, "emails": ["a@b.c"]}
    assert credentials == {"url": url, "username": "u"}
    connector.validate_settings(settings, credentials)
    # Storing it again (the display form sent back) keeps the secret URL.
    assert connector.separate_secrets(settings, credentials) == (settings, credentials)


def test_a_new_url_replaces_the_stored_one() -> None:
    connector = IcsConnector()
    stored = connector.separate_secrets({"url": "https://a.example/one.ics"}, {})
    settings, credentials = connector.separate_secrets(
        {"url": "https://b.example/two.ics"}, stored[1]
    )
    assert (settings["url"], credentials["url"]) == (
        "https://b.example/…",
        "https://b.example/two.ics",
    )


def test_separation_leaves_a_url_that_is_not_text_to_validation() -> None:
    connector = IcsConnector()
    settings, credentials = connector.separate_secrets({"url": 5}, {})
    with pytest.raises(ValidationError) as caught:
        connector.validate_settings(settings, credentials)
    assert caught.value.field == "settings.url"


FEED = {"url": "https://example.org/a"}


@pytest.mark.parametrize(
    ("settings", "credentials", "field", "says"),
    [
        ({}, {}, "settings.url", "required"),
        ({"url": ""}, {}, "settings.url", "required"),
        ({"url": "ftp://example.org/a.ics"}, {}, "settings.url", "http://"),
        ({"url": "file:///etc/passwd"}, {}, "settings.url", "http://"),
        ({"url": "example.org/a.ics"}, {}, "settings.url", "http://"),
        ({"url": "https:///a.ics"}, {}, "settings.url", "no host"),
        ({"url": "https://exa mple.org/a.ics"}, {}, "settings.url", "host name"),
        ({"url": "https://example.org:99999/a.ics"}, {}, "settings.url", "not a valid URL"),
        ({"url": "https://example.org/" + "a" * 5000}, {}, "settings.url", "longer"),
        ({"url": "https://example.org/…"}, {}, "settings.url", "shortened form"),
        ({}, {"url": "gopher://x/"}, "credentials.url", "http://"),
        ({**FEED, "email": "a@b.c"}, {}, "settings.email", "not one of"),
        (FEED, {"token": "t"}, "credentials.token", "not one of"),
        ({**FEED, "emails": "a@b.c"}, {}, "settings.emails", "list"),
        ({**FEED, "emails": ["a@b.c", "nobody"]}, {}, "settings.emails.1", "e-mail"),
        ({**FEED, "emails": [3]}, {}, "settings.emails.0", "e-mail"),
        ({**FEED, "emails": ["a b@c.d"]}, {}, "settings.emails.0", "e-mail"),
        ({**FEED, "emails": ["a@b.c"] * 51}, {}, "settings.emails", "at most"),
        (FEED, {"password": "p"}, "credentials.username", "required"),
        (FEED, {"username": ""}, "credentials.username", "non-empty"),
        (FEED, {"username": "u", "password": 1}, "credentials.password", "string"),
    ],
)
def test_validation_names_the_field(
    settings: dict[str, Any], credentials: dict[str, Any], field: str, says: str
) -> None:
    connector = IcsConnector()
    separated = connector.separate_secrets(settings, credentials)
    with pytest.raises(ValidationError) as caught:
        connector.validate_settings(*separated)
    assert caught.value.field == field
    assert says in caught.value.message
    # The message never repeats the secret part of the URL.
    assert "a.ics" not in caught.value.message


def test_validation_wants_the_url_separated_first() -> None:
    with pytest.raises(ValidationError) as caught:
        IcsConnector().validate_settings({"url": "https://example.org/a.ics"}, {})
    assert caught.value.field == "credentials.url"


@pytest.mark.parametrize(
    ("settings", "credentials"),
    [
        ({"url": "webcal://example.org/a.ics"}, {}),
        ({"url": "https://example.org/a.ics", "emails": []}, {}),
        ({"url": "http://10.0.0.5:8080/a.ics", "emails": ["mailto:Ada@Example.org"]}, {}),
        ({}, {"url": "https://example.org/a.ics", "username": "u", "password": ""}),
    ],
)
def test_valid_bodies_pass(settings: dict[str, Any], credentials: dict[str, Any]) -> None:
    connector = IcsConnector()
    separated = connector.separate_secrets(settings, credentials)
    connector.validate_settings(*separated)
    assert separated[0]["url"].endswith("/…")
    assert separated[1]["url"].endswith("/a.ics")


# -- the fake feed server itself ----------------------------------------------------------------


def test_the_server_serves_concurrent_requests_and_counts_them(
    server: IcsServer, fetcher: Fetcher
) -> None:
    paths = [f"/feed-{i}.ics" for i in range(100)]
    for path in paths:
        server.set_feed(path, ONE)
    server.set_delay(0.3)

    async def burst() -> list[SyncResult]:
        # The repeated paths come first so that both of their requests run in the first wave.
        requests = [request(server.url(p), fetcher.async_client) for p in [*paths[:5], *paths]]
        return await asyncio.gather(*(IcsConnector().sync(r) for r in requests))

    started = time.monotonic()
    results = asyncio.run(burst())
    elapsed = time.monotonic() - started
    assert all(len(spans(r)) == 1 for r in results)
    # One after another this is 31.5 s; the fetcher runs 64 at a time, so about 0.6 s.
    assert elapsed < 10
    assert server.max_in_flight(paths[0]) == 2
    assert server.max_in_flight(paths[-1]) == 1
    assert server.max_in_flight() == 2
    assert len(server.requests) == 105
    assert all(r.status == 200 for r in server.requests)


def test_the_server_hangs_and_releases_a_path(server: IcsServer) -> None:
    server.set_feed("/a.ics", ONE)
    server.hang("/a.ics")
    answers: list[int] = []

    def fetch() -> None:
        answers.append(httpx.get(server.url("/a.ics"), timeout=5).status_code)

    thread = threading.Thread(target=fetch)
    thread.start()
    deadline = time.monotonic() + 5
    while server.in_flight("/a.ics") == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.in_flight("/a.ics") == 1
    assert answers == []
    server.release("/a.ics")
    thread.join(5)
    assert answers == [200]
    assert server.in_flight("/a.ics") == 0


def test_the_server_answers_conditional_requests_like_rfc_9110(server: IcsServer) -> None:
    server.set_feed("/a.ics", ONE)
    first = httpx.get(server.url("/a.ics"))
    etag, modified = first.headers["etag"], first.headers["last-modified"]

    def status(headers: dict[str, str]) -> int:
        return httpx.get(server.url("/a.ics"), headers=headers).status_code

    assert status({"If-None-Match": etag}) == 304
    assert status({"If-None-Match": f'"other", W/{etag}'}) == 304
    assert status({"If-None-Match": "*"}) == 304
    assert status({"If-None-Match": '"other"'}) == 200
    # If-None-Match wins over If-Modified-Since.
    assert status({"If-None-Match": '"other"', "If-Modified-Since": modified}) == 200
    assert status({"If-Modified-Since": modified}) == 304
    assert status({"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"}) == 200
    assert status({"If-Modified-Since": "garbage"}) == 200
    server.set_feed("/a.ics", TWO)
    again = httpx.get(server.url("/a.ics"))
    assert again.headers["etag"] != etag
    assert again.headers["last-modified"] != modified
    assert status({"If-None-Match": etag}) == 200
    assert httpx.get(server.url("/missing.ics")).status_code == 404
