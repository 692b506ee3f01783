"""A local fake of the Google Calendar REST API (v3) and Google's OAuth token endpoint.

A Starlette app served by uvicorn on 127.0.0.1 in a thread, for the real google-api-python-client
and google-auth (point ``google.api_endpoint`` at :attr:`GoogleFake.root` and
``google.token_uri`` at :attr:`GoogleFake.token_uri`)::

    with GoogleFake() as google:
        google.put_event("primary", {"id": "a", "start": {...}, "end": {...}})

What it serves, as Google does (SYNC-NOTES §1):

* ``POST /token``: ``grant_type=refresh_token`` → a new access token (``expires_in`` 3600);
  a revoked refresh token → ``400 {"error": "invalid_grant"}``;
* every ``/calendar/v3/…`` request needs ``Authorization: Bearer <a current access token>``,
  else ``401``;
* ``GET /calendar/v3/users/me/calendarList`` (``minAccessRole``, paged),
  ``GET /calendar/v3/calendars/{id}/events``: ``singleEvents`` required (the fake stores
  instances only), ``timeMin``/``timeMax`` (exclusive bounds on end and start), paged
  :attr:`GoogleFake.page_size` items at a time, ``nextSyncToken`` on the last page only;
  ``syncToken`` lists every change since the token (cancelled items as ``{"id", "status"}``),
  refuses ``timeMin``/``timeMax``/``orderBy``/``q``/``updatedMin``/``iCalUID``/
  ``showDeleted=false`` with ``400``, and answers ``410`` for a token older than
  :meth:`GoogleFake.compact`'s horizon or not its own;
* ``POST /calendar/v3/freeBusy``: merged busy periods clipped to the range, per calendar;
* faults: :meth:`GoogleFake.fail_next` queues canned answers (``403 rateLimitExceeded``,
  ``429`` with ``Retry-After``, ``500``, a garbage body) for the next API requests.

:attr:`GoogleFake.log` records every request as ``(method, path, query)``.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["Fault", "GoogleFake", "rate_limit_403"]

_FORBIDDEN_WITH_TOKEN = ("timeMin", "timeMax", "orderBy", "q", "updatedMin", "iCalUID")


def rate_limit_403(reason: str = "rateLimitExceeded") -> Fault:
    """Google's quota answer: ``403`` with ``usageLimits`` reason ``reason``."""
    error = {"domain": "usageLimits", "reason": reason, "message": "Rate Limit Exceeded"}
    body = {"error": {"code": 403, "message": "Rate Limit Exceeded", "errors": [error]}}
    return Fault(403, json.dumps(body).encode())


@dataclass
class Fault:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass
class _Change:
    seq: int
    item: dict[str, Any]  # the event, or a tombstone {"id", "status": "cancelled"}


@dataclass
class _Calendar:
    zone: str
    access_role: str = "owner"
    changes: dict[str, _Change] = field(default_factory=dict)


