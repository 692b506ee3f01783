"""DESIGN §3, the service's rules: duration and the durations a query may ask for, interval,
buffers, min_notice, horizon, caps per day and per week.

Unless a test says otherwise: resource ``r1`` open Monday 09:00-11:00 UTC, service of 30
minutes (interval = duration), query over Monday 2026-03-02 in UTC, ``now`` the day before.
"""

from __future__ import annotations

from typing import Any

import pytest

from openslots.engine import compute_availability, parse_scenario
from openslots.errors import ValidationError
from tests.engine.builders import (
    answer,
    block,
    booking,
    days,
    resource,
    rule,
    scenario,
    schedule,
    times,
)

# -- duration and interval ------------------------------------------------------------------


def test_duration_sets_slot_length_and_default_interval() -> None:
    # 45 minutes every 45 in 09:00-11:00: 09:00, 09:45 (ends 10:30); 10:30 would end 11:15.
    result = answer(scenario(service={"duration": 45}))
    assert result["duration"] == 45
    assert [(s["start"][11:16], s["end"][11:16]) for s in result["slots"]] == [
        ("09:00", "09:45"),
        ("09:45", "10:30"),
    ]


@pytest.mark.parametrize(
    ("service", "requested", "expected"),
    [
        # options [30, 60], asking 60: 60-minute slots every 60 -> 09:00, 10:00.
        ({"duration_options": [30, 60]}, 60, ["09:00", "10:00"]),
        # duration_interval 15, asking 45 (3 x 15): every 45 -> 09:00, 09:45.
        ({"duration_interval": 15}, 45, ["09:00", "09:45"]),
        # asking for the service's own duration is always allowed.
        ({}, 30, ["09:00", "09:30", "10:00", "10:30"]),
    ],
    ids=["options", "interval", "own-duration"],
)
def test_requested_duration_allowed(
    service: dict[str, Any], requested: int, expected: list[str]
) -> None:
    result = answer(scenario(service=service, query={"duration": requested}))
    assert result["duration"] == requested
    assert times(result) == expected
    for slot in result["slots"]:  # each slot lasts the requested duration
        start_min = int(slot["start"][11:13]) * 60 + int(slot["start"][14:16])
        end_min = int(slot["end"][11:13]) * 60 + int(slot["end"][14:16])
        assert end_min - start_min == requested


@pytest.mark.parametrize(
    ("service", "requested"),
    [
        ({"duration_options": [30, 60]}, 45),  # not one of the options
        ({"duration_interval": 15}, 50),  # not a multiple of 15
        ({}, 45),  # neither set: only the service's duration
    ],
    ids=["options", "interval", "fixed"],
)
def test_requested_duration_refused(service: dict[str, Any], requested: int) -> None:
    doc = scenario(service=service, query={"duration": requested})
    with pytest.raises(ValidationError) as caught:
        compute_availability(parse_scenario(doc))
    assert caught.value.field == "query.duration"


@pytest.mark.parametrize(
    ("service_interval", "query_interval", "expected"),
    [
        (15, None, ["09:00", "09:15", "09:30", "09:45", "10:00", "10:15", "10:30"]),
        # the query's interval wins over the service's: 09:00, 09:40, 10:20 (ends 10:50)
        (15, 40, ["09:00", "09:40", "10:20"]),
        (None, 40, ["09:00", "09:40", "10:20"]),
    ],
    ids=["service", "query-over-service", "query"],
)
def test_interval(
    service_interval: int | None, query_interval: int | None, expected: list[str]
) -> None:
    doc = scenario(service={"interval": service_interval}, query={"interval": query_interval})
    assert times(doc) == expected


# -- buffers --------------------------------------------------------------------------------


def test_buffer_padding_may_extend_outside_open_hours() -> None:
    # 15 minutes on each side: 09:00's padding starts 08:45, 10:30's ends 11:15, both outside
    # the 09:00-11:00 hours, and both slots remain.
    doc = scenario(service={"buffer_before": 15, "buffer_after": 15})
    assert times(doc) == ["09:00", "09:30", "10:00", "10:30"]


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        # Block 10:00-10:30. No buffers: only 10:00 goes.
        (0, 0, ["09:00", "09:30", "10:30"]),
        # after 15: 09:30 needs [09:30, 10:15) free -> gone; 10:30 needs [10:30, 10:45) -> kept.
        (0, 15, ["09:00", "10:30"]),
        # before 15: 09:30 needs [09:15, 10:00), which only touches the block -> kept;
        # 10:30 needs [10:15, 11:00) -> gone.
        (15, 0, ["09:00", "09:30"]),
        # both: only 09:00 ([08:45, 09:45)) is clear.
        (15, 15, ["09:00"]),
    ],
    ids=["none", "after", "before", "both"],
)
def test_service_buffers_keep_busy_blocks_clear(
    before: int, after: int, expected: list[str]
) -> None:
    doc = scenario(
        resource("r1", busy=[block("10:00", "10:30")]),
        service={"buffer_before": before, "buffer_after": after},
    )
    assert times(doc) == expected


