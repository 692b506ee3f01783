"""One test per rule of DESIGN §5 "What counts as busy", on small inline calendars.

Every normalization also runs with the components reversed (``run`` asserts the same answer).
"""

from __future__ import annotations

import time

import pytest

from openslots.engine.model import BusyBlock
from openslots.errors import FeedInvalid
from openslots.sync.normalize import normalize
from tests.sync import busy, ics, run, ts, window

AUGUST = window("2026-08-01T00:00", "2026-09-01T00:00")
SIMPLE = """
    UID:simple
    DTSTART:20260827T100000Z
    DTEND:20260827T110000Z
"""


def test_a_plain_event_is_busy_with_its_uid_as_external_id() -> None:
    result = run(ics(SIMPLE), AUGUST, source="cal-1")
    assert busy(result) == {("2026-08-27T10:00", "2026-08-27T11:00", "busy")}
    assert [e.external_id for e in result.events] == ["simple"]
    assert result.blocks() == (
        BusyBlock(ts("2026-08-27T10:00"), ts("2026-08-27T11:00"), "busy", "cal-1"),
    )
    assert result.problems == ()


def test_only_vevents_count() -> None:
    data = ics(SIMPLE).replace(
        b"END:VCALENDAR",
        b"BEGIN:VTODO\r\nUID:todo\r\nDTSTART:20260827T120000Z\r\nDUE:20260827T130000Z\r\n"
        b"END:VTODO\r\nBEGIN:VJOURNAL\r\nUID:j\r\nDTSTART:20260827T140000Z\r\nEND:VJOURNAL\r\n"
        b"END:VCALENDAR",
    )
    assert [e.external_id for e in run(data, AUGUST).events] == ["simple"]


def test_occurrences_outside_the_window_are_left_out_and_overlapping_ones_kept_whole() -> None:
    data = ics(
        SIMPLE,
        "UID:before\nDTSTART:20260731T220000Z\nDTEND:20260801T010000Z",
        "UID:gone\nDTSTART:20260701T100000Z\nDTEND:20260701T110000Z",
        "UID:after\nDTSTART:20260901T000000Z\nDTEND:20260901T010000Z",
    )
    result = run(data, AUGUST)
    assert busy(result) == {
        ("2026-07-31T22:00", "2026-08-01T01:00", "busy"),
        ("2026-08-27T10:00", "2026-08-27T11:00", "busy"),
    }


def test_transparent_events_are_not_busy() -> None:
    data = ics(
        SIMPLE + "TRANSP:TRANSPARENT",
        "UID:o\nDTSTART:20260828T100000Z\nDTEND:20260828T110000Z\nTRANSP:OPAQUE",
    )
    assert [e.external_id for e in run(data, AUGUST).events] == ["o"]


@pytest.mark.parametrize("status", ["CANCELLED", "cancelled", "Cancelled"])
def test_cancelled_events_are_not_busy_whatever_the_case(status: str) -> None:
    assert run(ics(SIMPLE + f"STATUS:{status}"), AUGUST).events == ()


def test_a_cancelled_instance_of_a_series_removes_only_that_instance() -> None:
    data = ics(
        "UID:s\nDTSTART:20260810T090000Z\nDTEND:20260810T100000Z\nRRULE:FREQ=DAILY;COUNT=3",
        "UID:s\nRECURRENCE-ID:20260811T090000Z\nDTSTART:20260811T090000Z\n"
        "DTEND:20260811T100000Z\nSTATUS:CANCELLED",
    )
    result = run(data, AUGUST)
    assert [e.external_id for e in result.events] == ["s#20260810T090000", "s#20260812T090000"]


@pytest.mark.parametrize("status", ["TENTATIVE", "Tentative"])
def test_tentative_events_are_kind_tentative(status: str) -> None:
    data = ics(
        SIMPLE + f"STATUS:{status}",
        "UID:c\nDTSTART:20260828T100000Z\nDTEND:20260828T110000Z\nSTATUS:Confirmed",
    )
    assert {(e.external_id, e.kind) for e in run(data, AUGUST).events} == {
        ("simple", "tentative"),
        ("c", "busy"),
    }


