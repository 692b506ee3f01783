"""The scenario format (SCENARIO.md, version 1): read a JSON document into engine values, and
write engine values back out.

Reading is strict: an unknown field, a wrong type, an unknown zone or a malformed time is a
:class:`~openslots.errors.ValidationError` whose ``field`` is the dotted path of the offending
value (``resources.0.schedule.rules.1.end``). Cross-field rules of the query (allowed durations,
the pool, ``combined``) are checked by :func:`openslots.engine.plan.resolve`, so they hold for
scenarios built in code too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from openslots.engine.model import (
    BLOCK_KINDS,
    DAYS,
    MODES,
    Booking,
    BusyBlock,
    Caps,
    DateOverride,
    Location,
    Organization,
    Query,
    Resource,
    Scenario,
    Schedule,
    Service,
    Team,
    WeeklyRule,
)
from openslots.engine.schedule import start_of_local_day
from openslots.engine.zones import day_number, is_valid_zone
from openslots.errors import ValidationError

__all__ = [
    "SCENARIO_VERSION",
    "format_instant",
    "parse_instant",
    "parse_scenario",
    "parse_schedule",
    "scenario_to_dict",
    "schedule_to_dict",
]

SCENARIO_VERSION = 1
_TIME = re.compile(r"([0-9]{2}):([0-9]{2})")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Instants outside these years are refused: far beyond any booking, and the arithmetic on them
# (wall clocks, ISO weeks, epoch seconds in int64 arrays) stays well inside its types.
_FIRST_YEAR, _LAST_YEAR = 1900, 2199
# Upper bounds of numeric fields, so no value can overflow the engine's arithmetic.
MAX_MINUTES = 10 * 366 * 1440  # notice and horizon: ten years
MAX_DURATION = 31 * 1440  # a service's duration, interval and buffers: a month
MAX_COUNT = 1_000_000  # capacities, seats, party sizes, caps
_MISSING: Any = object()
T = TypeVar("T")


# -- primitive readers ----------------------------------------------------------------------


def _at(path: str, key: str | int) -> str:
    return f"{path}.{key}" if path else str(key)


def _object(
    value: Any, path: str, allowed: Sequence[str], required: Sequence[str] = ()
) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationError(path or "$", "must be an object")
    for key in value:
        if key not in allowed:
            raise ValidationError(_at(path, str(key)), "unknown field")
    for key in required:
        if key not in value:
            raise ValidationError(_at(path, key), "is required")
    return dict(value)


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValidationError(path, "must be a list")
    return value


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationError(path, "must be a non-empty string")
    return value


def _int(value: Any, path: str, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(path, "must be a whole number")
    if value < minimum:
        raise ValidationError(path, f"must be at least {minimum}")
    if value > maximum:
        raise ValidationError(path, f"must be at most {maximum}")
    return value


def _count(value: Any, path: str) -> int:
    return _int(value, path, 1, MAX_COUNT)


def _length(value: Any, path: str) -> int:
    return _int(value, path, 1, MAX_DURATION)


def _buffer(value: Any, path: str) -> int:
    return _int(value, path, 0, MAX_DURATION)


def _span_of_time(value: Any, path: str) -> int:
    return _int(value, path, 0, MAX_MINUTES)


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(path, "must be true or false")
    return value


def _zone(value: Any, path: str) -> str:
    name = _string(value, path)
    if not is_valid_zone(name):
        raise ValidationError(path, f"unknown time zone {name!r} (use an IANA name)")
    return name


def _instant(value: Any, path: str, round_up: bool = False) -> int:
    """An ISO 8601 instant with ``Z`` or an offset, as UTC seconds; sub-seconds are rounded
    outward where that keeps busy time from shrinking (``round_up`` for ends)."""
    text = _string(value, path)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(path, f"{text!r} is not an ISO 8601 instant") from None
    if "T" not in text.upper() or moment.tzinfo is None:
        raise ValidationError(path, f"{text!r} needs a time and a UTC offset (or Z)")
    if not _FIRST_YEAR <= moment.year <= _LAST_YEAR:
        raise ValidationError(path, f"{text!r} is outside the years {_FIRST_YEAR}-{_LAST_YEAR}")
    seconds = int((moment - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() // 1)
    if round_up and moment.microsecond:
        seconds += 1
    return seconds


def parse_instant(value: Any, field: str, round_up: bool = False) -> int:
    """An ISO 8601 instant with an offset (or ``Z``) as UTC seconds; ValidationError naming
    ``field`` otherwise. For API layers that share the scenario's conventions."""
    return _instant(value, field, round_up)


