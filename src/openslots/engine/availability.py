"""Slots: the listing, and the single-slot check a booking relies on, on one code path.

The steps (DESIGN §3):

1. :func:`~openslots.engine.plan.resolve` the query against its service.
2. Per resource, once: open hours, busy time, crowded time and caps as span arrays
   (:mod:`openslots.engine.views`).
3. The pool's open windows (the union of its resources' hours; for ``combined`` their
   intersection) anchor the candidate grid, which steps by ``interval`` in elapsed time.
4. Each resource judges the whole grid at once; the mode turns the verdicts into slots.

:func:`check_slot` runs the same steps on the one-candidate window ``[start, start + 1s)``, so a
slot the listing shows is bookable and one it does not show comes with a reason.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace

import numpy as np

from openslots.engine.intervals import IntervalSet
from openslots.engine.model import Scenario
from openslots.engine.plan import Limits, Plan, resolve
from openslots.engine.reasons import Explainer, pool_reasons
from openslots.engine.result import Availability, Reason, Slot, SlotCheck
from openslots.engine.schedule import effective_schedule, start_of_local_day
from openslots.engine.spanarray import Instants, Mask
from openslots.engine.views import (
    Judgement,
    ResourceView,
    build_view,
    hours_range_days,
    resource_hours,
)
from openslots.engine.zones import local_day
from openslots.errors import ValidationError

__all__ = ["check_slot", "compute_availability"]

# Days of open hours read before the query's first date: one, and when the pool window holding
# the query's start may have begun before that, nine: enough to tell a window that opened within
# the week before a candidate's date (anchored at its true start) from a longer one (see _grid),
# with a day to spare for DST shifts and zones that differ between resources.
_LOOKBACKS = (1, 9)
# A candidate more than this many local days after its window opened is anchored at its own local
# midnight: a window open around the clock has no meaningful start, and an anchor that depended on
# the query's window would make the listing and the booking check disagree.
_ANCHOR_DAYS = 7


@dataclass(frozen=True, slots=True)
class _Prepared:
    plan: Plan
    views: tuple[ResourceView, ...]
    windows: IntervalSet


def _windows(hours: list[IntervalSet], plan: Plan) -> IntervalSet:
    if plan.mode == "combined":
        return IntervalSet.intersect_all(hours)
    return IntervalSet.union_all(hours)


def _truncation(scenario: Scenario, plan: Plan, lookback_days: int) -> int:
    """The latest instant at which some pool resource's hours were cut off by the look-back: a
    pool window starting at or before it may have begun earlier in truth."""
    cuts = []
    for resource in plan.pool:
        schedule = effective_schedule(resource, scenario)
        if schedule is not None:
            first, _ = hours_range_days(schedule.timezone, plan, lookback_days)
            cuts.append(start_of_local_day(schedule.timezone, first))
    return max(cuts, default=plan.window_start)


def _prepare(scenario: Scenario, plan: Plan) -> _Prepared:
    for lookback in _LOOKBACKS:
        hours = [resource_hours(scenario, plan, r, lookback) for r in plan.pool]
        windows = _windows(hours, plan)
        anchor = windows.span_containing(plan.window_start)
        if anchor is None or anchor[0] > _truncation(scenario, plan, lookback):
            break
    views = tuple(build_view(scenario, plan, r, h) for r, h in zip(plan.pool, hours, strict=True))
    return _Prepared(plan, views, windows)


def _steps(anchor: int, lo: int, hi: int, step: int) -> Instants | None:
    """Starts ``anchor + k * step`` in ``[lo, hi]``."""
    first = anchor + max(0, -(-(lo - anchor) // step)) * step
    return np.arange(first, hi + 1, step, dtype=np.int64) if first <= hi else None


def _grid(windows: IntervalSet, plan: Plan) -> Instants:
    """Candidate starts in the query window: each open window's start plus whole steps, as long
    as the candidate still ends inside the window.

    Candidates on local dates more than a week after their window opened (a window open around
    the clock) step from their own date's local midnight instead, in the plan's anchor zone, so
    that every candidate's grid depends on the service and the schedules alone, not the query.
    """
    zone = plan.anchor_zone
    chunks: list[Instants | None] = []
    for window_start, window_end in windows:
        last = min(window_end - plan.length, plan.window_end - 1)
        if last < plan.window_start or last < window_start:
            continue
        switch = start_of_local_day(zone, local_day(zone, window_start) + _ANCHOR_DAYS + 1)
        lo = max(window_start, plan.window_start)
        chunks.append(_steps(window_start, lo, min(last, switch - 1), plan.step))
        day = local_day(zone, max(switch, lo))
        midnight = start_of_local_day(zone, day)
        while midnight <= last:
            next_midnight = start_of_local_day(zone, day + 1)
            chunks.append(
                _steps(midnight, max(midnight, lo), min(last, next_midnight - 1), plan.step)
            )
            day, midnight = day + 1, next_midnight
    found = [c for c in chunks if c is not None]
    return np.concatenate(found) if found else np.empty(0, np.int64)


def _timely(grid: Instants, plan: Plan) -> Mask:
    ok = grid >= plan.earliest
    if plan.latest is not None:
        ok &= grid <= plan.latest
    return ok


class _Assembler:
    """Turns per-resource verdicts on a grid into slots, following the query's mode."""

    def __init__(self, scenario: Scenario, prep: _Prepared, grid: Instants) -> None:
        self.scenario = scenario
        self.plan = prep.plan
        self.views = prep.views
        self.grid = grid
        self.judgements: list[Judgement] = [v.judge(grid, self.plan) for v in self.views]
        self.free = (
            np.vstack([j.free for j in self.judgements])
            if self.judgements
            else np.zeros((0, grid.size), np.bool_)
        )
        self.timely = _timely(grid, self.plan)
        if self.plan.mode == "combined":
            self.available = self.free.all(axis=0) & self.timely
        else:
            self.available = self.free.any(axis=0) & self.timely
        self.capacities = [v.capacity for v in self.views]
        self._seats: list[list[int]] | None = None
        self._explainers: dict[int, Explainer] = {}

    # -- seats and choices ------------------------------------------------------------------

    def seats(self) -> list[list[int]]:
        """Free seats per resource per candidate (0 where busy), computed when first needed."""
        if self._seats is None:
            self._seats = [
                v.free_seats(self.grid, self.plan, j.busy).tolist()
                for v, j in zip(self.views, self.judgements, strict=True)
            ]
        return self._seats

    def choose(self, column: int, free: list[int]) -> list[int]:
        """The resources an available slot is offered on, by mode (indexes into the pool)."""
        mode = self.plan.mode
        if mode in {"none", "combined"} or len(free) == 1:
            return free
        if mode == "random":
            key = f"{self.scenario.service.id}:{int(self.grid[column])}".encode()
            return [free[zlib.crc32(key) % len(free)]]
        # balanced: fewest bookings of this service in the window; pool order breaks ties.
        return [min(free, key=lambda r: (self.views[r].booking_count, r))]

    def _slot(self, column: int, members: list[int], available: bool) -> Slot:
        seats = self.seats()
        start = int(self.grid[column])
        if self.plan.mode == "combined":
            capacity = min(self.capacities[r] for r in members) if members else 0
            free_seats = min((seats[r][column] for r in members), default=0)
        else:
            capacity = sum(self.capacities[r] for r in members)
            free_seats = sum(seats[r][column] for r in members)
        return Slot(
            start=start,
            end=start + self.plan.length,
            resource_ids=tuple(self.views[r].resource.id for r in members),
            available=available,
            capacity=capacity,
            available_capacity=free_seats,
        )

    # -- reasons ----------------------------------------------------------------------------

    def resource_reasons(self, r: int, column: int) -> list[Reason]:
        explainer = self._explainers.get(r)
        if explainer is None:
            explainer = self._explainers[r] = Explainer(self.views[r], self.plan)
        j = self.judgements[r]
        return explainer.reasons(
            int(self.grid[column]),
            fits=bool(j.fits[column]),
            busy=bool(j.busy[column]),
            crowded=bool(j.crowded[column]),
            capped=bool(j.capped[column]),
        )

    def reasons(self, column: int) -> tuple[Reason, ...]:
        out = pool_reasons(int(self.grid[column]), self.plan)
        for r in range(len(self.views)):
            if not self.free[r, column]:
                out.extend(self.resource_reasons(r, column))
        return tuple(out)

    # -- slots ------------------------------------------------------------------------------

    def fast_slots(self) -> list[Slot]:
        """Available slots only, without reasons: the common query, vectorized."""
        columns = np.flatnonzero(self.available)
        if self.plan.mode == "combined":
            everyone = list(range(len(self.views)))
            return [self._slot(c, everyone, True) for c in columns.tolist()]
        groups: list[list[int]] = [[] for _ in range(columns.size)]
        positions, resources = np.nonzero(self.free[:, columns].T)
        for position, r in zip(positions.tolist(), resources.tolist(), strict=True):
            groups[position].append(r)
        if self.plan.mode != "none":
            return [
                self._slot(c, self.choose(c, group), True)
                for c, group in zip(columns.tolist(), groups, strict=True)
            ]
        # Mode none lists every free resource: add up their seats in one matrix product.
        chosen = self.free[:, columns]
        capacities = np.array(self.capacities, np.int64) @ chosen
        if any(len(v.occupied) for v in self.views):
            seats = (np.array(self.seats(), np.int64)[:, columns] * chosen).sum(axis=0)
        else:
            seats = capacities  # no bookings: a free resource has all its seats
        ids = [v.resource.id for v in self.views]
        names: dict[tuple[int, ...], tuple[str, ...]] = {}
        slots = []
        length = self.plan.length
        for start, group, capacity, free_seats in zip(
            self.grid[columns].tolist(), groups, capacities.tolist(), seats.tolist(), strict=True
        ):
            key = tuple(group)
            members = names.get(key)
            if members is None:
                members = names[key] = tuple(ids[r] for r in group)
            slots.append(Slot(start, start + length, members, True, capacity, free_seats))
        return slots

    def slot_at(self, column: int, explain: bool) -> Slot:
        """The slot of one candidate, available or not, with reasons when asked."""
        if self.available[column]:
            free = [r for r in range(len(self.views)) if self.free[r, column]]
            members = free if self.plan.mode == "combined" else self.choose(column, free)
            slot = self._slot(column, members, True)
        else:
            if self.plan.mode == "combined":
                members = list(range(len(self.views)))
            else:
                members = [r for r in range(len(self.views)) if self.judgements[r].fits[column]]
            slot = self._slot(column, members, False)
        return slot._replace(reasons=self.reasons(column)) if explain else slot


