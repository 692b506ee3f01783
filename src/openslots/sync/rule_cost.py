"""An upper estimate of what expanding a VEVENT's RRULEs costs, read before expanding any.

dateutil (under recurring-ical-events) walks every period from DTSTART up to the end of the
window and materializes every instance inside it: ``FREQ=MINUTELY`` from 2000 takes 37 s,
``FREQ=SECONDLY`` over one day 86,400 instances (RELIABILITY-NOTES §6.2). Both numbers are
arithmetic on the rule, so a bomb is refused in microseconds instead of discovered in seconds.

A rule that can never produce an instance (``BYMONTH=2;BYMONTHDAY=30``, ``BYDAY=6MO``,
``BYMONTHDAY=32``) is the other bomb: dateutil looks for its first instance until year 9999,
8 s for ``FREQ=DAILY``. :func:`never_recurs` recognizes such rules from two reference years; by
RFC 5545 they simply add nothing to DTSTART.
"""

from __future__ import annotations

import calendar
import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from math import prod
from typing import Any

from icalendar import Component

__all__ = ["RuleCost", "never_recurs", "rule_cost", "skip_ahead"]

_PERIOD = {
    "SECONDLY": 1,
    "MINUTELY": 60,
    "HOURLY": 3600,
    "DAILY": 86400,
    "WEEKLY": 7 * 86400,
    "MONTHLY": 28 * 86400,  # the shortest month: an upper estimate of the periods
    "YEARLY": 365 * 86400,
}
# BY parts that multiply instances within one period, by the frequencies they are finer than.
_FINER = {
    "BYSECOND": ("MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"),
    "BYMINUTE": ("HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"),
    "BYHOUR": ("DAILY", "WEEKLY", "MONTHLY", "YEARLY"),
    "BYDAY": ("WEEKLY", "MONTHLY", "YEARLY"),
    "BYMONTHDAY": ("MONTHLY", "YEARLY"),
    "BYYEARDAY": ("YEARLY",),
    "BYWEEKNO": ("YEARLY",),
    "BYMONTH": ("YEARLY",),
}


@dataclass(frozen=True, slots=True)
class RuleCost:
    """``walked``: periods dateutil steps through from DTSTART to the window's end;
    ``in_window``: instances the rules can produce inside the window (both upper estimates)."""

    walked: int
    in_window: int