class GoogleFake:
    """The fake's state and server; thread-safe (the app runs on uvicorn's thread)."""

    def __init__(self, page_size: int = 2) -> None:
        self.page_size = page_size
        self.calendars: dict[str, _Calendar] = {"primary": _Calendar("UTC")}
        self.log: list[tuple[str, str, dict[str, str]]] = []
        self.refresh_tokens: dict[str, bool] = {"refresh-1": True}  # token -> valid
        self.access_tokens: set[str] = {"access-0"}
        self.rotate_refresh_token = False
        self._issued = 0
        self._seq = 0
        self._horizon = 0  # sync tokens older than this answer 410
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route("/token", self._token, methods=["POST"]),
                Route("/calendar/v3/users/me/calendarList", self._calendar_list),
                Route("/calendar/v3/calendars/{calendar:path}/events", self._events),
                Route("/calendar/v3/freeBusy", self._freebusy, methods=["POST"]),
            ]
        )
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- state ------------------------------------------------------------------------------

    def add_calendar(self, calendar_id: str, zone: str, access_role: str = "owner") -> None:
        with self._lock:
            self.calendars[calendar_id] = _Calendar(zone, access_role)

    def put_event(self, calendar_id: str, event: dict[str, Any]) -> None:
        """Create or replace an event (an instance: ``singleEvents`` is the only mode)."""
        with self._lock:
            self._seq += 1
            self.calendars[calendar_id].changes[event["id"]] = _Change(self._seq, dict(event))

    def delete_event(self, calendar_id: str, event_id: str) -> None:
        with self._lock:
            self._seq += 1
            tombstone = {"id": event_id, "status": "cancelled"}
            self.calendars[calendar_id].changes[event_id] = _Change(self._seq, tombstone)

    def compact(self) -> None:
        """Forget history: every sync token issued so far now answers ``410``."""
        with self._lock:
            self._seq += 1
            self._horizon = self._seq

    def fail_next(self, *faults: Fault) -> None:
        """Answer the next API requests (not ``/token``) with ``faults``, in order."""
        with self._lock:
            self._faults.extend(faults)

    def expire_access_tokens(self) -> None:
        with self._lock:
            self.access_tokens.clear()

    def requests_to(self, path_part: str) -> list[tuple[str, str, dict[str, str]]]:
        return [entry for entry in self.log if path_part in entry[1]]

    # -- server -----------------------------------------------------------------------------

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def token_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def __enter__(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", lifespan="off", ws="none", http="h11"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the fake Google server did not start")
            threading.Event().wait(0.01)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        assert self._thread is not None
        self._server.should_exit = True
        self._thread.join(timeout=5)

    # -- endpoints --------------------------------------------------------------------------

    async def _token(self, request: Request) -> Response:
        # Parsed by hand: Starlette's form parser needs python-multipart, not installed here.
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode()).items()}
        self.log.append(("POST", "/token", {}))
        refresh = str(form.get("refresh_token", ""))
        if form.get("grant_type") != "refresh_token" or not self.refresh_tokens.get(refresh):
            return JSONResponse({"error": "invalid_grant", "error_description": "Bad"}, 400)
        with self._lock:
            self._issued += 1
            access = f"access-{self._issued}"
            self.access_tokens.add(access)
            answer: dict[str, Any] = {
                "access_token": access,
                "expires_in": 3600,
                "token_type": "Bearer",
            }
            if self.rotate_refresh_token:
                rotated = f"refresh-{self._issued + 1}"
                self.refresh_tokens[refresh] = False
                self.refresh_tokens[rotated] = True
                answer["refresh_token"] = rotated
        return JSONResponse(answer)

    def _guard(self, request: Request) -> Response | None:
        """Log the request; refuse a wrong bearer token; play a queued fault."""
        self.log.append((request.method, request.url.path, dict(request.query_params)))
        bearer = request.headers.get("authorization", "")
        if not bearer.startswith("Bearer ") or bearer[7:] not in self.access_tokens:
            error = {"code": 401, "message": "Invalid Credentials", "status": "UNAUTHENTICATED"}
            return JSONResponse({"error": error}, 401)
        with self._lock:
            fault = self._faults.pop(0) if self._faults else None
        if fault is not None:
            return Response(fault.body, fault.status, fault.headers, fault.content_type)
        return None

    async def _calendar_list(self, request: Request) -> Response:
        if (refused := self._guard(request)) is not None:
            return refused
        roles = ["freeBusyReader", "reader", "writer", "owner"]
        minimum = roles.index(request.query_params.get("minAccessRole", "freeBusyReader"))
        entries = [
            {
                "kind": "calendar#calendarListEntry",
                "id": cid,
                "timeZone": c.zone,
                "accessRole": c.access_role,
            }
            for cid, c in self.calendars.items()
            if cid != "primary" and roles.index(c.access_role) >= minimum
        ]
        return JSONResponse(self._page(entries, request, {"kind": "calendar#calendarList"}))

    async def _events(self, request: Request) -> Response:
        if (refused := self._guard(request)) is not None:
            return refused
        query = request.query_params
        calendar = self.calendars.get(request.path_params["calendar"])
        if calendar is None:
            return _error(404, "notFound", "Not Found")
        if query.get("singleEvents") != "true":
            return _error(400, "badRequest", "the fake serves singleEvents=true only")
        with self._lock:
            changes = sorted(calendar.changes.values(), key=lambda c: c.seq)
            now = self._seq
        token = query.get("syncToken")
        if token is not None:
            bad = [p for p in _FORBIDDEN_WITH_TOKEN if p in query]
            if bad or query.get("showDeleted") == "false":
                return _error(400, "invalid", f"not allowed with syncToken: {bad}")
            since = _token_seq(token)
            if since is None or since < self._horizon:
                return _error(410, "fullSyncRequired", "Sync token is no longer valid")
            items = [c.item for c in changes if c.seq > since]
        else:
            zone = ZoneInfo(calendar.zone)
            low = _parse(query["timeMin"]) if "timeMin" in query else None
            high = _parse(query["timeMax"]) if "timeMax" in query else None
            items = [
                c.item
                for c in changes
                if c.item.get("status") != "cancelled" and _in_range(c.item, zone, low, high)
            ]
        extra = {"kind": "calendar#events", "timeZone": calendar.zone}
        return JSONResponse(self._page(items, request, extra, sync_seq=now))

    def _page(
        self,
        items: list[dict[str, Any]],
        request: Request,
        extra: dict[str, Any],
        sync_seq: int | None = None,
    ) -> dict[str, Any]:
        token = request.query_params.get("pageToken")
        offset = int(base64.urlsafe_b64decode(token)) if token else 0
        size = min(self.page_size, int(request.query_params.get("maxResults", 250)))
        page: dict[str, Any] = {**extra, "items": items[offset : offset + size]}
        if offset + size < len(items):
            page["nextPageToken"] = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
        elif sync_seq is not None:
            page["nextSyncToken"] = f"sync-{sync_seq}"
        return page

    async def _freebusy(self, request: Request) -> Response:
        if (refused := self._guard(request)) is not None:
            return refused
        query = await request.json()
        self.log[-1][2].update({"timeMin": query["timeMin"], "timeMax": query["timeMax"]})
        low, high = _parse(query["timeMin"]), _parse(query["timeMax"])
        answer: dict[str, Any] = {}
        for item in query["items"]:
            calendar = self.calendars.get(item["id"])
            if calendar is None:
                answer[item["id"]] = {"errors": [{"domain": "global", "reason": "notFound"}]}
                continue
            zone = ZoneInfo(calendar.zone)
            spans = sorted(
                (max(low, _bound(e["start"], zone)), min(high, _bound(e["end"], zone)))
                for e in _busy_items(calendar)
                if _readable(e) and _in_range(e, zone, low, high)
            )
            merged: list[list[int]] = []
            for s, e in spans:
                if merged and s <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], e)
                else:
                    merged.append([s, e])
            answer[item["id"]] = {
                "busy": [{"start": _format(s), "end": _format(e)} for s, e in merged]
            }
        body = {
            "kind": "calendar#freeBusy",
            "timeMin": query["timeMin"],
            "timeMax": query["timeMax"],
            "calendars": answer,
        }
        return JSONResponse(body)


