"""Small builders for rule tests: scenario documents (SCENARIO.md) as plain dicts, and readers
for the engine's answers.

Conventions, so that a test reads like the rule it checks:

* ``MONDAY`` (2026-03-02) is the day most tests look at; a bare ``"HH:MM"`` passed to
  :func:`block`, :func:`booking` or :func:`ts` means that time on ``MONDAY`` in UTC, and a full
  ISO instant is taken as is.
* :func:`scenario` fills in the boring parts: one resource ``r1`` open Monday 09:00-11:00 UTC, a
  30-minute service ``svc``, a query over the whole of ``MONDAY`` in UTC and a ``now`` on the day
  before, so notice and horizon play no part unless a test sets them.
* Everything goes through the public API: :func:`parse_scenario`, :func:`compute_availability`,
  :func:`render_availability` and :func:`check_slot`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from openslots.engine import (
    SlotCheck,
    check_slot,
    compute_availability,
    parse_scenario,
    render_availability,
)

Doc = dict[str, Any]

MONDAY = "2026-03-02"  # a Monday; US daylight saving time starts on 2026-03-08, the UK's 03-29
TUESDAY = "2026-03-03"
NOW = "2026-03-01T00:00:00Z"  # the Sunday before MONDAY
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def instant(when: str, day: str = MONDAY) -> str:
    """``"HH:MM"`` on ``day`` in UTC, or a full ISO instant unchanged."""
    if len(when) == 5:
        return f"{day}T{when}:00Z"
    return when


def ts(when: str, day: str = MONDAY) -> int:
    """Epoch seconds of :func:`instant` (the engine's unit for instants)."""
    return int(datetime.fromisoformat(instant(when, day)).timestamp())


def rule(day: str, start: str, end: str) -> Doc:
    return {"day": day, "start": start, "end": end}


def schedule(*rules: Doc, timezone: str = "UTC", overrides: list[Doc] | None = None) -> Doc:
    doc: Doc = {"timezone": timezone, "rules": list(rules)}
    if overrides is not None:
        doc["overrides"] = overrides
    return doc


def override(date: str, *spans: tuple[str, str]) -> Doc:
    """A date override; no spans closes the day."""
    return {"date": date, "intervals": [{"start": s, "end": e} for s, e in spans]}


DEFAULT_SCHEDULE = schedule(rule("mon", "09:00", "11:00"))
_INHERIT: Any = object()


def block(start: str, end: str, kind: str = "busy", source: str = "cal", day: str = MONDAY) -> Doc:
    return {"start": instant(start, day), "end": instant(end, day), "kind": kind, "source": source}


def booking(
    booking_id: str,
    start: str,
    end: str,
    *,
    service_id: str = "svc",
    day: str = MONDAY,
    **extra: Any,
) -> Doc:
    """A booking; ``extra`` may set ``party_size``, ``buffer_before``, ``buffer_after``."""
    return {
        "id": booking_id,
        "service_id": service_id,
        "start": instant(start, day),
        "end": instant(end, day),
        **extra,
    }


def resource(
    resource_id: str = "r1",
    sched: Doc | None = _INHERIT,
    *,
    busy: list[Doc] | None = None,
    bookings: list[Doc] | None = None,
    **extra: Any,
) -> Doc:
    """A resource; ``sched`` defaults to Monday 09:00-11:00 UTC, ``None`` inherits (and then the
    resource's zone defaults to UTC). ``extra`` may set ``capacity``, ``team_id``, ``timezone``."""
    doc: Doc = {"id": resource_id}
    if sched is _INHERIT:
        doc["schedule"] = DEFAULT_SCHEDULE
    elif sched is None:
        doc["schedule"] = None
        doc["timezone"] = "UTC"
    else:
        doc["schedule"] = sched
    if busy:
        doc["busy"] = busy
    if bookings:
        doc["bookings"] = bookings
    doc.update(extra)
    return doc


def scenario(
    *resources: Doc,
    service: Doc | None = None,
    query: Doc | None = None,
    now: str = NOW,
    **top: Any,
) -> Doc:
    """A scenario document. ``service`` and ``query`` are merged over the defaults (service
    ``svc`` of 30 minutes; the whole of ``MONDAY`` in UTC); ``top`` sets ``organization``,
    ``teams`` or ``locations``."""
    return {
        "version": 1,
        "now": now,
        "service": {"id": "svc", "duration": 30, **(service or {})},
        "resources": list(resources) or [resource()],
        "query": {"start": MONDAY, "end": MONDAY, **(query or {})},
        **top,
    }


# -- running the engine ---------------------------------------------------------------------


def answer(doc: Doc) -> Doc:
    """The rendered answer (SCENARIO.md "The answer") of a scenario document."""
    return render_availability(compute_availability(parse_scenario(doc)))


def times(doc_or_answer: Doc) -> list[str]:
    """Local ``HH:MM`` of each slot start, in order (for answers within one day)."""
    result = doc_or_answer if "slots" in doc_or_answer else answer(doc_or_answer)
    return [s["start"][11:16] for s in result["slots"]]


def days(doc: Doc) -> dict[str, list[str]]:
    """Local date -> ``HH:MM`` of the slot starts on it, every date of the window."""
    return {date: [s["start"][11:16] for s in slots] for date, slots in answer(doc)["days"].items()}


def slot_at(result: Doc, hhmm: str) -> Doc:
    """The one slot of ``result`` starting at local ``HH:MM``."""
    found = [s for s in result["slots"] if s["start"][11:16] == hhmm]
    assert len(found) == 1, f"expected one slot at {hhmm}, got {found}"
    slot: Doc = found[0]
    return slot


def reasons(slot: Doc) -> list[tuple[str, str | None]]:
    """A slot's reason codes as sorted ``(code, resource_id)`` pairs."""
    return sorted(
        ((r["code"], r["resource_id"]) for r in slot["reasons"]), key=lambda r: (r[0], r[1] or "")
    )


def check(doc: Doc, start: str, resource_ids: tuple[str, ...] | None = None) -> SlotCheck:
    """:func:`check_slot` for the candidate starting at ``start`` (see :func:`instant`)."""
    return check_slot(parse_scenario(doc), ts(start), resource_ids)


def check_codes(result: SlotCheck) -> list[tuple[str, str | None]]:
    return sorted(
        ((r.code, r.resource_id) for r in result.reasons), key=lambda r: (r[0], r[1] or "")
    )