def rule_cost(event: Component, window: tuple[int, int]) -> RuleCost:
    """The cost of expanding ``event``'s RRULEs over ``window``; zero when it has none.

    Raises whatever icalendar raises for a malformed rule; the caller skips the series.
    """
    rules: Any = event.get("RRULE")
    if rules is None:
        return RuleCost(0, 0)
    if not isinstance(rules, list):
        rules = [rules]
    # Local times are read as UTC here: off by hours at most, which an estimate can afford.
    dtstart: Any = event["DTSTART"]
    first = dtstart.dt
    start = _seconds(first)
    walked = in_window = 0
    for rule in rules:
        freq = str(rule.get("FREQ", ["DAILY"])[0]).upper()
        step = _PERIOD.get(freq, 86400) * max(1, int(rule.get("INTERVAL", [1])[0]))
        per_period = prod(
            len(rule.get(part, [])) or 1 for part, coarser in _FINER.items() if freq in coarser
        )
        stop = window[1]
        until = rule.get("UNTIL")
        if until:
            value = until[0]
            if isinstance(value, date | datetime):
                stop = min(stop, _seconds(value))
        periods = max(0, stop - start) // step + 1
        count = rule.get("COUNT")
        if count:
            periods = min(periods, int(count[0]))
        # dateutil stops at the first instance past the window, which a rule filtering days
        # may place up to a year away (eight when only leap years have one).
        gap = _gap(rule, first if isinstance(first, date) else date(1970, 1, 1))
        walked += (periods + gap // step) * per_period
        span = max(0, stop - max(start, window[0]))
        in_window += min(periods, span // step + 1) * per_period
    return RuleCost(walked, in_window)


def _seconds(value: date | datetime) -> int:
    """Epoch seconds, local and floating times read as UTC: an estimate can afford hours."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


_DAY = 86400


def skip_ahead(event: Component, before: int) -> bool:
    """Move the DTSTART (and DTEND) of a DAILY or WEEKLY series forward by whole intervals, to
    a little before ``before`` (UTC epoch seconds), so dateutil need not walk the years between;
    whether it moved.

    The instances from there on are unchanged: whole intervals keep every BY part, WKST and
    the wall-clock time (Python adds days on the wall clock, as dateutil steps), and EXDATE,
    RDATE and RECURRENCE-ID are absolute. Left alone: a rule with COUNT (the walk counts), a
    second RRULE, a DTEND in another zone or type than DTSTART (its length would change), and
    finer frequencies (their cap refuses long walks anyway). The moved DTSTART may not itself
    fit the rule (DTSTART always counts as an instance), so it stays two intervals and the
    event's length clear of ``before``.
    """
    rules: Any = event.get("RRULE")
    if rules is None or isinstance(rules, list):
        return False
    freq = str(rules.get("FREQ", [""])[0]).upper()
    if freq not in ("DAILY", "WEEKLY") or rules.get("COUNT"):
        return False
    start_property: Any = event["DTSTART"]
    end_property: Any = event.get("DTEND")
    start = start_property.dt
    end = end_property.dt if end_property is not None else None
    if end is not None and (
        type(end) is not type(start)
        or getattr(end, "tzinfo", None) is not getattr(start, "tzinfo", None)
    ):
        return False
    step = (1 if freq == "DAILY" else 7) * max(1, int(rules.get("INTERVAL", [1])[0]))
    length = max(0, _seconds(end) - _seconds(start)) if end is not None else 0
    target = before - 2 * step * _DAY - length - _DAY
    periods = (target - _seconds(start)) // (step * _DAY)
    if periods <= 0:
        return False
    delta = timedelta(days=periods * step)
    start_property.dt = start + delta
    if end is not None:
        end_property.dt = end + delta
    return True


# Parts that restrict which days a rule may fall on.
_DAY_FILTERS = ("BYMONTH", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYSETPOS")
_YEAR = 366 * 86400


def _gap(rule: Any, start: date) -> int:
    """Seconds past the window that dateutil may walk to find the rule's next instance."""
    if not any(rule.get(part) for part in _DAY_FILTERS) and not _ordinals(rule):
        return 0
    days = _matching_days(rule, start)
    return _YEAR if all(days) else 8 * _YEAR


def never_recurs(rule: Any, start: date) -> bool:
    """Whether the RRULE (an icalendar ``vRecur``) starting on ``start`` (its DTSTART's date)
    can produce no instance at all.

    Exact for the impossible combinations dateutil would search until year 9999 for; a rule
    whose only instances are rare (29 February) recurs. Ignores the weekday of plain ``BYDAY``
    entries (every weekday falls on every date some year), so some impossible combinations of
    weekdays with week numbers or ordinals go unnoticed.
    """
    if not any(rule.get(part) for part in _DAY_FILTERS) and not _ordinals(rule):
        return False
    leap, common = _matching_days(rule, start)
    if not leap and not common:
        return True
    positions = [abs(int(p)) for p in rule.get("BYSETPOS", [])]
    return bool(positions) and min(positions) > _largest_set(rule, leap, common)


def _ordinals(rule: Any) -> list[int]:
    """The ordinals of BYDAY entries such as ``-1SU`` or ``2MO`` (0 for a plain weekday)."""
    found = []
    for day in rule.get("BYDAY", []):
        text = str(day).strip().upper()
        number = text[:-2]
        found.append(int(number) if number not in ("", "+", "-") else 0)
    return found if any(found) and all(found) else []


def _matching_days(rule: Any, start: date) -> tuple[list[_Day], list[_Day]]:
    """The days of a leap and a common reference year that the rule's day filters allow."""
    freq = str(rule.get("FREQ", ["DAILY"])[0]).upper()
    months = {int(m) for m in rule.get("BYMONTH", [])} or set(range(1, 13))
    monthdays = {int(d) for d in rule.get("BYMONTHDAY", [])}
    if not any(rule.get(p) for p in ("BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY")):
        # Without day parts, DTSTART's day repeats (RFC 5545 3.3.10, and dateutil).
        if freq == "YEARLY" and not rule.get("BYMONTH"):
            months = {start.month}
        if freq in ("YEARLY", "MONTHLY"):
            monthdays = {start.day}
    yeardays = {int(d) for d in rule.get("BYYEARDAY", [])}
    weeks = {int(w) for w in rule.get("BYWEEKNO", []) if 1 <= abs(int(w)) <= 53}
    if rule.get("BYWEEKNO") and not weeks:
        return [], []
    ordinals = set(_ordinals(rule))
    # Ordinals count within the month for MONTHLY (and YEARLY narrowed by BYMONTH), within the
    # year for YEARLY; RFC 5545 allows them nowhere else, and dateutil then ignores them.
    in_month = freq == "MONTHLY" or (freq == "YEARLY" and bool(rule.get("BYMONTH")))
    if freq not in ("MONTHLY", "YEARLY"):
        ordinals = set()
    found: tuple[list[_Day], list[_Day]] = ([], [])
    for index, days in enumerate(_reference_years()):
        for day in days:
            if day.month not in months:
                continue
            if monthdays and day.mday not in monthdays and day.mday - day.dim - 1 not in monthdays:
                continue
            if yeardays and day.yday not in yeardays and day.yday - day.diy - 1 not in yeardays:
                continue
            if weeks and not any(_maybe_in_week(day, week) for week in weeks):
                continue
            if ordinals:
                count, length = (day.mday, day.dim) if in_month else (day.yday, day.diy)
                nth = {(count - 1) // 7 + 1, -((length - count) // 7 + 1)}
                if not nth & ordinals:
                    continue
            found[index].append(day)
    return found


def _maybe_in_week(day: _Day, week: int) -> bool:
    # Week 1 starts between 29 December and 4 January whatever WKST is, so week n holds days
    # of the year from 7n - 9 to 7n + 3; week -n the same counted from the year's end. The
    # first and last weeks reach into the neighbouring years, which dateutil counts too.
    count = day.yday if week > 0 else day.diy - day.yday + 1
    if 7 * abs(week) - 9 <= count <= 7 * abs(week) + 3:
        return True
    return (abs(week) == 1 or abs(week) >= 52) and (day.yday <= 3 or day.yday >= day.diy - 2)


def _largest_set(rule: Any, leap: list[_Day], common: list[_Day]) -> int:
    """An upper bound on how many instances one period of the rule holds before BYSETPOS."""
    freq = str(rule.get("FREQ", ["DAILY"])[0]).upper()
    times = {part: len(rule.get(part, [])) or 1 for part in ("BYHOUR", "BYMINUTE", "BYSECOND")}
    weekdays = len(rule.get("BYDAY", [])) if rule.get("BYDAY") and not _ordinals(rule) else 7
    if freq == "YEARLY":
        days = min(max(len(leap), len(common)), 53 * weekdays)
    elif freq == "MONTHLY":
        per_month: dict[tuple[int, int], int] = {}
        for index, days_of_year in enumerate((leap, common)):
            for day in days_of_year:
                per_month[index, day.month] = per_month.get((index, day.month), 0) + 1
        days = min(max(per_month.values(), default=0), 5 * weekdays)
    elif freq == "WEEKLY":
        days = weekdays if rule.get("BYDAY") or _narrowed(rule) else 1
    else:
        days = 1
    if freq in ("HOURLY", "MINUTELY", "SECONDLY"):
        finer = {"HOURLY": ("BYMINUTE", "BYSECOND"), "MINUTELY": ("BYSECOND",)}
        return prod(times[part] for part in finer.get(freq, ()))
    return days * prod(times.values())


def _narrowed(rule: Any) -> bool:
    return any(rule.get(p) for p in ("BYWEEKNO", "BYYEARDAY", "BYMONTHDAY"))


@dataclass(frozen=True, slots=True)
class _Day:
    month: int
    mday: int
    dim: int  # days in its month
    yday: int
    diy: int  # days in its year


@functools.cache
def _reference_years() -> tuple[tuple[_Day, ...], tuple[_Day, ...]]:
    years = []
    for year in (2024, 2025):
        first = date(year, 1, 1)
        diy = 366 if calendar.isleap(year) else 365
        days = []
        for offset in range(diy):
            day = first + timedelta(days=offset)
            dim = calendar.monthrange(year, day.month)[1]
            days.append(_Day(day.month, day.day, dim, offset + 1, diy))
        years.append(tuple(days))
    return years[0], years[1]
