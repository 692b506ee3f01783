"""Wall clocks of IANA time zones, as arithmetic on integer instants.

Two time lines meet here:

* **UTC instants**: ``int`` seconds since the Unix epoch.
* **Wall seconds**: a zone's local wall-clock reading written as if it were UTC, so that local
  date ``D`` at ``HH:MM`` is ``day_number(D) * 86400 + HH * 3600 + MM * 60``. Wall seconds are not
  instants: in a fall-back hour two instants share one wall reading, in a spring-forward gap a
  wall reading has no instant.

A zone is described over a range as *offset segments* ``(start, end, offset)``: half-open UTC
ranges during which ``wall = utc + offset``. Mapping a set of wall intervals to UTC is then exact
and cheap: each segment contributes the wall intervals it can show, shifted by its offset. That is
the wall-clock rule of DESIGN §3 by construction: a spring-forward gap has no preimage, a repeated
fall-back hour has two.

Offsets are sampled from :mod:`zoneinfo` twice per UTC day and transitions located by bisection
to the second. Two transitions within one half day that return to the same offset would be missed;
no zone in the IANA database has had one since 1900.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from openslots.engine.intervals import Span

__all__ = [
    "DAY",
    "EPOCH_ORDINAL",
    "OffsetSegment",
    "date_of_day",
    "day_number",
    "get_zone",
    "is_valid_zone",
    "local_day",
    "offset_at",
    "offset_segments",
    "wall_to_utc",
]

DAY = 86_400
_HALF_DAY = DAY // 2
# Widest gap between UTC and any wall clock, LMT included (Asia/Manila was UTC-15:56 until 1844),
# rounded up: a wall interval's instants lie within this margin of its wall seconds.
_MAX_OFFSET = 16 * 3600
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

OffsetSegment = tuple[int, int, int]


def day_number(d: date) -> int:
    """Days since 1970-01-01 of a calendar date."""
    return d.toordinal() - EPOCH_ORDINAL


def date_of_day(day: int) -> date:
    """The calendar date of a day number."""
    return date.fromordinal(day + EPOCH_ORDINAL)


# Keys that the system's zone directory may hold but that name no place: a scenario must mean the
# same on every machine.
_HOST_ZONES = frozenset({"localtime", "posixrules", "Factory"})


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones()) - _HOST_ZONES


@lru_cache(maxsize=512)
def get_zone(name: str) -> ZoneInfo:
    """The zone called ``name``; raises ``ValueError`` for anything that is not an IANA key."""
    if name not in _known_zones():
        raise ValueError(f"unknown time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        # OSError: a directory of the database, such as "America", is not a zone.
        raise ValueError(f"unknown time zone {name!r}") from exc


def is_valid_zone(name: str) -> bool:
    try:
        get_zone(name)
    except ValueError:
        return False
    return True


def _sample_offset(zone: ZoneInfo, instant: int) -> int:
    offset = datetime.fromtimestamp(instant, zone).utcoffset()
    assert offset is not None  # a ZoneInfo always answers
    return int(offset.total_seconds())


@lru_cache(maxsize=65_536)
def _half_day_segments(name: str, half_day: int) -> tuple[OffsetSegment, ...]:
    zone = get_zone(name)
    lo = half_day * _HALF_DAY
    hi = lo + _HALF_DAY
    off_lo = _sample_offset(zone, lo)
    off_hi = _sample_offset(zone, hi)
    if off_lo == off_hi:
        return ((lo, hi, off_lo),)
    # Invariant: offset(a) == off_lo, offset(b) != off_lo; find the first instant of the change.
    a, b = lo, hi
    while b - a > 1:
        mid = (a + b) // 2
        if _sample_offset(zone, mid) == off_lo:
            a = mid
        else:
            b = mid
    return ((lo, b, off_lo), (b, hi, _sample_offset(zone, b)))


@lru_cache(maxsize=4096)
def offset_segments(name: str, utc_lo: int, utc_hi: int) -> tuple[OffsetSegment, ...]:
    """Offset segments of zone ``name`` covering at least ``[utc_lo, utc_hi)``.

    Adjacent segments with the same offset are merged, so a zone without transitions in the
    range yields exactly one segment.
    """
    out: list[OffsetSegment] = []
    for half_day in range(utc_lo // _HALF_DAY, (utc_hi - 1) // _HALF_DAY + 1):
        for start, end, offset in _half_day_segments(name, half_day):
            if out and out[-1][2] == offset and out[-1][1] == start:
                out[-1] = (out[-1][0], end, offset)
            else:
                out.append((start, end, offset))
    return tuple(out)


def offset_at(name: str, instant: int) -> int:
    """UTC offset in seconds of zone ``name`` at ``instant``."""
    for start, end, offset in _half_day_segments(name, instant // _HALF_DAY):
        if start <= instant < end:
            return offset
    raise AssertionError("half-day segments cover their half day")  # pragma: no cover


def local_day(name: str, instant: int) -> int:
    """Day number of the local date of ``instant`` in zone ``name``."""
    return (instant + offset_at(name, instant)) // DAY


def wall_to_utc(name: str, wall_spans: list[Span]) -> list[Span]:
    """The UTC instants whose wall-clock reading in zone ``name`` lies in ``wall_spans``.

    ``wall_spans`` must be normalized (sorted, disjoint). The result is sorted; pieces from two
    offset segments may touch (at a spring-forward transition) and are merged.
    """
    if not wall_spans:
        return []
    segments = offset_segments(
        name, wall_spans[0][0] - _MAX_OFFSET, wall_spans[-1][1] + _MAX_OFFSET
    )
    if len(segments) == 1:
        offset = segments[0][2]
        return [(s - offset, e - offset) for s, e in wall_spans]
    starts = [s for s, _ in wall_spans]
    out: list[Span] = []
    for seg_start, seg_end, offset in segments:
        wall_lo, wall_hi = seg_start + offset, seg_end + offset
        i = max(bisect_right(starts, wall_lo) - 1, 0)
        while i < len(wall_spans) and wall_spans[i][0] < wall_hi:
            lo = max(wall_spans[i][0], wall_lo)
            hi = min(wall_spans[i][1], wall_hi)
            if lo < hi:
                piece = (lo - offset, hi - offset)
                if out and piece[0] <= out[-1][1]:
                    out[-1] = (out[-1][0], max(out[-1][1], piece[1]))
                else:
                    out.append(piece)
            i += 1
    return out


def to_datetime(instant: int) -> datetime:
    """An aware UTC datetime for an instant (for callers at the engine's edge)."""
    return datetime.fromtimestamp(instant, UTC)
