"""The ICS URL connector: one iCalendar feed over HTTP(S) as one calendar, ``"default"``.

Each sync is one GET of the feed through the client the request provides (the SSRF guard,
size and time caps live there), following at most its redirect limit:

* the cursor (:mod:`openslots_ics.cursor`) made for the same window and normalization
  parameters turns the GET conditional (``If-None-Match`` / ``If-Modified-Since``); a
  ``304 Not Modified``, or a body whose SHA-256 equals the cursor's, is answered with an empty
  :class:`CalendarDelta`: nothing is parsed and nothing is written;
* otherwise the body must look like iCalendar (a login page served with ``200`` is refused with
  :class:`FeedInvalid`), is normalized on a worker thread (the busy rules of DESIGN §5, shared
  with CalDAV) and answered as a :class:`CalendarSnapshot`; events and series that could not be
  read become :class:`SyncProblem` entries while the rest still counts.

A plain feed has no change log, so the connector never sends a delta with content: any change
gives a snapshot of the window.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Mapping
from typing import Any

import httpx

from openslots.sync.contract import (
    BusyEvent,
    CalendarDelta,
    CalendarSnapshot,
    Connector,
    FeedInvalid,
    SyncProblem,
    SyncRequest,
    SyncResult,
    TransientError,
)
from openslots.sync.normalize import NormalizedCalendar, normalize

from . import settings as body
from .cursor import FeedCursor, reading_of
from .responses import check_body, raise_for_status
from .urls import fetch_url, url_problem

__all__ = ["CALENDAR", "IcsConnector"]

CALENDAR = "default"
"""The one calendar of an ICS connection."""

_ACCEPT = "text/calendar, text/plain;q=0.8, */*;q=0.5"
# normalize's occurrence ids are UID + "#" + the RECURRENCE-ID; blocks are keyed by the UID.
_OCCURRENCE = re.compile(r"#\d{8}T\d{6}\Z")
# The store keeps external ids in 500 characters; longer UIDs (generators that pack data into
# them) are replaced by their hash.
_MAX_ID_LENGTH = 255


class IcsConnector(Connector):
    """``provider = "ics"``: a calendar feed at a URL. See :mod:`openslots_ics.settings` for
    the connection's body and the module docstring for the sync."""

    provider = "ics"

    def separate_secrets(
        self, settings: Mapping[str, Any], credentials: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        return body.separate_secrets(settings, credentials)

    def validate_settings(
        self, settings: Mapping[str, Any], credentials: Mapping[str, Any]
    ) -> None:
        body.validate_settings(settings, credentials)

    async def sync(self, request: SyncRequest) -> SyncResult:
        url = _feed_url(request.credentials)
        host = httpx.URL(url).host
        window = (request.window.start, request.window.end)
        owners = request.owner_emails | body.owner_emails(request.settings)
        reading = reading_of(
            url, window, request.default_zone, owners, request.max_instances_per_series
        )
        previous = FeedCursor.load(request.cursors.get(CALENDAR))
        if previous is not None and (previous.reading != reading or previous.window != window):
            # Made for another window or reading: the old body's answer says nothing here.
            previous = None
        headers = {"Accept": _ACCEPT, **(previous.request_headers() if previous else {})}
        response = await _get(request, url, headers, host)

        if response.status_code == 304:
            if previous is None:
                raise FeedInvalid(f"{host} answered 304 Not Modified to a plain request")
            return _unchanged(previous, response.headers)
        raise_for_status(response.status_code, host, response.headers.get("retry-after"))
        data = response.content
        digest = hashlib.sha256(data).hexdigest()
        if previous is not None and digest == previous.sha256:
            return _unchanged(previous, response.headers)
        check_body(data, host)
        try:
            calendar = await asyncio.to_thread(
                normalize,
                data,
                window,
                default_zone=request.default_zone,
                owner_emails=owners,
                source=f"ics:{CALENDAR}",
                max_instances_per_series=request.max_instances_per_series,
            )
        except FeedInvalid as exc:
            raise FeedInvalid(f"the feed from {host} cannot be read: {exc.message}") from exc
        cursor = FeedCursor(
            window,
            reading,
            digest,
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
        )
        return _snapshot(calendar, request, cursor)


def _feed_url(credentials: Mapping[str, Any]) -> str:
    url = credentials.get("url")
    problem = url_problem(url)
    if problem is not None or not isinstance(url, str):
        raise FeedInvalid(f"the connection's feed URL {problem}")
    return fetch_url(url)


def _basic_auth(credentials: Mapping[str, Any]) -> httpx.BasicAuth | None:
    username = credentials.get("username")
    if not username:
        return None
    return httpx.BasicAuth(str(username), str(credentials.get("password") or ""))


async def _get(
    request: SyncRequest, url: str, headers: dict[str, str], host: str
) -> httpx.Response:
    """GET the feed, following redirects; transport failures become contract errors (the
    guarded client's own errors, UnsafeUrl, FetchFailed and FeedTooLarge, pass unchanged)."""
    auth = _basic_auth(request.credentials)
    async with request.http_client() as client:
        try:
            if auth is None:
                return await client.get(url, headers=headers, follow_redirects=True)
            return await client.get(url, headers=headers, auth=auth, follow_redirects=True)
        except httpx.TooManyRedirects as exc:
            raise FeedInvalid(f"{host} redirected the feed request too many times") from exc
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise FeedInvalid(f"{host} redirected the feed to an address not fetched") from exc
        except httpx.TimeoutException as exc:
            raise TransientError(f"{host} did not answer the feed request in time") from exc
        except httpx.HTTPError as exc:
            # The text of httpx errors can quote the URL, and tracebacks get logged: only the
            # kind of failure is kept.
            raise TransientError(
                f"fetching the feed from {host} failed ({type(exc).__name__})"
            ) from None


def _unchanged(previous: FeedCursor, headers: httpx.Headers) -> SyncResult:
    """Nothing changed upstream since ``previous``: an empty delta, with validators refreshed
    (a 304 may omit them; then the ones sent stay)."""
    cursor = FeedCursor(
        previous.window,
        previous.reading,
        previous.sha256,
        etag=headers.get("etag") or previous.etag,
        last_modified=headers.get("last-modified") or previous.last_modified,
    )
    return SyncResult((CalendarDelta(CALENDAR, (), (), cursor.dump()),))


def _snapshot(calendar: NormalizedCalendar, request: SyncRequest, cursor: FeedCursor) -> SyncResult:
    window = request.window
    events = tuple(
        BusyEvent(_object_id(e.external_id), e.start, e.end, e.kind)
        for e in calendar.events
        # normalize keeps to the window; a snapshot must never carry more, or the store would
        # keep events outside the window that no later snapshot replaces.
        if window.overlaps(e.start, e.end)
    )
    problems = tuple(
        SyncProblem(CALENDAR, f"{p.kind}: {p.reason}", _object_id(p.uid) if p.uid else None)
        for p in calendar.problems
    )
    return SyncResult((CalendarSnapshot(CALENDAR, events, cursor.dump()),), problems)


def _object_id(external_id: str) -> str:
    """The event's UID (every occurrence of a series shares it, as the contract asks), hashed
    when too long to store."""
    uid = _OCCURRENCE.sub("", external_id)
    if len(uid) > _MAX_ID_LENGTH:
        return "sha256:" + hashlib.sha256(uid.encode()).hexdigest()
    return uid
