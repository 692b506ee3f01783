"""The query parameters of ``GET /v1/availability`` (and of its ``/scenario`` twin).

Parameters are checked here, each failure a 400 naming the parameter; what only the service can
decide (allowed durations, the pool, ``combined``) is checked by the engine, whose field names
(``query.duration``) :func:`api_field` turns back into parameter names (``duration``).

``start`` and ``end`` are ISO 8601 instants with an offset, or dates (``YYYY-MM-DD``) meaning local
midnight of ``start`` and the end of the day of ``end`` in ``timezone`` (SCENARIO.md). A ``+`` of
an offset that arrives as a space (an unencoded ``+`` in a query string) is read as ``+``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Annotated, Literal

from fastapi import Query as Param
from fastapi import Request

from openslots.engine.model import Mode, Query
from openslots.engine.scenario import MAX_COUNT, MAX_DURATION, parse_instant
from openslots.engine.schedule import start_of_local_day
from openslots.engine.zones import DAY, day_number, is_valid_zone
from openslots.errors import BadParameter, ValidationError

__all__ = ["AvailabilityParams", "api_field", "availability_params"]

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_FIRST_YEAR, _LAST_YEAR = 1900, 2199  # as the scenario format
Format = Literal["slots", "days"]

# Engine query fields whose parameter has another name.
_PARAM_OF = {"resource_ids": "resource_id"}

# Every parameter (a misspelt one, resource_ids for resource_id, would otherwise be ignored).
_KNOWN = frozenset(
    {
        "service_id",
        "start",
        "end",
        "resource_id",
        "location_id",
        "mode",
        "timezone",
        "duration",
        "interval",
        "party_size",
        "first_available",
        "include_unavailable",
        "explain",
        "sync",
        "reschedule_booking_id",
        "tentative_as_busy",
        "format",
    }
)


@dataclass(frozen=True, slots=True)
class AvailabilityParams:
    """The parameters of one availability request, checked and with the window in UTC seconds."""

    service_id: str
    query: Query
    location_id: str | None
    format: Format
    sync: bool

    def cache_key(self) -> tuple[object, ...]:
        """Everything that distinguishes this request's answer (the window already resolved, so
        a date and the instant it means share entries)."""
        return (self.service_id, self.query, self.location_id, self.format)


def api_field(field: str) -> str:
    """The parameter an engine ValidationError's field concerns: ``query.resource_ids.1`` is
    ``resource_id``; a problem of the stored service (``service.interval``) is ``service_id``."""
    parts = field.split(".")
    if parts[0] == "query" and len(parts) > 1:
        return _PARAM_OF.get(parts[1], parts[1])
    return "service_id"


def _bound(value: str, name: str, zone: str, is_end: bool) -> int:
    """An instant, or a date meaning local midnight (start) / the end of that day (end)."""
    text = value.strip().replace(" ", "+")
    if _DATE.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise BadParameter(name, f"{text!r} is not a valid date") from None
        if not _FIRST_YEAR <= day.year <= _LAST_YEAR:
            raise BadParameter(name, f"{text!r} is outside the years {_FIRST_YEAR}-{_LAST_YEAR}")
        number = day_number(day)
        return start_of_local_day(zone, number + 1 if is_end else number)
    try:
        return parse_instant(text, name)
    except ValidationError as error:
        raise BadParameter(name, f"{error.message} (or give a date, YYYY-MM-DD)") from None


@lru_cache(maxsize=1024)
def _window(start: str, end: str, zone: str) -> tuple[int, int]:
    """``[start, end)`` in UTC seconds (memoized: clients repeat their windows)."""
    window_start = _bound(start, "start", zone, is_end=False)
    window_end = _bound(end, "end", zone, is_end=True)
    if window_end <= window_start:
        raise BadParameter("end", "the window must end after it starts")
    return window_start, window_end


def _check_known(request: Request) -> None:
    for name in request.query_params:
        if name not in _KNOWN:
            raise BadParameter(name, f"unknown parameter {name!r}")


async def availability_params(  # FastAPI reads each parameter's documentation from here
    request: Request,
    *,
    service_id: Annotated[str, Param(description="The service to book.")],
    start: Annotated[
        str,
        Param(
            description="Window start: an ISO 8601 instant with offset, or a date (local "
            "midnight in `timezone`). Slots that start in [start, end) are returned."
        ),
    ],
    end: Annotated[
        str,
        Param(
            description="Window end: an instant, or a date (the end of that day in `timezone`). "
            "At most 93 days after start."
        ),
    ],
    resource_id: Annotated[
        list[str] | None,
        Param(description="Narrow the service's pool to these resources (repeat the parameter)."),
    ] = None,
    location_id: Annotated[
        str | None,
        Param(
            description="A location of the organization where the service takes place for this "
            "query: its hours (instead of the service's location's) intersect each resource's, "
            "and only resources linked to it or to no location are offered."
        ),
    ] = None,
    mode: Annotated[
        Mode | None,
        Param(description="How resources appear on a slot (default: the service's mode)."),
    ] = None,
    timezone: Annotated[
        str, Param(description="IANA zone of the answer's times and of date bounds.")
    ] = "UTC",
    duration: Annotated[
        int | None,
        Param(ge=1, le=MAX_DURATION, description="Minutes; one the service allows."),
    ] = None,
    interval: Annotated[
        int | None,
        Param(ge=1, le=MAX_DURATION, description="Minutes between candidate starts."),
    ] = None,
    party_size: Annotated[int, Param(ge=1, le=MAX_COUNT, description="Seats wanted.")] = 1,
    first_available: Annotated[bool, Param(description="Stop at the first slot.")] = False,
    include_unavailable: Annotated[
        bool, Param(description="Also return unavailable slots (`available: false`).")
    ] = False,
    explain: Annotated[
        bool, Param(description="Add `reasons` to every slot (implies include_unavailable).")
    ] = False,
    sync: Annotated[
        bool,
        Param(description="Sync the consulted connections first, within a time budget."),
    ] = False,
    reschedule_booking_id: Annotated[
        str | None,
        Param(description="Ignore this booking (its seats and caps), to move it."),
    ] = None,
    tentative_as_busy: Annotated[
        bool, Param(description="Count tentative calendar events as busy.")
    ] = True,
    answer_format: Annotated[
        Format,
        Param(
            alias="format",
            description="`slots`: the whole answer; `days`: the same without the `slots` list "
            "(the slots grouped by local date only).",
        ),
    ] = "slots",
) -> AvailabilityParams:
    """FastAPI dependency: the checked parameters of an availability request."""
    _check_known(request)
    if not is_valid_zone(timezone):
        raise BadParameter("timezone", f"unknown time zone {timezone!r} (use an IANA name)")
    for name, value in (
        ("service_id", service_id),
        ("location_id", location_id),
        ("reschedule_booking_id", reschedule_booking_id),
        *(("resource_id", r) for r in resource_id or ()),
    ):
        if value is not None and not value.strip():
            raise BadParameter(name, "must not be empty")
    window_start, window_end = _window(start, end, timezone)
    most = request.app.state.settings.limits.max_window_days
    if window_end - window_start > (most + 1) * DAY:
        # The engine applies the exact rule; this refuses far longer windows before any reading.
        raise BadParameter("end", f"the window may span at most {most} days")
    ids = tuple(resource_id) if resource_id else None
    if mode == "combined" and ids is None:
        raise BadParameter("resource_id", "mode 'combined' needs the resource ids to combine")
    query = Query(
        start=window_start,
        end=window_end,
        timezone=timezone,
        resource_ids=ids,
        mode=mode,
        duration=duration,
        interval=interval,
        party_size=party_size,
        first_available=first_available,
        include_unavailable=include_unavailable,
        explain=explain,
        reschedule_booking_id=reschedule_booking_id,
        tentative_as_busy=tentative_as_busy,
    )
    return AvailabilityParams(service_id, query, location_id, answer_format, sync)
