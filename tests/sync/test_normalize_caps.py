"""What bounds the work of one normalization (issue 4 item 4): the per-series and per-feed
occurrence caps, the rule-walking budgets, and rules that can never recur.

Every normalization also runs with the components reversed (``run``): the caps must cut the
same series whatever the order of the file.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr

import openslots.sync.normalize as normalization
from openslots.sync.normalize import normalize
from tests.sync import busy, ics, run, ts, window

BERLIN = ZoneInfo("Europe/Berlin")
AUGUST = window("2026-08-01T00:00", "2026-09-01T00:00")
# The default sync window: 120 days ahead.
DAYS_120 = window("2026-08-01T00:00", "2026-11-29T00:00")


def daily(uid: str, start: str = "20260801T090000Z") -> str:
    return f"UID:{uid}\nDTSTART:{start}\nDURATION:PT30M\nRRULE:FREQ=DAILY"


def test_the_feed_cap_keeps_whole_series_in_uid_order_and_reports_the_rest() -> None:
    # 31 daily occurrences each in August, 32 expanded (a day past the window is read too);
    # 50 in all: a whole, b's first 18, c none.
    data = ics(daily("c"), daily("a"), daily("b"))
    result = run(data, AUGUST, max_occurrences_per_feed=50)
    per_series = dict.fromkeys("abc", 0)
    for event in result.events:
        per_series[event.external_id.split("#")[0]] += 1
    assert per_series == {"a": 31, "b": 18, "c": 0}
    b_last = max(e.start for e in result.events if e.external_id.startswith("b#"))
    assert b_last == ts("2026-08-18T09:00")
    assert [(p.kind, p.uid) for p in result.problems] == [("truncated", None)]
    assert "more than 50 occurrences" in result.problems[0].reason
    assert "2 series" in result.problems[0].reason


def test_single_events_count_towards_the_feed_cap() -> None:
    singles = [f"UID:e{i}\nDTSTART:202608{i + 10}T100000Z\nDURATION:PT1H" for i in range(6)]
    result = run(ics(*singles), AUGUST, max_occurrences_per_feed=4)
    assert [e.external_id for e in result.events] == ["e0", "e1", "e2", "e3"]
    assert [(p.kind, p.uid) for p in result.problems] == [("truncated", None)]


def test_the_series_and_feed_caps_together_bound_many_hourly_series() -> None:
    # 2,880 hourly instances each in 120 days: each cut at 1,000, and 5,000 in all.
    data = ics(*[daily(f"h{i}").replace("FREQ=DAILY", "FREQ=HOURLY") for i in range(10)])
    began = time.perf_counter()
    result = normalize(
        data,
        DAYS_120,
        default_zone="UTC",
        source="x",
        max_instances_per_series=1000,
        max_occurrences_per_feed=5000,
    )
    assert time.perf_counter() - began < 2
    assert len(result.events) == 5000
    assert {e.external_id.split("#")[0] for e in result.events} == {f"h{i}" for i in range(5)}
    assert {(p.kind, p.uid) for p in result.problems} == {
        *(("truncated", f"h{i}") for i in range(5)),
        ("truncated", None),
    }


def test_the_feed_budget_for_walking_rules_leaves_out_the_series_past_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Daily from 2023-08-01 with a COUNT (so walked from DTSTART): about 1,130 periods each;
    # 3,000 cover two series.
    monkeypatch.setattr(normalization, "MAX_WALKED_PERIODS_PER_FEED", 3000)
    series = [daily(f"s{i}", "20230801T090000Z") + ";COUNT=5000" for i in range(4)]
    result = run(ics(*series), AUGUST)
    assert {e.external_id.split("#")[0] for e in result.events} == {"s0", "s1"}
    assert len(result.events) == 62
    assert [(p.kind, p.uid) for p in result.problems] == [("truncated", None)]
    assert "2 series" in result.problems[0].reason


def test_old_daily_and_weekly_series_cost_the_feed_budget_only_their_window() -> None:
    # 400 series daily since 2000: 3.9 M periods to walk from DTSTART, far over the budget;
    # started again just before the window, they cost a few thousand.
    series = [daily(f"d{i:03}", "20000103T090000Z") for i in range(400)]
    began = time.perf_counter()
    result = normalize(ics(*series), AUGUST, default_zone="UTC", source="x")
    assert time.perf_counter() - began < 3
    assert len(result.events) == 400 * 31
    assert result.problems == ()


def test_starting_an_old_series_later_keeps_every_instance() -> None:
    # Every other week on Monday and Thursday (weeks from Sunday), 09:00 Berlin, since 2015,
    # one instance cancelled by EXDATE and one moved; across the end of summer time.
    rule = "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;WKST=SU"
    first = datetime(2015, 1, 5, 9, tzinfo=BERLIN)
    oracle = rrulestr(rule, dtstart=first).between(
        datetime(2026, 10, 1, tzinfo=BERLIN), datetime(2026, 12, 1, tzinfo=BERLIN)
    )
    excluded, moved = oracle[1], oracle[3]
    data = ics(
        f"UID:old\nDTSTART;TZID=Europe/Berlin:{first:%Y%m%dT%H%M%S}\n"
        f"DTEND;TZID=Europe/Berlin:{first + timedelta(hours=1):%Y%m%dT%H%M%S}\nRRULE:{rule}\n"
        f"EXDATE;TZID=Europe/Berlin:{excluded:%Y%m%dT%H%M%S}",
        f"UID:old\nRECURRENCE-ID;TZID=Europe/Berlin:{moved:%Y%m%dT%H%M%S}\n"
        f"DTSTART;TZID=Europe/Berlin:{moved + timedelta(hours=5):%Y%m%dT%H%M%S}\n"
        f"DTEND;TZID=Europe/Berlin:{moved + timedelta(hours=6):%Y%m%dT%H%M%S}",
    )
    result = run(data, window("2026-10-01T00:00", "2026-12-01T00:00"))
    expected = {
        (int(m.timestamp()), int(m.timestamp()) + 3600) for m in oracle if m is not excluded
    }
    expected -= {(int(moved.timestamp()), int(moved.timestamp()) + 3600)}
    expected.add((int(moved.timestamp()) + 5 * 3600, int(moved.timestamp()) + 6 * 3600))
    assert {(e.start, e.end) for e in result.events} == expected
    assert len(expected) >= 8


@pytest.mark.parametrize(
    ("rule", "outcome"),
    [
        ("FREQ=SECONDLY", "refused"),
        ("FREQ=MINUTELY", "refused"),  # 172,800 minutes in 120 days
        ("FREQ=SECONDLY;INTERVAL=3600", 2_880),  # hourly in effect: dateutil steps by 3,600
        ("FREQ=MINUTELY;INTERVAL=15", 10_000),  # 11,520 in the window: cut at the cap
        ("FREQ=HOURLY", 2_880),
    ],
)
def test_fine_grained_rules_over_the_default_window(rule: str, outcome: str | int) -> None:
    data = ics(
        "UID:plain\nDTSTART:20260827T100000Z\nDTEND:20260827T110000Z",
        f"UID:r\nDTSTART:20260801T000000Z\nDURATION:PT1M\nRRULE:{rule}",
    )
    began = time.perf_counter()
    result = normalize(data, DAYS_120, default_zone="UTC", source="x")
    assert time.perf_counter() - began < 1.5
    found = [e for e in result.events if e.external_id != "plain"]
    assert len(result.events) - len(found) == 1
    if outcome == "refused":
        assert found == []
        assert [(p.kind, p.uid) for p in result.problems] == [("skipped", "r")]
        assert "too expensive" in result.problems[0].reason
    else:
        assert len(found) == outcome
        expected = [("truncated", "r")] if outcome == 10_000 else []
        assert [(p.kind, p.uid) for p in result.problems] == expected


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=HOURLY;BYMONTH=4;BYMONTHDAY=31",
        "FREQ=MONTHLY;BYDAY=6MO",
        "FREQ=YEARLY;BYYEARDAY=367",
        "FREQ=MONTHLY;BYDAY=MO;BYMONTHDAY=1;BYSETPOS=2",
    ],
)
def test_a_rule_that_can_never_recur_leaves_only_dtstart_and_costs_nothing(rule: str) -> None:
    # dateutil would look for the first instance until year 9999: 8 s for the DAILY one.
    data = ics(f"UID:n\nDTSTART:20260810T090000Z\nDTEND:20260810T100000Z\nRRULE:{rule}")
    began = time.perf_counter()
    result = run(data, AUGUST)
    assert time.perf_counter() - began < 0.5
    assert busy(result) == {("2026-08-10T09:00", "2026-08-10T10:00", "busy")}
    assert [e.external_id for e in result.events] == ["n#20260810T090000"]
    assert [(p.kind, p.uid) for p in result.problems] == [("warning", "n")]
    assert "never recurs" in result.problems[0].reason


def test_a_rare_rule_still_recurs() -> None:
    # Every 29 February: 2028's is in the window.
    data = ics("UID:leap\nDTSTART;VALUE=DATE:20240229\nRRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29")
    result = run(data, window("2028-02-01T00:00", "2028-03-01T00:00"), default_zone="UTC")
    assert busy(result) == {("2028-02-29T00:00", "2028-03-01T00:00", "busy")}
    assert result.problems == ()


def test_only_the_impossible_one_of_two_rules_is_dropped() -> None:
    data = ics(
        "UID:two\nDTSTART:20260803T090000Z\nDTEND:20260803T100000Z\n"
        "RRULE:FREQ=WEEKLY;COUNT=2\nRRULE:FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=4"
    )
    result = run(data, AUGUST)
    assert busy(result) == {
        ("2026-08-03T09:00", "2026-08-03T10:00", "busy"),
        ("2026-08-10T09:00", "2026-08-10T10:00", "busy"),
    }
    assert [(p.kind, p.uid) for p in result.problems] == [("warning", "two")]