def compute_availability(scenario: Scenario, limits: Limits | None = None) -> Availability:
    """The slots of ``scenario.query``: chronological, starting inside the query window.

    Raises :class:`~openslots.errors.ValidationError` when the query does not fit its service.
    """
    plan = resolve(scenario, limits)
    prep = _prepare(scenario, plan)
    assembler = _Assembler(scenario, prep, _grid(prep.windows, plan))
    query = scenario.query
    if query.explain or query.include_unavailable:
        slots: list[Slot] = []
        for column in range(assembler.grid.size):
            slots.append(assembler.slot_at(column, query.explain))
            if query.first_available and slots[-1].available:
                break
    else:
        if query.first_available:
            first = np.flatnonzero(assembler.available)[:1]
            assembler.available = np.zeros_like(assembler.available)
            assembler.available[first] = True
        slots = assembler.fast_slots()
    return Availability(
        timezone=query.timezone,
        duration=plan.duration_minutes,
        window_start=plan.window_start,
        window_end=plan.window_end,
        slots=tuple(slots),
    )


def check_slot(
    scenario: Scenario,
    start: int,
    resource_ids: tuple[str, ...] | None = None,
    limits: Limits | None = None,
) -> SlotCheck:
    """Can the candidate starting at ``start`` (UTC seconds) be booked, and if not, why?

    The service, duration, party and pool come from ``scenario.query``; its window only serves
    ``balanced`` mode, which counts the bookings starting in it.
    ``resource_ids`` names the resources the booking would take; without it the mode picks them
    as the listing does (``none``: the first free resource of the pool; ``combined``: all).
    A start that is not on the pool's grid is refused with ``off_grid``.
    """
    query = replace(
        scenario.query,
        start=start,
        end=start + 1,
        first_available=False,
        include_unavailable=True,
        explain=True,
    )
    # Balanced mode counts bookings over the listing's window, so the check picks as it did.
    plan = replace(
        resolve(replace(scenario, query=query), limits),
        balance_start=scenario.query.start,
        balance_end=scenario.query.end,
    )
    prep = _prepare(scenario, plan)
    pool_ids = [v.resource.id for v in prep.views]
    if resource_ids is not None:
        if not resource_ids:
            raise ValidationError("resource_ids", "name at least one resource")
        for index, resource_id in enumerate(resource_ids):
            if resource_id not in pool_ids:
                raise ValidationError(
                    f"resource_ids.{index}", f"resource {resource_id!r} is not in the pool"
                )
    grid = _grid(prep.windows, plan)
    on_grid = grid.size == 1
    assembler = _Assembler(scenario, prep, grid if on_grid else np.array([start], np.int64))
    slot = assembler.slot_at(0, explain=True)
    end = start + plan.length
    if resource_ids is None:
        chosen = slot.resource_ids[:1] if plan.mode == "none" else slot.resource_ids
        bookable = on_grid and slot.available
        reasons = () if bookable else tuple(slot.reasons or ())
    else:
        chosen = resource_ids
        wanted = [pool_ids.index(i) for i in resource_ids]
        problems = pool_reasons(start, plan)
        for r in wanted:
            if not assembler.free[r, 0]:
                problems.extend(assembler.resource_reasons(r, 0))
        bookable = on_grid and not problems
        reasons = tuple(problems)
    if not on_grid:
        reasons = (Reason("off_grid"), *reasons)
    return SlotCheck(
        bookable=bookable,
        start=start,
        end=end,
        resource_ids=tuple(chosen),
        reasons=reasons,
        slot=slot if on_grid else None,
    )
