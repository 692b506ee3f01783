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

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, overload

import numpy as np
import numpy.typing as npt

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


class BlockColumns(Sequence[BusyBlock]):
    """A resource's busy blocks held as columns: the same sequence of :class:`BusyBlock` as a
    tuple of them, equal to one, but built without one Python object per block.

    A store that reads thousands of blocks per query hands them to the engine this way; the
    engine reads ``starts`` and ``ends`` as arrays, and blocks are made only when iterated
    (explanations, exports).
    """

    __slots__ = ("ends", "kinds", "sources", "starts")

    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]
    kinds: tuple[BlockKind, ...]
    sources: tuple[str, ...]

    def __init__(
        self,
        starts: npt.ArrayLike,
        ends: npt.ArrayLike,
        kinds: Sequence[BlockKind],
        sources: Sequence[str],
    ) -> None:
        self.starts = np.asarray(starts, dtype=np.int64)
        self.ends = np.asarray(ends, dtype=np.int64)
        self.kinds = tuple(kinds)
        self.sources = tuple(sources)
        if not len(self.starts) == len(self.ends) == len(self.kinds) == len(self.sources):
            raise ValueError("block columns differ in length")

    @classmethod
    def uniform(cls, spans: npt.ArrayLike, kind: BlockKind, source: str) -> BlockColumns:
        """Blocks of one kind and source from ``(start, end)`` pairs."""
        pairs = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
        count = len(pairs)
        return cls(pairs[:, 0], pairs[:, 1], (kind,) * count, (source,) * count)

    def __len__(self) -> int:
        return len(self.kinds)

    @overload
    def __getitem__(self, index: int) -> BusyBlock: ...

    @overload
    def __getitem__(self, index: slice) -> BlockColumns: ...

    def __getitem__(self, index: int | slice) -> BusyBlock | BlockColumns:
        if isinstance(index, slice):
            return BlockColumns(
                self.starts[index], self.ends[index], self.kinds[index], self.sources[index]
            )
        return BusyBlock(
            int(self.starts[index]), int(self.ends[index]), self.kinds[index], self.sources[index]
        )

    def __iter__(self) -> Iterator[BusyBlock]:
        for start, end, kind, source in zip(
            self.starts.tolist(), self.ends.tolist(), self.kinds, self.sources, strict=True
        ):
            yield BusyBlock(start, end, kind, source)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return tuple(self) == tuple(other)

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"BlockColumns({list(self)!r})"


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
    # A tuple of blocks, or the same as BlockColumns.
    busy: Sequence[BusyBlock] = ()
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