def _date(value: Any, path: str) -> date:
    text = _string(value, path)
    if not _DATE.fullmatch(text):
        raise ValidationError(path, f"{text!r} is not a date (YYYY-MM-DD)")
    try:
        parsed = date.fromisoformat(text)
    except ValueError:
        raise ValidationError(path, f"{text!r} is not a valid date") from None
    if not _FIRST_YEAR <= parsed.year <= _LAST_YEAR:
        raise ValidationError(path, f"{text!r} is outside the years {_FIRST_YEAR}-{_LAST_YEAR}")
    return parsed


def _time_of_day(value: Any, path: str, is_end: bool) -> int:
    text = _string(value, path)
    match = _TIME.fullmatch(text)
    if not match:
        raise ValidationError(path, f"{text!r} is not a time of day (HH:MM)")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not is_end)):
        raise ValidationError(
            path,
            f"{text!r} is not a time of day" + (" (24:00 may only end)" if hours == 24 else ""),
        )
    return hours * 60 + minutes


def _optional(
    obj: dict[str, Any], key: str, path: str, read: Callable[[Any, str], T], default: T
) -> T:
    value = obj.get(key, _MISSING)
    if value is _MISSING or value is None:
        return default
    return read(value, _at(path, key))


def _or_empty(obj: dict[str, Any], key: str, empty: Any) -> Any:
    """The value at ``key``; ``empty`` when absent or null (but not when merely falsy)."""
    value = obj.get(key)
    return empty if value is None else value


def _ids(value: Any, path: str) -> tuple[str, ...]:
    ids = tuple(_string(item, _at(path, i)) for i, item in enumerate(_list(value, path)))
    for i, item in enumerate(ids):
        if item in ids[:i]:
            raise ValidationError(_at(path, i), f"{item!r} is listed twice")
    return ids


# -- schedules ------------------------------------------------------------------------------


def _span(value: Any, path: str) -> tuple[int, int]:
    obj = _object(value, path, ("start", "end"), ("start", "end"))
    start = _time_of_day(obj["start"], _at(path, "start"), is_end=False)
    end = _time_of_day(obj["end"], _at(path, "end"), is_end=True)
    if end <= start:
        raise ValidationError(_at(path, "end"), "must be later than start")
    return start, end


def _rule(value: Any, path: str) -> WeeklyRule:
    obj = _object(value, path, ("day", "start", "end"), ("day", "start", "end"))
    day = obj["day"]
    if day not in DAYS:
        raise ValidationError(_at(path, "day"), f"unknown day {day!r} (use {', '.join(DAYS)})")
    start, end = _span({"start": obj["start"], "end": obj["end"]}, path)
    return WeeklyRule(DAYS.index(day), start, end)


def _override(value: Any, path: str) -> DateOverride:
    obj = _object(value, path, ("date", "intervals"), ("date",))
    when = _date(obj["date"], _at(path, "date"))
    ipath = _at(path, "intervals")
    intervals = [
        _span(v, _at(ipath, i)) for i, v in enumerate(_list(obj.get("intervals", []), ipath))
    ]
    return DateOverride(when, tuple(sorted(intervals)))


def parse_schedule(value: Any, path: str) -> Schedule:
    """A schedule object: ``timezone``, ``rules`` and ``overrides``."""
    obj = _object(value, path, ("timezone", "rules", "overrides"), ("timezone",))
    rpath, opath = _at(path, "rules"), _at(path, "overrides")
    rules = tuple(_rule(v, _at(rpath, i)) for i, v in enumerate(_list(obj.get("rules", []), rpath)))
    overrides = tuple(
        _override(v, _at(opath, i)) for i, v in enumerate(_list(obj.get("overrides", []), opath))
    )
    seen: set[date] = set()
    for i, override in enumerate(overrides):
        if override.date in seen:
            raise ValidationError(_at(_at(opath, i), "date"), "date is overridden twice")
        seen.add(override.date)
    return Schedule(_zone(obj["timezone"], _at(path, "timezone")), rules, overrides)


def _maybe_schedule(obj: dict[str, Any], path: str) -> Schedule | None:
    return _optional(obj, "schedule", path, parse_schedule, None)


# -- entities -------------------------------------------------------------------------------


