"""Resolve a query against its service: the numbers the slot computation runs on.

Here live the cross-field rules of a query that no single field can check alone: which durations
a service allows, the pool a query may narrow, ``combined`` needing explicit resources, the
window's order and length. Each failure is a :class:`~openslots.errors.ValidationError` naming
the query field it concerns, whether the scenario came from a JSON file or from the store.
"""

from __future__ import annotations

from dataclasses import dataclass

from openslots.engine.model import Location, Mode, Resource, Scenario
from openslots.engine.zones import DAY, local_day
from openslots.errors import ValidationError

__all__ = ["Limits", "Plan", "allowed_duration", "resolve"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what one query may ask, so no request can run away with the CPU."""

    max_window_days: int = 93
    min_interval_minutes: int = 5


@dataclass(frozen=True, slots=True)
class Plan:
    """A query resolved against its service. Lengths are in seconds; instants UTC."""

    duration_minutes: int
    length: int
    step: int
    before: int
    after: int
    party: int
    mode: Mode
    pool: tuple[Resource, ...]
    window_start: int
    window_end: int
    balance_start: int  # balanced mode counts bookings starting in [balance_start, balance_end)
    balance_end: int
    earliest: int
    latest: int | None
    tentative_as_busy: bool
    seats: int | None
    location: Location | None
    excluded_booking: str | None
    # Local midnights of this zone anchor candidates deep inside windows open for over a week:
    # the service's location's zone, else its pool's first resource's (never the query's order).
    anchor_zone: str


def allowed_duration(scenario: Scenario, requested: int | None) -> int:
    """The duration in minutes a booking would last; raises when the service does not allow it."""
    service = scenario.service
    if requested is None or requested == service.duration:
        return service.duration
    if service.duration_options is not None:
        if requested not in service.duration_options:
            options = ", ".join(str(d) for d in service.duration_options)
            raise ValidationError(
                "query.duration", f"duration {requested} is not one of the service's ({options})"
            )
        return requested
    if service.duration_interval is not None:
        if requested <= 0 or requested % service.duration_interval:
            raise ValidationError(
                "query.duration",
                f"duration {requested} is not a positive multiple of the service's "
                f"duration_interval ({service.duration_interval})",
            )
        return requested
    raise ValidationError(
        "query.duration",
        f"the service lasts {service.duration} minutes and allows no other duration",
    )


def _pool(scenario: Scenario, mode: Mode) -> tuple[Resource, ...]:
    by_id = {r.id: r for r in scenario.resources}
    service_ids = scenario.service.resource_ids
    service_pool = (
        tuple(by_id[i] for i in service_ids)
        if service_ids is not None
        else tuple(scenario.resources)
    )
    requested = scenario.query.resource_ids
    if requested is None:
        if mode == "combined":
            raise ValidationError(
                "query.resource_ids", "mode 'combined' needs the resource ids to combine"
            )
        return service_pool
    allowed = {r.id for r in service_pool}
    for index, resource_id in enumerate(requested):
        if resource_id not in allowed:
            raise ValidationError(
                f"query.resource_ids.{index}",
                f"resource {resource_id!r} does not provide service {scenario.service.id!r}",
            )
    for index, resource_id in enumerate(requested):
        if resource_id in requested[:index]:
            raise ValidationError(f"query.resource_ids.{index}", f"{resource_id!r} is listed twice")
    if not requested:
        raise ValidationError("query.resource_ids", "name at least one resource")
    return tuple(by_id[i] for i in requested)


def _anchor_zone(scenario: Scenario, location: Location | None) -> str:
    if location is not None:
        return location.timezone
    ids = scenario.service.resource_ids
    first = ids[0] if ids else (scenario.resources[0].id if scenario.resources else None)
    return next((r.timezone for r in scenario.resources if r.id == first), "UTC")


def resolve(scenario: Scenario, limits: Limits | None = None) -> Plan:
    """Check the query against its service and compute the plan; raises ValidationError."""
    limits = limits or Limits()
    service, query = scenario.service, scenario.query
    if query.end <= query.start:
        raise ValidationError("query.end", "the window must end after it starts")
    # Either measure may stay within the limit: 93 local dates across a DST change are 93 days
    # and an hour, and 93 elapsed days from mid-morning touch 94 dates.
    dates = local_day(query.timezone, query.end - 1) - local_day(query.timezone, query.start) + 1
    elapsed_days = (query.end - query.start) / DAY
    if dates > limits.max_window_days and elapsed_days > limits.max_window_days:
        raise ValidationError(
            "query.end", f"the window may span at most {limits.max_window_days} days"
        )
    duration = allowed_duration(scenario, query.duration)
    interval = query.interval or service.interval or duration
    if interval < limits.min_interval_minutes:
        if query.interval is not None:
            field = "query.interval"
        elif service.interval is not None:
            field = "service.interval"
        else:
            field = "query.duration" if query.duration is not None else "service.duration"
        raise ValidationError(
            field, f"slots must be at least {limits.min_interval_minutes} minutes apart"
        )
    if query.party_size < 1:
        raise ValidationError("query.party_size", "party_size must be at least 1")
    mode: Mode = query.mode or service.mode
    pool = _pool(scenario, mode)
    if query.reschedule_booking_id is not None and not any(
        b.id == query.reschedule_booking_id for r in scenario.resources for b in r.bookings
    ):
        raise ValidationError(
            "query.reschedule_booking_id",
            f"no booking {query.reschedule_booking_id!r} to reschedule",
        )
    location = None
    if service.location_id is not None:
        location = next((loc for loc in scenario.locations if loc.id == service.location_id), None)
        if location is None:
            raise ValidationError(
                "service.location_id", f"no location {service.location_id!r} in the scenario"
            )
    return Plan(
        anchor_zone=_anchor_zone(scenario, location),
        duration_minutes=duration,
        length=duration * 60,
        step=interval * 60,
        before=service.buffer_before * 60,
        after=service.buffer_after * 60,
        party=query.party_size,
        mode=mode,
        pool=pool,
        window_start=query.start,
        window_end=query.end,
        balance_start=query.start,
        balance_end=query.end,
        earliest=scenario.now + service.min_notice * 60,
        latest=None if service.horizon is None else scenario.now + service.horizon * 60,
        tentative_as_busy=query.tentative_as_busy,
        seats=service.seats,
        location=location,
        excluded_booking=query.reschedule_booking_id,
    )
