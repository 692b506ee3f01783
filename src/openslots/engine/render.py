"""The answer as JSON (SCENARIO.md "The answer"), with times in the query's zone.

Formatting hundreds of instants through ``datetime`` would cost as much as computing the slots,
so instants are formatted by arithmetic on the zone's offset segments with small caches of date,
time-of-day and offset strings.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from openslots.engine.result import Availability, Reason
from openslots.engine.zones import DAY, date_of_day, local_day, offset_segments

__all__ = ["InstantFormatter", "render_availability", "render_reason"]


class InstantFormatter:
    """Formats UTC instants as ISO 8601 local times with offset in one zone (``Z`` for UTC)."""

    def __init__(self, zone: str, lo: int, hi: int) -> None:
        self._segments = [
            (start, end, offset, _offset_suffix(zone, offset))
            for start, end, offset in offset_segments(zone, lo, hi + 1)
        ]
        self._starts = [s for s, _, _, _ in self._segments]
        self._current = self._segments[0]
        self._dates: dict[int, str] = {}
        self._times: dict[int, str] = {}

    def date_text(self, day: int) -> str:
        text = self._dates.get(day)
        if text is None:
            text = self._dates[day] = date_of_day(day).isoformat()
        return text

    def __call__(self, instant: int) -> str:
        segment = self._current
        if not segment[0] <= instant < segment[1]:
            # Callers mostly go forward in time: the segment rarely changes.
            index = max(bisect_right(self._starts, instant) - 1, 0)
            segment = self._current = self._segments[index]
        day, second = divmod(instant + segment[2], DAY)
        time = self._times.get(second)
        if time is None:
            hours, rest = divmod(second, 3600)
            time = self._times[second] = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
        return f"{self.date_text(day)}T{time}{segment[3]}"


def _offset_suffix(zone: str, offset: int) -> str:
    if zone == "UTC" and offset == 0:
        return "Z"
    sign = "+" if offset >= 0 else "-"
    hours, rest = divmod(abs(offset), 3600)
    minutes, seconds = divmod(rest, 60)
    suffix = f"{sign}{hours:02d}:{minutes:02d}"
    return suffix + f":{seconds:02d}" if seconds else suffix


def render_reason(reason: Reason) -> dict[str, Any]:
    out: dict[str, Any] = {"code": reason.code, "resource_id": reason.resource_id}
    if reason.source is not None:
        out["source"] = reason.source
    return out


def render_availability(result: Availability) -> dict[str, Any]:
    """``{"timezone", "duration", "slots", "days"}``; ``days`` has every local date of the
    window in order, empty ones as ``[]``, holding the same slot objects as ``slots``."""
    latest = max((s.end for s in result.slots), default=result.window_end)
    fmt = InstantFormatter(result.timezone, result.window_start - DAY, latest + DAY)
    first = local_day(result.timezone, result.window_start)
    last = local_day(result.timezone, result.window_end - 1)
    days: dict[str, list[dict[str, Any]]] = {fmt.date_text(d): [] for d in range(first, last + 1)}
    texts: dict[int, str] = {}  # on a grid, most ends are the starts of later slots
    slots = []
    for slot in result.slots:
        start = texts.get(slot.start)
        if start is None:
            start = texts[slot.start] = fmt(slot.start)
        end = texts.get(slot.end)
        if end is None:
            end = texts[slot.end] = fmt(slot.end)
        rendered: dict[str, Any] = {
            "start": start,
            "end": end,
            "resource_ids": list(slot.resource_ids),
            "available": slot.available,
            "capacity": slot.capacity,
            "available_capacity": slot.available_capacity,
        }
        if slot.reasons is not None:
            rendered["reasons"] = [render_reason(r) for r in slot.reasons]
        slots.append(rendered)
        # The date part of the local start text is the slot's local date.
        days[start[:10]].append(rendered)
    return {"timezone": result.timezone, "duration": result.duration, "slots": slots, "days": days}
