"""DESIGN §3, the query's flags: ``first_available``, ``include_unavailable``, ``explain`` and its
reason codes, and ``reschedule_booking_id``.

Unless a test says otherwise: resource ``r1`` open Monday 09:00-11:00 UTC, service of 30
minutes (interval = duration), query over Monday 2026-03-02 in UTC, ``now`` the day before.
"""

from __future__ import annotations

from typing import Any

import pytest

from openslots.engine import compute_availability, parse_scenario
from openslots.errors import ValidationError
from tests.engine.builders import (
    NOW,
    answer,
    block,
    booking,
    reasons,
    resource,
    rule,
    scenario,
    schedule,
    slot_at,
    times,
)


def _flags(result: dict[str, Any]) -> list[tuple[str, bool]]:
    return [(s["start"][11:16], s["available"]) for s in result["slots"]]


# -- first_available and include_unavailable ------------------------------------------------


def test_first_available_stops_at_the_first_available_slot() -> None:
    # Busy 09:00-09:30: the first available slot is 09:30, and only it is returned.
    doc = scenario(resource("r1", busy=[block("09:00", "09:30")]), query={"first_available": True})
    assert _flags(answer(doc)) == [("09:30", True)]


def test_first_available_with_unavailable_shows_the_candidates_before_it() -> None:
    # README: with include_unavailable, the unavailable candidates before the first available.
    doc = scenario(
        resource("r1", busy=[block("09:00", "09:30")]),
        query={"first_available": True, "include_unavailable": True},
    )
    assert _flags(answer(doc)) == [("09:00", False), ("09:30", True)]


def test_first_available_with_nothing_free_returns_nothing() -> None:
    doc = scenario(resource("r1", busy=[block("09:00", "11:00")]), query={"first_available": True})
    assert answer(doc)["slots"] == []


def test_include_unavailable_lists_unavailable_slots_with_available_false() -> None:
    # Busy 09:30-10:00: 09:30 is listed with available false and no seats left; no reasons
    # without explain.
    doc = scenario(
        resource("r1", busy=[block("09:30", "10:00")]), query={"include_unavailable": True}
    )
    result = answer(doc)
    assert _flags(result) == [("09:00", True), ("09:30", False), ("10:00", True), ("10:30", True)]
    hidden = slot_at(result, "09:30")
    assert hidden["available_capacity"] == 0
    assert "reasons" not in hidden


@pytest.mark.parametrize(
    ("service", "now", "expected"),
    [
        # now 09:10, no notice: 09:00 starts before now + 0 -> shown unavailable.
        ({}, "2026-03-02T09:10:00Z", [False, True, True, True]),
        # now 08:00, horizon 60 -> latest start 09:00 (kept); 09:30 onwards shown unavailable.
        ({"horizon": 60}, "2026-03-02T08:00:00Z", [True, False, False, False]),
    ],
    ids=["min_notice", "horizon"],
)
def test_notice_and_horizon_candidates_are_reported_when_unavailable_slots_are_asked(
    service: dict[str, Any], now: str, expected: list[bool]
) -> None:
    doc = scenario(service=service, now=now, query={"include_unavailable": True})
    result = answer(doc)
    assert times(result) == ["09:00", "09:30", "10:00", "10:30"]
    assert [s["available"] for s in result["slots"]] == expected


# -- explain --------------------------------------------------------------------------------


def test_explain_implies_unavailable_slots_and_gives_every_slot_reasons() -> None:
    doc = scenario(resource("r1", busy=[block("09:30", "10:00")]), query={"explain": True})
    result = answer(doc)
    assert _flags(result) == [("09:00", True), ("09:30", False), ("10:00", True), ("10:30", True)]
    assert all(isinstance(s["reasons"], list) for s in result["slots"])
    assert slot_at(result, "09:00")["reasons"] == []  # one free resource: nothing to explain


def test_explain_busy_names_the_block_source() -> None:
    doc = scenario(
        resource("r1", busy=[block("09:00", "09:30", source="google:primary")]),
        query={"explain": True},
    )
    assert slot_at(answer(doc), "09:00")["reasons"] == [
        {"code": "busy", "resource_id": "r1", "source": "google:primary"}
    ]


def test_explain_busy_names_every_source_overlapping_the_slot() -> None:
    # Two blocks of two calendars inside 09:00-09:30; a third at 09:30 does not touch it.
    busy = [
        block("09:00", "09:15", source="google:primary"),
        block("09:15", "09:30", source="ics:holidays"),
        block("09:30", "10:00", source="manual"),
    ]
    doc = scenario(resource("r1", busy=busy), query={"explain": True})
    got = slot_at(answer(doc), "09:00")["reasons"]
    assert sorted((r["code"], r["resource_id"], r["source"]) for r in got) == [
        ("busy", "r1", "google:primary"),
        ("busy", "r1", "ics:holidays"),
    ]


