"""Bodies of the catalog routes (locations, teams, resources, services) and their checks.

Field names and bounds are SCENARIO.md's, checked as the scenario parser checks them (the same
limits from :mod:`openslots.engine.scenario`), so whatever the API stores the engine accepts.
Durations are minutes. Pydantic checks types and ranges (strict: ``"30"`` or ``true`` is not a
number); :func:`catalog_values` then checks what needs more than one field, time zones and
schedules, raising :class:`~openslots.errors.ValidationError` naming the field (422).

Create bodies require what has no default; patch bodies make every field optional, and a field
that is present replaces the stored value (``null`` clears an optional one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from openslots.engine.scenario import (
    MAX_COUNT,
    MAX_DURATION,
    MAX_MINUTES,
    parse_schedule,
    schedule_to_dict,
)
from openslots.engine.zones import is_valid_zone
from openslots.errors import ValidationError

__all__ = [
    "KINDS",
    "LocationIn",
    "LocationPatch",
    "ResourceIn",
    "ResourcePatch",
    "ServiceIn",
    "ServicePatch",
    "TeamIn",
    "TeamPatch",
    "catalog_values",
    "schedule_document",
]

KINDS = ("locations", "teams", "resources", "services")

Name = Annotated[str, Field(min_length=1, max_length=200)]
Zone = Annotated[str, Field(min_length=1, max_length=64, description="IANA time zone")]
ObjectId = Annotated[str, Field(min_length=1, max_length=64)]
Length = Annotated[int, Field(ge=1, le=MAX_DURATION, description="minutes")]
Buffer = Annotated[int, Field(ge=0, le=MAX_DURATION, description="minutes")]
Span = Annotated[int, Field(ge=0, le=MAX_MINUTES, description="minutes")]
Count = Annotated[int, Field(ge=1, le=MAX_COUNT)]
Mode = Literal["none", "random", "balanced", "combined"]
ScheduleDoc = Annotated[
    dict[str, Any],
    Field(description="SCENARIO.md schedule: timezone, rules[{day,start,end}], overrides"),
]

# Fields that may not be null (they have a value or a default in the store).
_REQUIRED = {
    "locations": ("name", "timezone"),
    "teams": ("name",),
    "resources": ("name", "timezone", "capacity"),
    "services": ("name", "duration", "buffer_before", "buffer_after", "min_notice", "mode"),
}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Caps(_Body):
    per_day: Count | None = None
    per_week: Count | None = None


class LocationIn(_Body):
    name: Name
    timezone: Zone
    schedule: ScheduleDoc | None = None


class LocationPatch(_Body):
    name: Name | None = None
    timezone: Zone | None = None
    schedule: ScheduleDoc | None = None


class TeamIn(_Body):
    name: Name
    schedule: ScheduleDoc | None = None


class TeamPatch(_Body):
    name: Name | None = None
    schedule: ScheduleDoc | None = None


class ResourceIn(_Body):
    name: Name
    # Optional only when a schedule is given: then it defaults to the schedule's zone.
    timezone: Zone | None = None
    capacity: Count = 1
    team_id: ObjectId | None = None
    schedule: ScheduleDoc | None = None
    location_ids: list[ObjectId] = Field(default_factory=list, max_length=1000)


class ResourcePatch(_Body):
    name: Name | None = None
    timezone: Zone | None = None
    capacity: Count | None = None
    team_id: ObjectId | None = None
    schedule: ScheduleDoc | None = None
    location_ids: list[ObjectId] | None = Field(None, max_length=1000)


class ServiceIn(_Body):
    name: Name
    duration: Length
    duration_options: list[Length] | None = Field(None, min_length=1, max_length=100)
    duration_interval: Length | None = None
    interval: Length | None = None
    buffer_before: Buffer = 0
    buffer_after: Buffer = 0
    min_notice: Span = 0
    horizon: Span | None = None
    seats: Count | None = None
    caps: Caps | None = None
    resource_ids: list[ObjectId] = Field(default_factory=list, max_length=1000)
    location_id: ObjectId | None = None
    mode: Mode = "none"


class ServicePatch(_Body):
    name: Name | None = None
    duration: Length | None = None
    duration_options: list[Length] | None = Field(None, min_length=1, max_length=100)
    duration_interval: Length | None = None
    interval: Length | None = None
    buffer_before: Buffer | None = None
    buffer_after: Buffer | None = None
    min_notice: Span | None = None
    horizon: Span | None = None
    seats: Count | None = None
    caps: Caps | None = None
    resource_ids: list[ObjectId] | None = Field(None, max_length=1000)
    location_id: ObjectId | None = None
    mode: Mode | None = None


def schedule_document(value: Any, field: str) -> dict[str, Any]:
    """A schedule document checked by the scenario parser and written back in canonical form
    (ValidationError naming ``field.rules.0.end`` and the like; ``field`` may be empty)."""
    schedule = parse_schedule(value, field)
    document = schedule_to_dict(schedule)
    assert document is not None
    return document


def _check_zone(value: str, field: str) -> None:
    if not is_valid_zone(value):
        raise ValidationError(field, f"unknown time zone {value!r} (use an IANA name)")


def _check_unique(ids: Sequence[str], field: str) -> None:
    for i, item in enumerate(ids):
        if item in ids[:i]:
            raise ValidationError(f"{field}.{i}", "is listed twice")


def catalog_values(
    kind: str, body: BaseModel, current: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The fields to store from a create body (``current`` None) or a patch body (``current``
    the stored object): only fields the body sets, with schedules in canonical form.

    Raises ValidationError naming the field: a null where a value is required, an unknown zone,
    an invalid schedule, an id listed twice, a duration not among ``duration_options``."""
    values = body.model_dump(exclude_unset=current is not None)
    if current is not None:
        for field in _REQUIRED[kind]:
            if field in values and values[field] is None:
                raise ValidationError(field, "may not be null")
    if values.get("schedule") is not None:
        values["schedule"] = schedule_document(values["schedule"], "schedule")
    if kind == "resources" and current is None and values.get("timezone") is None:
        if values.get("schedule") is None:
            raise ValidationError("timezone", "is required when there is no schedule")
        values["timezone"] = values["schedule"]["timezone"]
    if values.get("timezone") is not None:
        _check_zone(values["timezone"], "timezone")
    for field in ("location_ids", "resource_ids"):
        if values.get(field) is not None:
            _check_unique(values[field], field)
    if kind == "services":
        merged = {**(current or {}), **values}
        options = merged.get("duration_options")
        if options is not None:
            _check_unique(options, "duration_options")
            if merged["duration"] not in options:
                field = "duration" if "duration" in values else "duration_options"
                raise ValidationError(field, "duration must be one of duration_options")
    return values
