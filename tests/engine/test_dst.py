"""Daylight-saving behaviour of the slot engine (DESIGN §3), through the public engine API.

Every expected value below is derived by hand from the rules of DESIGN §3 and the 2026
transitions of the zones involved (checked against zoneinfo, not the engine, in
``test_transition_table_matches_zoneinfo``):

    zone                 date (Sunday)  local change                    UTC instant
    America/New_York     2026-03-08     02:00 -05:00 -> 03:00 -04:00    2026-03-08T07:00Z
    America/New_York     2026-11-01     02:00 -04:00 -> 01:00 -05:00    2026-11-01T06:00Z
    Europe/London        2026-03-29     01:00 +00:00 -> 02:00 +01:00    2026-03-29T01:00Z
    Europe/London        2026-10-25     02:00 +01:00 -> 01:00 +00:00    2026-10-25T01:00Z
    Australia/Lord_Howe  2026-04-05     02:00 +11:00 -> 01:30 +10:30    2026-04-04T15:00Z
    Australia/Lord_Howe  2026-10-04     02:00 +10:30 -> 02:30 +11:00    2026-10-03T15:30Z
    Pacific/Chatham      2026-04-05     03:45 +13:45 -> 02:45 +12:45    2026-04-04T14:00Z
    Pacific/Chatham      2026-09-27     02:45 +12:45 -> 03:45 +13:45    2026-09-26T14:00Z
    America/Santiago     2026-04-05     24:00 -03:00 -> 23:00 -04:00    2026-04-05T03:00Z
    America/Santiago     2026-09-06     00:00 -04:00 -> 01:00 -03:00    2026-09-06T04:00Z
    Asia/Kolkata         never          always +05:30

The rules used (DESIGN §3): a weekly rule covers the instants whose local wall-clock reading is
in ``[start, end)``, so a gap is absent and a repeated hour counts twice; touching rules form
one window; the grid is anchored at a window's start and steps in elapsed (UTC) time; date-only
query bounds are local midnight of ``start`` and the end of the local day of ``end``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import pytest

from openslots.engine import check_slot, compute_availability, parse_scenario, render_availability

NY = "America/New_York"
LONDON = "Europe/London"
LORD_HOWE = "Australia/Lord_Howe"
CHATHAM = "Pacific/Chatham"
KOLKATA = "Asia/Kolkata"
SANTIAGO = "America/Santiago"
EVERY_DAY = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Rule = tuple[str, str, str]  # (day, start, end)


# -- helpers ----------------------------------------------------------------------------------


def at(text: str) -> int:
    """UTC seconds of an ISO 8601 instant with an offset or Z."""
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None
    return int(moment.timestamp())


def schedule(
    zone: str, rules: list[Rule], overrides: dict[str, list[tuple[str, str]]] | None = None
) -> dict[str, Any]:
    return {
        "timezone": zone,
        "rules": [{"day": d, "start": s, "end": e} for d, s, e in rules],
        "overrides": [
            {"date": day, "intervals": [{"start": s, "end": e} for s, e in spans]}
            for day, spans in (overrides or {}).items()
        ],
    }


def scenario(
    zone: str,
    rules: list[Rule],
    *,
    start: str,
    end: str,
    query_zone: str | None = None,
    duration: int = 60,
    interval: int | None = None,
    overrides: dict[str, list[tuple[str, str]]] | None = None,
    busy: list[tuple[str, str]] | None = None,
    buffer_after: int = 0,
) -> dict[str, Any]:
    """One resource ``r`` with a schedule in ``zone``; the query is shown in ``query_zone``
    (default: ``zone``). ``now`` is far in the past so notice never hides anything."""
    return {
        "version": 1,
        "now": "2025-01-01T00:00:00Z",
        "service": {
            "id": "svc",
            "duration": duration,
            "interval": interval,
            "buffer_after": buffer_after,
        },
        "resources": [
            {
                "id": "r",
                "timezone": zone,
                "schedule": schedule(zone, rules, overrides),
                "busy": [
                    {"start": s, "end": e, "kind": "busy", "source": "cal"} for s, e in busy or []
                ],
            }
        ],
        "query": {"start": start, "end": end, "timezone": query_zone or zone},
    }


def answer(document: dict[str, Any]) -> dict[str, Any]:
    return render_availability(compute_availability(parse_scenario(document)))


def spans(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [(s["start"], s["end"]) for s in result["slots"]]


def elapsed_minutes(result: dict[str, Any]) -> int:
    return sum(at(e) - at(s) for s, e in spans(result)) // 60


def assert_days_consistent(result: dict[str, Any]) -> None:
    """``days`` holds exactly the slots, each under the local date its start shows."""
    flattened = [slot for slots in result["days"].values() for slot in slots]
    assert flattened == result["slots"]
    for day, slots in result["days"].items():
        assert all(slot["start"][:10] == day for slot in slots)


# -- the transitions themselves (zoneinfo only, no engine) ----------------------------------

# zone, change date, offset of the day before, offset from noon of the change day on.
TRANSITIONS = [
    (NY, "2026-03-08", "-05:00", "-04:00"),
    (NY, "2026-11-01", "-04:00", "-05:00"),
    (LONDON, "2026-03-29", "+00:00", "+01:00"),
    (LONDON, "2026-10-25", "+01:00", "+00:00"),
    (LORD_HOWE, "2026-04-05", "+11:00", "+10:30"),
    (LORD_HOWE, "2026-10-04", "+10:30", "+11:00"),
    (CHATHAM, "2026-04-05", "+13:45", "+12:45"),
    (CHATHAM, "2026-09-27", "+12:45", "+13:45"),
    (KOLKATA, "2026-03-08", "+05:30", "+05:30"),
]


def _offset_text(zone: str, day: date, hour: int) -> str:
    moment = datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(zone))
    return moment.isoformat()[-6:]


@pytest.mark.parametrize(("zone", "change", "before", "after"), TRANSITIONS)
def test_transition_table_matches_zoneinfo(zone: str, change: str, before: str, after: str) -> None:
    day = date.fromisoformat(change)
    assert _offset_text(zone, day - timedelta(days=1), 12) == before
    assert _offset_text(zone, day, 12) == after
    assert _offset_text(zone, day + timedelta(days=1), 12) == after


# -- spring forward: the gap is absent --------------------------------------------------------


def test_spring_forward_gap_new_york_rule_is_two_elapsed_hours() -> None:
    # Sun 01:00-04:00 on 2026-03-08: 01:00-02:00 EST is 06:00Z-07:00Z, 02:00-03:00 does not
    # exist, 03:00-04:00 EDT is 07:00Z-08:00Z. One window [06:00Z, 08:00Z): 2 hours, 4 half hours.
    doc = scenario(
        NY, [("sun", "01:00", "04:00")], start="2026-03-08", end="2026-03-08", duration=30
    )
    result = answer(doc)
    assert spans(result) == [
        ("2026-03-08T01:00:00-05:00", "2026-03-08T01:30:00-05:00"),
        ("2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00"),  # 30 elapsed minutes
        ("2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00"),
        ("2026-03-08T03:30:00-04:00", "2026-03-08T04:00:00-04:00"),
    ]
    assert elapsed_minutes(result) == 120
    assert list(result["days"]) == ["2026-03-08"]
    assert_days_consistent(result)


def test_spring_forward_gap_new_york_hourly_slots() -> None:
    # The same window [06:00Z, 08:00Z) holds two 60-minute slots: 06:00Z and 07:00Z.
    doc = scenario(NY, [("sun", "01:00", "04:00")], start="2026-03-08", end="2026-03-08")
    assert spans(answer(doc)) == [
        ("2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00"),
        ("2026-03-08T03:00:00-04:00", "2026-03-08T04:00:00-04:00"),
    ]


def test_slot_straddling_the_gap_lasts_its_duration_in_elapsed_time() -> None:
    # Window [06:00Z, 08:00Z); 90-minute slots every 30 minutes: 06:00Z-07:30Z, 06:30Z-08:00Z.
    # On the wall clock they look 2.5 hours long; they are 90 minutes.
    doc = scenario(
        NY,
        [("sun", "01:00", "04:00")],
        start="2026-03-08",
        end="2026-03-08",
        duration=90,
        interval=30,
    )
    assert spans(answer(doc)) == [
        ("2026-03-08T01:00:00-05:00", "2026-03-08T03:30:00-04:00"),
        ("2026-03-08T01:30:00-05:00", "2026-03-08T04:00:00-04:00"),
    ]


def test_spring_forward_gap_london() -> None:
    # Sun 00:00-03:00 on 2026-03-29: 00:00-01:00 GMT is 00:00Z-01:00Z, 01:00-02:00 does not
    # exist, 02:00-03:00 BST is 01:00Z-02:00Z. Two elapsed hours.
    doc = scenario(LONDON, [("sun", "00:00", "03:00")], start="2026-03-29", end="2026-03-29")
    result = answer(doc)
    assert spans(result) == [
        ("2026-03-29T00:00:00+00:00", "2026-03-29T02:00:00+01:00"),
        ("2026-03-29T02:00:00+01:00", "2026-03-29T03:00:00+01:00"),
    ]
    assert elapsed_minutes(result) == 120


def test_rule_starting_in_the_gap_opens_when_the_gap_ends() -> None:
    # Sun 02:30-04:00: 02:30-03:00 does not exist, so the window is 03:00-04:00 EDT
    # (07:00Z-08:00Z) and the grid is anchored at its true start, 03:00 EDT.
    doc = scenario(
        NY, [("sun", "02:30", "04:00")], start="2026-03-08", end="2026-03-08", duration=30
    )
    assert spans(answer(doc)) == [
        ("2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00"),
        ("2026-03-08T03:30:00-04:00", "2026-03-08T04:00:00-04:00"),
    ]


def test_rule_ending_in_the_gap_closes_when_the_gap_begins() -> None:
    # Sun 01:00-02:30: only 01:00-02:00 EST (06:00Z-07:00Z) exists.
    doc = scenario(
        NY, [("sun", "01:00", "02:30")], start="2026-03-08", end="2026-03-08", duration=30
    )
    assert spans(answer(doc)) == [
        ("2026-03-08T01:00:00-05:00", "2026-03-08T01:30:00-05:00"),
        ("2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00"),
    ]


def test_rule_inside_the_gap_has_no_instants() -> None:
    # Sun 02:00-03:00 lies wholly in the gap: no slot, but the date is still listed.
    doc = scenario(
        NY, [("sun", "02:00", "03:00")], start="2026-03-08", end="2026-03-08", duration=30
    )
    result = answer(doc)
    assert result["slots"] == []
    assert result["days"] == {"2026-03-08": []}


# -- fall back: the repeated hour counts twice ------------------------------------------------


def test_fall_back_new_york_repeated_hour_counts_twice() -> None:
    # Sun 01:00-03:00 on 2026-11-01: 01:00-02:00 EDT is 05:00Z-06:00Z, 01:00-02:00 EST is
    # 06:00Z-07:00Z, 02:00-03:00 EST is 07:00Z-08:00Z: 3 elapsed hours, 01:00 starts twice.
    doc = scenario(NY, [("sun", "01:00", "03:00")], start="2026-11-01", end="2026-11-01")
    result = answer(doc)
    assert spans(result) == [
        ("2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00"),
        ("2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00"),
        ("2026-11-01T02:00:00-05:00", "2026-11-01T03:00:00-05:00"),
    ]
    assert elapsed_minutes(result) == 180
    assert_days_consistent(result)


def test_fall_back_new_york_half_hours() -> None:
    # The same 3-hour window [05:00Z, 08:00Z) in 30-minute steps: 6 starts, 01:00 and 01:30
    # each appear twice, first with -04:00 then with -05:00.
    doc = scenario(
        NY, [("sun", "01:00", "03:00")], start="2026-11-01", end="2026-11-01", duration=30
    )
    assert [s for s, _ in spans(answer(doc))] == [
        "2026-11-01T01:00:00-04:00",
        "2026-11-01T01:30:00-04:00",
        "2026-11-01T01:00:00-05:00",
        "2026-11-01T01:30:00-05:00",
        "2026-11-01T02:00:00-05:00",
        "2026-11-01T02:30:00-05:00",
    ]


def test_fall_back_london_repeated_hour_counts_twice() -> None:
    # Sun 00:00-03:00 on 2026-10-25: 00:00-02:00 BST is 23:00Z (Sat)-01:00Z, then
    # 01:00-03:00 GMT is 01:00Z-03:00Z: one window of 4 elapsed hours.
    doc = scenario(LONDON, [("sun", "00:00", "03:00")], start="2026-10-25", end="2026-10-25")
    result = answer(doc)
    assert spans(result) == [
        ("2026-10-25T00:00:00+01:00", "2026-10-25T01:00:00+01:00"),
        ("2026-10-25T01:00:00+01:00", "2026-10-25T01:00:00+00:00"),
        ("2026-10-25T01:00:00+00:00", "2026-10-25T02:00:00+00:00"),
        ("2026-10-25T02:00:00+00:00", "2026-10-25T03:00:00+00:00"),
    ]
    assert elapsed_minutes(result) == 240


def test_rule_ending_inside_the_repeated_hour_opens_twice() -> None:
    # Sun 00:00-01:30: the wall reading is in [00:00, 01:30) on 04:00Z-05:30Z (EDT) and again
    # on 06:00Z-06:30Z (01:00-01:30 EST); 05:30Z-06:00Z reads 01:30-02:00 EDT and is closed.
    # Two windows, each anchoring its own grid: 04:00Z, 05:00Z and 06:00Z for hourly starts.
    doc = scenario(
        NY,
        [("sun", "00:00", "01:30")],
        start="2026-11-01",
        end="2026-11-01",
        duration=30,
        interval=60,
    )
    assert spans(answer(doc)) == [
        ("2026-11-01T00:00:00-04:00", "2026-11-01T00:30:00-04:00"),
        ("2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00"),
        ("2026-11-01T01:00:00-05:00", "2026-11-01T01:30:00-05:00"),
    ]


def test_rule_starting_inside_the_repeated_hour_opens_twice() -> None:
    # Sun 01:30-03:00: 05:30Z-06:00Z (01:30-02:00 EDT), then 06:30Z-08:00Z (01:30-03:00 EST);
    # 06:00Z-06:30Z reads 01:00-01:30 EST and is closed.
    doc = scenario(
        NY, [("sun", "01:30", "03:00")], start="2026-11-01", end="2026-11-01", duration=30
    )
    assert [s for s, _ in spans(answer(doc))] == [
        "2026-11-01T01:30:00-04:00",
        "2026-11-01T01:30:00-05:00",
        "2026-11-01T02:00:00-05:00",
        "2026-11-01T02:30:00-05:00",
    ]


def test_busy_block_in_the_first_pass_of_the_repeated_hour_spares_the_second() -> None:
    # Busy 05:00Z-06:00Z is 01:00-02:00 EDT only; the 01:00 EST start (06:00Z) stays free.
    doc = scenario(
        NY,
        [("sun", "01:00", "03:00")],
        start="2026-11-01",
        end="2026-11-01",
        busy=[("2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00")],
    )
    assert spans(answer(doc)) == [
        ("2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00"),
        ("2026-11-01T02:00:00-05:00", "2026-11-01T03:00:00-05:00"),
    ]


def test_check_slot_in_the_repeated_hour() -> None:
    # Hourly grid of the window [05:00Z, 08:00Z): 05:00Z, 06:00Z, 07:00Z. Both 01:00 starts can
    # be booked; 01:30 EST (06:30Z) is not on the grid.
    parsed = parse_scenario(
        scenario(NY, [("sun", "01:00", "03:00")], start="2026-11-01", end="2026-11-01")
    )
    first = check_slot(parsed, at("2026-11-01T01:00:00-04:00"))
    second = check_slot(parsed, at("2026-11-01T01:00:00-05:00"))
    assert first.bookable
    assert second.bookable
    assert second.end - second.start == 3600
    off = check_slot(parsed, at("2026-11-01T01:30:00-05:00"))
    assert not off.bookable
    assert [r.code for r in off.reasons][:1] == ["off_grid"]


def test_chatham_fall_back_repeats_the_three_oclock_start() -> None:
    # Sun 02:00-05:00 on 2026-04-05: 02:00-03:45 at +13:45 is 12:15Z-14:00Z (Apr 4), then
    # 02:45-05:00 at +12:45 is 14:00Z-16:15Z: 4 elapsed hours from 12:15Z. Hourly starts:
    # 12:15Z 02:00+13:45, 13:15Z 03:00+13:45, 14:15Z 03:00+12:45, 15:15Z 04:00+12:45.
    doc = scenario(CHATHAM, [("sun", "02:00", "05:00")], start="2026-04-05", end="2026-04-05")
    result = answer(doc)
    assert spans(result) == [
        ("2026-04-05T02:00:00+13:45", "2026-04-05T03:00:00+13:45"),
        ("2026-04-05T03:00:00+13:45", "2026-04-05T03:00:00+12:45"),
        ("2026-04-05T03:00:00+12:45", "2026-04-05T04:00:00+12:45"),
        ("2026-04-05T04:00:00+12:45", "2026-04-05T05:00:00+12:45"),
    ]
    assert elapsed_minutes(result) == 240


# -- the grid steps in elapsed time: Lord Howe's half-hour shifts ----------------------------


def test_lord_howe_fall_back_moves_local_starts_by_thirty_minutes() -> None:
    # Sun 00:00-04:00 on 2026-04-05: 00:00-02:00 at +11:00 is 13:00Z-15:00Z (Apr 4), then
    # 01:30-04:00 at +10:30 is 15:00Z-17:30Z. One window [13:00Z, 17:30Z), hourly grid from
    # 13:00Z: 13:00Z, 14:00Z, 15:00Z, 16:00Z (17:00Z would end past 17:30Z).
    # Local: 00:00, 01:00 (+11:00), then 01:30, 02:30 (+10:30): the starts moved by 30 minutes.
    doc = scenario(LORD_HOWE, [("sun", "00:00", "04:00")], start="2026-04-05", end="2026-04-05")
    result = answer(doc)
    assert spans(result) == [
        ("2026-04-05T00:00:00+11:00", "2026-04-05T01:00:00+11:00"),
        ("2026-04-05T01:00:00+11:00", "2026-04-05T01:30:00+10:30"),
        ("2026-04-05T01:30:00+10:30", "2026-04-05T02:30:00+10:30"),
        ("2026-04-05T02:30:00+10:30", "2026-04-05T03:30:00+10:30"),
    ]
    assert_days_consistent(result)


def test_lord_howe_spring_forward_moves_local_starts_by_thirty_minutes() -> None:
    # Sun 00:00-04:00 on 2026-10-04: 00:00-02:00 at +10:30 is 13:30Z-15:30Z (Oct 3),
    # 02:00-02:30 does not exist, 02:30-04:00 at +11:00 is 15:30Z-17:00Z. Window
    # [13:30Z, 17:00Z), 3.5 hours; hourly starts 13:30Z, 14:30Z, 15:30Z (16:30Z would end at
    # 17:30Z). Local: 00:00, 01:00 (+10:30), then 02:30 (+11:00).
    doc = scenario(LORD_HOWE, [("sun", "00:00", "04:00")], start="2026-10-04", end="2026-10-04")
    assert spans(answer(doc)) == [
        ("2026-10-04T00:00:00+10:30", "2026-10-04T01:00:00+10:30"),
        ("2026-10-04T01:00:00+10:30", "2026-10-04T02:30:00+11:00"),
        ("2026-10-04T02:30:00+11:00", "2026-10-04T03:30:00+11:00"),
    ]


def test_lord_howe_check_slot_wall_clock_hour_is_off_grid_after_the_jump() -> None:
    # The grid above is 13:00Z, 14:00Z, 15:00Z, 16:00Z. 02:00+10:30 (15:30Z) is what a
    # wall-clock grid would offer; it is off the elapsed-time grid. 02:30+10:30 (16:00Z) is on it.
    parsed = parse_scenario(
        scenario(LORD_HOWE, [("sun", "00:00", "04:00")], start="2026-04-05", end="2026-04-05")
    )
    wall = check_slot(parsed, at("2026-04-05T02:00:00+10:30"))
    assert not wall.bookable
    assert [r.code for r in wall.reasons][:1] == ["off_grid"]
    elapsed = check_slot(parsed, at("2026-04-05T02:30:00+10:30"))
    assert elapsed.bookable
    assert elapsed.resource_ids == ("r",)


def test_window_opened_before_the_query_keeps_its_anchor_across_the_jump() -> None:
    # Open all of Sat 2026-04-04 and Sun 2026-04-05 in Lord Howe: one window from Sat 00:00+11:00
    # (2026-04-03T13:00Z). 50-minute grid from there; the query starts at Sun 12:00+10:30
    # (2026-04-05T01:30Z), 2190 minutes after the anchor. The first step at or after it is
    # 44 * 50 = 2200 minutes: 01:40Z = 12:10+10:30; then 13:00 and 13:50 before the query's
    # end at 14:00+10:30 (03:30Z). (Re-anchoring at Sunday's midnight would give 12:00.)
    doc = scenario(
        LORD_HOWE,
        [("sat", "00:00", "24:00"), ("sun", "00:00", "24:00")],
        start="2026-04-05T12:00:00+10:30",
        end="2026-04-05T14:00:00+10:30",
        duration=50,
    )
    assert spans(answer(doc)) == [
        ("2026-04-05T12:10:00+10:30", "2026-04-05T13:00:00+10:30"),
        ("2026-04-05T13:00:00+10:30", "2026-04-05T13:50:00+10:30"),
        ("2026-04-05T13:50:00+10:30", "2026-04-05T14:40:00+10:30"),
    ]


# -- no drift: 09:00-17:00 stays 09:00-17:00 local across every change -----------------------


@pytest.mark.parametrize(("zone", "change", "before", "after"), TRANSITIONS)
def test_office_hours_never_drift(zone: str, change: str, before: str, after: str) -> None:
    # Every day 09:00-17:00 local, 2-hour slots: 09:00, 11:00, 13:00, 15:00 local on each of the
    # five days around the change, with the offset of that day (every change above happens
    # before 09:00, so the change day already has the new offset at 09:00).
    day = date.fromisoformat(change)
    dates = [day + timedelta(days=k) for k in range(-2, 3)]
    doc = scenario(
        zone,
        [(d, "09:00", "17:00") for d in EVERY_DAY],
        start=dates[0].isoformat(),
        end=dates[-1].isoformat(),
        duration=120,
    )
    result = answer(doc)
    expected = []
    for d in dates:
        offset = before if d < day else after
        for hour in (9, 11, 13, 15):
            expected.append((f"{d}T{hour:02d}:00:00{offset}", f"{d}T{hour + 2:02d}:00:00{offset}"))
    assert spans(result) == expected
    assert list(result["days"]) == [d.isoformat() for d in dates]
    assert all(len(slots) == 4 for slots in result["days"].values())
    assert_days_consistent(result)


# -- 24:00 ends --------------------------------------------------------------------------------


def test_24_00_end_joins_the_next_day_across_fall_back() -> None:
    # Sat 2026-10-31 22:00-24:00 EDT is 02:00Z-04:00Z (Nov 1); Sun 00:00-03:00 is 04:00Z-08:00Z
    # (00:00-02:00 EDT, then 01:00-03:00 EST). Touching at 04:00Z: one 6-hour window from
    # 02:00Z. 90-minute slots: 02:00Z, 03:30Z (straddles midnight), 05:00Z, 06:30Z.
    doc = scenario(
        NY,
        [("sat", "22:00", "24:00"), ("sun", "00:00", "03:00")],
        start="2026-10-31",
        end="2026-11-01",
        duration=90,
    )
    result = answer(doc)
    assert spans(result) == [
        ("2026-10-31T22:00:00-04:00", "2026-10-31T23:30:00-04:00"),
        ("2026-10-31T23:30:00-04:00", "2026-11-01T01:00:00-04:00"),
        ("2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-05:00"),
        ("2026-11-01T01:30:00-05:00", "2026-11-01T03:00:00-05:00"),
    ]
    assert [len(v) for v in result["days"].values()] == [2, 2]
    assert_days_consistent(result)


def test_24_00_end_on_a_day_whose_last_hour_repeats() -> None:
    # Santiago falls back at Sat 2026-04-04 24:00 -03:00 to 23:00 -04:00. Sat 22:00-24:00 is
    # 22:00-24:00 at -03:00 (01:00Z-03:00Z Apr 5) plus 23:00-24:00 at -04:00 (03:00Z-04:00Z):
    # 3 elapsed hours, and the last slot ends at Sunday 00:00 -04:00.
    doc = scenario(SANTIAGO, [("sat", "22:00", "24:00")], start="2026-04-04", end="2026-04-04")
    result = answer(doc)
    assert spans(result) == [
        ("2026-04-04T22:00:00-03:00", "2026-04-04T23:00:00-03:00"),
        ("2026-04-04T23:00:00-03:00", "2026-04-04T23:00:00-04:00"),
        ("2026-04-04T23:00:00-04:00", "2026-04-05T00:00:00-04:00"),
    ]
    assert list(result["days"]) == ["2026-04-04"]


def test_24_00_end_before_a_midnight_gap() -> None:
    # Santiago springs forward at Sun 2026-09-06 00:00 -04:00 to 01:00 -03:00. Sat 22:00-24:00
    # is 02:00Z-04:00Z (Sep 6); Sun 00:00-02:00 only has 01:00-02:00 -03:00 (04:00Z-05:00Z).
    # They touch at 04:00Z: one 3-hour window, hourly starts 22:00, 23:00 (Sat) and 01:00 (Sun).
    doc = scenario(
        SANTIAGO,
        [("sat", "22:00", "24:00"), ("sun", "00:00", "02:00")],
        start="2026-09-05",
        end="2026-09-06",
    )
    result = answer(doc)
    assert spans(result) == [
        ("2026-09-05T22:00:00-04:00", "2026-09-05T23:00:00-04:00"),
        ("2026-09-05T23:00:00-04:00", "2026-09-06T01:00:00-03:00"),
        ("2026-09-06T01:00:00-03:00", "2026-09-06T02:00:00-03:00"),
    ]
    assert [len(v) for v in result["days"].values()] == [2, 1]


# -- date overrides on change days -------------------------------------------------------------


def test_override_on_spring_forward_day_spans_the_gap() -> None:
    # Sat, Sun, Mon 09:00-10:00 weekly; Sun 2026-03-08 overridden with 01:30-03:30, which is
    # 01:30-02:00 EST (06:30Z-07:00Z) + 03:00-03:30 EDT (07:00Z-07:30Z): one elapsed hour.
    # The override replaces Sunday's 09:00-10:00; Saturday (EST) and Monday (EDT) keep theirs.
    doc = scenario(
        NY,
        [("sat", "09:00", "10:00"), ("sun", "09:00", "10:00"), ("mon", "09:00", "10:00")],
        overrides={"2026-03-08": [("01:30", "03:30")]},
        start="2026-03-07",
        end="2026-03-09",
        duration=30,
    )
    result = answer(doc)
    assert spans(result) == [
        ("2026-03-07T09:00:00-05:00", "2026-03-07T09:30:00-05:00"),
        ("2026-03-07T09:30:00-05:00", "2026-03-07T10:00:00-05:00"),
        ("2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00"),
        ("2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00"),
        ("2026-03-09T09:00:00-04:00", "2026-03-09T09:30:00-04:00"),
        ("2026-03-09T09:30:00-04:00", "2026-03-09T10:00:00-04:00"),
    ]
    assert_days_consistent(result)


def test_override_inside_the_gap_closes_the_day() -> None:
    # An override 02:00-03:00 on the spring-forward day has no instants: the day is empty.
    doc = scenario(
        NY,
        [("sun", "09:00", "10:00")],
        overrides={"2026-03-08": [("02:00", "03:00")]},
        start="2026-03-08",
        end="2026-03-08",
        duration=30,
    )
    assert answer(doc)["days"] == {"2026-03-08": []}


def test_override_on_fall_back_day_counts_the_repeated_hour_twice() -> None:
    # Override 01:00-02:00 on Sun 2026-11-01 is 05:00Z-07:00Z: two elapsed hours.
    doc = scenario(
        NY,
        [("sun", "09:00", "17:00")],
        overrides={"2026-11-01": [("01:00", "02:00")]},
        start="2026-11-01",
        end="2026-11-01",
        duration=30,
    )
    result = answer(doc)
    assert [s for s, _ in spans(result)] == [
        "2026-11-01T01:00:00-04:00",
        "2026-11-01T01:30:00-04:00",
        "2026-11-01T01:00:00-05:00",
        "2026-11-01T01:30:00-05:00",
    ]
    assert elapsed_minutes(result) == 120


def test_empty_override_closes_lord_howe_change_day() -> None:
    # Every day 09:00-10:00; 2026-04-05 closed by an empty override. Saturday shows 09:00+11:00,
    # Monday 09:00+10:30, Sunday is listed but empty.
    doc = scenario(
        LORD_HOWE,
        [(d, "09:00", "10:00") for d in EVERY_DAY],
        overrides={"2026-04-05": []},
        start="2026-04-04",
        end="2026-04-06",
    )
    result = answer(doc)
    assert result["days"] == {
        "2026-04-04": [
            {
                "start": "2026-04-04T09:00:00+11:00",
                "end": "2026-04-04T10:00:00+11:00",
                "resource_ids": ["r"],
                "available": True,
                "capacity": 1,
                "available_capacity": 1,
            }
        ],
        "2026-04-05": [],
        "2026-04-06": [
            {
                "start": "2026-04-06T09:00:00+10:30",
                "end": "2026-04-06T10:00:00+10:30",
                "resource_ids": ["r"],
                "available": True,
                "capacity": 1,
                "available_capacity": 1,
            }
        ],
    }


def test_override_on_chatham_spring_forward_day() -> None:
    # Override 02:00-05:00 on Sun 2026-09-27: 02:00-02:45 at +12:45 is 13:15Z-14:00Z (Sep 26),
    # 02:45-03:45 does not exist, 03:45-05:00 at +13:45 is 14:00Z-15:15Z. Two elapsed hours:
    # hourly starts 13:15Z (02:00+12:45) and 14:15Z (04:00+13:45).
    doc = scenario(
        CHATHAM,
        [("sun", "09:00", "10:00")],
        overrides={"2026-09-27": [("02:00", "05:00")]},
        start="2026-09-27",
        end="2026-09-27",
    )
    assert spans(answer(doc)) == [
        ("2026-09-27T02:00:00+12:45", "2026-09-27T04:00:00+13:45"),
        ("2026-09-27T04:00:00+13:45", "2026-09-27T05:00:00+13:45"),
    ]


# -- date-only query bounds on change days -----------------------------------------------------


class DayCase(NamedTuple):
    zone: str
    day: str
    lo: str  # the date's first instant, UTC
    hi: str  # the next date's first instant, UTC
    count: int  # half hours in the day
    first: str  # first and last local start of a resource open around the day
    last: str


DAY_BOUNDS = [
    # 00:00 EST = 05:00Z; next midnight 00:00 EDT = 04:00Z; 23 hours.
    DayCase(NY, "2026-03-08", "2026-03-08T05:00Z", "2026-03-09T04:00Z", 46,
            "00:00:00-05:00", "23:30:00-04:00"),
    # 00:00 EDT = 04:00Z; next midnight 00:00 EST = 05:00Z; 25 hours.
    DayCase(NY, "2026-11-01", "2026-11-01T04:00Z", "2026-11-02T05:00Z", 50,
            "00:00:00-04:00", "23:30:00-05:00"),
    # 00:00 GMT = 00:00Z; 00:00 BST = 23:00Z; 23 hours.
    DayCase(LONDON, "2026-03-29", "2026-03-29T00:00Z", "2026-03-29T23:00Z", 46,
            "00:00:00+00:00", "23:30:00+01:00"),
    # 00:00 BST = 23:00Z (Sat); 00:00 GMT = 00:00Z; 25 hours.
    DayCase(LONDON, "2026-10-25", "2026-10-24T23:00Z", "2026-10-26T00:00Z", 50,
            "00:00:00+01:00", "23:30:00+00:00"),
    # 00:00+11:00 = 13:00Z (Sat); 00:00+10:30 = 13:30Z; 24.5 hours.
    DayCase(LORD_HOWE, "2026-04-05", "2026-04-04T13:00Z", "2026-04-05T13:30Z", 49,
            "00:00:00+11:00", "23:30:00+10:30"),
    # 00:00+10:30 = 13:30Z (Sat); 00:00+11:00 = 13:00Z; 23.5 hours.
    DayCase(LORD_HOWE, "2026-10-04", "2026-10-03T13:30Z", "2026-10-04T13:00Z", 47,
            "00:00:00+10:30", "23:30:00+11:00"),
    # 00:00+13:45 = 10:15Z (Sat); 00:00+12:45 = 11:15Z; 25 hours.
    DayCase(CHATHAM, "2026-04-05", "2026-04-04T10:15Z", "2026-04-05T11:15Z", 50,
            "00:00:00+13:45", "23:30:00+12:45"),
    # 00:00+12:45 = 11:15Z (Sat); 00:00+13:45 = 10:15Z; 23 hours.
    DayCase(CHATHAM, "2026-09-27", "2026-09-26T11:15Z", "2026-09-27T10:15Z", 46,
            "00:00:00+12:45", "23:30:00+13:45"),
    # 00:00+05:30 = 18:30Z the day before; 24 hours.
    DayCase(KOLKATA, "2026-03-08", "2026-03-07T18:30Z", "2026-03-08T18:30Z", 48,
            "00:00:00+05:30", "23:30:00+05:30"),
    # Midnight does not exist: the day starts at 01:00-03:00 = 04:00Z; next midnight
    # 00:00-03:00 = 03:00Z; 23 hours.
    DayCase(SANTIAGO, "2026-09-06", "2026-09-06T04:00Z", "2026-09-07T03:00Z", 46,
            "01:00:00-03:00", "23:30:00-03:00"),
]  # fmt: skip


@pytest.mark.parametrize("case", DAY_BOUNDS, ids=lambda c: f"{c.zone}-{c.day}")
def test_date_only_query_is_the_whole_local_day(case: DayCase) -> None:
    # Open 00:00-24:00 on Sat, Sun, Mon (every change date above is a Sunday): one window from
    # Saturday's local midnight, 30-minute grid from there (Saturday is a plain 24-hour day, so
    # Sunday's first instant is on the grid). A query for Sunday alone lists exactly the
    # half hours that start on that local date.
    doc = scenario(
        case.zone,
        [("sat", "00:00", "24:00"), ("sun", "00:00", "24:00"), ("mon", "00:00", "24:00")],
        start=case.day,
        end=case.day,
        duration=30,
    )
    availability = compute_availability(parse_scenario(doc))
    assert (availability.window_start, availability.window_end) == (at(case.lo), at(case.hi))
    result = render_availability(availability)
    starts = [s for s, _ in spans(result)]
    assert len(starts) == case.count
    assert starts[0] == f"{case.day}T{case.first}"
    assert starts[-1] == f"{case.day}T{case.last}"
    assert list(result["days"]) == [case.day]
    assert_days_consistent(result)
    # Consecutive starts are 30 elapsed minutes apart, whatever the wall clock says.
    instants = [at(s) for s in starts]
    assert {b - a for a, b in pairwise(instants)} == {1800}


# -- output offsets and the days map across zones ----------------------------------------------


def test_kolkata_resource_seen_from_new_york_across_its_change() -> None:
    # Kolkata 09:00-10:00 on weekdays is 03:30Z-04:30Z every weekday (+05:30, no DST).
    # Query 2026-03-05..2026-03-09 in New York: [05:00Z Mar 5, 04:00Z Mar 10).
    #   Thu Mar 5 03:30Z = Wed 22:30 EST: before the window.
    #   Fri Mar 6 03:30Z = Thu Mar 5 22:30 EST.
    #   Mon Mar 9 03:30Z = Sun Mar 8 23:30 EDT (after New York's change).
    #   Tue Mar 10 03:30Z = Mon Mar 9 23:30 EDT (before the window's end at 04:00Z).
    weekdays = [(d, "09:00", "10:00") for d in ("mon", "tue", "wed", "thu", "fri")]
    doc = scenario(KOLKATA, weekdays, start="2026-03-05", end="2026-03-09", query_zone=NY)
    result = answer(doc)
    assert spans(result) == [
        ("2026-03-05T22:30:00-05:00", "2026-03-05T23:30:00-05:00"),
        ("2026-03-08T23:30:00-04:00", "2026-03-09T00:30:00-04:00"),
        ("2026-03-09T23:30:00-04:00", "2026-03-10T00:30:00-04:00"),
    ]
    assert [len(v) for v in result["days"].values()] == [1, 0, 0, 1, 1]
    assert list(result["days"]) == [
        "2026-03-05",
        "2026-03-06",
        "2026-03-07",
        "2026-03-08",
        "2026-03-09",
    ]
    assert_days_consistent(result)


def test_kolkata_in_its_own_zone_is_always_plus_05_30() -> None:
    # The same resource shown in Kolkata, 2026-03-05..2026-03-10: 09:00+05:30 on each weekday,
    # empty weekend, whatever New York does on the 8th.
    weekdays = [(d, "09:00", "10:00") for d in ("mon", "tue", "wed", "thu", "fri")]
    doc = scenario(KOLKATA, weekdays, start="2026-03-05", end="2026-03-10")
    result = answer(doc)
    assert spans(result) == [
        (f"2026-03-{d:02d}T09:00:00+05:30", f"2026-03-{d:02d}T10:00:00+05:30")
        for d in (5, 6, 9, 10)
    ]
    assert [len(v) for v in result["days"].values()] == [1, 1, 0, 0, 1, 1]


def test_days_map_lists_each_date_once_across_both_changes() -> None:
    # A query of instants from Sat 2026-04-04 00:00+11:00 to Tue 2026-04-07 00:00+10:30 in
    # Lord Howe: Sat, Sun (24.5 hours), Mon; each listed once though Sunday has a repeated
    # half hour. Nothing is open: every date maps to [].
    doc = scenario(
        LORD_HOWE,
        [],
        start="2026-04-04T00:00:00+11:00",
        end="2026-04-07T00:00:00+10:30",
    )
    assert answer(doc)["days"] == {"2026-04-04": [], "2026-04-05": [], "2026-04-06": []}


def test_days_map_in_utc_for_a_chatham_resource() -> None:
    # Shown in UTC ("Z"), a Chatham 09:00-10:00 slot lands on the previous UTC date:
    # Sat Apr 4 09:00+13:45 = Apr 3 19:15Z; Sun Apr 5 09:00+12:45 = Apr 4 20:15Z;
    # Mon Apr 6 09:00+12:45 = Apr 5 20:15Z. Query 2026-04-03..2026-04-05 in UTC.
    doc = scenario(
        CHATHAM,
        [(d, "09:00", "10:00") for d in ("sat", "sun", "mon")],
        start="2026-04-03",
        end="2026-04-05",
        query_zone="UTC",
    )
    result = answer(doc)
    assert spans(result) == [
        ("2026-04-03T19:15:00Z", "2026-04-03T20:15:00Z"),
        ("2026-04-04T20:15:00Z", "2026-04-04T21:15:00Z"),
        ("2026-04-05T20:15:00Z", "2026-04-05T21:15:00Z"),
    ]
    assert [len(v) for v in result["days"].values()] == [1, 1, 1]


def test_buffer_after_counts_elapsed_minutes_across_the_gap() -> None:
    # Window [06:00Z, 08:00Z) as above; 30-minute slots with a 30-minute buffer after; busy
    # 03:30-04:00 EDT (07:30Z-08:00Z). 01:30 EST (06:30Z) pads to 07:30Z: touches, stays free.
    # 03:00 EDT (07:00Z) pads to 08:00Z: overlaps. 03:30 EDT is busy itself.
    doc = scenario(
        NY,
        [("sun", "01:00", "04:00")],
        start="2026-03-08",
        end="2026-03-08",
        duration=30,
        buffer_after=30,
        busy=[("2026-03-08T03:30:00-04:00", "2026-03-08T04:00:00-04:00")],
    )
    assert spans(answer(doc)) == [
        ("2026-03-08T01:00:00-05:00", "2026-03-08T01:30:00-05:00"),
        ("2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00"),
    ]


def test_utc_conversion_helper_is_sound() -> None:
    # Guard for the helper every expectation above leans on.
    assert at("2026-11-01T01:00:00-05:00") - at("2026-11-01T01:00:00-04:00") == 3600
    assert at("2026-03-08T07:00:00Z") == int(datetime(2026, 3, 8, 7, tzinfo=UTC).timestamp())


def test_query_instants_inside_the_repeated_hour_are_unambiguous() -> None:
    # Window [05:00Z, 08:00Z) as above, 30-minute starts 05:00Z ... 07:30Z. The query runs from
    # 01:30 EDT (05:30Z) to 01:30 EST (06:30Z): only 05:30Z and 06:00Z start inside it.
    doc = scenario(
        NY,
        [("sun", "01:00", "03:00")],
        start="2026-11-01T01:30:00-04:00",
        end="2026-11-01T01:30:00-05:00",
        duration=30,
    )
    result = answer(doc)
    assert spans(result) == [
        ("2026-11-01T01:30:00-04:00", "2026-11-01T01:00:00-05:00"),
        ("2026-11-01T01:00:00-05:00", "2026-11-01T01:30:00-05:00"),
    ]
    assert list(result["days"]) == ["2026-11-01"]


def test_utc_hours_rendered_in_new_york_show_the_repeated_hour() -> None:
    # A UTC resource open Sun 05:00-08:00 UTC has no DST of its own; shown in New York on
    # 2026-11-01 its hourly starts 05:00Z, 06:00Z, 07:00Z read 01:00 EDT, 01:00 EST, 02:00 EST.
    doc = scenario(
        "UTC", [("sun", "05:00", "08:00")], start="2026-11-01", end="2026-11-01", query_zone=NY
    )
    assert spans(answer(doc)) == [
        ("2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00"),
        ("2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00"),
        ("2026-11-01T02:00:00-05:00", "2026-11-01T03:00:00-05:00"),
    ]


def test_check_slot_around_the_spring_forward_gap() -> None:
    # Hourly grid of the window [06:00Z, 08:00Z): 06:00Z and 07:00Z. 03:00 EDT (07:00Z) can be
    # booked and lasts one elapsed hour; 01:30 EST (06:30Z) is off the grid; 04:00 EDT (08:00Z)
    # is outside the resource's hours.
    parsed = parse_scenario(
        scenario(NY, [("sun", "01:00", "04:00")], start="2026-03-08", end="2026-03-08")
    )
    ok = check_slot(parsed, at("2026-03-08T03:00:00-04:00"))
    assert ok.bookable
    assert (ok.start, ok.end) == (at("2026-03-08T07:00:00Z"), at("2026-03-08T08:00:00Z"))
    off = check_slot(parsed, at("2026-03-08T01:30:00-05:00"))
    assert not off.bookable
    assert [r.code for r in off.reasons][:1] == ["off_grid"]
    late = check_slot(parsed, at("2026-03-08T04:00:00-04:00"))
    assert not late.bookable
    assert "outside_hours" in [r.code for r in late.reasons]


def test_window_from_the_evening_before_anchors_the_change_day() -> None:
    # Lord Howe Sat 2026-04-04 20:00-24:00 (+11:00, 09:00Z-13:00Z) touches Sun 00:00-04:00
    # (13:00Z-17:30Z, the fall-back at 15:00Z included): one window from 09:00Z. A query for
    # Sunday alone starts at 13:00Z; 50-minute steps from 09:00Z reach it after 240/50 = 4.8, so
    # at step 5: 13:10Z. Then 14:00Z, 14:50Z, 15:40Z, 16:30Z (17:20Z would end past 17:30Z).
    # Local: 00:10, 01:00, 01:50 (+11:00), 02:10, 03:00 (+10:30).
    doc = scenario(
        LORD_HOWE,
        [("sat", "20:00", "24:00"), ("sun", "00:00", "04:00")],
        start="2026-04-05",
        end="2026-04-05",
        duration=50,
    )
    assert [s for s, _ in spans(answer(doc))] == [
        "2026-04-05T00:10:00+11:00",
        "2026-04-05T01:00:00+11:00",
        "2026-04-05T01:50:00+11:00",
        "2026-04-05T02:10:00+10:30",
        "2026-04-05T03:00:00+10:30",
    ]