INVITE = (
    SIMPLE
    + """
    ORGANIZER:mailto:boss@example.com
    ATTENDEE;PARTSTAT=ACCEPTED:mailto:boss@example.com
    ATTENDEE;PARTSTAT=DECLINED:mailto:Owner@Example.com
    ATTENDEE;PARTSTAT=DECLINED:mailto:someone@example.com
"""
)


def test_an_invitation_the_owner_declined_is_not_busy() -> None:
    assert run(ics(INVITE), AUGUST, owner_emails=frozenset({"owner@EXAMPLE.com"})).events == ()


def test_declines_by_others_or_with_unknown_owner_still_block() -> None:
    assert len(run(ics(INVITE), AUGUST).events) == 1
    assert len(run(ics(INVITE), AUGUST, owner_emails=frozenset({"boss@example.com"})).events) == 1


def test_zero_length_events_are_not_busy() -> None:
    data = ics(
        "UID:z\nDTSTART:20260827T100000Z\nDTEND:20260827T100000Z",
        "UID:nodtend\nDTSTART:20260827T120000Z",
        "UID:d\nDTSTART:20260827T140000Z\nDURATION:PT0S",
    )
    assert run(data, AUGUST).events == ()


def test_the_same_occurrence_twice_counts_once() -> None:
    override = (
        "UID:s\nRECURRENCE-ID:20260811T090000Z\nDTSTART:20260811T150000Z\nDTEND:20260811T160000Z"
    )
    data = ics(
        SIMPLE,
        SIMPLE,
        "UID:s\nDTSTART:20260810T090000Z\nDTEND:20260810T100000Z\nRRULE:FREQ=DAILY;COUNT=2",
        override,
        override,
    )
    result = run(data, AUGUST)
    assert busy(result) == {
        ("2026-08-27T10:00", "2026-08-27T11:00", "busy"),
        ("2026-08-10T09:00", "2026-08-10T10:00", "busy"),
        ("2026-08-11T15:00", "2026-08-11T16:00", "busy"),
    }
    assert len(result.events) == 3


def test_rrule_rdate_exdate_and_a_moved_instance() -> None:
    # Weekly Mondays 09:00 Berlin (07:00Z in summer); EXDATE in UTC removes the 17th;
    # RDATE adds Wednesday the 19th; the 24th is moved to 14:00 Berlin.
    data = ics(
        "UID:w\nDTSTART;TZID=Europe/Berlin:20260810T090000\nDTEND;TZID=Europe/Berlin:20260810T100000\n"
        "RRULE:FREQ=WEEKLY;COUNT=4\nEXDATE:20260817T070000Z\nRDATE;TZID=Europe/Berlin:20260819T090000",
        "UID:w\nRECURRENCE-ID;TZID=Europe/Berlin:20260824T090000\n"
        "DTSTART;TZID=Europe/Berlin:20260824T140000\nDTEND;TZID=Europe/Berlin:20260824T150000",
    )
    result = run(data, AUGUST)
    assert busy(result) == {
        ("2026-08-10T07:00", "2026-08-10T08:00", "busy"),
        ("2026-08-19T07:00", "2026-08-19T08:00", "busy"),
        ("2026-08-24T12:00", "2026-08-24T13:00", "busy"),
        ("2026-08-31T07:00", "2026-08-31T08:00", "busy"),
    }
    assert "w#20260824T070000" in {e.external_id for e in result.events}


