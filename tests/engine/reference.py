"""A deliberately naive reference of the slot semantics (DESIGN §3), for small scenarios.

Nothing here is clever and nothing is shared with the engine except the input dataclasses of
:mod:`openslots.engine.model`. Every question is answered the slow, obvious way:

* open hours: walk the UTC time line minute by minute and ask :mod:`zoneinfo` for the local wall
  clock of each minute; the minute is open when its local time of day lies in one of the rules of
  its local weekday (or of its date's override). This is the wall-clock rule by definition: a
  spring-forward gap has no minute, a repeated fall-back hour has two;
* pool windows: a window starts at an open minute whose previous minute is closed; the window
  holding the query's start is found by walking backwards;
* candidates: the anchor plus whole steps of elapsed time, kept while they end inside the window;
* each candidate is judged per resource by scanning every block and every booking.

Where DESIGN is silent this follows the engine's stated choices: in mode ``none`` a slot's
``capacity`` and ``available_capacity`` add up its resources, in ``combined`` they are the
smallest (README, "Engine semantics in short"); and a candidate on a local date more than seven
days after its window opened (a window open around the clock) steps from its own date's local
midnight instead of from the window's start, in the zone of the service's location, else of the
first resource of the service's pool (README, "Engine semantics in short").

Inputs must be minute-aligned where the walk needs it (the query's start); instants are ``int``
UTC seconds as in the model. Only small scenarios (a few resources, a few days) are practical.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from openslots.engine.model import Booking, BusyBlock, Resource, Scenario, Schedule

__all__ = [
    "ANCHOR_DAYS",
    "Candidate",
    "RefSlot",
    "Reference",
    "Verdict",
    "hours_of_day",
    "local_midnight",
    "schedule_is_open",
    "wall_clock",
]

MINUTE = 60
# A candidate more than this many local days after its window opened steps from local midnight.
ANCHOR_DAYS = 7
# Walking back further than this from the query's start is pointless: every candidate of the
# query is then more than ANCHOR_DAYS local days after its window opened.
WALK_BACK = (ANCHOR_DAYS + 2) * 86_400


def wall_clock(zone: str, instant: int) -> tuple[date, int]:
    """The local date and minute of the day (0..1439) of ``instant`` in ``zone``."""
    local = datetime.fromtimestamp(instant, ZoneInfo(zone))
    return local.date(), local.hour * 60 + local.minute


def hours_of_day(schedule: Schedule, day: date) -> tuple[tuple[int, int], ...]:
    """The ``[start, end)`` minutes a schedule opens on local date ``day``: its override's
    intervals, else the rules of its weekday."""
    for override in schedule.overrides:
        if override.date == day:
            return override.intervals
    return tuple((r.start, r.end) for r in schedule.rules if r.day == day.weekday())


def schedule_is_open(schedule: Schedule, instant: int) -> bool:
    """Whether the wall clock of ``instant`` in the schedule's zone is inside its open hours."""
    day, minute = wall_clock(schedule.timezone, instant)
    return any(start <= minute < end for start, end in hours_of_day(schedule, day))


def local_midnight(zone: str, day: date) -> int:
    """The first instant whose local date in ``zone`` is ``day``, found by walking minutes."""
    instant = int(datetime.combine(day, time(), tzinfo=ZoneInfo(zone)).timestamp())
    instant -= instant % MINUTE
    while wall_clock(zone, instant)[0] >= day:
        instant -= MINUTE
    while wall_clock(zone, instant)[0] < day:
        instant += MINUTE
    return instant


def _overlaps(start: int, end: int, lo: int, hi: int) -> bool:
    return start < hi and lo < end


@dataclass(frozen=True)
class Verdict:
    """One candidate judged on one resource."""

    resource_id: str
    fits: bool  # every minute of the slot is open on the resource
    slot_sources: tuple[str, ...]  # sources of counted blocks meeting the slot itself
    padding_sources: tuple[str, ...]  # sources of counted blocks meeting the padded interval
    seats_taken_slot: int  # most seats taken by bookings at any instant of the slot
    seats_taken_padded: int  # the same over the padded interval
    capacity: int
    party: int
    capped: bool

    @property
    def blocked(self) -> bool:
        return bool(self.padding_sources)

    @property
    def crowded(self) -> bool:
        return self.seats_taken_padded + self.party > self.capacity

    @property
    def free(self) -> bool:
        return self.fits and not self.blocked and not self.crowded and not self.capped

    @property
    def free_seats(self) -> int:
        if self.blocked:
            return 0
        return max(self.capacity - self.seats_taken_padded, 0)

    def reasons(self) -> set[tuple[str, str | None]]:
        """Reason codes for this resource (DESIGN §3 "explain"), as ``(code, resource_id)``."""
        rid = self.resource_id
        out: set[tuple[str, str | None]] = set()
        if not self.fits:
            out.add(("outside_hours", rid))
        if self.slot_sources:
            out.add(("busy", rid))
        elif self.padding_sources:
            out.add(("buffer", rid))
        if self.seats_taken_slot + self.party > self.capacity:
            out.add(("full", rid))
        elif self.crowded:
            out.add(("buffer", rid))
        if self.capped:
            out.add(("capped", rid))
        return out


