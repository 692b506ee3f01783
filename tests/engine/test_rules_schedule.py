"""DESIGN §3, open hours and the candidate grid: weekly rules, overrides, inheritance, locations,
open windows and their anchors, and the query window in its own zone.

Unless a test says otherwise: resource ``r1`` in UTC, service of 30 minutes (interval = duration),
query over Monday 2026-03-02 in UTC, ``now`` the day before (see ``builders``).
"""

from __future__ import annotations

import pytest

from tests.engine.builders import (
    MONDAY,
    answer,
    block,
    days,
    override,
    resource,
    rule,
    scenario,
    schedule,
    times,
)


def test_single_rule_steps_by_duration_inside_the_rule() -> None:
    # Mon 09:00-11:00, 30 minutes: 09:00, 09:30, 10:00, 10:30; 11:00 would end at 11:30.
    result = answer(scenario(resource("r1", schedule(rule("mon", "09:00", "11:00")))))
    assert times(result) == ["09:00", "09:30", "10:00", "10:30"]
    first = result["slots"][0]
    assert first == {
        "start": "2026-03-02T09:00:00Z",
        "end": "2026-03-02T09:30:00Z",
        "resource_ids": ["r1"],
        "available": True,
        "capacity": 1,
        "available_capacity": 1,
    }
    assert result["duration"] == 30
    assert result["timezone"] == "UTC"


def test_rule_on_another_weekday_gives_nothing_on_monday() -> None:
    doc = scenario(resource("r1", schedule(rule("tue", "09:00", "11:00"))))
    assert times(doc) == []


def test_split_schedule_anchors_each_window_at_its_own_start() -> None:
    # Two rules a day: 09:00-10:10 and 13:05-14:00, 30-minute slots every 20 minutes.
    # Morning: 09:00, 09:20, 09:40 (ends 10:10, exactly the end). Afternoon, anchored at 13:05
    # (not on the morning's grid): 13:05, 13:25 (ends 13:55); 13:45 would end 14:15.
    sched = schedule(rule("mon", "09:00", "10:10"), rule("mon", "13:05", "14:00"))
    doc = scenario(resource("r1", sched), service={"interval": 20})
    assert times(doc) == ["09:00", "09:20", "09:40", "13:05", "13:25"]


def test_touching_rules_form_one_window_and_the_grid_runs_across_noon() -> None:
    # 09:00-12:00 and 12:00-14:00 form one window 09:00-14:00. Interval 25 from 09:00:
    # 09:00, 09:25, 09:50, 10:15, 10:40, 11:05, 11:30, 11:55 (runs over noon), 12:20, 12:45,
    # 13:10; 13:35 would end 14:05. Two separate windows would have restarted at 12:00.
    sched = schedule(rule("mon", "09:00", "12:00"), rule("mon", "12:00", "14:00"))
    doc = scenario(resource("r1", sched), service={"interval": 25})
    expected = ["09:00", "09:25", "09:50", "10:15", "10:40", "11:05", "11:30", "11:55"]
    assert times(doc) == [*expected, "12:20", "12:45", "13:10"]


def test_overlapping_rules_form_one_window() -> None:
    # 09:00-10:00 and 09:30-10:40 cover 09:00-10:40; 40-minute slots: 09:00, 09:40 (ends 10:20);
    # 10:20 would end 11:00.
    sched = schedule(rule("mon", "09:00", "10:00"), rule("mon", "09:30", "10:40"))
    assert times(scenario(resource("r1", sched), service={"duration": 40})) == ["09:00", "09:40"]


def test_override_ending_at_24_00_joins_the_next_day_rule() -> None:
    # Override Mon 2026-03-02 to 22:00-24:00; Tue rule 00:00-01:00: one window 22:00-01:00.
    # 60-minute slots every 45: 22:00, 22:45, 23:30 (ends Tue 00:30).
    sched = schedule(
        rule("tue", "00:00", "01:00"), overrides=[override(MONDAY, ("22:00", "24:00"))]
    )
    doc = scenario(resource("r1", sched), service={"duration": 60, "interval": 45})
    assert times(doc) == ["22:00", "22:45", "23:30"]


def test_friday_to_24_00_and_saturday_from_00_00_form_one_window() -> None:
    # Fri 20:00-24:00 + Sat 00:00-01:00 = one window of 5 hours. 60-minute slots every 45
    # minutes from Fri 20:00: 20:00, 20:45, 21:30, 22:15, 23:00, 23:45 (ends Sat 00:45);
    # Sat 00:30 would end 01:30. Nothing restarts at Saturday 00:00.
    sched = schedule(rule("fri", "20:00", "24:00"), rule("sat", "00:00", "01:00"))
    doc = scenario(
        resource("r1", sched),
        service={"duration": 60, "interval": 45},
        query={"start": "2026-03-06", "end": "2026-03-07"},
    )
    assert days(doc) == {
        "2026-03-06": ["20:00", "20:45", "21:30", "22:15", "23:00", "23:45"],
        "2026-03-07": [],
    }
    last = answer(doc)["slots"][-1]
    assert (last["start"], last["end"]) == ("2026-03-06T23:45:00Z", "2026-03-07T00:45:00Z")


