"""Grid anchoring of windows that began before the query, and of windows open for weeks.

DESIGN §3: a window that begins before the query's start keeps its true start as the anchor.
A window open around the clock has no useful start; candidates more than a week after their
window opened step from their own local midnight (README, "Engine semantics in short"), so the
listing and the booking check agree whatever window the listing was asked for.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from openslots.engine import check_slot, compute_availability, parse_scenario

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _scenario(zone: str, rules: list[dict[str, str]], start: str, end: str, interval: int) -> Any:
    return parse_scenario(
        {
            "now": "2026-01-01T00:00:00Z",
            "service": {"id": "s", "duration": interval, "interval": interval},
            "resources": [{"id": "room", "schedule": {"timezone": zone, "rules": rules}}],
            "query": {"start": start, "end": end, "timezone": zone},
        }
    )


def _local(instant: int, zone: str) -> str:
    return datetime.fromtimestamp(instant, ZoneInfo(zone)).strftime("%m-%d %H:%M")


def test_window_opened_before_query_keeps_its_anchor() -> None:
    # Open 09:10-17:00 daily; a query from 10:00 sees 10:10, 10:40, ... not 10:00, 10:30.
    rules = [{"day": d, "start": "09:10", "end": "17:00"} for d in DAYS]
    scenario = _scenario("UTC", rules, "2026-03-02T10:00:00Z", "2026-03-02T12:00:00Z", 30)
    starts = [_local(s.start, "UTC") for s in compute_availability(scenario).slots]
    assert starts == ["03-02 10:10", "03-02 10:40", "03-02 11:10", "03-02 11:40"]


def test_around_the_clock_window_steps_from_each_local_midnight_after_a_week() -> None:
    # Open 24/7 in Lord Howe (30-minute DST shift on 2026-04-05) with a 45-minute grid. Every
    # date's candidates start at local midnight: 00:00, 00:45, ... 23:15.
    zone = "Australia/Lord_Howe"
    rules = [{"day": d, "start": "00:00", "end": "24:00"} for d in DAYS]
    scenario = _scenario(zone, rules, "2026-04-04", "2026-04-06", 45)
    slots = compute_availability(scenario).slots
    by_day: dict[str, list[str]] = {}
    for slot in slots:
        day, time = _local(slot.start, zone).split()
        by_day.setdefault(day, []).append(time)
    for times in by_day.values():
        assert times[0] == "00:00"
        assert times[1] == "00:45"
    assert by_day["04-06"][-1] == "23:15"


def test_listing_and_check_agree_for_around_the_clock_resources() -> None:
    zone = "Australia/Lord_Howe"
    rules = [{"day": d, "start": "00:00", "end": "24:00"} for d in DAYS]
    # The same candidates, listed from two different query windows, are all bookable.
    wide = _scenario(zone, rules, "2026-03-28", "2026-04-10", 45)
    narrow = _scenario(zone, rules, "2026-04-05", "2026-04-05", 45)
    wide_starts = {s.start for s in compute_availability(wide).slots}
    narrow_starts = {s.start for s in compute_availability(narrow).slots}
    assert narrow_starts <= wide_starts
    for start in sorted(narrow_starts):
        assert check_slot(wide, start).bookable


def test_grid_of_long_windows_does_not_depend_on_the_order_of_query_resource_ids() -> None:
    # A round-the-clock UTC hotline and a Kolkata desk with no hours: whichever order the query
    # names them in, the hotline's candidates step from the anchor zone of the service (its
    # pool's first resource, UTC): 09:00, 10:00, 11:00.
    every_day = [{"day": d, "start": "00:00", "end": "24:00"} for d in DAYS]
    document: dict[str, Any] = {
        "now": "2026-01-01T00:00:00Z",
        "service": {"id": "svc", "duration": 60, "resource_ids": ["hotline", "desk"]},
        "resources": [
            {"id": "hotline", "schedule": {"timezone": "UTC", "rules": every_day}},
            {"id": "desk", "schedule": {"timezone": "Asia/Kolkata", "rules": []}},
        ],
        "query": {"start": "2026-01-12T09:00:00Z", "end": "2026-01-12T12:00:00Z"},
    }
    answers = []
    for order in (["hotline", "desk"], ["desk", "hotline"]):
        document["query"]["resource_ids"] = order
        slots = compute_availability(parse_scenario(document)).slots
        answers.append([_local(s.start, "UTC") for s in slots])
    assert answers[0] == answers[1] == ["01-12 09:00", "01-12 10:00", "01-12 11:00"]
