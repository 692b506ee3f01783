"""A per-process cache of rendered availability answers.

An entry is keyed by everything the answer depends on:

* the organization, the service and the normalized query (window in UTC seconds, every option);
* the versions of the organization, the service and each resource of the pool, read from the
  database (:func:`openslots.store.versions.service_state`). Every write that can change an
  answer (blocks, bookings, holds, schedules, services, teams, locations, the organization's
  hours) bumps one of them in its own transaction, so a change made by any process misses here
  at once;
* the time, in classes that leave ``min_notice`` and ``horizon`` exact (:func:`time_class`).

Two things change an answer without a write, and bound an entry's life explicitly: a live hold
expiring (the entry is dropped at the earliest expiry among the scenario's holds), and the
clock going backwards (an entry is never served before the instant it was computed at).

The value is the rendered JSON (all but the ``sources``, which are read fresh with the versions,
in the same query), so a hit costs that query and a dictionary look-up.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

__all__ = ["AvailabilityCache", "CachedAnswer", "cacheable", "time_class"]

# Answers larger than this are not kept (a 93-day listing with reasons can run to megabytes).
MAX_ENTRY_BYTES = 4 * 1024 * 1024
# Total bytes kept, whatever the number of entries.
MAX_TOTAL_BYTES = 128 * 1024 * 1024


# 1972-03-01T00:00:00Z. Liberia was the last zone whose offset had seconds (-0:44:30, until
# January 1972); from here on (the engine looks a few days back for grid anchors) every candidate
# starts on a whole minute, which time_class relies on.
_WHOLE_MINUTES_SINCE = 68_169_600


def cacheable(window_start: int) -> bool:
    """Whether answers for a window starting at ``window_start`` (UTC seconds) may be cached."""
    return window_start >= _WHOLE_MINUTES_SINCE


def time_class(now: int) -> tuple[int, bool]:
    """The class of instants (UTC seconds) that give ``now``'s answer.

    Candidates start on whole minutes (schedules are in minutes, steps are whole minutes, and
    every zone's offset has been whole minutes since 1972: see :func:`cacheable`).
    ``min_notice`` keeps starts at or after ``now + notice`` and ``horizon`` starts at or
    before ``now + horizon``, both whole minutes, so every ``now`` strictly inside one minute
    sees the same starts; the minute boundary itself is a class of its own (it keeps the start
    exactly at ``now + notice``).
    """
    return now // 60, now % 60 == 0


class CachedAnswer:
    """A rendered answer: ``head`` is its JSON object without the closing ``}``, so that the
    ``sources`` of the moment can follow; ``consulted`` the resources whose sources it reports.

    The last whole body is kept too: sources rarely change, and a hit then copies nothing.
    """

    __slots__ = ("_last", "consulted", "head")

    def __init__(self, head: bytes, consulted: tuple[str, ...]) -> None:
        self.head = head
        self.consulted = consulted
        self._last: tuple[bytes, bytes] | None = None

    def body(self, sources: bytes) -> bytes:
        """The whole JSON answer with ``sources`` (a JSON list) as its ``sources``."""
        last = self._last  # one read: another thread may replace it, never half of it
        if last is not None and last[0] == sources:
            return last[1]
        body = b"".join((self.head, b',"sources":', sources, b"}"))
        self._last = (sources, body)
        return body


@dataclass(frozen=True, slots=True)
class _Entry:
    answer: CachedAnswer
    computed_at: int
    expires_at: int | None


class AvailabilityCache:
    """A thread-safe LRU of rendered answers; ``max_entries == 0`` disables it."""

    def __init__(
        self,
        max_entries: int,
        max_bytes: int = MAX_TOTAL_BYTES,
        max_entry_bytes: int = MAX_ENTRY_BYTES,
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.max_entries > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable, now: int) -> CachedAnswer | None:
        """The answer stored under ``key`` if it still holds at ``now``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            if now < entry.computed_at or (
                entry.expires_at is not None and now >= entry.expires_at
            ):
                self._drop(key, entry)
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry.answer

    def put(self, key: Hashable, answer: CachedAnswer, now: int, expires_at: int | None) -> None:
        """Keep ``answer`` (computed at ``now``) until ``expires_at`` (None: until evicted)."""
        size = len(answer.head)
        if not self.enabled or size > self.max_entry_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= len(old.answer.head)
            self._entries[key] = _Entry(answer, now, expires_at)
            self._bytes += size
            while self._entries and (
                len(self._entries) > self.max_entries or self._bytes > self.max_bytes
            ):
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= len(evicted.answer.head)

    def _drop(self, key: Hashable, entry: _Entry) -> None:
        del self._entries[key]
        self._bytes -= len(entry.answer.head)
