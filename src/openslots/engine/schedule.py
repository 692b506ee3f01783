"""Open hours: from weekly rules and date overrides to UTC interval sets.

A weekly rule covers exactly the instants whose wall-clock reading in the schedule's zone lies in
``[start, end)`` on its weekday (DESIGN §3). So a rule never drifts across DST; a spring-forward
gap is absent from it and a repeated fall-back hour is in it twice. Rules are first laid out on
the wall-clock line, where touching rules (Friday 20:00–24:00 and Saturday 00:00–01:00) merge,
and then mapped to UTC through the zone's offsets (:func:`openslots.engine.zones.wall_to_utc`).
"""

from __future__ import annotations

from functools import lru_cache

from openslots.engine.intervals import IntervalSet, Span, merge_spans
from openslots.engine.model import Resource, Scenario, Schedule
from openslots.engine.zones import DAY, day_number, wall_to_utc

__all__ = ["effective_schedule", "open_hours", "start_of_local_day", "wall_hours"]


def wall_hours(schedule: Schedule, first_day: int, last_day: int) -> list[Span]:
    """The schedule's open time on local days ``first_day..last_day`` (inclusive day numbers),
    as normalized spans of wall seconds."""
    overrides = {day_number(o.date): o.intervals for o in schedule.overrides}
    by_weekday: list[list[tuple[int, int]]] = [[] for _ in range(7)]
    for rule in schedule.rules:
        by_weekday[rule.day].append((rule.start, rule.end))
    spans: list[Span] = []
    for day in range(first_day, last_day + 1):
        # Day number 0 (1970-01-01) was a Thursday: weekday index 3 with Monday = 0.
        intervals = overrides.get(day)
        if intervals is None:
            intervals = tuple(by_weekday[(day + 3) % 7])
        base = day * DAY
        spans.extend((base + start * 60, base + end * 60) for start, end in intervals)
    return merge_spans(spans)


@lru_cache(maxsize=1024)
def open_hours(schedule: Schedule, first_day: int, last_day: int) -> IntervalSet:
    """The UTC instants the schedule is open on its local days ``first_day..last_day``."""
    return IntervalSet(wall_to_utc(schedule.timezone, wall_hours(schedule, first_day, last_day)))


def start_of_local_day(zone: str, day: int) -> int:
    """The first instant whose local date in ``zone`` is ``day`` (local midnight, or the end of
    a DST gap that swallows midnight)."""
    # A whole day of wall time always has instants: the largest DST jump is far below a day.
    return wall_to_utc(zone, [(day * DAY, (day + 1) * DAY)])[0][0]


def effective_schedule(resource: Resource, scenario: Scenario) -> Schedule | None:
    """Schedule inheritance: the resource's own, else its team's, else the organization's."""
    if resource.schedule is not None:
        return resource.schedule
    if resource.team_id is not None:
        for team in scenario.teams:
            if team.id == resource.team_id and team.schedule is not None:
                return team.schedule
    return scenario.organization.schedule
