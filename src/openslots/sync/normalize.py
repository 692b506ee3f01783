"""iCalendar data → busy occurrences in a window: DESIGN §5 "What counts as busy" for ICS and
CalDAV sources (Google and Graph map their own events onto the same result type).

:func:`normalize` is pure: bytes and a window in, a :class:`NormalizedCalendar` out. Rules:

* only VEVENTs count; each occurrence that overlaps the window ``[start, end)`` is returned
  whole (not clipped), as UTC epoch seconds;
* recurrences (RRULE, RDATE, EXDATE, RECURRENCE-ID overrides, ``RANGE=THISANDFUTURE``) are
  expanded by recurring-ical-events, only around the window; a single event is read directly;
* TZIDs are resolved per calendar (:mod:`openslots.sync.timezones`: IANA and Windows names,
  the file's own VTIMEZONEs); all-day, floating and unresolvable-TZID times are read in the
  calendar zone, and a guessed or unresolvable TZID records a warning for its series;
* ``X-WR-TIMEZONE`` moves UTC and floating times of the calendar to that zone, as the
  x-wr-timezone package does (a UTC-anchored weekly series keeps its wall-clock time);
* busy or not, and the kind, per :mod:`openslots.sync.busy_status` (cancelled, declined,
  transparent, Microsoft's show-as, tentative, out of office); zero length is not busy;
* one occurrence per external id (UID + RECURRENCE-ID), whatever the order of components;
* at most ``max_instances_per_series`` per series (a truncated series is reported) and at most
  ``max_occurrences_per_feed`` in all (the series past it are left out and reported); a rule
  whose expansion would be far larger (``FREQ=SECONDLY`` bombs) is refused before expanding,
  and so is a feed whose rules would take too long to walk in all; a rule that can never
  recur adds nothing to its DTSTART (RFC 5545) and is reported;
* a bad series or component is skipped and reported; only a body that does not parse at all
  raises :class:`~openslots.errors.FeedInvalid`.

Series are handled in UID order, so the caps cut the same series whatever the file order.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import islice
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from icalendar import Component
from recurring_ical_events.adapters.event import (  # type: ignore[import-untyped]
    EventAdapter,
)
from recurring_ical_events.series import Series  # type: ignore[import-untyped]
from recurring_ical_events.util import (  # type: ignore[import-untyped]
    to_recurrence_ids,
)

from openslots.engine.model import BlockKind, BusyBlock
from openslots.errors import FeedInvalid
from openslots.sync.busy_status import busy_kind, produced_by_microsoft
from openslots.sync.ical_parse import parse_components
from openslots.sync.rule_cost import never_recurs, rule_cost, skip_ahead
from openslots.sync.timezones import ZoneResolver, calendar_zone, epoch, zone_named

__all__ = [
    "NormalizedCalendar",
    "NormalizedEvent",
    "Problem",
    "normalize",
]

# dateutil steps through this many rule periods in about a quarter of a second.
MAX_WALKED_PERIODS = 100_000
# ... and through this many, for all the series of one feed together, in about two seconds
# (RELIABILITY-NOTES §6.2: a per-feed CPU budget of 2 s).
MAX_WALKED_PERIODS_PER_FEED = 800_000
# A series may produce this many times the cap inside the window before it is refused rather
# than expanded and truncated: dateutil materializes every instance of the window first.
REFUSE_FACTOR = 10
# Expansion runs a day wider than the window on each side, so times read in a zone other than
# the query's still reach the exact UTC filter below.
_MARGIN = timedelta(days=1)
_DATED_PROPERTIES = ("DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE")
_RECURRING = ("RRULE", "RDATE", "EXDATE", "RECURRENCE-ID")

ProblemKind = Literal["skipped", "truncated", "warning"]


@dataclass(frozen=True, slots=True)
class NormalizedEvent:
    """One busy occurrence: ``external_id`` is the UID alone for a single event; for an
    occurrence of a series, UID + ``#`` + its RECURRENCE-ID as ``YYYYMMDDTHHMMSS`` in UTC (local
    wall clock for floating times, midnight for dates), the key recurring-ical-events uses."""

    external_id: str
    start: int
    end: int
    kind: BlockKind


@dataclass(frozen=True, slots=True)
class Problem:
    """What normalization skipped, cut short or guessed; ``uid`` is ``None`` for the file."""

    kind: ProblemKind
    uid: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class NormalizedCalendar:
    """The busy occurrences of a feed in a window, sorted, and the problems met on the way."""

    events: tuple[NormalizedEvent, ...]
    problems: tuple[Problem, ...]
    source: str

    def blocks(self) -> tuple[BusyBlock, ...]:
        """The engine's blocks, attributed to ``source``."""
        return tuple(BusyBlock(e.start, e.end, e.kind, self.source) for e in self.events)