def test_busy_time_outside_open_hours_still_blocks_the_padding() -> None:
    # Busy 08:45-09:00, before the hours open; buffer_before 15 makes 09:00 need [08:45, 09:30).
    doc = scenario(resource("r1", busy=[block("08:45", "09:00")]), service={"buffer_before": 15})
    assert times(doc) == ["09:30", "10:00", "10:30"]


@pytest.mark.parametrize(
    ("booking_buffers", "expected"),
    [
        # A booking 10:00-10:30 (of another service) with no recorded buffers takes 10:00 only.
        ({}, ["09:00", "09:30", "10:30"]),
        # Recorded 15 before and after: it occupies 09:45-10:45, so 09:30 ([09:30, 10:00)) and
        # 10:30 ([10:30, 11:00)) overlap it, though the queried service has no buffers.
        ({"buffer_before": 15, "buffer_after": 15}, ["09:00"]),
        # Only after: occupies 10:00-10:45 -> 10:30 goes, 09:30 stays.
        ({"buffer_after": 15}, ["09:00", "09:30"]),
    ],
    ids=["no-buffers", "both", "after"],
)
def test_booking_recorded_buffers_occupy_time(
    booking_buffers: dict[str, int], expected: list[str]
) -> None:
    b = booking("b1", "10:00", "10:30", service_id="other")
    b.update(booking_buffers)
    assert times(scenario(resource("r1", bookings=[b]))) == expected


def test_service_buffer_meets_booking_buffer_from_either_side() -> None:
    # Booking 09:00-09:30 recorded buffer_after 10 occupies 09:00-09:40. The service asks
    # buffer_before 10: 09:30 needs [09:20, 10:00) -> overlaps; 10:00 needs [09:50, 10:30) -> ok.
    b = booking("b1", "09:00", "09:30", buffer_after=10)
    doc = scenario(resource("r1", bookings=[b]), service={"buffer_before": 10})
    assert times(doc) == ["10:00", "10:30"]


# -- min_notice and horizon -----------------------------------------------------------------


def test_min_notice_keeps_a_start_exactly_at_now_plus_notice() -> None:
    # now 08:00, notice 90 minutes -> earliest start 09:30: 09:00 hidden, 09:30 kept.
    doc = scenario(service={"min_notice": 90}, now="2026-03-02T08:00:00Z")
    assert times(doc) == ["09:30", "10:00", "10:30"]


def test_horizon_is_judged_on_the_start_and_keeps_now_plus_horizon() -> None:
    # now 08:00, horizon 120 -> latest start 10:00. 10:00 is kept although it ends at 10:30,
    # after now + horizon; 10:30 starts after it and is hidden.
    doc = scenario(service={"horizon": 120}, now="2026-03-02T08:00:00Z")
    assert times(doc) == ["09:00", "09:30", "10:00"]


# -- caps -----------------------------------------------------------------------------------

_NY_WEEKDAYS = schedule(
    rule("mon", "09:00", "10:00"), rule("tue", "09:00", "10:00"), timezone="America/New_York"
)


def _ny_caps(per_day: int, bookings: list[dict[str, Any]]) -> dict[str, Any]:
    return scenario(
        resource("r1", _NY_WEEKDAYS, timezone="America/New_York", bookings=bookings),
        service={"caps": {"per_day": per_day}},
        query={"start": "2026-03-02", "end": "2026-03-03", "timezone": "America/New_York"},
    )


def test_cap_per_day_counts_the_booking_start_local_date() -> None:
    # The booking starts 2026-03-03T03:00Z = Monday 22:00 in New York (EST, UTC-5): it counts
    # for Monday, the resource's local date, not Tuesday (its UTC date). Cap 1 is reached on
    # Monday only.
    b = booking("b1", "2026-03-03T03:00:00Z", "2026-03-03T03:30:00Z")
    assert days(_ny_caps(1, [b])) == {"2026-03-02": [], "2026-03-03": ["09:00", "09:30"]}


