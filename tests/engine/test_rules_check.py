"""The single-slot check (``check_slot``, README): the same rules as the listing, for one exact
start, with the resources a booking would take and, when refused, the reasons.

Unless a test says otherwise: resources open Monday 09:00-11:00 UTC, service of 30 minutes
(interval = duration), query over Monday 2026-03-02 in UTC, ``now`` the day before.
"""

from __future__ import annotations

from typing import Any

import pytest

from openslots.engine import Reason
from openslots.errors import ValidationError
from tests.engine.builders import (
    WEEK,
    answer,
    block,
    booking,
    check,
    check_codes,
    resource,
    rule,
    scenario,
    schedule,
)


def _pool() -> dict[str, Any]:
    # a busy 09:30-10:00 (source "google:a"); b holds a booking at 10:00-10:30.
    return scenario(
        resource("a", busy=[block("09:30", "10:00", source="google:a")]),
        resource("b", bookings=[booking("x", "10:00", "10:30", service_id="other")]),
    )


def test_every_listed_slot_is_bookable_with_its_resources() -> None:
    doc = _pool()
    result = answer(doc)
    # 09:00 a+b, 09:30 b, 10:00 a, 10:30 a+b.
    assert [(s["start"][11:16], s["resource_ids"]) for s in result["slots"]] == [
        ("09:00", ["a", "b"]),
        ("09:30", ["b"]),
        ("10:00", ["a"]),
        ("10:30", ["a", "b"]),
    ]
    for slot in result["slots"]:
        start = slot["start"]
        with_ids = check(doc, start, tuple(slot["resource_ids"]))
        assert with_ids.bookable, start
        assert with_ids.resource_ids == tuple(slot["resource_ids"])
        assert with_ids.reasons == ()
        # Mode none, no resource ids: the first free resource of the pool.
        alone = check(doc, start)
        assert alone.bookable, start
        assert alone.resource_ids == (slot["resource_ids"][0],)


def test_check_agrees_with_the_listing_on_every_candidate() -> None:
    # Listed available <=> bookable; an unlisted candidate comes with at least one reason.
    doc = scenario(
        resource("r1", busy=[block("09:30", "10:00")], bookings=[booking("x", "10:30", "11:00")]),
        service={"buffer_before": 10},
        query={"include_unavailable": True},
    )
    # 09:00 free; 09:30 busy; 10:00 padding [09:50, 10:30) meets the block; 10:30 full.
    result = answer(doc)
    assert [(s["start"][11:16], s["available"]) for s in result["slots"]] == [
        ("09:00", True),
        ("09:30", False),
        ("10:00", False),
        ("10:30", False),
    ]
    for slot in result["slots"]:
        verdict = check(doc, slot["start"])
        assert verdict.bookable is slot["available"], slot["start"]
        assert bool(verdict.reasons) is not slot["available"], slot["start"]


def test_busy_resource_is_not_bookable_and_says_busy() -> None:
    doc = _pool()
    verdict = check(doc, "09:30", ("a",))
    assert verdict.bookable is False
    assert verdict.resource_ids == ("a",)
    assert Reason("busy", "a", "google:a") in verdict.reasons


def test_single_busy_resource_without_ids_says_busy() -> None:
    doc = scenario(resource("r1", busy=[block("09:00", "09:30", source="s")]))
    verdict = check(doc, "09:00")
    assert verdict.bookable is False
    assert check_codes(verdict) == [("busy", "r1")]


def test_requested_resource_ids_are_honoured() -> None:
    # Both free at 09:00: asking for b gives b, not the pool's first free resource a.
    doc = _pool()
    verdict = check(doc, "09:00", ("b",))
    assert verdict.bookable
    assert verdict.resource_ids == ("b",)
    # At 10:00 b is full (its booking): asking for b is refused although a is free.
    refused = check(doc, "10:00", ("b",))
    assert refused.bookable is False
    assert check_codes(refused) == [("full", "b")]


def test_mode_none_without_ids_takes_the_first_free_resource() -> None:
    doc = _pool()
    assert check(doc, "09:00").resource_ids == ("a",)  # both free: a comes first
    assert check(doc, "09:30").resource_ids == ("b",)  # a busy: b


def test_resource_outside_the_pool_is_refused() -> None:
    doc = scenario(resource("a"), resource("b"), service={"resource_ids": ["a"]})
    with pytest.raises(ValidationError):
        check(doc, "09:00", ("b",))