def normalize(
    data: bytes,
    window: tuple[int, int],
    *,
    default_zone: str,
    owner_emails: frozenset[str] = frozenset(),
    source: str,
    max_instances_per_series: int = 10_000,
    max_occurrences_per_feed: int = 200_000,
) -> NormalizedCalendar:
    """The busy occurrences of the iCalendar ``data`` that overlap ``window`` (UTC seconds).

    ``default_zone`` is the resource's IANA zone, used when the calendar names none;
    ``owner_emails`` are the calendar owner's addresses (any case), for declined invitations;
    ``source`` names the blocks' origin (echoed in the engine's reasons);
    ``max_occurrences_per_feed`` bounds the occurrences expanded from the whole of ``data``
    around the window (it plus a day on each side; RELIABILITY-NOTES §6.2), so a hostile feed
    cannot exhaust memory.
    """
    owners = frozenset(address.strip().lower() for address in owner_emails)
    run = _Run(
        window=window,
        owners=owners,
        cap=max_instances_per_series,
        budget=_Budget(max_occurrences_per_feed, MAX_WALKED_PERIODS_PER_FEED),
    )
    for calendar in _parse(data, attendees=bool(owners)):
        _normalize_calendar(calendar, default_zone, run)
    run.report_budget()
    events = tuple(sorted(run.found.values(), key=lambda e: (e.start, e.end, e.external_id)))
    problems = tuple(sorted(set(run.problems), key=_problem_order))
    return NormalizedCalendar(events, problems, source)


def _problem_order(problem: Problem) -> tuple[str, str, str]:
    return (problem.kind, problem.uid or "", problem.reason)


def _parse(data: bytes, *, attendees: bool) -> list[Component]:
    """Every VCALENDAR in ``data`` (feeds may concatenate several), or :class:`FeedInvalid`."""
    try:
        calendars = parse_components(data.removeprefix(b"\xef\xbb\xbf"), attendees=attendees)
    # icalendar raises ValueError for bad content lines, but other errors exist: nothing may
    # escape as anything but FeedInvalid.
    except Exception as error:
        raise FeedInvalid(f"the calendar data does not parse: {error}") from error
    if not calendars:
        raise FeedInvalid("the calendar data holds no VCALENDAR")
    return calendars


class _Budget:
    """What is left of the feed's occurrence and rule-walking allowances."""

    def __init__(self, occurrences: int, walked: int) -> None:
        self.occurrences = occurrences
        self.walked = walked
        self.limit = occurrences
        self.left_out = 0  # series not expanded for want of budget
        self.walk_refused = 0

    def exhausted(self) -> bool:
        return self.occurrences <= 0


@dataclass
class _Run:
    """The state of one :func:`normalize` call."""

    window: tuple[int, int]
    owners: frozenset[str]
    cap: int
    budget: _Budget

    def __post_init__(self) -> None:
        self.found: dict[str, NormalizedEvent] = {}
        self.problems: list[Problem] = []

    def add(self, event: NormalizedEvent) -> None:
        previous = self.found.get(event.external_id)
        # The same occurrence twice (duplicated override, repeated VCALENDAR): keep one,
        # chosen by value so the answer does not depend on component order.
        if previous is None or _order(event) < _order(previous):
            self.found[event.external_id] = event

    def report_budget(self) -> None:
        budget = self.budget
        if budget.left_out:
            self.problems.append(
                Problem(
                    "truncated",
                    None,
                    f"more than {budget.limit} occurrences in the window; "
                    f"{budget.left_out} series cut short or left out",
                )
            )
        if budget.walk_refused:
            self.problems.append(
                Problem(
                    "truncated",
                    None,
                    "the feed's recurrence rules are too expensive to expand in all; "
                    f"{budget.walk_refused} series left out",
                )
            )


def _order(event: NormalizedEvent) -> tuple[int, int, str]:
    return (event.start, event.end, event.kind)


