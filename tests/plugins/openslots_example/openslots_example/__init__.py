"""An example third-party connector: what a plugin author writes, importing from openslots only
:mod:`openslots.sync.contract`.

It reads the JSON calendar service of :mod:`openslots_example.upstream` (``settings.url``, a
bearer ``credentials.token``, optional ``settings.calendars``): a snapshot when it has no usable
cursor, else the changes since the cursor's token. The cursor is ``<token>:<start>:<end>`` so a
cursor made for another window is not used for a delta.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from openslots.sync.contract import (
    AuthRevoked,
    BlockKind,
    BusyEvent,
    CalendarDelta,
    CalendarSnapshot,
    Connector,
    CursorExpired,
    FeedInvalid,
    RateLimited,
    SyncProblem,
    SyncRequest,
    SyncResult,
    SyncWindow,
    TransientError,
    ValidationError,
)

__all__ = ["ExampleConnector"]

_KINDS: dict[str, BlockKind | None] = {
    "busy": "busy",
    "tentative": "tentative",
    "oof": "oof",
    "free": None,
}


class ExampleConnector(Connector):
    provider = "example"

    def validate_settings(
        self, settings: Mapping[str, Any], credentials: Mapping[str, Any]
    ) -> None:
        url = settings.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValidationError("settings.url", "must be an http(s) URL")
        calendars = settings.get("calendars")
        if calendars is not None:
            if not isinstance(calendars, list):
                raise ValidationError("settings.calendars", "must be a list of calendar names")
            for index, name in enumerate(calendars):
                if not isinstance(name, str) or not name:
                    raise ValidationError(f"settings.calendars.{index}", "must be a name")
        token = credentials.get("token")
        if not isinstance(token, str) or not token:
            raise ValidationError("credentials.token", "is required")

    async def sync(self, request: SyncRequest) -> SyncResult:
        base = str(request.settings["url"]).rstrip("/")
        headers = {"authorization": f"Bearer {request.credentials['token']}"}
        window = request.window
        async with request.http_client() as client:

            async def get(path: str, params: dict[str, str]) -> httpx.Response:
                try:
                    response = await client.get(base + path, params=params, headers=headers)
                except httpx.TransportError as exc:
                    raise TransientError(f"calendar service unreachable: {exc}") from exc
                return _checked(response)

            chosen = request.settings.get("calendars")
            names = list(chosen) if chosen else _body(await get("/calendars", {}))["calendars"]
            parts: list[CalendarSnapshot | CalendarDelta] = []
            problems: list[SyncProblem] = []
            for name in names:
                token = _token_for(request.cursors.get(name), window)
                path = f"/calendars/{name}"
                params = (
                    {"token": token}
                    if token is not None
                    else {"start": str(window.start), "end": str(window.end)}
                )
                response = await get(path + ("/changes" if token else "/events"), params)
                if response.status_code == 404:
                    problems.append(SyncProblem(name, "calendar not found"))
                    continue
                if response.status_code == 410:
                    raise CursorExpired(f"token of calendar {name!r} expired", calendar=name)
                body = _body(response)
                cursor = f"{body['token']}:{window.start}:{window.end}"
                if token is None:
                    events = tuple(e for e in map(_event, body["events"]) if e is not None)
                    parts.append(CalendarSnapshot(name, events, cursor))
                    continue
                upserted: list[BusyEvent] = []
                deleted = list(body["deleted"])
                for item in body["changed"]:
                    event = _event(item)
                    # Changes are not bounded by the window: an event moved out of it, or made
                    # free, must leave the store.
                    if event is None or not window.overlaps(event.start, event.end):
                        deleted.append(str(item["id"]))
                    else:
                        upserted.append(event)
                parts.append(CalendarDelta(name, tuple(upserted), tuple(deleted), cursor))
        removed = tuple(sorted(set(request.cursors) - set(names)))
        return SyncResult(tuple(parts), tuple(problems), removed)


def _token_for(cursor: str | None, window: SyncWindow) -> str | None:
    """The upstream token of ``cursor`` if it was made for ``window``, else ``None``."""
    if cursor is None:
        return None
    token, _, span = cursor.partition(":")
    return token if span == f"{window.start}:{window.end}" else None


def _checked(response: httpx.Response) -> httpx.Response:
    status = response.status_code
    if status in (401, 403):
        raise AuthRevoked(f"calendar service refused the token ({status})")
    if status == 429:
        retry_after = response.headers.get("retry-after")
        seconds = float(retry_after) if retry_after and retry_after.isdigit() else None
        raise RateLimited("calendar service is throttling", retry_after=seconds)
    if status >= 500:
        raise TransientError(f"calendar service failed ({status})")
    if status not in (200, 404, 410):
        raise FeedInvalid(f"unexpected answer from the calendar service ({status})")
    return response


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FeedInvalid(f"calendar service answered something that is not JSON: {exc}") from exc


def _event(item: Mapping[str, Any]) -> BusyEvent | None:
    kind = _KINDS.get(str(item.get("show_as")), "busy")
    if kind is None or item["end"] <= item["start"]:
        return None
    return BusyEvent(str(item["id"]), int(item["start"]), int(item["end"]), kind)