@pytest.mark.parametrize("start", ["09:10", "09:45", "08:00"])
def test_off_grid_start_is_refused(start: str) -> None:
    # The grid is 09:00, 09:30, 10:00, 10:30; 08:00 is before the hours.
    verdict = check(scenario(), start)
    assert verdict.bookable is False
    assert verdict.reasons[0].code == "off_grid"


def test_grid_of_a_window_opened_before_the_checked_start() -> None:
    # Window 09:10-12:00: 10:10 is on its grid (09:10 + 60), 10:00 is not.
    doc = scenario(resource("r1", schedule(rule("mon", "09:10", "12:00"))))
    assert check(doc, "10:10").bookable
    off = check(doc, "10:00")
    assert off.bookable is False
    assert off.reasons[0].code == "off_grid"


def test_grid_of_a_window_opened_days_before_the_checked_start() -> None:
    # Open Sat 00:00 through Mon 12:00, 50-minute slots: the listing steps from Sat 00:00
    # (Mon 00:20, 01:10, ...). Each listed slot checks out on its own; Mon 00:00 is off the grid.
    sched = schedule(
        rule("sat", "00:00", "24:00"), rule("sun", "00:00", "24:00"), rule("mon", "00:00", "12:00")
    )
    doc = scenario(resource("r1", sched), service={"duration": 50})
    listed = [s["start"] for s in answer(doc)["slots"]]
    assert listed[:2] == ["2026-03-02T00:20:00Z", "2026-03-02T01:10:00Z"]
    assert all(check(doc, start).bookable for start in listed)
    assert check(doc, "00:00").reasons[0].code == "off_grid"


def test_check_reports_notice_and_horizon() -> None:
    now = "2026-03-02T08:00:00Z"
    early = check(scenario(service={"min_notice": 90}, now=now), "09:00")
    assert early.bookable is False
    assert check_codes(early) == [("min_notice", None)]
    assert check(scenario(service={"min_notice": 90}, now=now), "09:30").bookable
    late = check(scenario(service={"horizon": 60}, now=now), "09:30")
    assert late.bookable is False
    assert check_codes(late) == [("horizon", None)]


def test_balanced_check_takes_the_resource_the_listing_shows() -> None:
    # Balanced: a has 2 bookings of this service on Monday (12:00, 13:00, outside hours), b has
    # none, so the listing offers every slot on b. check_slot without resource ids must pick
    # the same resource (its docstring: "the mode picks them as the listing does").
    doc = scenario(
        resource("a", bookings=[booking("x1", "12:00", "12:30"), booking("x2", "13:00", "13:30")]),
        resource("b"),
        service={"mode": "balanced"},
    )
    listed = answer(doc)["slots"]
    assert {tuple(s["resource_ids"]) for s in listed} == {("b",)}
    for slot in listed:
        verdict = check(doc, slot["start"])
        assert verdict.bookable
        assert verdict.resource_ids == ("b",), slot["start"]


def test_random_check_takes_the_resource_the_listing_shows() -> None:
    doc = scenario(
        *(resource(r, schedule(rule("mon", "09:00", "17:00"))) for r in "abcd"),
        service={"mode": "random"},
    )
    for slot in answer(doc)["slots"]:
        assert check(doc, slot["start"]).resource_ids == tuple(slot["resource_ids"])


def test_combined_check_takes_every_resource() -> None:
    doc = scenario(
        resource("a"),
        resource("b", busy=[block("09:30", "10:00")]),
        query={"mode": "combined", "resource_ids": ["a", "b"]},
    )
    ok = check(doc, "09:00")
    assert ok.bookable
    assert ok.resource_ids == ("a", "b")
    refused = check(doc, "09:30")
    assert refused.bookable is False
    assert check_codes(refused) == [("busy", "b")]


def test_listed_slots_of_a_multi_day_window_are_bookable_around_the_clock() -> None:
    # A resource open around the clock, 50-minute slots (50 does not divide a day). Whatever the
    # grid's anchor, a slot the two-day listing shows must be bookable on its own: check_slot
    # sees only the slot's start, so the grid must not depend on where the query began.
    always = schedule(*(rule(d, "00:00", "24:00") for d in WEEK))
    doc = scenario(resource("r1", always), service={"duration": 50}, query={"end": "2026-03-03"})
    listed = [s["start"] for s in answer(doc)["slots"]]
    assert len(listed) >= 2 * (24 * 60 // 50)  # 28 or 29 a day
    refused = [start for start in listed if not check(doc, start).bookable]
    assert refused == []
