"""The engine's input: plain, immutable values mirroring the scenario format (SCENARIO.md).

Units, everywhere in the engine:

* instants (``start``, ``end``, ``now``) are ``int`` seconds since the Unix epoch, UTC; every
  interval is half-open ``[start, end)``;
* local times of day are ``int`` minutes since local midnight, ``0 <= m <= 1440`` (1440 is
  ``24:00``, allowed as an end);
* dates are :class:`datetime.date` in the zone of the object that holds them;
* durations (``duration``, buffers, notice, horizon) are ``int`` minutes, as in the scenario.

These types carry no behaviour beyond small derived properties; the rules live in
:mod:`openslots.engine.schedule` and :mod:`openslots.engine.availability`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

__all__ = [
    "BLOCK_KINDS",
    "DAYS",
    "MODES",
    "Booking",
    "BusyBlock",
    "Caps",
    "DateOverride",
    "Location",
    "Mode",
    "Organization",
    "Query",
    "Resource",
    "Scenario",
    "Schedule",
    "Service",
    "Team",
    "WeeklyRule",
]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Mode = Literal["none", "random", "balanced", "combined"]
MODES: tuple[Mode, ...] = ("none", "random", "balanced", "combined")
BlockKind = Literal["busy", "tentative", "oof"]
BLOCK_KINDS: tuple[BlockKind, ...] = ("busy", "tentative", "oof")


@dataclass(frozen=True, slots=True)
class WeeklyRule:
    """Open on weekday ``day`` (0 = Monday) from ``start`` to ``end`` minutes, wall clock."""

    day: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class DateOverride:
    """Replaces the weekly rules of ``date``; no intervals closes the day."""

    date: date
    intervals: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Schedule:
    """Weekly rules and date overrides, read in the IANA zone ``timezone``."""

    timezone: str
    rules: tuple[WeeklyRule, ...] = ()
    overrides: tuple[DateOverride, ...] = ()


@dataclass(frozen=True, slots=True)
class Organization:
    schedule: Schedule | None = None


@dataclass(frozen=True, slots=True)
class Team:
    id: str
    schedule: Schedule | None = None


@dataclass(frozen=True, slots=True)
class Location:
    id: str
    timezone: str
    schedule: Schedule | None = None


@dataclass(frozen=True, slots=True)
class BusyBlock:
    """Unavailability from a calendar or a manual block. ``source`` is echoed in reasons."""

    start: int
    end: int
    kind: BlockKind = "busy"
    source: str = "manual"


@dataclass(frozen=True, slots=True)
class Booking:
    """A confirmed appointment (or a live hold). It occupies
    ``[start - buffer_before, end + buffer_after)`` and takes ``party_size`` seats there."""

    id: str
    service_id: str
    start: int
    end: int
    party_size: int = 1
    buffer_before: int = 0
    buffer_after: int = 0


@dataclass(frozen=True, slots=True)
class Resource:
    id: str
    timezone: str
    capacity: int = 1
    team_id: str | None = None
    schedule: Schedule | None = None
    busy: tuple[BusyBlock, ...] = ()
    bookings: tuple[Booking, ...] = ()


@dataclass(frozen=True, slots=True)
class Caps:
    per_day: int | None = None
    per_week: int | None = None


@dataclass(frozen=True, slots=True)
class Service:
    id: str
    duration: int
    duration_options: tuple[int, ...] | None = None
    duration_interval: int | None = None
    interval: int | None = None
    buffer_before: int = 0
    buffer_after: int = 0
    min_notice: int = 0
    horizon: int | None = None
    seats: int | None = None
    caps: Caps = field(default_factory=Caps)
    resource_ids: tuple[str, ...] | None = None
    location_id: str | None = None
    mode: Mode = "none"


@dataclass(frozen=True, slots=True)
class Query:
    """One availability question: slots starting in ``[start, end)``, shown in ``timezone``."""

    start: int
    end: int
    timezone: str = "UTC"
    resource_ids: tuple[str, ...] | None = None
    mode: Mode | None = None
    duration: int | None = None
    interval: int | None = None
    party_size: int = 1
    first_available: bool = False
    include_unavailable: bool = False
    explain: bool = False
    reschedule_booking_id: str | None = None
    tentative_as_busy: bool = True


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything one availability answer depends on, ``now`` included."""

    now: int
    service: Service
    resources: tuple[Resource, ...]
    query: Query
    organization: Organization = field(default_factory=Organization)
    teams: tuple[Team, ...] = ()
    locations: tuple[Location, ...] = ()