def _block(value: Any, path: str) -> BusyBlock:
    obj = _object(value, path, ("start", "end", "kind", "source"), ("start", "end"))
    start = _instant(obj["start"], _at(path, "start"))
    end = _instant(obj["end"], _at(path, "end"), round_up=True)
    if end <= start:
        raise ValidationError(_at(path, "end"), "must be later than start")
    kind = obj.get("kind", "busy")
    if kind not in BLOCK_KINDS:
        raise ValidationError(
            _at(path, "kind"), f"unknown kind {kind!r} (use busy, tentative, oof)"
        )
    return BusyBlock(start, end, kind, _optional(obj, "source", path, _string, "manual"))


def _booking(value: Any, path: str) -> Booking:
    fields = ("id", "service_id", "start", "end", "party_size", "buffer_before", "buffer_after")
    obj = _object(value, path, fields, ("id", "service_id", "start", "end"))
    start = _instant(obj["start"], _at(path, "start"))
    end = _instant(obj["end"], _at(path, "end"), round_up=True)
    if end <= start:
        raise ValidationError(_at(path, "end"), "must be later than start")
    return Booking(
        id=_string(obj["id"], _at(path, "id")),
        service_id=_string(obj["service_id"], _at(path, "service_id")),
        start=start,
        end=end,
        party_size=_optional(obj, "party_size", path, _count, 1),
        buffer_before=_optional(obj, "buffer_before", path, _buffer, 0),
        buffer_after=_optional(obj, "buffer_after", path, _buffer, 0),
    )


def _resource(value: Any, path: str) -> Resource:
    fields = ("id", "timezone", "capacity", "team_id", "schedule", "busy", "bookings")
    obj = _object(value, path, fields, ("id",))
    schedule = _maybe_schedule(obj, path)
    if obj.get("timezone") is None and schedule is None:
        raise ValidationError(_at(path, "timezone"), "is required when there is no schedule")
    zone = _optional(obj, "timezone", path, _zone, schedule.timezone if schedule else "UTC")
    bpath, kpath = _at(path, "busy"), _at(path, "bookings")
    bookings = tuple(
        _booking(v, _at(kpath, i))
        for i, v in enumerate(_list(_or_empty(obj, "bookings", []), kpath))
    )
    # One booking may hold several resources (and then appears under each), but only once each.
    _unique_ids(bookings, kpath)
    return Resource(
        id=_string(obj["id"], _at(path, "id")),
        timezone=zone,
        capacity=_optional(obj, "capacity", path, _count, 1),
        team_id=_optional(obj, "team_id", path, _string, None),
        schedule=schedule,
        busy=tuple(
            _block(v, _at(bpath, i)) for i, v in enumerate(_list(_or_empty(obj, "busy", []), bpath))
        ),
        bookings=bookings,
    )


def _mode(value: Any, path: str) -> Any:
    if value not in MODES:
        raise ValidationError(path, f"unknown mode {value!r} (use {', '.join(MODES)})")
    return value


def _service(value: Any, path: str) -> Service:
    fields = (
        "id", "duration", "duration_options", "duration_interval", "interval", "buffer_before",
        "buffer_after", "min_notice", "horizon", "seats", "caps", "resource_ids", "location_id",
        "mode",
    )  # fmt: skip
    obj = _object(value, path, fields, ("id", "duration"))
    duration = _length(obj["duration"], _at(path, "duration"))
    options = _optional(
        obj,
        "duration_options",
        path,
        lambda v, p: tuple(_length(x, _at(p, i)) for i, x in enumerate(_list(v, p))),
        None,
    )
    if options is not None and duration not in options:
        raise ValidationError(_at(path, "duration"), "must be one of duration_options")
    cpath = _at(path, "caps")
    caps_obj = _object(_or_empty(obj, "caps", {}), cpath, ("per_day", "per_week"))
    return Service(
        id=_string(obj["id"], _at(path, "id")),
        duration=duration,
        duration_options=options,
        duration_interval=_optional(obj, "duration_interval", path, _length, None),
        interval=_optional(obj, "interval", path, _length, None),
        buffer_before=_optional(obj, "buffer_before", path, _buffer, 0),
        buffer_after=_optional(obj, "buffer_after", path, _buffer, 0),
        min_notice=_optional(obj, "min_notice", path, _span_of_time, 0),
        horizon=_optional(obj, "horizon", path, _span_of_time, None),
        seats=_optional(obj, "seats", path, _count, None),
        caps=Caps(
            per_day=_optional(caps_obj, "per_day", cpath, _count, None),
            per_week=_optional(caps_obj, "per_week", cpath, _count, None),
        ),
        resource_ids=_optional(obj, "resource_ids", path, _ids, None),
        location_id=_optional(obj, "location_id", path, _string, None),
        mode=_optional(obj, "mode", path, _mode, "none"),
    )