def _normalize_calendar(calendar: Component, default_zone: str, run: _Run) -> None:
    zone, zone_warnings = calendar_zone(calendar, default_zone)
    run.problems.extend(Problem("warning", None, text) for text in zone_warnings)
    declared = zone if zone_named(calendar.get("X-WR-TIMEZONE")) is not None else None
    margin = int(_MARGIN.total_seconds())
    span = (run.window[0] - margin, run.window[1] + margin)
    resolver = ZoneResolver(calendar, zone, span)
    microsoft = produced_by_microsoft(calendar)
    span_times = (
        datetime.fromtimestamp(span[0], UTC).astimezone(zone),
        datetime.fromtimestamp(span[1], UTC).astimezone(zone),
    )
    groups = _series(calendar)
    for uid in sorted(groups):
        components = groups[uid]
        if run.budget.exhausted():
            run.budget.left_out += 1
            continue
        try:
            notes: dict[str, None] = {}
            for component in components:
                notes.update(dict.fromkeys(_localize(component, resolver, declared)))
            run.problems.extend(Problem("warning", uid, note) for note in notes)
            if len(components) == 1 and not any(n in components[0] for n in _RECURRING):
                _single(uid, components[0], zone, microsoft, run)
            else:
                _recurring(
                    uid, components, zone=zone, span=span_times, microsoft=microsoft, run=run
                )
        except _OverBudget:
            run.budget.walk_refused += 1
        except Exception as error:  # one bad series never drops the rest of the calendar
            run.problems.append(Problem("skipped", uid, f"{type(error).__name__}: {error}"))


def _series(calendar: Component) -> dict[str, list[Component]]:
    """The VEVENTs grouped by UID; one without a UID is its own series, named by its content."""
    groups: dict[str, list[Component]] = defaultdict(list)
    for component in calendar.walk("VEVENT"):
        groups[_uid(component)].append(component)
    for group in groups.values():
        if len(group) > 1:
            # Sorted so that the answer does not depend on the order of the file's components
            # (recurring-ical-events keeps the first of equals).
            group.sort(key=lambda c: c.to_ical())
    return groups


def _uid(component: Component) -> str:
    """The UID, or for a component without one a name made from the properties normalization
    reads (ATTENDEEs aside: they are read only when the owner's addresses are known)."""
    uid = component.get("UID")
    if uid is None or not str(uid):
        content = component.copy()
        content.pop("ATTENDEE", None)
        return f"no-uid-{hashlib.sha256(content.to_ical()).hexdigest()[:16]}"
    return str(uid)


def _localize(component: Component, resolver: ZoneResolver, declared: ZoneInfo | None) -> list[str]:
    """Give ``component``'s times their zones, in place; the warnings of the TZIDs guessed.

    A TZID's zone applies to the wall clock written (as icalendar does, even before a ``Z``;
    a date becomes its midnight there). A TZID nothing resolves leaves the time floating
    (read in the calendar zone) or, written with ``Z``, in UTC. Then ``declared``
    (``X-WR-TIMEZONE``) takes the UTC and floating times, as the x-wr-timezone package does,
    but keeping each property's parameters (``RANGE=THISANDFUTURE``), which it drops.
    """
    notes: list[str] = []
    for name in _DATED_PROPERTIES:
        for prop in _as_list(component.get(name)):
            values = prop.dts if hasattr(prop, "dts") else [prop]
            tzid = prop.params.get("TZID")
            zone: tzinfo | None = None
            if tzid is not None:
                resolved = resolver.resolve(str(tzid))
                zone = resolved.zone
                if resolved.warning and (zone is not None or _has_floating(values)):
                    notes.append(resolved.warning)
            for value in values:
                value.dt = _placed(value.dt, zone, declared)
    return notes


def _placed(value: Any, zone: tzinfo | None, declared: ZoneInfo | None) -> Any:
    if isinstance(value, tuple):  # an RDATE period: (start, end or duration)
        return tuple(_placed(part, zone, declared) for part in value)
    if isinstance(value, datetime):
        if zone is not None:
            value = value.replace(tzinfo=zone)
        if declared is not None:
            if value.tzinfo is None:
                value = value.replace(tzinfo=declared)
            elif (value.tzname() or "").upper() == "UTC":
                value = value.astimezone(declared)
        return value
    if isinstance(value, date) and zone is not None:
        return datetime.combine(value, time(), tzinfo=zone)
    return value


def _has_floating(values: list[Any]) -> bool:
    for value in values:
        moment = value.dt[0] if isinstance(value.dt, tuple) else value.dt
        if isinstance(moment, datetime) and moment.tzinfo is None:
            return True
    return False


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _single(uid: str, component: Component, zone: ZoneInfo, microsoft: bool, run: _Run) -> None:
    """A component that does not recur: read directly, recurring-ical-events' way (DTEND, else
    DTSTART + DURATION, else one day for a date and nothing for a date-time; swapped ends)."""
    first, last = sorted(epoch(value, zone) for value in EventAdapter(component).span)
    if last <= run.window[0] or first >= run.window[1]:
        return
    run.budget.occurrences -= 1
    kind = busy_kind(component, run.owners, microsoft=microsoft)
    if kind is not None and first != last:
        run.add(NormalizedEvent(uid, first, last, kind))