_NOW_0800 = "2026-03-02T08:00:00Z"


@pytest.mark.parametrize(
    ("resources", "service", "now", "at", "expected"),
    [
        # buffer: the 09:00 slot is free, its padding [09:00, 09:45) meets the block 09:30-10:00.
        ([resource("r1", busy=[block("09:30", "10:00")])], {"buffer_after": 15}, None, "09:00",
         [("buffer", "r1")]),
        # buffer from a booking: booking 09:30-10:00 (another service) meets 09:00's padding.
        ([resource("r1", bookings=[booking("x", "09:30", "10:00", service_id="o")])],
         {"buffer_after": 15}, None, "09:00", [("buffer", "r1")]),
        # full: a booking fills the capacity-1 resource over the slot itself.
        ([resource("r1", bookings=[booking("x", "09:00", "09:30", service_id="o")])], {}, None,
         "09:00", [("full", "r1")]),
        # min_notice: now 08:00 + 90 minutes = 09:30; 09:00 starts before it.
        ([resource("r1")], {"min_notice": 90}, _NOW_0800, "09:00", [("min_notice", None)]),
        # horizon: now 08:00 + 60 minutes = 09:00; 09:30 starts after it.
        ([resource("r1")], {"horizon": 60}, _NOW_0800, "09:30", [("horizon", None)]),
        # capped: one booking of this service on Monday (16:00, outside hours), cap 1 a day.
        ([resource("r1", bookings=[booking("x", "16:00", "16:30")])], {"caps": {"per_day": 1}},
         None, "09:00", [("capped", "r1")]),
        # outside_hours: a 09:00-10:00 (busy at 09:00), b 09:10-11:00. The pool's grid starts
        # at 09:00, which b's hours do not hold.
        ([resource("a", schedule(rule("mon", "09:00", "10:00")), busy=[block("09:00", "09:30")]),
          resource("b", schedule(rule("mon", "09:10", "11:00")))], {}, None, "09:00",
         [("busy", "a"), ("outside_hours", "b")]),
    ],
    ids=["buffer", "buffer-booking", "full", "min_notice", "horizon", "capped", "outside_hours"],
)  # fmt: skip
def test_explain_reason_codes(
    resources: list[dict[str, Any]],
    service: dict[str, Any],
    now: str | None,
    at: str,
    expected: list[tuple[str, str | None]],
) -> None:
    doc = scenario(*resources, service=service, query={"explain": True}, now=now or NOW)
    slot = slot_at(answer(doc), at)
    assert slot["available"] is False
    assert reasons(slot) == expected


def test_explain_full_and_buffer_for_one_booking() -> None:
    # Booking 09:30-10:00 with the service's buffer_after 15: 09:30 overlaps it (full), 09:00
    # only through its padding (buffer), 10:00 is clear.
    doc = scenario(
        resource("r1", bookings=[booking("x", "09:30", "10:00", service_id="o")]),
        service={"buffer_after": 15},
        query={"explain": True},
    )
    result = answer(doc)
    assert reasons(slot_at(result, "09:00")) == [("buffer", "r1")]
    assert reasons(slot_at(result, "09:30")) == [("full", "r1")]
    assert slot_at(result, "10:00")["available"] is True


# -- reschedule ------------------------------------------------------------------------------


def test_reschedule_ignores_the_seats_of_one_booking() -> None:
    # Capacity 1, bookings b1 09:00-09:30 and b2 10:00-10:30 of this service. Moving b1 frees
    # 09:00; b2 still holds 10:00.
    r1 = resource("r1", bookings=[booking("b1", "09:00", "09:30"), booking("b2", "10:00", "10:30")])
    assert times(scenario(r1)) == ["09:30", "10:30"]
    doc = scenario(r1, query={"reschedule_booking_id": "b1"})
    assert times(doc) == ["09:00", "09:30", "10:30"]


def test_reschedule_ignores_the_cap_count_of_one_booking() -> None:
    # Cap 1 a day; b1 (this service, Monday 16:00) caps Monday. Rescheduling b1 lifts it.
    r1 = resource("r1", bookings=[booking("b1", "16:00", "16:30")])
    service = {"caps": {"per_day": 1}}
    assert times(scenario(r1, service=service)) == []
    doc = scenario(r1, service=service, query={"reschedule_booking_id": "b1"})
    assert times(doc) == ["09:00", "09:30", "10:00", "10:30"]


def test_reschedule_of_an_unknown_booking_is_refused() -> None:
    doc = scenario(query={"reschedule_booking_id": "nope"})
    with pytest.raises(ValidationError) as caught:
        compute_availability(parse_scenario(doc))
    assert caught.value.field == "query.reschedule_booking_id"