def test_range_thisandfuture_moves_the_rest_of_the_series() -> None:
    data = ics(
        "UID:r\nDTSTART:20260803T090000Z\nDTEND:20260803T100000Z\nRRULE:FREQ=WEEKLY;COUNT=4",
        "UID:r\nRECURRENCE-ID;RANGE=THISANDFUTURE:20260817T090000Z\n"
        "DTSTART:20260817T130000Z\nDTEND:20260817T140000Z",
    )
    result = run(data, AUGUST)
    assert {(e.external_id, e.start) for e in result.events} == {
        ("r#20260803T090000", ts("2026-08-03T09:00")),
        ("r#20260810T090000", ts("2026-08-10T09:00")),
        ("r#20260817T090000", ts("2026-08-17T13:00")),
        ("r#20260824T090000", ts("2026-08-24T13:00")),
    }


def test_floating_times_are_read_in_x_wr_timezone_else_the_resource_zone() -> None:
    event = "UID:f\nDTSTART:20260827T100000\nDTEND:20260827T110000"
    tokyo = run(
        ics(event, header="X-WR-TIMEZONE:Asia/Tokyo"), AUGUST, default_zone="America/New_York"
    )
    assert busy(tokyo) == {("2026-08-27T01:00", "2026-08-27T02:00", "busy")}
    new_york = run(ics(event), AUGUST, default_zone="America/New_York")
    assert busy(new_york) == {("2026-08-27T14:00", "2026-08-27T15:00", "busy")}


def test_an_invalid_x_wr_timezone_falls_back_to_the_resource_zone_with_a_warning() -> None:
    event = "UID:f\nDTSTART:20260827T100000\nDTEND:20260827T110000"
    result = run(ics(event, header="X-WR-TIMEZONE:Mars/Olympus"), AUGUST, default_zone="UTC")
    assert busy(result) == {("2026-08-27T10:00", "2026-08-27T11:00", "busy")}
    assert any("Mars/Olympus" in p.reason for p in result.problems)


def test_an_x_wr_timezone_moves_a_utc_series_to_its_wall_clock() -> None:
    # A weekly 09:00Z series in a London calendar stays at 10:00 London (BST) into winter.
    event = "UID:u\nDTSTART:20261019T090000Z\nDTEND:20261019T100000Z\nRRULE:FREQ=WEEKLY;COUNT=2"
    result = run(
        ics(event, header="X-WR-TIMEZONE:Europe/London"),
        window("2026-10-01T00:00", "2026-11-01T00:00"),
    )
    assert busy(result) == {
        ("2026-10-19T09:00", "2026-10-19T10:00", "busy"),
        ("2026-10-26T10:00", "2026-10-26T11:00", "busy"),
    }


def test_a_local_time_in_the_spring_forward_gap_moves_forward() -> None:
    # 02:30 does not exist in New York on 2026-03-08: read with the offset before the gap (-05).
    event = (
        "UID:g\nDTSTART;TZID=America/New_York:20260308T023000\n"
        "DTEND;TZID=America/New_York:20260308T043000"
    )
    result = run(ics(event), window("2026-03-01T00:00", "2026-04-01T00:00"))
    assert busy(result) == {("2026-03-08T07:30", "2026-03-08T08:30", "busy")}


def test_an_ambiguous_local_time_is_the_earlier_instant() -> None:
    # 01:30 happens twice in New York on 2026-11-01; the first is EDT (-04).
    event = (
        "UID:a\nDTSTART;TZID=America/New_York:20261101T013000\n"
        "DTEND;TZID=America/New_York:20261101T033000"
    )
    result = run(ics(event), window("2026-11-01T00:00", "2026-11-02T00:00"))
    assert busy(result) == {("2026-11-01T05:30", "2026-11-01T08:30", "busy")}


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        # New York springs forward on 2026-03-08: that day is 23 hours long.
        ("America/New_York", ("2026-03-08T05:00", "2026-03-09T04:00", "busy")),
        # London springs forward on 2026-03-29.
        ("Europe/London", ("2026-03-29T00:00", "2026-03-29T23:00", "busy")),
    ],
)
def test_an_all_day_event_on_a_dst_day_is_that_local_day(
    zone: str, expected: tuple[str, str, str]
) -> None:
    day = expected[0][:10].replace("-", "")
    event = f"UID:d\nDTSTART;VALUE=DATE:{day}"  # no DTEND: one day
    result = run(
        ics(event, header=f"X-WR-TIMEZONE:{zone}"), window("2026-03-01T00:00", "2026-04-01T00:00")
    )
    assert busy(result) == {expected}