@pytest.mark.parametrize(
    ("cap", "count", "monday"),
    [
        (1, 1, []),  # the count reaches the cap: capped
        (2, 1, ["09:00", "09:30"]),  # below the cap
        (2, 2, []),
    ],
)
def test_cap_per_day_applies_once_the_count_reaches_it(
    cap: int, count: int, monday: list[str]
) -> None:
    # Bookings Monday 20:00 and 21:00 New York (outside hours, so they take no seats of 09:00).
    starts = ["2026-03-03T01:00:00Z", "2026-03-03T02:00:00Z"][:count]
    bookings = [booking(f"b{i}", s, s.replace(":00:00Z", ":30:00Z")) for i, s in enumerate(starts)]
    assert days(_ny_caps(cap, bookings))["2026-03-02"] == monday


def test_cap_ignores_bookings_of_another_service() -> None:
    b = booking("b1", "2026-03-03T03:00:00Z", "2026-03-03T03:30:00Z", service_id="other")
    assert days(_ny_caps(1, [b])) == {
        "2026-03-02": ["09:00", "09:30"],
        "2026-03-03": ["09:00", "09:30"],
    }


def test_cap_per_week_counts_the_booking_start_local_iso_week() -> None:
    # Resource in Tokyo (UTC+9), open Mon-Fri 09:00-10:00. The booking starts
    # 2026-03-08T16:00Z = Monday 2026-03-09 01:00 in Tokyo: ISO week of Mar 9, although its UTC
    # date (Sunday Mar 8) lies in the week of Mar 2. Cap 1 per week: the week of Mar 2 is open,
    # the week of Mar 9 capped.
    sched = schedule(
        *(rule(d, "09:00", "10:00") for d in ("mon", "tue", "wed", "thu", "fri")),
        timezone="Asia/Tokyo",
    )
    b = booking("b1", "2026-03-08T16:00:00Z", "2026-03-08T16:30:00Z")
    doc = scenario(
        resource("r1", sched, timezone="Asia/Tokyo", bookings=[b]),
        service={"caps": {"per_week": 1}},
        query={"start": "2026-03-02", "end": "2026-03-13", "timezone": "Asia/Tokyo"},
    )
    result = days(doc)
    for day in ("2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06"):
        assert result[day] == ["09:00", "09:30"], day
    for day in ("2026-03-09", "2026-03-10", "2026-03-11", "2026-03-12", "2026-03-13"):
        assert result[day] == [], day


def test_caps_use_the_resource_zone_not_its_schedule_zone() -> None:
    # The resource lives in Tokyo (UTC+9) but inherits the organization's UTC hours (Mon
    # 09:00-11:00 UTC). The booking starts 2026-03-01T16:00Z: Sunday in UTC, Monday 01:00 in
    # Tokyo. Caps count in the resource's zone, so Monday (Tokyo) is capped, and the Monday
    # 09:00Z-11:00Z candidates (18:00-20:00 Tokyo, same date) are gone.
    b = booking("b1", "2026-03-01T16:00:00Z", "2026-03-01T16:30:00Z")
    doc = scenario(
        resource("r1", None, timezone="Asia/Tokyo", bookings=[b]),
        service={"caps": {"per_day": 1}},
        organization={"schedule": schedule(rule("mon", "09:00", "11:00"))},
    )
    assert times(doc) == []
    # The same booking a day earlier (Sunday in Tokyo too) does not cap Monday.
    b["start"], b["end"] = "2026-02-28T16:00:00Z", "2026-02-28T16:30:00Z"
    assert times(doc) == ["09:00", "09:30", "10:00", "10:30"]


def test_caps_count_per_resource() -> None:
    # Cap 1 per day; r1 has a booking of the service on Monday (16:00 UTC, outside hours), r2
    # none: Monday's slots are offered on r2 only.
    b = booking("b1", "16:00", "16:30")
    doc = scenario(
        resource("r1", bookings=[b]),
        resource("r2"),
        service={"caps": {"per_day": 1}},
    )
    result = answer(doc)
    assert times(result) == ["09:00", "09:30", "10:00", "10:30"]
    assert {tuple(s["resource_ids"]) for s in result["slots"]} == {("r2",)}
