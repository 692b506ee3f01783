"""A connector over an in-memory calendar service, for the worker, on-demand and API tests.

Provider ``fake``: ``settings.calendar`` names a calendar of the :class:`FakeCalendars` the
connector was made with; ``credentials.token`` must equal that calendar's token (else
AuthRevoked). Each sync sleeps ``delay`` seconds (an upstream that takes its time), counts
itself, records how many syncs of the same calendar overlapped, and answers a snapshot.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from openslots.sync.contract import (
    AuthRevoked,
    BusyEvent,
    CalendarSnapshot,
    Connector,
    SyncRequest,
    SyncResult,
    ValidationError,
)


@dataclass
class FakeCalendars:
    events: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    failures: dict[str, Exception] = field(default_factory=dict)
    delay: float = 0.0
    calls: Counter[str] = field(default_factory=Counter)
    active: Counter[str] = field(default_factory=Counter)
    most_at_once: Counter[str] = field(default_factory=Counter)
    peak: int = 0  # most syncs of any calendars in progress at one time
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, calendar: str, *spans: tuple[int, int], token: str = "secret-token") -> None:
        self.events[calendar] = list(spans)
        self.tokens[calendar] = token


class FakeConnector(Connector):
    provider = "fake"

    def __init__(self, calendars: FakeCalendars) -> None:
        self.calendars = calendars

    def separate_secrets(
        self, settings: Mapping[str, Any], credentials: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        shown, secret = dict(settings), dict(credentials)
        if "token" in shown:
            secret["token"] = shown.pop("token")
        return shown, secret

    def validate_settings(
        self, settings: Mapping[str, Any], credentials: Mapping[str, Any]
    ) -> None:
        if not isinstance(settings.get("calendar"), str):
            raise ValidationError("settings.calendar", "names the calendar to read")
        if not isinstance(credentials.get("token"), str):
            raise ValidationError("credentials.token", "is required")

    async def sync(self, request: SyncRequest) -> SyncResult:
        name = request.settings["calendar"]
        upstream = self.calendars
        with upstream.lock:
            upstream.calls[name] += 1
            upstream.active[name] += 1
            upstream.most_at_once[name] = max(upstream.most_at_once[name], upstream.active[name])
            upstream.peak = max(upstream.peak, sum(upstream.active.values()))
        try:
            if upstream.delay:
                await asyncio.sleep(upstream.delay)
            if name in upstream.failures:
                raise upstream.failures[name]
            if request.credentials.get("token") != upstream.tokens.get(name):
                raise AuthRevoked("the token was refused")
            events = tuple(
                BusyEvent(f"{name}-{i}", start, end)
                for i, (start, end) in enumerate(upstream.events.get(name, ()))
                if request.window.overlaps(start, end)
            )
            return SyncResult((CalendarSnapshot("default", events),))
        finally:
            with upstream.lock:
                upstream.active[name] -= 1
