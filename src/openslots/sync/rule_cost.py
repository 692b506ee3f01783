"""An upper estimate of what expanding a VEVENT's RRULEs costs, read before expanding any.

dateutil (under recurring-ical-events) walks every period from DTSTART up to the end of the
window and materializes every instance inside it: ``FREQ=MINUTELY`` from 2000 takes 37 s,
``FREQ=SECONDLY`` over one day 86,400 instances (RELIABILITY-NOTES §6.2). Both numbers are
arithmetic on the rule, so a bomb is refused in microseconds instead of discovered in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from math import prod
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Component

from openslots.sync.timezones import epoch

__all__ = ["RuleCost", "rule_cost"]

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
    start = epoch(first, ZoneInfo("UTC"))
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
                stop = min(stop, epoch(value, ZoneInfo("UTC")))
        periods = max(0, stop - start) // step + 1
        count = rule.get("COUNT")
        if count:
            periods = min(periods, int(count[0]))
        walked += periods * per_period
        span = max(0, stop - max(start, window[0]))
        in_window += min(periods, span // step + 1) * per_period
    return RuleCost(walked, in_window)