def test_a_multi_day_all_day_event_across_the_autumn_change_in_london() -> None:
    # 2026-10-24 to 2026-10-26 (exclusive): BST ends on the 25th, so 49 hours.
    event = "UID:m\nDTSTART;VALUE=DATE:20261024\nDTEND;VALUE=DATE:20261026"
    result = run(
        ics(event), window("2026-10-01T00:00", "2026-11-01T00:00"), default_zone="Europe/London"
    )
    assert busy(result) == {("2026-10-23T23:00", "2026-10-26T00:00", "busy")}


@pytest.mark.parametrize("tzid", ["Romance Standard Time", '"Romance Standard Time"'])
def test_a_windows_tzid_maps_to_its_iana_zone(tzid: str) -> None:
    event = f"UID:w\nDTSTART;TZID={tzid}:20260827T100000\nDTEND;TZID={tzid}:20260827T110000"
    result = run(ics(event), AUGUST, default_zone="UTC")
    assert busy(result) == {("2026-08-27T08:00", "2026-08-27T09:00", "busy")}
    assert result.problems == ()


# Guessable names (Outlook's "Eastern Standard Time 1") and tzdata folders ("Europe") are in
# test_normalize_zones.py.
@pytest.mark.parametrize("tzid", ["Nowhere/Land", "../../etc/passwd"])
def test_an_unknown_tzid_falls_back_to_the_calendar_zone_with_a_warning(tzid: str) -> None:
    event = f"UID:x\nDTSTART;TZID={tzid}:20260827T100000\nDTEND;TZID={tzid}:20260827T110000"
    with_calendar_zone = run(
        ics(event, header="X-WR-TIMEZONE:Asia/Tokyo"), AUGUST, default_zone="UTC"
    )
    assert busy(with_calendar_zone) == {("2026-08-27T01:00", "2026-08-27T02:00", "busy")}
    assert ("warning", "x") in {(p.kind, p.uid) for p in with_calendar_zone.problems}
    assert any(tzid in p.reason and "Asia/Tokyo" in p.reason for p in with_calendar_zone.problems)
    with_resource_zone = run(ics(event), AUGUST, default_zone="Europe/Paris")
    assert busy(with_resource_zone) == {("2026-08-27T08:00", "2026-08-27T09:00", "busy")}


def test_a_vtimezone_in_the_file_defines_a_custom_tzid() -> None:
    header = (
        "BEGIN:VTIMEZONE\nTZID:Office Time\nBEGIN:STANDARD\nDTSTART:19700101T000000\n"
        "TZOFFSETFROM:+0530\nTZOFFSETTO:+0530\nEND:STANDARD\nEND:VTIMEZONE"
    )
    event = (
        "UID:v\nDTSTART;TZID=Office Time:20260827T100000\nDTEND;TZID=Office Time:20260827T110000"
    )
    assert busy(run(ics(event, header=header), AUGUST)) == {
        ("2026-08-27T04:30", "2026-08-27T05:30", "busy")
    }


def test_one_bad_component_is_skipped_and_reported_and_the_rest_kept() -> None:
    data = ics(
        SIMPLE,
        "UID:no-start\nDTEND:20260827T110000Z",
        "UID:bad-rule\nDTSTART:20260827T100000Z\nDTEND:20260827T110000Z\nRRULE:FREQ=DAILY;UNTIL=",
        "UID:bad-duration\nDTSTART:20260827T100000Z\nDURATION:P1X",
    )
    result = run(data, AUGUST)
    assert [e.external_id for e in result.events] == ["simple"]
    assert {(p.kind, p.uid) for p in result.problems} == {
        ("skipped", "no-start"),
        ("skipped", "bad-rule"),
        ("skipped", "bad-duration"),
    }