def test_rule_may_end_at_24_00() -> None:
    # Mon 22:00-24:00, 60 minutes: 22:00 and 23:00, the last ending at midnight exactly.
    result = answer(
        scenario(resource("r1", schedule(rule("mon", "22:00", "24:00"))), service={"duration": 60})
    )
    assert times(result) == ["22:00", "23:00"]
    assert result["slots"][-1]["end"] == "2026-03-03T00:00:00Z"


def test_end_not_after_start_is_rejected() -> None:
    from openslots.engine import parse_scenario
    from openslots.errors import ValidationError

    doc = scenario(resource("r1", schedule(rule("mon", "11:00", "11:00"))))
    with pytest.raises(ValidationError) as caught:
        parse_scenario(doc)
    assert caught.value.field == "resources.0.schedule.rules.0.end"


def test_override_replaces_the_rules_of_its_date_only() -> None:
    # Weekly Mon 09:00-11:00. Override Mon 03-02 to 14:00-15:00 (14:00, 14:30); Tue 03-03 has no
    # rule but an override 10:00-11:00 opens it; Mon 03-09 keeps the weekly rule.
    sched = schedule(
        rule("mon", "09:00", "11:00"),
        overrides=[
            override("2026-03-02", ("14:00", "15:00")),
            override("2026-03-03", ("10:00", "11:00")),
        ],
    )
    doc = scenario(resource("r1", sched), query={"start": MONDAY, "end": "2026-03-09"})
    result = days(doc)
    assert result["2026-03-02"] == ["14:00", "14:30"]
    assert result["2026-03-03"] == ["10:00", "10:30"]
    assert result["2026-03-09"] == ["09:00", "09:30", "10:00", "10:30"]
    assert all(result[d] == [] for d in ("2026-03-04", "2026-03-05", "2026-03-06", "2026-03-07"))


def test_override_with_no_intervals_closes_the_day() -> None:
    sched = schedule(rule("mon", "09:00", "11:00"), overrides=[override(MONDAY)])
    assert days(scenario(resource("r1", sched))) == {MONDAY: []}


_OWN = schedule(rule("mon", "09:00", "10:00"))
_TEAM = schedule(rule("mon", "11:00", "12:00"))
_ORG = schedule(rule("mon", "13:00", "14:00"))


@pytest.mark.parametrize(
    ("own", "team_id", "team_schedule", "expected"),
    [
        (_OWN, "t", _TEAM, ["09:00", "09:30"]),  # the resource's own schedule wins
        (None, "t", _TEAM, ["11:00", "11:30"]),  # else its team's
        (None, "t", None, ["13:00", "13:30"]),  # the team has none: the organization's
        (None, None, None, ["13:00", "13:30"]),  # no team at all: the organization's
    ],
    ids=["resource", "team", "team-without-schedule", "no-team"],
)
def test_schedule_inheritance(
    own: dict[str, object] | None,
    team_id: str | None,
    team_schedule: dict[str, object] | None,
    expected: list[str],
) -> None:
    doc = scenario(
        resource("r1", own, team_id=team_id),
        teams=[{"id": "t", "schedule": team_schedule}],
        organization={"schedule": _ORG},
    )
    assert times(doc) == expected


def test_no_schedule_anywhere_gives_no_slots() -> None:
    doc = scenario(resource("r1", None), teams=[{"id": "t", "schedule": None}])
    result = answer(doc)
    assert result["slots"] == []
    assert result["days"] == {MONDAY: []}


def test_location_hours_intersect_resource_hours_across_two_zones() -> None:
    # Resource in New York, Mon 09:00-17:00 EST (UTC-5) = 14:00-22:00 UTC.
    # Location in London, Mon 09:00-18:00 GMT (UTC+0) = 09:00-18:00 UTC.
    # Overlap 14:00-18:00 UTC; 60-minute slots 14:00, 15:00, 16:00, 17:00 UTC, shown in New
    # York time as 09:00..12:00 -05:00.
    ny = schedule(rule("mon", "09:00", "17:00"), timezone="America/New_York")
    london = schedule(rule("mon", "09:00", "18:00"), timezone="Europe/London")
    doc = scenario(
        resource("r1", ny, timezone="America/New_York"),
        service={"duration": 60, "location_id": "ldn"},
        query={"timezone": "America/New_York"},
        locations=[{"id": "ldn", "timezone": "Europe/London", "schedule": london}],
    )
    result = answer(doc)
    assert [(s["start"], s["end"]) for s in result["slots"]] == [
        ("2026-03-02T09:00:00-05:00", "2026-03-02T10:00:00-05:00"),
        ("2026-03-02T10:00:00-05:00", "2026-03-02T11:00:00-05:00"),
        ("2026-03-02T11:00:00-05:00", "2026-03-02T12:00:00-05:00"),
        ("2026-03-02T12:00:00-05:00", "2026-03-02T13:00:00-05:00"),
    ]


