"""Bodies and parameters of the block routes.

A window is ``start``/``end``: ISO 8601 instants with ``Z`` or an offset, or dates
(``YYYY-MM-DD``) meaning local midnight of ``start`` and the end of the day of ``end`` in
``timezone`` (default UTC), as for availability. Problems are 400s naming the parameter.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from openslots.engine.scenario import format_instant, parse_instant
from openslots.engine.schedule import start_of_local_day
from openslots.engine.zones import DAY, day_number, is_valid_zone, local_day
from openslots.errors import BadParameter, ValidationError

__all__ = ["BlockIn", "block_out", "parse_window"]

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class BlockIn(BaseModel):
    """A manual block: ``[start, end)`` once, or its first occurrence when ``rrule`` is set.

    The RRULE (FREQ=DAILY or coarser) is read in ``timezone`` (default: the resource's zone),
    so occurrences keep their wall-clock time across DST."""

    model_config = ConfigDict(extra="forbid", strict=True)

    start: Annotated[str, Field(description="ISO 8601 instant with Z or an offset")]
    end: Annotated[str, Field(description="ISO 8601 instant with Z or an offset")]
    kind: Literal["busy", "tentative", "oof"] = "busy"
    rrule: Annotated[str | None, Field(max_length=500, examples=["FREQ=WEEKLY;BYDAY=MO"])] = None
    timezone: Annotated[str | None, Field(max_length=64)] = None
    note: Annotated[str | None, Field(max_length=200)] = None

    def values(self, default_zone: str) -> dict[str, Any]:
        """The store's block body: instants as UTC seconds (ValidationError naming the field)."""
        start = parse_instant(self.start, "start")
        end = parse_instant(self.end, "end", round_up=True)
        if end <= start:
            raise ValidationError("end", "must be later than start")
        zone = self.timezone or default_zone
        if not is_valid_zone(zone):
            raise ValidationError("timezone", f"unknown time zone {zone!r} (use an IANA name)")
        return {
            "start": start,
            "end": end,
            "kind": self.kind,
            "rrule": self.rrule,
            "timezone": zone,
            "note": self.note,
        }


def _bound(value: str | None, name: str, zone: str, is_end: bool) -> int:
    if value is None or not value.strip():
        raise BadParameter(name, "is required")
    if _DATE.fullmatch(value):
        try:
            day = day_number(date.fromisoformat(value))
        except ValueError:
            raise BadParameter(name, f"{value!r} is not a valid date") from None
        return start_of_local_day(zone, day + 1 if is_end else day)
    try:
        return parse_instant(value, name, round_up=is_end)
    except ValidationError as exc:
        raise BadParameter(name, exc.message) from None


def parse_window(
    start: str | None, end: str | None, timezone: str | None, max_days: int
) -> tuple[int, int]:
    """``[start, end)`` in UTC seconds; BadParameter naming the parameter when one is missing
    or malformed, when the window is empty, or when it spans more than ``max_days``."""
    zone = timezone or "UTC"
    if not is_valid_zone(zone):
        raise BadParameter("timezone", f"unknown time zone {zone!r} (use an IANA name)")
    window_start = _bound(start, "start", zone, is_end=False)
    window_end = _bound(end, "end", zone, is_end=True)
    if window_end <= window_start:
        raise BadParameter("end", "the window must end after it starts")
    # As availability judges it: refused only when the window is longer than max_days both in
    # local dates and in elapsed time (93 local days may hold an extra DST hour).
    dates = local_day(zone, window_end - 1) - local_day(zone, window_start) + 1
    if dates > max_days and window_end - window_start > max_days * DAY:
        raise BadParameter("end", f"the window may span at most {max_days} days")
    return window_start, window_end


def block_out(block: dict[str, Any]) -> dict[str, Any]:
    """A block as the API shows it: instants in UTC with ``Z``."""
    return {**block, "start": format_instant(block["start"]), "end": format_instant(block["end"])}