@pytest.mark.parametrize(
    "data",
    [b"", b"hello", b"BEGIN:VCALENDAR\r\nX\r\nEND:VCALENDAR\r\n", b"\x00\xff" * 10],
)
def test_a_body_that_does_not_parse_raises_feed_invalid(data: bytes) -> None:
    with pytest.raises(FeedInvalid):
        normalize(data, AUGUST, default_zone="UTC", source="x")


def test_a_utf8_bom_and_concatenated_calendars_are_read() -> None:
    data = (
        b"\xef\xbb\xbf"
        + ics(SIMPLE)
        + ics("UID:two\nDTSTART:20260828T100000Z\nDTEND:20260828T110000Z")
    )
    assert [e.external_id for e in run(data, AUGUST).events] == ["simple", "two"]


def test_the_instance_cap_truncates_and_reports() -> None:
    event = "UID:h\nDTSTART:20260801T000000Z\nDTEND:20260801T003000Z\nRRULE:FREQ=HOURLY"
    result = run(ics(event), AUGUST, max_instances_per_series=100)
    assert len(result.events) == 100
    assert result.events[-1].start == ts("2026-08-05T03:00")
    assert [(p.kind, p.uid) for p in result.problems] == [("truncated", "h")]


BOMBS = {
    "secondly without end": "DTSTART:20260801T000000Z\nRRULE:FREQ=SECONDLY",
    "minutely from 1970": "DTSTART:19700101T000000Z\nRRULE:FREQ=MINUTELY",
    "secondly count 1e9": "DTSTART:20260801T000000Z\nRRULE:FREQ=SECONDLY;COUNT=1000000000",
    "hourly every second": "DTSTART:20260801T000000Z\nRRULE:FREQ=HOURLY;BYMINUTE="
    + ",".join(map(str, range(60)))
    + ";BYSECOND="
    + ",".join(map(str, range(60))),
    "daily from year 1": "DTSTART:00010101T000000Z\nRRULE:FREQ=DAILY",
    "hourly from 1970": "DTSTART:19700101T000000Z\nRRULE:FREQ=HOURLY",
}


@pytest.mark.parametrize("rule", BOMBS.values(), ids=BOMBS.keys())
def test_recurrence_bombs_are_refused_fast_without_dropping_the_rest(rule: str) -> None:
    data = ics(SIMPLE, f"UID:bomb\n{rule}\nDURATION:PT1S")
    began = time.perf_counter()
    result = normalize(data, AUGUST, default_zone="UTC", source="x")
    assert time.perf_counter() - began < 0.5
    assert [e.external_id for e in result.events] == ["simple"]
    assert [(p.kind, p.uid) for p in result.problems] == [("skipped", "bomb")]
    assert "too expensive" in result.problems[0].reason


@pytest.mark.parametrize(
    "rule",
    [
        "DTSTART:99990101T000000Z\nRRULE:FREQ=DAILY",
        "DTSTART:20260801T000000Z\nRRULE:FREQ=DAILY;UNTIL=20260101T000000Z",
        "DTSTART:20260801T000000Z\nRRULE:FREQ=MINUTELY;COUNT=5",
    ],
    ids=["year 9999", "until before dtstart", "short minutely"],
)
def test_harmless_odd_rules_expand_quickly(rule: str) -> None:
    began = time.perf_counter()
    result = run(ics(f"UID:odd\n{rule}\nDURATION:PT30S"), AUGUST, default_zone="UTC")
    assert time.perf_counter() - began < 1
    assert len(result.events) <= 5
    assert not [p for p in result.problems if p.kind == "skipped"]