@dataclass(frozen=True)
class Candidate:
    """A grid candidate ``[start, end)`` with its verdict on every pool resource."""

    start: int
    end: int
    early: bool  # before now + min_notice
    late: bool  # after now + horizon
    verdicts: tuple[Verdict, ...]
    combined: bool

    @property
    def timely(self) -> bool:
        return not self.early and not self.late

    @property
    def available(self) -> bool:
        frees = [v.free for v in self.verdicts]
        return self.timely and (all(frees) if self.combined else any(frees))

    def free_ids(self) -> tuple[str, ...]:
        return tuple(v.resource_id for v in self.verdicts if v.free)

    def reasons(self) -> set[tuple[str, str | None]]:
        """Every reason code of the candidate: the pool's and each unfree resource's."""
        out: set[tuple[str, str | None]] = set()
        if self.early:
            out.add(("min_notice", None))
        if self.late:
            out.add(("horizon", None))
        for verdict in self.verdicts:
            if not verdict.free:
                out |= verdict.reasons()
        return out

    def busy_sources(self) -> set[tuple[str, str]]:
        """``(resource_id, source)`` of the blocks meeting the slot on each unfree resource."""
        return {
            (v.resource_id, source)
            for v in self.verdicts
            if not v.free
            for source in v.slot_sources
        }


@dataclass(frozen=True)
class RefSlot:
    """A slot as the reference lists it. For mode ``random`` the choice is the engine's:
    ``resource_ids`` is None and ``choices`` holds the free resources it may pick from."""

    start: int
    end: int
    available: bool
    resource_ids: tuple[str, ...] | None
    capacity: int | None
    available_capacity: int | None
    choices: tuple[str, ...]
    candidate: Candidate