class _OverBudget(Exception):
    """The feed's rule-walking allowance does not cover this series."""


def _recurring(
    uid: str,
    components: list[Component],
    *,
    zone: ZoneInfo,
    span: tuple[datetime, datetime],
    microsoft: bool,
    run: _Run,
) -> None:
    """The occurrences of one series around the window, at most the cap of them."""
    # Duplicates of a single event are one occurrence, named by the UID alone.
    recurring = any(n in c for c in components for n in ("RRULE", "RDATE", "RECURRENCE-ID"))
    for component in components:
        _drop_rules_that_never_recur(uid, component, run)
        cost = rule_cost(component, run.window)
        if cost.walked > MAX_WALKED_PERIODS or cost.in_window > REFUSE_FACTOR * run.cap:
            raise ValueError(
                f"recurrence rule too expensive to expand ({cost.walked} periods to walk, "
                f"up to {cost.in_window} instances in the window)"
            )
    # An old daily or weekly series starts again just before the window: the feed's budget
    # pays for what is walked then, so years of history cost nothing.
    masters = [c for c in components if "RECURRENCE-ID" not in c]
    if len(masters) == 1 and all("RRULE" not in c for c in components if c is not masters[0]):
        skip_ahead(masters[0], int(span[0].timestamp()))
    walked = sum(rule_cost(component, run.window).walked for component in components)
    budget = run.budget
    if walked > budget.walked:
        raise _OverBudget
    budget.walked -= walked
    series = Series([EventAdapter(component) for component in components])
    limit = min(run.cap, budget.occurrences)
    taken = list(islice(series.between(*span), limit + 1))
    if len(taken) > limit:
        taken = sorted(taken)[:limit]
        if limit == run.cap:
            run.problems.append(
                Problem("truncated", uid, f"more than {run.cap} occurrences in window")
            )
        else:
            budget.left_out += 1
    budget.occurrences -= len(taken)
    kinds: dict[int, BlockKind | None] = {}
    for occurrence in taken:
        # The component the occurrence comes from (master, override or THISANDFUTURE
        # override); the library has no public accessor for it.
        source = occurrence._adapter._component
        key = id(source)
        if key not in kinds:
            kinds[key] = busy_kind(source, run.owners, microsoft=microsoft)
        kind = kinds[key]
        if kind is None:
            continue
        first, last = sorted((epoch(occurrence.start, zone), epoch(occurrence.end, zone)))
        if first == last or last <= run.window[0] or first >= run.window[1]:
            continue
        recurrence_id = _recurrence_id(occurrence) if recurring else None
        run.add(NormalizedEvent(_external_id(uid, recurrence_id), first, last, kind))


def _drop_rules_that_never_recur(uid: str, component: Component, run: _Run) -> None:
    rules = _as_list(component.get("RRULE"))
    if not rules:
        return
    dtstart: Any = component["DTSTART"]
    kept = [rule for rule in rules if not never_recurs(rule, dtstart.dt)]
    for rule in rules:
        if not any(rule is k for k in kept):
            reason = f"RRULE {rule.to_ical().decode()} never recurs; only DTSTART counts"
            run.problems.append(Problem("warning", uid, reason))
    if len(kept) < len(rules):
        del component["RRULE"]
        if kept:
            component["RRULE"] = kept if len(kept) > 1 else kept[0]


def _recurrence_id(occurrence: Any) -> date | datetime:
    """The RECURRENCE-ID an occurrence has or would have, normalized like recurring-ical-events
    does (UTC without tzinfo; floating times and dates as local wall clock)."""
    # The component the occurrence was made from; the library has no public accessor for it.
    adapter = occurrence._adapter
    if adapter.recurrence_ids and occurrence.start != adapter.start:
        # Generated from a RANGE=THISANDFUTURE override, which reports its own RECURRENCE-ID
        # for all of them (python-recurring-ical-events#222): undo the override's move.
        original: date | datetime = occurrence.start - adapter.move_recurrences_by
        return cast("date | datetime", to_recurrence_ids(original)[0])
    ids = occurrence.recurrence_ids or to_recurrence_ids(occurrence.start)
    return cast("date | datetime", ids[0])


def _external_id(uid: str, recurrence_id: date | datetime | None) -> str:
    """UID alone for a single event; UID + ``#`` + the RECURRENCE-ID for an occurrence."""
    if recurrence_id is None:
        return uid
    if isinstance(recurrence_id, datetime) and recurrence_id.tzinfo is not None:
        recurrence_id = recurrence_id.astimezone(UTC).replace(tzinfo=None)
    return f"{uid}#{recurrence_id.strftime('%Y%m%dT%H%M%S')}"
