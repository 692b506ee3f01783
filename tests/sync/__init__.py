"""Tests of calendar sync: normalization of iCalendar data into busy blocks.

Helpers shared by these tests: UTC instants, inline calendars, reversed components.
"""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar

from openslots.sync.normalize import NormalizedCalendar, normalize


def ts(text: str) -> int:
    """``2026-08-27T08:00`` (UTC) as epoch seconds."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def window(start: str, end: str) -> tuple[int, int]:
    return ts(start), ts(end)


def ics(*events: str, header: str = "") -> bytes:
    """A VCALENDAR holding ``events`` (each the lines between BEGIN:VEVENT and END:VEVENT)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//openslots//tests//EN"]
    lines += [line for line in header.strip().splitlines() if line]
    for event in events:
        lines += ["BEGIN:VEVENT", *(s.strip() for s in event.strip().splitlines()), "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


def reversed_components(data: bytes) -> bytes:
    """The same calendars with the components of each in reverse order."""
    calendars = Calendar.from_ical(data, multiple=True)
    for calendar in calendars:
        calendar.subcomponents.reverse()
    return b"".join(calendar.to_ical() for calendar in calendars)


def busy(result: NormalizedCalendar) -> set[tuple[str, str, str]]:
    """The busy set as readable (start, end, kind) triples in UTC."""
    return {(_iso(e.start), _iso(e.end), e.kind) for e in result.events}


def _iso(instant: int) -> str:
    return datetime.fromtimestamp(instant, UTC).strftime("%Y-%m-%dT%H:%M")


def run(data: bytes, span: tuple[int, int], **options: object) -> NormalizedCalendar:
    """Normalize ``data`` and its component-reversed twin; both must give the same answer."""
    kwargs: dict[str, object] = {"default_zone": "Europe/Berlin", "source": "test", **options}
    result = normalize(data, span, **kwargs)  # type: ignore[arg-type]
    twin = normalize(reversed_components(data), span, **kwargs)  # type: ignore[arg-type]
    assert twin.events == result.events
    return result
