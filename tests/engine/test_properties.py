"""Property tests of the slot engine: random small scenarios, checked against the naive reference
of DESIGN §3 (``tests/engine/reference.py``) and against laws any correct answer obeys.

Each failing example prints its scenario as a SCENARIO.md document (``openslots slots -``
reproduces it). Settings are per test; nothing global is registered.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from openslots.engine import (
    Availability,
    Booking,
    BusyBlock,
    Caps,
    DateOverride,
    Location,
    Organization,
    Query,
    Resource,
    Scenario,
    Schedule,
    Service,
    Slot,
    Team,
    WeeklyRule,
    check_slot,
    compute_availability,
    parse_scenario,
    scenario_to_dict,
)
from openslots.engine.model import MODES, Mode
from tests.engine.reference import Reference, RefSlot

ZONES = (
    "UTC",
    "Asia/Kolkata",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
)
STEADY_ZONES = ("UTC", "Asia/Kolkata")  # no daylight saving time
# Two days before a DST change of one of ZONES in 2026 (so a 1-4 day window often crosses it),
# and a few ordinary weeks.
BASE_DAYS = (
    date(2026, 1, 12),
    date(2026, 3, 6),  # New York springs forward on 03-08
    date(2026, 3, 27),  # London, 03-29
    date(2026, 4, 3),  # Lord Howe (30 minutes back) and Chatham fall back on 04-05
    date(2026, 6, 15),
    date(2026, 9, 25),  # Chatham springs forward on 09-27
    date(2026, 10, 2),  # Lord Howe, 10-04
    date(2026, 10, 23),  # London falls back on 10-25
    date(2026, 10, 30),  # New York, 11-01
    date(2026, 12, 29),  # ISO week 53 of 2026 runs into 2027
)
DURATIONS = (5, 10, 15, 20, 25, 30, 40, 45, 60, 75, 90, 120)
INTERVALS = (5, 10, 15, 20, 25, 30, 35, 45, 60, 70, 90)
SOURCES = ("google:primary", "ics:work", "manual")
SERVICE_ID = "svc"
MINUTE, DAY, WEEK = 60, 86_400, 7 * 86_400

PROPERTIES = settings(
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# OPENSLOTS_PROPERTY_SCALE=10 runs ten times the examples (for a deeper search than CI's).
SCALE = float(os.environ.get("OPENSLOTS_PROPERTY_SCALE", "1"))


def _settings(examples: int) -> settings:
    return settings(PROPERTIES, max_examples=max(1, round(examples * SCALE)))


# -- strategies --------------------------------------------------------------------------------


def fives(lo: int, hi: int) -> st.SearchStrategy[int]:
    """Multiples of 5 in ``[lo, hi]`` (minutes)."""
    return st.integers(-(-lo // 5), hi // 5).map(lambda k: k * 5)


def utc_midnight(day: date) -> int:
    return int(datetime.combine(day, time(), tzinfo=UTC).timestamp())


@st.composite
def spans_of_day(draw: st.DrawFn, max_size: int) -> tuple[tuple[int, int], ...]:
    """Local ``[start, end)`` minutes of one day, ``24:00`` ends included, maybe touching."""
    out = []
    for _ in range(draw(st.integers(0, max_size))):
        start = draw(st.one_of(fives(0, 1435), st.sampled_from((0, 480, 540, 720, 780, 1200))))
        end = draw(
            st.one_of(fives(start + 5, 1440), st.sampled_from((1440, min(start + 60, 1440))))
        )
        out.append((start, max(end, start + 5)))
    return tuple(sorted(out))


SHAPES = ("random", "random", "random", "office", "always", "nights")


@st.composite
def schedules(
    draw: st.DrawFn, zones: tuple[str, ...], base: date, shapes: tuple[str, ...] = SHAPES
) -> Schedule:
    zone = draw(st.sampled_from(zones))
    shape = draw(st.sampled_from(shapes))
    rules: list[WeeklyRule] = []
    if shape == "always":
        # Open around the clock, maybe but one day: windows much longer than the query.
        closed = draw(st.sampled_from((None, 0, 3, 6)))
        rules = [WeeklyRule(d, 0, 1440) for d in range(7) if d != closed]
    elif shape == "nights":
        # Windows across midnight: 20:00-24:00 touching the next day's 00:00-02:00.
        rules = [WeeklyRule(d, 1200, 1440) for d in range(7)]
        rules += [WeeklyRule(d, 0, 120) for d in range(7)]
    elif shape == "office":
        lunch = draw(st.booleans())
        for d in range(5):
            if lunch:
                rules += [WeeklyRule(d, 540, 720), WeeklyRule(d, 780, 1020)]
            else:
                rules.append(WeeklyRule(d, 540, 1020))
    else:
        for _ in range(draw(st.integers(1, 8))):
            day = draw(st.integers(0, 6))
            rules.extend(WeeklyRule(day, s, e) for s, e in draw(spans_of_day(2)))
    dates = draw(
        st.lists(
            st.integers(-9, 7).map(lambda k: base + timedelta(days=k)), max_size=3, unique=True
        )
    )
    overrides = tuple(DateOverride(d, draw(spans_of_day(2))) for d in dates)
    return Schedule(zone, tuple(rules), overrides)


@st.composite
def busy_blocks(draw: st.DrawFn, window: tuple[int, int]) -> BusyBlock:
    lo, hi = window
    start = lo + draw(fives(-300, (hi - lo) // MINUTE + 60)) * MINUTE
    length = draw(st.one_of(fives(5, 240), st.sampled_from((1, 7, 600, 1440))))
    return BusyBlock(
        start=start,
        end=start + length * MINUTE,
        kind=draw(st.sampled_from(("busy", "busy", "tentative", "oof"))),
        source=draw(st.sampled_from(SOURCES)),
    )


@st.composite
def bookings(draw: st.DrawFn, window: tuple[int, int], booking_id: str) -> Booking:
    lo, hi = window
    start = lo + draw(fives(-300, (hi - lo) // MINUTE + 60)) * MINUTE
    length = draw(fives(5, 180))
    return Booking(
        id=booking_id,
        service_id=draw(st.sampled_from((SERVICE_ID, SERVICE_ID, "other"))),
        start=start,
        end=start + length * MINUTE,
        party_size=draw(st.sampled_from((1, 1, 2, 3))),
        buffer_before=draw(st.sampled_from((0, 0, 5, 15, 30))),
        buffer_after=draw(st.sampled_from((0, 0, 10, 15))),
    )


def _subset(draw: st.DrawFn, ids: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(draw(st.permutations(ids))[: draw(st.integers(1, len(ids)))])


@st.composite
def scenarios(
    draw: st.DrawFn, zones: tuple[str, ...] = ZONES, shapes: tuple[str, ...] = SHAPES
) -> Scenario:
    """A small valid scenario: 1-3 resources, a query of 1-4 days, everything else random."""
    base = draw(st.sampled_from(BASE_DAYS)) + timedelta(days=draw(st.integers(0, 2)))
    start = utc_midnight(base) + draw(st.one_of(fives(-840, 840), st.integers(-840, 840))) * MINUTE
    end = start + draw(st.integers(1, 4)) * DAY - draw(fives(0, 12 * 60)) * MINUTE
    window = (start, end)

    resources = []
    for index in range(draw(st.integers(1, 3))):
        rid = f"r{index}"
        own = draw(st.sampled_from((True, True, True, False)))
        schedule = draw(schedules(zones, base, shapes)) if own else None
        zone = (
            schedule.timezone if schedule and draw(st.booleans()) else draw(st.sampled_from(zones))
        )
        resources.append(
            Resource(
                id=rid,
                timezone=zone,
                capacity=draw(st.sampled_from((1, 1, 2, 3))),
                team_id=draw(st.sampled_from((None, "team"))),
                schedule=schedule,
                busy=tuple(draw(st.lists(busy_blocks(window), max_size=4))),
                bookings=tuple(
                    draw(bookings(window, f"{rid}-b{k}")) for k in range(draw(st.integers(0, 3)))
                ),
            )
        )
    ids = tuple(r.id for r in resources)
    team = Team("team", draw(st.one_of(st.none(), schedules(zones, base, shapes))))
    organization = Organization(draw(st.one_of(st.none(), schedules(zones, base, shapes))))
    locations: tuple[Location, ...] = ()
    if draw(st.integers(0, 6)) == 0:
        loc_schedule = draw(schedules(zones, base))
        locations = (Location("site", loc_schedule.timezone, loc_schedule),)

    duration = draw(st.sampled_from(DURATIONS))
    options = None
    duration_interval = None
    asked_duration = None
    choice = draw(st.integers(0, 5))
    if choice == 0:
        options = tuple(sorted({duration, draw(st.sampled_from(DURATIONS))}))
        asked_duration = draw(st.sampled_from(options))
    elif choice == 1:
        duration_interval = draw(st.sampled_from((5, 15)))
        duration = max(duration // duration_interval, 1) * duration_interval
        asked_duration = duration_interval * draw(st.integers(1, 6))
    service_pool = draw(st.one_of(st.none(), st.permutations(ids)))
    if service_pool is not None:
        service_pool = tuple(service_pool[: draw(st.integers(1, len(service_pool)))])
    service = Service(
        id=SERVICE_ID,
        duration=duration,
        duration_options=options,
        duration_interval=duration_interval,
        interval=draw(st.one_of(st.none(), st.sampled_from(INTERVALS))),
        buffer_before=draw(st.sampled_from((0, 0, 5, 10, 15, 30))),
        buffer_after=draw(st.sampled_from((0, 0, 5, 10, 15, 30))),
        min_notice=draw(st.one_of(st.just(0), fives(0, 3 * 1440))),
        horizon=draw(st.one_of(st.none(), fives(0, 5 * 1440))),
        seats=draw(st.sampled_from((None, None, None, 1, 2, 4))),
        caps=Caps(
            per_day=draw(st.sampled_from((None, None, 1, 2))),
            per_week=draw(st.sampled_from((None, None, 1, 3))),
        ),
        resource_ids=service_pool,
        location_id="site" if locations else None,
        mode=draw(st.sampled_from(MODES)),
    )

    mode: Mode | None = draw(st.one_of(st.none(), st.sampled_from(MODES)))
    pool_ids = service_pool if service_pool is not None else ids
    narrowed = None
    if (mode or service.mode) == "combined" or draw(st.booleans()):
        narrowed = _subset(draw, pool_ids)
    booking_ids = [b.id for r in resources for b in r.bookings]
    query = Query(
        start=start,
        end=end,
        timezone=draw(st.sampled_from(zones)),
        resource_ids=narrowed,
        mode=mode,
        duration=asked_duration,
        interval=draw(st.sampled_from((None, None, None, *INTERVALS))),
        party_size=draw(st.sampled_from((1, 1, 1, 2, 3))),
        reschedule_booking_id=draw(st.sampled_from((None, None, *booking_ids))),
        tentative_as_busy=draw(st.booleans()),
    )
    return Scenario(
        now=start + draw(fives(-2 * 1440, 2 * 1440)) * MINUTE,
        service=service,
        resources=tuple(resources),
        query=query,
        organization=organization,
        teams=(team,),
        locations=locations,
    )


# -- helpers -----------------------------------------------------------------------------------


def document(scenario: Scenario) -> str:
    """The scenario in the SCENARIO.md format, for the failure report."""
    return json.dumps(scenario_to_dict(scenario))


def with_query(scenario: Scenario, **changes: object) -> Scenario:
    return replace(scenario, query=replace(scenario.query, **changes))


def listing(scenario: Scenario, **changes: object) -> Availability:
    return compute_availability(with_query(scenario, **changes) if changes else scenario)


def row(slot: Slot) -> tuple[object, ...]:
    """A slot without its reasons."""
    return (
        slot.start,
        slot.end,
        slot.resource_ids,
        slot.available,
        slot.capacity,
        slot.available_capacity,
    )


def mode_of(scenario: Scenario) -> Mode:
    return scenario.query.mode or scenario.service.mode


def assert_matches_reference(slots: tuple[Slot, ...], expected: list[RefSlot]) -> None:
    assert [(s.start, s.available) for s in slots] == [(r.start, r.available) for r in expected]
    for slot, ref in zip(slots, expected, strict=True):
        assert slot.end == ref.end
        if ref.resource_ids is None:
            # random: one resource, any of the free ones, with its own seats.
            assert len(slot.resource_ids) == 1
            assert slot.resource_ids[0] in ref.choices
            verdict = next(
                v for v in ref.candidate.verdicts if v.resource_id == slot.resource_ids[0]
            )
            assert (slot.capacity, slot.available_capacity) == (
                verdict.capacity,
                verdict.free_seats,
            )
        else:
            assert (slot.start, slot.resource_ids, slot.capacity, slot.available_capacity) == (
                ref.start,
                ref.resource_ids,
                ref.capacity,
                ref.available_capacity,
            )


def shift(scenario: Scenario, seconds: int) -> Scenario:
    """Everything that is a date or an instant moved by ``seconds`` (a whole number of days)."""
    days = timedelta(seconds=seconds)

    def schedule(s: Schedule | None) -> Schedule | None:
        if s is None:
            return None
        return replace(s, overrides=tuple(replace(o, date=o.date + days) for o in s.overrides))

    def resource(r: Resource) -> Resource:
        return replace(
            r,
            schedule=schedule(r.schedule),
            busy=tuple(replace(b, start=b.start + seconds, end=b.end + seconds) for b in r.busy),
            bookings=tuple(
                replace(b, start=b.start + seconds, end=b.end + seconds) for b in r.bookings
            ),
        )

    q = scenario.query
    return replace(
        scenario,
        now=scenario.now + seconds,
        resources=tuple(resource(r) for r in scenario.resources),
        query=replace(q, start=q.start + seconds, end=q.end + seconds),
        organization=Organization(schedule(scenario.organization.schedule)),
        teams=tuple(replace(t, schedule=schedule(t.schedule)) for t in scenario.teams),
        locations=tuple(replace(x, schedule=schedule(x.schedule)) for x in scenario.locations),
    )


# -- the engine against the reference ------------------------------------------------------------


@_settings(200)
@given(scenarios(), st.booleans())
def test_available_slots_equal_the_reference(scenario: Scenario, first: bool) -> None:
    scenario = with_query(scenario, first_available=first)
    note(document(scenario))
    answer = compute_availability(scenario)
    assert_matches_reference(answer.slots, Reference(scenario).listing())


@_settings(60)
@given(scenarios(shapes=("always", "always", "nights", "random")), st.booleans())
def test_around_the_clock_pools_equal_the_reference(scenario: Scenario, explain: bool) -> None:
    """Windows open for days or weeks, in several zones: the anchoring rules at their hardest."""
    scenario = with_query(scenario, include_unavailable=True, explain=explain)
    note(document(scenario))
    answer = compute_availability(scenario)
    assert_matches_reference(answer.slots, Reference(scenario).listing())


@_settings(100)
@given(scenarios(), st.booleans(), st.booleans())
def test_unavailable_slots_and_reasons_equal_the_reference(
    scenario: Scenario, explain: bool, first: bool
) -> None:
    scenario = with_query(
        scenario, include_unavailable=True, explain=explain, first_available=first
    )
    note(document(scenario))
    answer = compute_availability(scenario)
    expected = Reference(scenario).listing()
    assert_matches_reference(answer.slots, expected)
    for slot, ref in zip(answer.slots, expected, strict=True):
        if not explain:
            assert slot.reasons is None
            continue
        assert slot.reasons is not None
        codes = {(r.code, r.resource_id) for r in slot.reasons}
        assert (slot.start, codes) == (ref.start, ref.candidate.reasons())
        busy = {(r.resource_id, r.source) for r in slot.reasons if r.code == "busy"}
        assert busy == ref.candidate.busy_sources()


# -- laws of any correct answer --------------------------------------------------------------------


@_settings(100)
@given(scenarios())
def test_every_slot_is_inside_hours_with_free_padding(scenario: Scenario) -> None:
    note(document(scenario))
    answer = compute_availability(scenario)
    ref = Reference(scenario)
    query, service = scenario.query, scenario.service
    pool = [r.id for r in ref.pool]
    for slot in answer.slots:
        assert query.start <= slot.start < query.end
        assert slot.end - slot.start == ref.length
        assert slot.start >= scenario.now + service.min_notice * MINUTE
        if service.horizon is not None:
            assert slot.start <= scenario.now + service.horizon * MINUTE
        assert slot.resource_ids
        lo, hi = slot.start - ref.before, slot.end + ref.after
        for rid in slot.resource_ids:
            index = pool.index(rid)
            assert ref.holds(index, slot.start, slot.end), (slot, rid)
            resource = ref.pool[index]
            for block in resource.busy:
                if block.kind == "tentative" and not query.tentative_as_busy:
                    continue
                assert not (block.start < hi and lo < block.end), (slot, rid, block)
            capacity = service.seats or resource.capacity
            taken = Reference.most_seats(
                [b for b in resource.bookings if b.id != query.reschedule_booking_id], lo, hi
            )
            assert taken + query.party_size <= capacity


@_settings(100)
@given(scenarios(), st.data())
def test_a_busy_block_never_adds_a_slot(scenario: Scenario, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(scenario.resources) - 1))
    block = data.draw(busy_blocks((scenario.query.start, scenario.query.end)))
    resource = scenario.resources[index]
    busier = replace(
        scenario,
        resources=tuple(
            replace(r, busy=(*r.busy, block)) if i == index else r
            for i, r in enumerate(scenario.resources)
        ),
    )
    note(document(busier))
    before = {s.start: s for s in compute_availability(scenario).slots}
    after = compute_availability(busier).slots
    for slot in after:
        assert slot.start in before, slot
        old = before[slot.start]
        if mode_of(scenario) in {"none", "combined"}:
            assert set(slot.resource_ids) <= set(old.resource_ids)
            assert slot.available_capacity <= old.available_capacity
        elif slot.resource_ids == old.resource_ids:
            assert slot.available_capacity <= old.available_capacity
        if resource.id in slot.resource_ids:
            assert resource.id in old.resource_ids


@_settings(80)
@given(scenarios(zones=STEADY_ZONES), st.sampled_from((1, -1)), st.booleans())
def test_shifting_everything_a_week_shifts_the_answer(
    scenario: Scenario, sign: int, explain: bool
) -> None:
    scenario = with_query(scenario, explain=explain)
    moved = shift(scenario, sign * WEEK)
    note(document(scenario))
    note(document(moved))
    expected = [
        s._replace(start=s.start + sign * WEEK, end=s.end + sign * WEEK)
        for s in compute_availability(scenario).slots
    ]
    answer = list(compute_availability(moved).slots)
    if mode_of(scenario) == "random":
        # The pseudo-random choice is stable per query, not across queries: a shifted query
        # may pick another of the free resources.
        answer = [s._replace(resource_ids=(), capacity=0, available_capacity=0) for s in answer]
        expected = [s._replace(resource_ids=(), capacity=0, available_capacity=0) for s in expected]
    assert answer == expected


@_settings(60)
@given(scenarios())
def test_answers_are_deterministic_and_chronological(scenario: Scenario) -> None:
    note(document(scenario))
    first = compute_availability(scenario)
    assert compute_availability(scenario) == first
    # The scenario document reads back into the same answer.
    assert compute_availability(parse_scenario(json.loads(document(scenario)))) == first
    starts = [s.start for s in first.slots]
    assert starts == sorted(set(starts))
    everything = listing(scenario, include_unavailable=True)
    all_starts = [s.start for s in everything.slots]
    assert all_starts == sorted(set(all_starts))
    assert set(starts) <= set(all_starts)


# -- the listing against the single-slot check ---------------------------------------------------


@_settings(80)
@given(scenarios(), st.randoms(use_true_random=False))
def test_listing_and_check_slot_agree(scenario: Scenario, rnd: random.Random) -> None:
    note(document(scenario))
    answer = compute_availability(scenario)
    candidates = Reference(scenario).candidates()
    pick = rnd.sample
    for slot in pick(list(answer.slots), min(len(answer.slots), 6)):
        check = check_slot(scenario, slot.start, slot.resource_ids)
        assert check.bookable, (slot, check.reasons)
        assert check.reasons == ()
        if mode_of(scenario) == "none":
            for rid in slot.resource_ids:
                assert check_slot(scenario, slot.start, (rid,)).bookable, (slot, rid)
        auto = check_slot(scenario, slot.start)
        assert auto.bookable, (slot, auto.reasons)
        assert auto.slot is not None
        assert row(auto.slot) == row(slot)
    listed = {s.start for s in answer.slots}
    unavailable = [c for c in candidates if c.start not in listed]
    for candidate in pick(unavailable, min(len(unavailable), 6)):
        check = check_slot(scenario, candidate.start)
        assert not check.bookable, candidate.start
        assert check.reasons, candidate.start
    for candidate in pick(candidates, min(len(candidates), 3)):
        for offset in (1, MINUTE):
            check = check_slot(scenario, candidate.start + offset)
            assert not check.bookable
            assert check.reasons
            assert check.reasons[0].code == "off_grid"
            assert check.slot is None


@_settings(80)
@given(scenarios(), st.booleans(), st.booleans(), st.booleans())
def test_unavailable_listing_extends_the_plain_one(
    scenario: Scenario, include: bool, explain: bool, first: bool
) -> None:
    note(document(scenario))
    plain = listing(scenario, first_available=first)
    full = listing(
        scenario, include_unavailable=include or not explain, explain=explain, first_available=first
    )
    assert [row(s) for s in full.slots if s.available] == [row(s) for s in plain.slots]
    for slot in full.slots:
        if explain:
            assert slot.reasons is not None
            if not slot.available:
                assert slot.reasons, slot
        else:
            assert slot.reasons is None
    if first:
        everything = listing(scenario, include_unavailable=True, explain=explain)
        available = [s for s in everything.slots if s.available]
        assert [row(s) for s in plain.slots] == [row(s) for s in available[:1]]
        # With unavailable slots: the candidates up to and including the first available one.
        assert list(full.slots) == list(everything.slots[: len(full.slots)])
        if available:
            assert full.slots[-1].available


@_settings(80)
@given(scenarios(), st.data())
def test_narrowing_the_window_only_drops_slots_outside_it(
    scenario: Scenario, data: st.DataObject
) -> None:
    """The grid is anchored on the schedules (DESIGN §3: a window opened before the query keeps
    its true start), so a narrower query sees the same candidates, judged the same way."""
    query = scenario.query
    minutes = (query.end - query.start) // MINUTE
    lo = data.draw(st.integers(0, minutes - 1))
    hi = data.draw(st.integers(lo + 1, minutes))
    narrow = with_query(
        scenario, start=query.start + lo * MINUTE, end=min(query.start + hi * MINUTE, query.end)
    )
    note(document(scenario))
    note(document(narrow))
    inside = narrow.query.start, narrow.query.end
    wide = listing(scenario, include_unavailable=True, explain=True)
    expected = [s for s in wide.slots if inside[0] <= s.start < inside[1]]
    answer = listing(narrow, include_unavailable=True, explain=True)
    if mode_of(scenario) == "balanced":
        # Balanced counts bookings in the query window, so the resource chosen may change.
        assert [(s.start, s.available) for s in answer.slots] == [
            (s.start, s.available) for s in expected
        ]
    else:
        assert list(answer.slots) == expected