def test_without_location_the_resource_keeps_all_its_hours() -> None:
    # Same resource, no location_id: 09:00-17:00 New York, eight 60-minute slots.
    ny = schedule(rule("mon", "09:00", "17:00"), timezone="America/New_York")
    doc = scenario(
        resource("r1", ny, timezone="America/New_York"),
        service={"duration": 60},
        query={"timezone": "America/New_York"},
    )
    assert times(doc) == [f"{h:02d}:00" for h in range(9, 17)]


def test_location_hours_can_set_the_window_anchor() -> None:
    # Resource 08:00-17:00, location 09:10-12:00 (both UTC): the open window is 09:10-12:00. A
    # query from 10:00 steps from 09:10: 10:10, 10:40, 11:10.
    doc = scenario(
        resource("r1", schedule(rule("mon", "08:00", "17:00"))),
        service={"location_id": "here"},
        locations=[
            {"id": "here", "timezone": "UTC", "schedule": schedule(rule("mon", "09:10", "12:00"))}
        ],
        query={"start": "2026-03-02T10:00:00Z", "end": "2026-03-02T12:00:00Z"},
    )
    assert times(doc) == ["10:10", "10:40", "11:10"]


def test_window_opened_before_the_query_start_keeps_its_true_anchor() -> None:
    # Window 09:10-12:00, 30 minutes every 30; the query starts at 10:00. The grid is anchored at
    # 09:10: 10:10, 10:40, 11:10 (11:40 would end 12:10). Not 10:00, 10:30.
    doc = scenario(
        resource("r1", schedule(rule("mon", "09:10", "12:00"))),
        query={"start": "2026-03-02T10:00:00Z", "end": "2026-03-02T12:00:00Z"},
    )
    assert times(doc) == ["10:10", "10:40", "11:10"]


def test_window_opened_the_day_before_anchors_monday_slots() -> None:
    # Sun 20:00-24:00 + Mon 00:00-02:00 = one window from Sunday 20:00. Every 45 minutes from
    # there: ... 23:00, 23:45 (Sunday, before the query), Mon 00:30, 01:15 (ends 01:45).
    sched = schedule(rule("sun", "20:00", "24:00"), rule("mon", "00:00", "02:00"))
    doc = scenario(resource("r1", sched), service={"interval": 45})
    assert times(doc) == ["00:30", "01:15"]


def test_window_opened_two_days_before_anchors_monday_slots() -> None:
    # Open Sat 00:00 through Mon 12:00 (touching whole-day rules). 50-minute slots every 50
    # minutes from Sat 00:00: Monday 00:00 is 2880 minutes in, the next multiple of 50 is 2900 =
    # Mon 00:20; then every 50 minutes until 11:10 (ends 12:00 exactly).
    sched = schedule(
        rule("sat", "00:00", "24:00"), rule("sun", "00:00", "24:00"), rule("mon", "00:00", "12:00")
    )
    doc = scenario(resource("r1", sched), service={"duration": 50})
    assert times(doc) == [
        "00:20", "01:10", "02:00", "02:50", "03:40", "04:30", "05:20",
        "06:10", "07:00", "07:50", "08:40", "09:30", "10:20", "11:10",
    ]  # fmt: skip


def test_busy_time_removes_candidates_but_never_shifts_the_grid() -> None:
    # Busy 09:00-09:10 removes 09:00; the grid stays 09:30, 10:00, 10:30 (no 09:10, 09:40).
    doc = scenario(resource("r1", busy=[block("09:00", "09:10")]))
    assert times(doc) == ["09:30", "10:00", "10:30"]


def test_date_only_query_bounds_are_local_days_of_the_query_zone() -> None:
    # Query 2026-03-02 in Tokyo (UTC+9) = [Mar 1 15:00Z, Mar 2 15:00Z). The UTC resource is open
    # Sun and Mon 14:00-16:00, 60-minute slots: Sun 14:00Z starts before the window, Sun 15:00Z
    # (Mon 00:00 Tokyo) and Mon 14:00Z (Mon 23:00 Tokyo) start inside it, Mon 15:00Z starts at
    # its end, which is excluded.
    sched = schedule(rule("sun", "14:00", "16:00"), rule("mon", "14:00", "16:00"))
    doc = scenario(
        resource("r1", sched), service={"duration": 60}, query={"timezone": "Asia/Tokyo"}
    )
    result = answer(doc)
    assert [s["start"] for s in result["slots"]] == [
        "2026-03-02T00:00:00+09:00",
        "2026-03-02T23:00:00+09:00",
    ]
    assert list(result["days"]) == ["2026-03-02"]


def test_query_returns_slots_starting_inside_its_instant_window() -> None:
    # Window [09:30, 10:30): 09:30 and 10:00 start inside; 10:30 starts at the (excluded) end,
    # 09:00 before the start even though it ends inside.
    doc = scenario(query={"start": "2026-03-02T09:30:00Z", "end": "2026-03-02T10:30:00Z"})
    assert times(doc) == ["09:30", "10:00"]
