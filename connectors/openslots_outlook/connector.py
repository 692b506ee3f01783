"""The Outlook / Microsoft 365 connector: calendarView delta rounds over Microsoft Graph.

Per chosen calendar (``"default"`` is the mailbox's default calendar, else Graph calendar ids):

* a cursor (:mod:`openslots_outlook.cursor`) made for the same window gives a delta: its
  ``@odata.deltaLink`` is fetched verbatim and the round's items become ``upserted`` (busy and
  inside the window) or ``deleted_ids`` (``@removed``, no longer busy, moved out of the window,
  unreadable). An expired state token (410, ``syncStateNotFound``) falls back to a snapshot in
  the same sync;
* otherwise a new round for the window (``startDateTime``/``endDateTime``) gives a snapshot.
  Graph fixes the window in its tokens, so a new window always starts a new round.

A calendar that is gone (404) is removed, one that is forbidden (403) is reported and keeps its
blocks. Tokens come from msal (:mod:`openslots_outlook.tokens`); a changed msal cache is
returned as new credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any, ClassVar
from urllib.parse import quote

from openslots.sync.contract import (
    BusyEvent,
    CalendarDelta,
    CalendarSnapshot,
    Connector,
    CursorExpired,
    SyncProblem,
    SyncRequest,
    SyncResult,
)

from . import settings as body
from .cursor import DeltaCursor
from .events import Mapped, map_item, zone_named
from .graph import CalendarUnavailable, DeltaExpired, Graph
from .tokens import TokenSource

__all__ = ["DEFAULT_GRAPH_URL", "OutlookConnector"]

DEFAULT_GRAPH_URL = "https://graph.microsoft.com/v1.0"


class OutlookConnector(Connector):
    """Busy time from Outlook calendars (Microsoft 365 and personal accounts).

    ``msal_http_client`` is for tests (an object with msal's ``get``/``post`` interface);
    openslots makes the instance without arguments and msal then uses ``requests``.
    """

    provider: ClassVar[str] = "outlook"

    def __init__(self, msal_http_client: Any = None) -> None:
        self._msal_http_client = msal_http_client

    def validate_settings(
        self, settings: Mapping[str, Any], credentials: Mapping[str, Any]
    ) -> None:
        body.validate_settings(settings, credentials)

    async def sync(self, request: SyncRequest) -> SyncResult:
        tokens = TokenSource(request.provider_config, request.credentials, self._msal_http_client)
        chosen = body.calendar_choice(request.settings)
        parts: list[CalendarSnapshot | CalendarDelta] = []
        problems: list[SyncProblem] = []
        removed: list[str] = [c for c in request.cursors if c not in chosen]
        async with request.http_client() as client:
            graph = Graph(
                client, str(request.provider_config.get("graph_url") or DEFAULT_GRAPH_URL), tokens
            )
            sync = _Sync(graph, request, problems)
            for calendar in chosen:
                try:
                    parts.append(await sync.calendar(calendar))
                except CalendarUnavailable as exc:
                    if exc.status == 404 and calendar != body.DEFAULT:
                        removed.append(calendar)
                        problems.append(
                            SyncProblem(calendar, "the calendar no longer exists in Outlook")
                        )
                    else:
                        problems.append(
                            SyncProblem(calendar, f"the calendar cannot be read ({exc})")
                        )
        return SyncResult(
            calendars=tuple(parts),
            problems=tuple(problems),
            removed_calendars=tuple(dict.fromkeys(removed)),
            credentials=tokens.credentials(),
        )


class _Sync:
    """The state of one sync: the mailbox zone is asked for at most once, and only when an
    all-day event needs it."""

    _UNASKED: ClassVar[object] = object()

    def __init__(self, graph: Graph, request: SyncRequest, problems: list[SyncProblem]) -> None:
        self._graph = graph
        self._window = request.window
        self._cursors = request.cursors
        self._problems = problems
        self._default_zone = zone_named(request.default_zone) or UTC
        self._mailbox_zone: object = self._UNASKED

    async def calendar(self, calendar: str) -> CalendarSnapshot | CalendarDelta:
        cursor = DeltaCursor.load(self._cursors.get(calendar))
        if cursor is not None and cursor.covers(self._window):
            try:
                items, link = await self._graph.round(cursor.delta_link)
            except DeltaExpired:
                pass  # a new round below: the same as the runner's retry, one call sooner
            else:
                return await self._delta(calendar, items, link)
        try:
            items, link = await self._graph.round(self._first_url(calendar), self._params())
        except DeltaExpired as exc:
            raise CursorExpired(f"Graph expired a new delta round ({exc})", calendar) from exc
        return await self._snapshot(calendar, items, link)

    async def _snapshot(self, calendar: str, items: list[Any], link: str) -> CalendarSnapshot:
        events: dict[str, BusyEvent] = {}
        for mapped in await self._map(calendar, items):
            if mapped.event is not None:
                events[mapped.external_id] = mapped.event
            else:
                # The same item may come twice in a round; the last version counts.
                events.pop(mapped.external_id, None)
        return CalendarSnapshot(calendar, tuple(events.values()), self._cursor(link))

    async def _delta(self, calendar: str, items: list[Any], link: str) -> CalendarDelta:
        latest: dict[str, BusyEvent | None] = {}
        for mapped in await self._map(calendar, items):
            latest.pop(mapped.external_id, None)
            latest[mapped.external_id] = mapped.event
        upserted = tuple(e for e in latest.values() if e is not None)
        deleted = tuple(i for i, e in latest.items() if e is None)
        return CalendarDelta(calendar, upserted, deleted, self._cursor(link))

    async def _map(self, calendar: str, items: list[Any]) -> list[Mapped]:
        mailbox_zone = None
        if any(isinstance(i, dict) and i.get("isAllDay") is True for i in items):
            mailbox_zone = await self._zone()
        result: list[Mapped] = []
        for item in items:
            all_day_zone = mailbox_zone
            if all_day_zone is None and isinstance(item, dict):
                # Without the mailbox's settings, the zone the all-day event was made in.
                all_day_zone = zone_named(item.get("originalStartTimeZone"))
            mapped = map_item(item, self._window, all_day_zone or self._default_zone)
            if mapped is None:
                self._problems.append(SyncProblem(calendar, "an event without an id was skipped"))
                continue
            if mapped.problem is not None:
                self._problems.append(SyncProblem(calendar, mapped.problem, mapped.external_id))
            result.append(mapped)
        return result

    async def _zone(self) -> tzinfo | None:
        """The mailbox's zone from ``/me/mailboxSettings`` (which needs the
        ``MailboxSettings.Read`` scope; without it Graph answers 403 and ``None`` is used)."""
        if self._mailbox_zone is self._UNASKED:
            try:
                settings = await self._graph.get(f"{self._graph.base_url}/me/mailboxSettings")
            except CalendarUnavailable:
                self._mailbox_zone = None
            else:
                self._mailbox_zone = zone_named(settings.get("timeZone"))
        zone = self._mailbox_zone
        return zone if isinstance(zone, tzinfo) else None

    def _first_url(self, calendar: str) -> str:
        if calendar == body.DEFAULT:
            return f"{self._graph.base_url}/me/calendarView/delta"
        return f"{self._graph.base_url}/me/calendars/{quote(calendar, safe='')}/calendarView/delta"

    def _params(self) -> dict[str, str]:
        return {"startDateTime": _iso(self._window.start), "endDateTime": _iso(self._window.end)}

    def _cursor(self, link: str) -> str:
        return DeltaCursor(self._window.start, self._window.end, link).dump()


def _iso(instant: int) -> str:
    return datetime.fromtimestamp(instant, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
