"""Per-resource work, done once per query: what each resource's time looks like to this service.

A :class:`ResourceView` holds, as span arrays, the resource's open hours (location applied), its
busy time (merged blocks that count), the times its seats are too full for the party, and the
local days or weeks on which the service's caps are reached. Every candidate is then judged by
:meth:`ResourceView.judge` with a handful of vectorized look-ups, whatever the number of blocks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from openslots.engine.capacity import SeatProfile, seat_profile
from openslots.engine.intervals import IntervalSet
from openslots.engine.model import BlockColumns, Booking, BusyBlock, Resource, Scenario
from openslots.engine.plan import Plan
from openslots.engine.schedule import effective_schedule, open_hours, start_of_local_day
from openslots.engine.spanarray import Instants, Mask, SpanArray
from openslots.engine.zones import local_day

__all__ = ["Judgement", "ResourceView", "build_view", "hours_range_days", "resource_hours"]


@dataclass(frozen=True, slots=True)
class Judgement:
    """Per-candidate verdicts for one resource; ``free`` is the conjunction the listing uses."""

    fits: Mask  # the candidate lies inside the resource's open hours
    busy: Mask  # its padded interval overlaps a busy block
    crowded: Mask  # its padded interval overlaps seats too full for the party
    capped: Mask  # its local day or week has reached the service's cap
    free: Mask


@dataclass(frozen=True, slots=True)
class ResourceView:
    resource: Resource
    capacity: int
    hours: IntervalSet
    hours_array: SpanArray
    busy: SpanArray
    blocks: Sequence[BusyBlock]  # the blocks that count, in input order
    crowded: SpanArray
    occupied: SpanArray
    profile: SeatProfile
    capped: SpanArray
    booking_count: int

    def judge(self, starts: Instants, plan: Plan) -> Judgement:
        """Judge candidates ``[s, s + length)`` for every ``s`` in ``starts``."""
        ends = starts + plan.length
        padded_lo = starts - plan.before
        padded_hi = ends + plan.after
        fits = self.hours_array.covering(starts, ends)
        busy = self.busy.overlapping(padded_lo, padded_hi)
        crowded = self.crowded.overlapping(padded_lo, padded_hi)
        capped = self.capped.containing(starts)
        free = fits & ~busy & ~crowded & ~capped
        return Judgement(fits, busy, crowded, capped, free)

    def free_seats(self, starts: Instants, plan: Plan, busy: Mask) -> Instants:
        """Seats left over each candidate's padded interval; 0 where a busy block lies."""
        seats = np.full(starts.shape, self.capacity, np.int64)
        if len(self.occupied):
            lo = starts - plan.before
            hi = starts + plan.length + plan.after
            for k in np.flatnonzero(self.occupied.overlapping(lo, hi)).tolist():
                seats[k] = self.capacity - self.profile.max_seats(int(lo[k]), int(hi[k]))
        seats[busy] = 0
        return np.maximum(seats, 0)


def hours_range_days(zone: str, plan: Plan, lookback_days: int) -> tuple[int, int]:
    """Local days of ``zone`` whose hours can hold a candidate of the query, with a look-back
    so that a window opened before the query keeps its true start as the grid anchor."""
    first = local_day(zone, plan.window_start) - lookback_days
    last = local_day(zone, plan.window_end + plan.length)
    return first, last


def resource_hours(
    scenario: Scenario, plan: Plan, resource: Resource, lookback_days: int
) -> IntervalSet:
    """The resource's open hours around the query (its schedule, then the location's hours)."""
    schedule = effective_schedule(resource, scenario)
    if schedule is None:
        return IntervalSet()
    hours = open_hours(schedule, *hours_range_days(schedule.timezone, plan, lookback_days))
    location = plan.location
    if location is not None and location.schedule is not None:
        zone = location.schedule.timezone
        # The location's hours reach a day further back so they never cut the anchor short.
        first, last = hours_range_days(zone, plan, lookback_days + 1)
        hours = hours & open_hours(location.schedule, first, last)
    return hours


def _capped_spans(
    *,
    resource: Resource,
    bookings: list[Booking],
    service_id: str,
    per_day: int | None,
    per_week: int | None,
) -> SpanArray:
    if per_day is None and per_week is None:
        return SpanArray.empty()
    zone = resource.timezone
    days = Counter(local_day(zone, b.start) for b in bookings if b.service_id == service_id)
    spans: list[tuple[int, int]] = []
    if per_day is not None:
        spans.extend(
            (start_of_local_day(zone, day), start_of_local_day(zone, day + 1))
            for day, count in days.items()
            if count >= per_day
        )
    if per_week is not None:
        # ISO weeks start on Monday; day number 0 (1970-01-01) was a Thursday.
        weeks: Counter[int] = Counter()
        for day, count in days.items():
            weeks[day - (day + 3) % 7] += count
        spans.extend(
            (start_of_local_day(zone, monday), start_of_local_day(zone, monday + 7))
            for monday, count in weeks.items()
            if count >= per_week
        )
    return SpanArray.of(IntervalSet(spans))


def build_view(
    scenario: Scenario, plan: Plan, resource: Resource, hours: IntervalSet
) -> ResourceView:
    """Everything about ``resource`` that the query's candidates are judged against."""
    capacity = plan.seats if plan.seats is not None else resource.capacity
    blocks = resource.busy
    if isinstance(blocks, BlockColumns):
        if not plan.tentative_as_busy and "tentative" in blocks.kinds:
            keep = np.array([kind != "tentative" for kind in blocks.kinds], np.bool_)
            blocks = BlockColumns(
                blocks.starts[keep],
                blocks.ends[keep],
                [k for k, kept in zip(blocks.kinds, keep, strict=True) if kept],
                [s for s, kept in zip(blocks.sources, keep, strict=True) if kept],
            )
        busy = SpanArray.merge(blocks.starts, blocks.ends)
    else:
        if not plan.tentative_as_busy:
            blocks = tuple(b for b in blocks if b.kind != "tentative")
        busy = SpanArray.merge(
            np.array([b.start for b in blocks], np.int64),
            np.array([b.end for b in blocks], np.int64),
        )
    bookings = [b for b in resource.bookings if b.id != plan.excluded_booking]
    profile = seat_profile(bookings)
    service = scenario.service
    booking_count = sum(
        1
        for b in bookings
        if b.service_id == service.id and plan.balance_start <= b.start < plan.balance_end
    )
    return ResourceView(
        resource=resource,
        capacity=capacity,
        hours=hours,
        hours_array=SpanArray.of(hours),
        busy=busy,
        blocks=blocks,
        crowded=SpanArray.of(profile.above(capacity - plan.party)),
        occupied=SpanArray.of(profile.above(0)),
        profile=profile,
        capped=_capped_spans(
            resource=resource,
            bookings=bookings,
            service_id=service.id,
            per_day=service.caps.per_day,
            per_week=service.caps.per_week,
        ),
        booking_count=booking_count,
    )
