"""DESIGN §3, capacity: seats taken by bookings over their occupied time, party sizes, busy
blocks taking the whole capacity, block kinds, group seats, and the capacity numbers of a slot.

Unless a test says otherwise: resource ``r1`` open Monday 09:00-11:00 UTC, service of 30
minutes (interval = duration), query over Monday 2026-03-02 in UTC, ``now`` the day before.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.builders import (
    answer,
    block,
    booking,
    resource,
    scenario,
    slot_at,
    times,
)


def _seats(result: dict[str, Any]) -> list[tuple[str, bool, int, int]]:
    return [
        (s["start"][11:16], s["available"], s["capacity"], s["available_capacity"])
        for s in result["slots"]
    ]


def test_capacity_counts_the_most_seats_taken_at_any_moment() -> None:
    # Capacity 2. Bookings 09:00-10:00 and 09:30-10:30 take 1 seat on 09:00-09:30, 2 on
    # 09:30-10:00, 1 on 10:00-10:30. So 09:00 has 1 seat left, 09:30 none (hidden), 10:00 has 1,
    # 10:30 has 2.
    r1 = resource(
        "r1",
        capacity=2,
        bookings=[booking("a", "09:00", "10:00"), booking("b", "09:30", "10:30")],
    )
    assert _seats(answer(scenario(r1))) == [
        ("09:00", True, 2, 1),
        ("10:00", True, 2, 1),
        ("10:30", True, 2, 2),
    ]


def test_back_to_back_bookings_are_not_added_up() -> None:
    # Capacity 2, bookings 09:00-09:30 and 09:30-10:00: at no moment are 2 seats taken, so a
    # 60-minute candidate at 09:00 still has 1 seat (the maximum, not the sum).
    r1 = resource(
        "r1",
        capacity=2,
        bookings=[booking("a", "09:00", "09:30"), booking("b", "09:30", "10:00")],
    )
    result = answer(scenario(r1, service={"duration": 60}))
    assert _seats(result) == [("09:00", True, 2, 1), ("10:00", True, 2, 2)]


def test_available_capacity_is_measured_over_the_padded_interval() -> None:
    # Capacity 2, one booking 09:30-10:00. With buffer_after 15, the 09:00 candidate's padding
    # [09:00, 09:45) meets it: 1 seat left. Without the buffer 09:00 has both seats.
    r1 = resource("r1", capacity=2, bookings=[booking("a", "09:30", "10:00")])
    padded = answer(scenario(r1, service={"buffer_after": 15}))
    assert slot_at(padded, "09:00")["available_capacity"] == 1
    plain = answer(scenario(r1))
    assert slot_at(plain, "09:00")["available_capacity"] == 2


_FREE = [("09:30", True, 3, 3), ("10:00", True, 3, 3), ("10:30", True, 3, 3)]


@pytest.mark.parametrize(
    ("party", "expected"),
    [
        # Capacity 3, a booking of party 2 at 09:00-09:30 leaves 1 seat there.
        (1, [("09:00", True, 3, 1), *_FREE]),
        # A party of 2 needs 2 + 2 = 4 > 3 seats at 09:00: not offered; elsewhere it fits.
        (2, _FREE),
        # A party of 3 fits only where nothing is booked.
        (3, _FREE),
        # A party of 4 never fits a capacity of 3.
        (4, []),
    ],
)
def test_party_size(party: int, expected: list[tuple[str, bool, int, int]]) -> None:
    r1 = resource("r1", capacity=3, bookings=[booking("a", "09:00", "09:30", party_size=2)])
    assert _seats(answer(scenario(r1, query={"party_size": party}))) == expected


def test_busy_block_takes_the_whole_capacity() -> None:
    # Capacity 3 and a busy block 09:00-09:30: 09:00 is not offered at all (not with 3 - 1
    # seats), and shown with include_unavailable it has 0 seats left.
    r1 = resource("r1", capacity=3, busy=[block("09:00", "09:30")])
    assert times(scenario(r1)) == ["09:30", "10:00", "10:30"]
    shown = answer(scenario(r1, query={"include_unavailable": True}))
    assert _seats(shown)[0] == ("09:00", False, 3, 0)


@pytest.mark.parametrize(
    ("kind", "tentative_as_busy", "blocked"),
    [
        ("busy", True, True),
        ("tentative", True, True),  # tentative counts as busy by default
        ("oof", True, True),
        ("busy", False, True),
        ("tentative", False, False),  # let through when tentative_as_busy is false
        ("oof", False, True),  # only tentative blocks are let through
    ],
)
def test_block_kinds(kind: str, tentative_as_busy: bool, blocked: bool) -> None:
    r1 = resource("r1", busy=[block("09:00", "09:30", kind=kind)])
    doc = scenario(r1, query={"tentative_as_busy": tentative_as_busy})
    assert ("09:00" not in times(doc)) is blocked


def test_service_seats_replace_resource_capacity() -> None:
    # Resource capacity 1, service seats 3: a booking of party 2 at 09:00 leaves 1 of the 3
    # seats, so 09:00 is still offered, with capacity 3.
    r1 = resource("r1", capacity=1, bookings=[booking("a", "09:00", "09:30", party_size=2)])
    result = answer(scenario(r1, service={"seats": 3}))
    assert _seats(result)[0] == ("09:00", True, 3, 1)
    assert slot_at(result, "09:30")["capacity"] == 3


def test_service_seats_replace_a_larger_resource_capacity() -> None:
    # Resource capacity 5, seats 2: the same party-2 booking fills the group; 09:00 is full.
    r1 = resource("r1", capacity=5, bookings=[booking("a", "09:00", "09:30", party_size=2)])
    result = answer(scenario(r1, service={"seats": 2}))
    assert times(result) == ["09:30", "10:00", "10:30"]
    assert {s["capacity"] for s in result["slots"]} == {2}


def test_bookings_of_any_service_take_seats() -> None:
    # A booking of another service at 09:00 fills a capacity-1 resource for this one too.
    r1 = resource("r1", bookings=[booking("a", "09:00", "09:30", service_id="other")])
    assert times(scenario(r1)) == ["09:30", "10:00", "10:30"]
