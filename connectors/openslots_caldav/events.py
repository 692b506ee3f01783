"""One CalDAV object → its busy occurrences in the window, by the shared normalization.

Each object (one resource: a series with its overrides, or a single event) is normalized on
its own with :func:`openslots.sync.normalize.normalize`, so the busy rules are exactly those of
ICS feeds. Every occurrence's ``external_id`` is the object's href: a delta that replaces or
deletes the href replaces or deletes all of its occurrences at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from openslots.sync.contract import BusyEvent, FeedInvalid, SyncProblem
from openslots.sync.normalize import normalize
from openslots_caldav.cursor import Basis

__all__ = ["ObjectEvents", "object_events"]


@dataclass(frozen=True, slots=True)
class ObjectEvents:
    """The busy occurrences of one object and what normalization reported about it."""

    href: str
    events: tuple[BusyEvent, ...]
    problems: tuple[SyncProblem, ...]


def object_events(calendar: str, href: str, data: bytes, basis: Basis) -> ObjectEvents:
    """The busy occurrences of the object ``href`` of ``calendar`` overlapping the window of
    ``basis``; an object that does not parse yields none and a problem."""
    try:
        normalized = normalize(
            data,
            (basis.window.start, basis.window.end),
            default_zone=basis.zone,
            owner_emails=basis.emails,
            source=calendar,
            max_instances_per_series=basis.max_instances,
        )
    except FeedInvalid as exc:
        problem = SyncProblem(calendar, f"object skipped: {exc.message}", href)
        return ObjectEvents(href, (), (problem,))
    events = tuple(BusyEvent(href, e.start, e.end, e.kind) for e in normalized.events)
    problems = tuple(
        SyncProblem(calendar, _described(p.kind, p.uid, p.reason), href)
        for p in normalized.problems
    )
    return ObjectEvents(href, events, problems)


def _described(kind: str, uid: str | None, reason: str) -> str:
    subject = f"series {uid!r}" if uid else "object"
    verb = {"skipped": "skipped", "truncated": "cut short"}.get(kind)
    return f"{subject} {verb}: {reason}" if verb else f"{subject}: {reason}"