def _busy_items(calendar: _Calendar) -> Iterator[dict[str, Any]]:
    for change in calendar.changes.values():
        item = change.item
        if item.get("status") != "cancelled" and item.get("transparency") != "transparent":
            yield item


def _error(status: int, reason: str, message: str) -> Response:
    error = {
        "code": status,
        "message": message,
        "errors": [{"domain": "global", "reason": reason, "message": message}],
    }
    return JSONResponse({"error": error}, status)


def _token_seq(token: str) -> int | None:
    prefix, _, number = token.partition("-")
    return int(number) if prefix == "sync" and number.isdigit() else None


def _parse(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp).timestamp())


def _format(instant: int) -> str:
    return datetime.fromtimestamp(instant, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _readable(item: dict[str, Any]) -> bool:
    try:
        _bound(item["start"], ZoneInfo("UTC"))
        _bound(item["end"], ZoneInfo("UTC"))
    except (KeyError, TypeError, ValueError):
        return False
    return True


def _in_range(item: dict[str, Any], zone: ZoneInfo, low: int | None, high: int | None) -> bool:
    """Google's filter (end after timeMin, start before timeMax); the garbled items tests plant
    pass it, so that they reach the client."""
    if not _readable(item):
        return True
    return (low is None or _bound(item["end"], zone) > low) and (
        high is None or _bound(item["start"], zone) < high
    )


def _bound(part: dict[str, Any], zone: ZoneInfo) -> int:
    if "dateTime" in part:
        return _parse(part["dateTime"])
    return int(datetime.combine(date.fromisoformat(part["date"]), time(0), zone).timestamp())