def _window_bound(value: Any, path: str, zone: str, is_end: bool) -> int:
    """An instant, or a date meaning local midnight (start) / the end of that day (end)."""
    if isinstance(value, str) and _DATE.fullmatch(value):
        day = day_number(_date(value, path))
        return start_of_local_day(zone, day + 1 if is_end else day)
    return _instant(value, path)


def _query(value: Any, path: str) -> Query:
    fields = (
        "start", "end", "timezone", "resource_ids", "mode", "duration", "interval", "party_size",
        "first_available", "include_unavailable", "explain", "reschedule_booking_id",
        "tentative_as_busy",
    )  # fmt: skip
    obj = _object(value, path, fields, ("start", "end"))
    zone = _optional(obj, "timezone", path, _zone, "UTC")
    start = _window_bound(obj["start"], _at(path, "start"), zone, is_end=False)
    end = _window_bound(obj["end"], _at(path, "end"), zone, is_end=True)
    if end <= start:
        raise ValidationError(_at(path, "end"), "the window must end after it starts")
    return Query(
        start=start,
        end=end,
        timezone=zone,
        resource_ids=_optional(obj, "resource_ids", path, _ids, None),
        mode=_optional(obj, "mode", path, _mode, None),
        duration=_optional(obj, "duration", path, _length, None),
        interval=_optional(obj, "interval", path, _length, None),
        party_size=_optional(obj, "party_size", path, _count, 1),
        first_available=_optional(obj, "first_available", path, _bool, False),
        include_unavailable=_optional(obj, "include_unavailable", path, _bool, False),
        explain=_optional(obj, "explain", path, _bool, False),
        reschedule_booking_id=_optional(obj, "reschedule_booking_id", path, _string, None),
        tentative_as_busy=_optional(obj, "tentative_as_busy", path, _bool, True),
    )


def _unique_ids(items: Sequence[Any], path: str) -> None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.id in seen:
            raise ValidationError(_at(_at(path, i), "id"), f"id {item.id!r} appears twice")
        seen.add(item.id)


def parse_scenario(document: Any) -> Scenario:
    """Read a scenario document (already decoded from JSON); raises ValidationError."""
    fields = (
        "version",
        "now",
        "organization",
        "teams",
        "locations",
        "service",
        "resources",
        "query",
    )
    obj = _object(document, "", fields, ("now", "service", "resources", "query"))
    version = obj.get("version", SCENARIO_VERSION)
    if type(version) is not int or version != SCENARIO_VERSION:
        raise ValidationError("version", f"unsupported version {version!r} (this reads 1)")
    org = _object(_or_empty(obj, "organization", {}), "organization", ("schedule",))
    teams = tuple(
        _team(v, f"teams.{i}") for i, v in enumerate(_list(_or_empty(obj, "teams", []), "teams"))
    )
    locations = tuple(
        _location(v, f"locations.{i}")
        for i, v in enumerate(_list(_or_empty(obj, "locations", []), "locations"))
    )
    resources = tuple(
        _resource(v, f"resources.{i}") for i, v in enumerate(_list(obj["resources"], "resources"))
    )
    service = _service(obj["service"], "service")
    for items, path in ((teams, "teams"), (locations, "locations"), (resources, "resources")):
        _unique_ids(items, path)
    _check_shared_bookings(resources)
    _check_references(service, resources, teams, locations)
    return Scenario(
        now=_instant(obj["now"], "now", round_up=True),
        service=service,
        resources=resources,
        query=_query(obj["query"], "query"),
        organization=Organization(_maybe_schedule(org, "organization")),
        teams=teams,
        locations=locations,
    )


def _team(value: Any, path: str) -> Team:
    obj = _object(value, path, ("id", "schedule"), ("id",))
    return Team(id=_string(obj["id"], _at(path, "id")), schedule=_maybe_schedule(obj, path))


def _location(value: Any, path: str) -> Location:
    obj = _object(value, path, ("id", "timezone", "schedule"), ("id", "timezone"))
    return Location(
        id=_string(obj["id"], _at(path, "id")),
        timezone=_zone(obj["timezone"], _at(path, "timezone")),
        schedule=_maybe_schedule(obj, path),
    )


