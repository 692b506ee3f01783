"""iCalendar (RFC 5545) text of the free/busy feeds, written byte by byte.

Both documents are a function of their arguments alone: the same busy time gives the same bytes,
which is what makes a hash of the body a stable ETag. Every line ends in CRLF and is folded at
75 octets (never inside a UTF-8 sequence); instants are UTC (``...Z``), so no VTIMEZONE is
needed. There is no METHOD: these are published calendars, not iTIP messages, and a CalDAV
server stores their events as they are.

* :func:`freebusy_calendar`: one VFREEBUSY (§3.6.4) whose DTSTART/DTEND are the window, with one
  FREEBUSY property per period, ``FBTYPE=BUSY``, ``BUSY-TENTATIVE`` or ``BUSY-UNAVAILABLE``,
  sorted by start then end (§3.8.2.6). No ORGANIZER or URL: they would name a person or repeat
  the secret address.
* :func:`busy_calendar`: one opaque VEVENT per busy period, ``SUMMARY:Busy`` and nothing else
  about it, with the refresh hints of RFC 7986 (``REFRESH-INTERVAL``) and the older
  ``X-PUBLISHED-TTL``, and the name as RFC 7986 ``NAME`` and the widespread ``X-WR-CALNAME``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = [
    "FBTYPES",
    "PRODID",
    "BusyEvent",
    "FreeBusyPeriod",
    "busy_calendar",
    "escape_text",
    "fold",
    "freebusy_calendar",
    "utc",
]

PRODID = "-//openslots//free-busy feed//EN"
_LIMIT = 75  # octets per line, CRLF not counted (§3.1)
FBTYPES = ("BUSY", "BUSY-TENTATIVE", "BUSY-UNAVAILABLE")


@dataclass(frozen=True, slots=True)
class FreeBusyPeriod:
    """``[start, end)`` in UTC epoch seconds and its FBTYPE (one of ``FBTYPES``)."""

    start: int
    end: int
    fbtype: str


@dataclass(frozen=True, slots=True)
class BusyEvent:
    """One busy period ``[start, end)`` (UTC epoch seconds) and the UID it is published under."""

    uid: str
    start: int
    end: int


def utc(instant: int) -> str:
    """A DATE-TIME in UTC form (``19980119T070000Z``) of UTC epoch seconds."""
    return datetime.fromtimestamp(instant, UTC).strftime("%Y%m%dT%H%M%SZ")


def escape_text(value: str) -> str:
    """A TEXT value (§3.3.11): backslash, semicolon and comma escaped, line breaks as ``\\n``,
    other control characters (which no content line may hold) dropped."""
    out: list[str] = []
    for char in value.replace("\r\n", "\n"):
        if char in "\\;,":
            out.append("\\" + char)
        elif char in "\n\r":
            out.append("\\n")
        elif ord(char) >= 0x20 and char != "\x7f":
            out.append(char)
    return "".join(out)


def fold(line: str) -> bytes:
    """One content line as UTF-8 octets, folded (§3.1): at most 75 octets per physical line,
    continuation lines starting with a space, each ending in CRLF."""
    data = line.encode()
    parts: list[bytes] = []
    limit = _LIMIT
    while len(data) > limit:
        cut = limit
        # Back off to the start of a UTF-8 sequence: continuation octets are 0b10xxxxxx.
        while data[cut] & 0xC0 == 0x80:
            cut -= 1
        parts.append(data[:cut])
        data = data[cut:]
        limit = _LIMIT - 1  # the leading space counts
    parts.append(data)
    return b"\r\n ".join(parts) + b"\r\n"


def _document(lines: Iterable[str]) -> bytes:
    return b"".join(fold(line) for line in lines)


def _header(name: str, refresh: str | None) -> list[str]:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        f"NAME:{escape_text(name)}",
        f"X-WR-CALNAME:{escape_text(name)}",
    ]
    if refresh is not None:
        lines += [f"REFRESH-INTERVAL;VALUE=DURATION:{refresh}", f"X-PUBLISHED-TTL:{refresh}"]
    return lines


def freebusy_calendar(
    *,
    name: str,
    uid: str,
    stamp: int,
    window: tuple[int, int],
    periods: Sequence[FreeBusyPeriod],
    refresh: str | None = None,
) -> bytes:
    """A VCALENDAR holding one VFREEBUSY of ``window``; ``periods`` may come in any order."""
    lines = _header(name, refresh)
    lines += [
        "BEGIN:VFREEBUSY",
        f"UID:{uid}",
        f"DTSTAMP:{utc(stamp)}",
        f"DTSTART:{utc(window[0])}",
        f"DTEND:{utc(window[1])}",
    ]
    for period in sorted(periods, key=lambda p: (p.start, p.end, p.fbtype)):
        if period.fbtype not in FBTYPES:
            raise ValueError(f"unknown FBTYPE {period.fbtype!r}")
        lines.append(f"FREEBUSY;FBTYPE={period.fbtype}:{utc(period.start)}/{utc(period.end)}")
    lines += ["END:VFREEBUSY", "END:VCALENDAR"]
    return _document(lines)


def busy_calendar(
    *, name: str, stamp: int, events: Sequence[BusyEvent], refresh: str | None = None
) -> bytes:
    """A VCALENDAR with one opaque ``Busy`` VEVENT per event, by start then UID."""
    lines = _header(name, refresh)
    for event in sorted(events, key=lambda e: (e.start, e.end, e.uid)):
        lines += [
            "BEGIN:VEVENT",
            f"UID:{escape_text(event.uid)}",
            f"DTSTAMP:{utc(stamp)}",
            f"DTSTART:{utc(event.start)}",
            f"DTEND:{utc(event.end)}",
            "SUMMARY:Busy",
            "TRANSP:OPAQUE",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return _document(lines)
