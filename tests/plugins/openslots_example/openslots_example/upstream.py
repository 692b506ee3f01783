"""An in-memory calendar service speaking a tiny JSON API, served through ``httpx.MockTransport``.

    GET /calendars                         {"calendars": [name, ...]}
    GET /calendars/{name}/events?start&end {"events": [event, ...], "token": t}  (overlapping)
    GET /calendars/{name}/changes?token=t  {"changed": [event, ...], "deleted": [id, ...],
                                            "token": t}  (every change, no window: like Google)

An event is ``{"id", "start", "end", "show_as"}`` with ``show_as`` one of ``busy``,
``tentative``, ``free``, ``oof``. Every request needs ``Authorization: Bearer <token>``; a token
older than the last :meth:`FakeUpstream.compact` answers 410; :meth:`FakeUpstream.fail_next`
makes the next request answer an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = ["FakeUpstream"]


@dataclass
class _Calendar:
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    # id -> sequence number of its last change; deleted ids keep theirs as tombstones.
    changed_at: dict[str, int] = field(default_factory=dict)


class FakeUpstream:
    """The service's state; ``transport()`` serves it to an ``httpx.AsyncClient``."""

    def __init__(self, token: str = "secret") -> None:
        self.token = token
        self.requests = 0
        self._calendars: dict[str, _Calendar] = {}
        self._seq = 0
        self._floor = 0
        self._failure: httpx.Response | None = None

    def add_calendar(self, name: str) -> None:
        self._calendars.setdefault(name, _Calendar())

    def remove_calendar(self, name: str) -> None:
        del self._calendars[name]

    def put(self, calendar: str, id: str, start: int, end: int, show_as: str = "busy") -> None:
        """Create or replace event ``id``."""
        self._seq += 1
        cal = self._calendars[calendar]
        cal.events[id] = {"id": id, "start": start, "end": end, "show_as": show_as}
        cal.changed_at[id] = self._seq

    def delete(self, calendar: str, id: str) -> None:
        self._seq += 1
        cal = self._calendars[calendar]
        del cal.events[id]
        cal.changed_at[id] = self._seq

    def compact(self) -> None:
        """Forget the change history: every token issued so far answers 410."""
        self._floor = self._seq

    def fail_next(self, status: int, headers: dict[str, str] | None = None, body: str = "") -> None:
        self._failure = httpx.Response(status, headers=headers, text=body)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self._failure is not None:
            failure, self._failure = self._failure, None
            return failure
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _json(401, {"error": "invalid token"})
        parts = request.url.path.strip("/").split("/")
        # The service may live under a prefix (``https://host/api``): read from ``calendars`` on.
        parts = parts[parts.index("calendars") :] if "calendars" in parts else parts
        if parts == ["calendars"]:
            return _json(200, {"calendars": sorted(self._calendars)})
        if len(parts) != 3 or parts[0] != "calendars" or parts[1] not in self._calendars:
            return _json(404, {"error": "not found"})
        cal = self._calendars[parts[1]]
        params = request.url.params
        if parts[2] == "events":
            start, end = int(params["start"]), int(params["end"])
            events = [e for e in cal.events.values() if e["start"] < end and e["end"] > start]
            return _json(200, {"events": events, "token": str(self._seq)})
        if parts[2] == "changes":
            token = params.get("token", "")
            if not token.isdigit() or not self._floor <= int(token) <= self._seq:
                return _json(410, {"error": "token expired"})
            since = int(token)
            ids = [i for i, seq in cal.changed_at.items() if seq > since]
            return _json(
                200,
                {
                    "changed": [cal.events[i] for i in ids if i in cal.events],
                    "deleted": [i for i in ids if i not in cal.events],
                    "token": str(self._seq),
                },
            )
        return _json(404, {"error": "not found"})


def _json(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(), headers=_JSON)


_JSON = {"content-type": "application/json"}