def _check_shared_bookings(resources: Sequence[Resource]) -> None:
    """A booking of several resources is listed under each of them, the same each time."""
    seen: dict[str, tuple[Booking, int]] = {}
    for i, resource in enumerate(resources):
        for j, booking in enumerate(resource.bookings):
            first = seen.setdefault(booking.id, (booking, i))
            if first[0] != booking:
                raise ValidationError(
                    f"resources.{i}.bookings.{j}.id",
                    f"booking {booking.id!r} differs from the one under resources.{first[1]}",
                )


def _check_references(
    service: Service,
    resources: Sequence[Resource],
    teams: Sequence[Team],
    locations: Sequence[Location],
) -> None:
    resource_ids = {r.id for r in resources}
    for i, rid in enumerate(service.resource_ids or ()):
        if rid not in resource_ids:
            raise ValidationError(
                f"service.resource_ids.{i}", f"no resource {rid!r} in the scenario"
            )
    if service.location_id is not None and service.location_id not in {x.id for x in locations}:
        raise ValidationError("service.location_id", f"no location {service.location_id!r}")
    team_ids = {t.id for t in teams}
    for i, resource in enumerate(resources):
        if resource.team_id is not None and resource.team_id not in team_ids:
            raise ValidationError(f"resources.{i}.team_id", f"no team {resource.team_id!r}")


# -- writing --------------------------------------------------------------------------------


def format_instant(instant: int) -> str:
    """An instant as ISO 8601 in UTC with ``Z``."""
    return datetime.fromtimestamp(instant, UTC).isoformat().replace("+00:00", "Z")


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def schedule_to_dict(schedule: Schedule | None) -> dict[str, Any] | None:
    if schedule is None:
        return None
    return {
        "timezone": schedule.timezone,
        "rules": [
            {"day": DAYS[r.day], "start": _hhmm(r.start), "end": _hhmm(r.end)}
            for r in schedule.rules
        ],
        "overrides": [
            {
                "date": o.date.isoformat(),
                "intervals": [{"start": _hhmm(s), "end": _hhmm(e)} for s, e in o.intervals],
            }
            for o in schedule.overrides
        ],
    }


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The scenario document of ``scenario``; :func:`parse_scenario` reads it back equal."""
    s, q = scenario.service, scenario.query
    return {
        "version": SCENARIO_VERSION,
        "now": format_instant(scenario.now),
        "organization": {"schedule": schedule_to_dict(scenario.organization.schedule)},
        "teams": [{"id": t.id, "schedule": schedule_to_dict(t.schedule)} for t in scenario.teams],
        "locations": [
            {"id": x.id, "timezone": x.timezone, "schedule": schedule_to_dict(x.schedule)}
            for x in scenario.locations
        ],
        "service": {
            "id": s.id,
            "duration": s.duration,
            "duration_options": list(s.duration_options) if s.duration_options else None,
            "duration_interval": s.duration_interval,
            "interval": s.interval,
            "buffer_before": s.buffer_before,
            "buffer_after": s.buffer_after,
            "min_notice": s.min_notice,
            "horizon": s.horizon,
            "seats": s.seats,
            "caps": {"per_day": s.caps.per_day, "per_week": s.caps.per_week},
            "resource_ids": list(s.resource_ids) if s.resource_ids is not None else None,
            "location_id": s.location_id,
            "mode": s.mode,
        },
        "resources": [
            {
                "id": r.id,
                "timezone": r.timezone,
                "capacity": r.capacity,
                "team_id": r.team_id,
                "schedule": schedule_to_dict(r.schedule),
                "busy": [
                    {
                        "start": format_instant(b.start),
                        "end": format_instant(b.end),
                        "kind": b.kind,
                        "source": b.source,
                    }
                    for b in r.busy
                ],
                "bookings": [
                    {
                        "id": b.id,
                        "service_id": b.service_id,
                        "start": format_instant(b.start),
                        "end": format_instant(b.end),
                        "party_size": b.party_size,
                        "buffer_before": b.buffer_before,
                        "buffer_after": b.buffer_after,
                    }
                    for b in r.bookings
                ],
            }
            for r in scenario.resources
        ],
        "query": {
            "start": format_instant(q.start),
            "end": format_instant(q.end),
            "timezone": q.timezone,
            "resource_ids": list(q.resource_ids) if q.resource_ids is not None else None,
            "mode": q.mode,
            "duration": q.duration,
            "interval": q.interval,
            "party_size": q.party_size,
            "first_available": q.first_available,
            "include_unavailable": q.include_unavailable,
            "explain": q.explain,
            "reschedule_booking_id": q.reschedule_booking_id,
            "tentative_as_busy": q.tentative_as_busy,
        },
    }