class Reference:
    """The naive answer to one scenario's query (the scenario must be valid)."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        service, query = scenario.service, scenario.query
        assert query.start % MINUTE == 0, "the reference walks whole minutes from the start"
        self.duration = query.duration if query.duration is not None else service.duration
        self.length = self.duration * MINUTE
        self.step = (query.interval or service.interval or self.duration) * MINUTE
        self.before = service.buffer_before * MINUTE
        self.after = service.buffer_after * MINUTE
        self.party = query.party_size
        self.mode = query.mode or service.mode
        by_id = {r.id: r for r in scenario.resources}
        if query.resource_ids is not None:
            ids = query.resource_ids
        elif service.resource_ids is not None:
            ids = service.resource_ids
        else:
            ids = tuple(r.id for r in scenario.resources)
        self.pool: tuple[Resource, ...] = tuple(by_id[i] for i in ids)
        self.schedules = [self._schedule_of(r) for r in self.pool]
        self.location_schedule: Schedule | None = None
        if service.location_id is not None:
            for location in scenario.locations:
                if location.id == service.location_id:
                    self.location_schedule = location.schedule
        self.earliest = scenario.now + service.min_notice * MINUTE
        self.latest = None if service.horizon is None else scenario.now + service.horizon * MINUTE
        self._open: dict[tuple[int, int], bool] = {}
        self._midnights: dict[tuple[str, date], int] = {}
        self._days: dict[tuple[int, date], tuple[tuple[int, int], ...]] = {}

    # -- open hours -------------------------------------------------------------------------

    def _schedule_of(self, resource: Resource) -> Schedule | None:
        if resource.schedule is not None:
            return resource.schedule
        if resource.team_id is not None:
            for team in self.scenario.teams:
                if team.id == resource.team_id and team.schedule is not None:
                    return team.schedule
        return self.scenario.organization.schedule

    def is_open(self, index: int, instant: int) -> bool:
        """Whether pool resource ``index`` is open during the minute starting at ``instant``
        (its schedule, then the service location's hours)."""
        key = (index, instant)
        cached = self._open.get(key)
        if cached is None:
            schedule = self.schedules[index]
            cached = (
                schedule is not None
                and self._schedule_open(schedule, instant)
                and (
                    self.location_schedule is None
                    or self._schedule_open(self.location_schedule, instant)
                )
            )
            self._open[key] = cached
        return cached

    def _schedule_open(self, schedule: Schedule, instant: int) -> bool:
        """:func:`schedule_is_open`, remembering the hours of days already looked up."""
        local = datetime.fromtimestamp(instant, ZoneInfo(schedule.timezone))
        day_key = (id(schedule), local.date())
        hours = self._days.get(day_key)
        if hours is None:
            hours = self._days[day_key] = hours_of_day(schedule, day_key[1])
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in hours)

    def holds(self, index: int, start: int, end: int) -> bool:
        """Whether every minute of ``[start, end)`` is open on pool resource ``index``."""
        first = start - start % MINUTE
        return all(self.is_open(index, t) for t in range(first, end, MINUTE))

    def pool_open(self, instant: int) -> bool:
        """Whether the pool is open in the minute starting at ``instant``: any of its resources,
        or for ``combined`` all of them."""
        if self.mode == "combined":
            return all(self.is_open(i, instant) for i in range(len(self.pool)))
        return any(self.is_open(i, instant) for i in range(len(self.pool)))

    # -- the grid ---------------------------------------------------------------------------

    def window_start(self) -> int | None:
        """Where the pool window holding the query's start opened; None when it is not open
        then, or opened more than WALK_BACK before."""
        query = self.scenario.query
        if not self.pool_open(query.start):
            return None
        opened = query.start
        while self.pool_open(opened - MINUTE):
            opened -= MINUTE
            if opened < query.start - WALK_BACK:
                return None
        return opened

    def anchor_zone(self) -> str:
        """The service's location's zone, else its pool's first resource's."""
        scenario = self.scenario
        for location in scenario.locations:
            if location.id == scenario.service.location_id:
                return location.timezone
        ids = scenario.service.resource_ids
        first = ids[0] if ids else scenario.resources[0].id
        return next(r.timezone for r in scenario.resources if r.id == first)

    def grid(self) -> list[int]:
        """Candidate starts inside ``[query.start, query.end)``, chronological: every minute
        ``s`` whose ``[s, s + duration)`` lies in one pool window and that is a whole number of
        steps after its anchor (the window's start, or for a candidate more than ANCHOR_DAYS
        local days after it, the local midnight of the candidate's own date)."""
        query = self.scenario.query
        zone = self.anchor_zone()
        minutes = range(query.start, query.end + self.length, MINUTE)
        is_open = [self.pool_open(t) for t in minutes]
        # run[i]: how many minutes the pool stays open from minute i on (within the range).
        run = [0] * (len(is_open) + 1)
        for i in range(len(is_open) - 1, -1, -1):
            run[i] = run[i + 1] + 1 if is_open[i] else 0
        opened = self.window_start()
        long_open = is_open[0] and opened is None
        starts = []
        for i, start in enumerate(range(query.start, query.end, MINUTE)):
            if not is_open[i]:
                continue
            if i > 0 and not is_open[i - 1]:
                opened, long_open = start, False
            if run[i] * MINUTE < self.length:
                continue
            day = wall_clock(zone, start)[0]
            if long_open or (
                opened is not None and day - wall_clock(zone, opened)[0] > timedelta(ANCHOR_DAYS)
            ):
                anchor = self._midnight(zone, day)
            else:
                assert opened is not None
                anchor = opened
            if (start - anchor) % self.step == 0:
                starts.append(start)
        return starts

    def _midnight(self, zone: str, day: date) -> int:
        key = (zone, day)
        if key not in self._midnights:
            self._midnights[key] = local_midnight(zone, day)
        return self._midnights[key]

    # -- judging ----------------------------------------------------------------------------

    def _blocks(self, resource: Resource) -> list[BusyBlock]:
        tentative = self.scenario.query.tentative_as_busy
        return [b for b in resource.busy if tentative or b.kind != "tentative"]

    def _bookings(self, resource: Resource) -> list[Booking]:
        excluded = self.scenario.query.reschedule_booking_id
        return [b for b in resource.bookings if b.id != excluded]

    @staticmethod
    def most_seats(bookings: list[Booking], lo: int, hi: int) -> int:
        """The most seats taken at any instant of ``[lo, hi)``: it is reached at ``lo`` or where
        some booking's occupied time starts."""
        occupied = [
            (b.start - b.buffer_before * MINUTE, b.end + b.buffer_after * MINUTE, b.party_size)
            for b in bookings
        ]
        points = [lo] + [s for s, _, _ in occupied if lo < s < hi]
        return max(sum(p for s, e, p in occupied if s <= t < e) for t in points)

    def _capped(self, resource: Resource, start: int) -> bool:
        caps = self.scenario.service.caps
        if caps.per_day is None and caps.per_week is None:
            return False
        zone = resource.timezone
        mine = [
            wall_clock(zone, b.start)[0]
            for b in self._bookings(resource)
            if b.service_id == self.scenario.service.id
        ]
        day = wall_clock(zone, start)[0]
        if caps.per_day is not None and sum(d == day for d in mine) >= caps.per_day:
            return True
        week = day.isocalendar()[:2]
        return caps.per_week is not None and (
            sum(d.isocalendar()[:2] == week for d in mine) >= caps.per_week
        )

    def judge(self, index: int, start: int) -> Verdict:
        resource = self.pool[index]
        end = start + self.length
        lo, hi = start - self.before, end + self.after
        blocks = self._blocks(resource)
        bookings = self._bookings(resource)
        seats = self.scenario.service.seats
        return Verdict(
            resource_id=resource.id,
            fits=self.holds(index, start, end),
            slot_sources=tuple(b.source for b in blocks if _overlaps(b.start, b.end, start, end)),
            padding_sources=tuple(b.source for b in blocks if _overlaps(b.start, b.end, lo, hi)),
            seats_taken_slot=self.most_seats(bookings, start, end),
            seats_taken_padded=self.most_seats(bookings, lo, hi),
            capacity=seats if seats is not None else resource.capacity,
            party=self.party,
            capped=self._capped(resource, start),
        )

    def candidate(self, start: int) -> Candidate:
        return Candidate(
            start=start,
            end=start + self.length,
            early=start < self.earliest,
            late=self.latest is not None and start > self.latest,
            verdicts=tuple(self.judge(i, start) for i in range(len(self.pool))),
            combined=self.mode == "combined",
        )

    def candidates(self) -> list[Candidate]:
        return [self.candidate(s) for s in self.grid()]

    # -- slots ------------------------------------------------------------------------------

    def bookings_in_window(self, resource: Resource) -> int:
        """Bookings of this service on ``resource`` starting in the query window."""
        query = self.scenario.query
        return sum(
            1
            for b in self._bookings(resource)
            if b.service_id == self.scenario.service.id and query.start <= b.start < query.end
        )

    def slot(self, candidate: Candidate) -> RefSlot:
        verdicts = list(candidate.verdicts)
        if self.mode == "combined":
            members = verdicts
        elif candidate.available:
            members = [v for v in verdicts if v.free]
        else:
            members = [v for v in verdicts if v.fits]
        choices = tuple(v.resource_id for v in members)
        if candidate.available and self.mode == "balanced":
            counts = {r.id: self.bookings_in_window(r) for r in self.pool}
            order = {r.id: i for i, r in enumerate(self.pool)}
            members = [min(members, key=lambda v: (counts[v.resource_id], order[v.resource_id]))]
        if candidate.available and self.mode == "random" and len(members) > 1:
            return RefSlot(
                candidate.start, candidate.end, True, None, None, None, choices, candidate
            )
        if self.mode == "combined":
            capacity = min((v.capacity for v in members), default=0)
            free_seats = min((v.free_seats for v in members), default=0)
        else:
            capacity = sum(v.capacity for v in members)
            free_seats = sum(v.free_seats for v in members)
        return RefSlot(
            start=candidate.start,
            end=candidate.end,
            available=candidate.available,
            resource_ids=tuple(v.resource_id for v in members),
            capacity=capacity,
            available_capacity=free_seats,
            choices=choices,
            candidate=candidate,
        )

    def listing(self) -> list[RefSlot]:
        """The slots of the query: the available ones, or every candidate with
        ``include_unavailable``/``explain``; ``first_available`` stops at the first available."""
        query = self.scenario.query
        everything = query.include_unavailable or query.explain
        out: list[RefSlot] = []
        for candidate in self.candidates():
            if candidate.available or everything:
                out.append(self.slot(candidate))
                if query.first_available and candidate.available:
                    break
        return out
