"""TZID resolution in normalization (issue 4 item 2; timezones.py's chain), on inline calendars.

Every normalization also runs with the components reversed (``run`` here), which puts each
VTIMEZONE after the events that use it. The reversal is done on the text: the shared helper
re-parses with icalendar, which fails on ``TZID=Europe`` and warns on guessed TZIDs.
"""

from __future__ import annotations

import time

import pytest

from openslots.sync.normalize import NormalizedCalendar, normalize
from tests.sync import busy, ics, window


def run(data: bytes, span: tuple[int, int], **options: object) -> NormalizedCalendar:
    """Normalize ``data`` and its component-reversed twin; both must give the same answer."""
    kwargs: dict[str, object] = {"default_zone": "Europe/Berlin", "source": "test", **options}
    result = normalize(data, span, **kwargs)  # type: ignore[arg-type]
    twin = normalize(reversed_text(data), span, **kwargs)  # type: ignore[arg-type]
    assert twin.events == result.events
    assert twin.problems == result.problems
    return result


def reversed_text(data: bytes) -> bytes:
    """One VCALENDAR with its components (VEVENT, VTIMEZONE blocks) in reverse order."""
    lines = data.decode().split("\r\n")
    head: list[str] = []
    blocks: list[list[str]] = []
    depth = 0
    for line in lines[1:-2]:  # inside BEGIN:VCALENDAR ... END:VCALENDAR
        if depth == 0 and not line.startswith("BEGIN:"):
            head.append(line)
            continue
        if depth == 0:
            blocks.append([])
        blocks[-1].append(line)
        depth += line.startswith("BEGIN:") - line.startswith("END:")
    body = [line for block in reversed(blocks) for line in block]
    return "\r\n".join([lines[0], *head, *body, *lines[-2:]]).encode()


def zone(text: str) -> str:
    return "\n".join(line.strip() for line in text.strip().splitlines())


SUMMER_TO_WINTER = window("2026-08-01T00:00", "2026-12-31T00:00")

# Outlook's export of a zone it has no name for: W. Europe rules, written from 1601.
CUSTOMIZED_W_EUROPE = zone("""
    BEGIN:VTIMEZONE
    TZID:Customized Time Zone
    BEGIN:STANDARD
    DTSTART:16010101T030000
    TZOFFSETFROM:+0200
    TZOFFSETTO:+0100
    RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10
    END:STANDARD
    BEGIN:DAYLIGHT
    DTSTART:16010101T020000
    TZOFFSETFROM:+0100
    TZOFFSETTO:+0200
    RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3
    END:DAYLIGHT
    END:VTIMEZONE
""")
# The same name, another zone: +05:30 all year.
CUSTOMIZED_FIXED = zone("""
    BEGIN:VTIMEZONE
    TZID:Customized Time Zone
    BEGIN:STANDARD
    DTSTART:16010101T000000
    TZOFFSETFROM:+0530
    TZOFFSETTO:+0530
    END:STANDARD
    END:VTIMEZONE
""")
# A zone no IANA zone matches: +05:30 in winter, +06:30 from the 2nd Sunday of March 02:00 to
# the 1st Sunday of November 02:00 (US dates).
OFFICE_TIME = zone("""
    BEGIN:VTIMEZONE
    TZID:Office Time
    BEGIN:STANDARD
    DTSTART:16010101T020000
    TZOFFSETFROM:+0630
    TZOFFSETTO:+0530
    RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11
    END:STANDARD
    BEGIN:DAYLIGHT
    DTSTART:16010101T020000
    TZOFFSETFROM:+0530
    TZOFFSETTO:+0630
    RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3
    END:DAYLIGHT
    END:VTIMEZONE
""")


def event(uid: str, tzid: str, start: str, end: str, extra: str = "") -> str:
    return f"UID:{uid}\nDTSTART;TZID={tzid}:{start}\nDTEND;TZID={tzid}:{end}\n{extra}"


def test_a_customized_outlook_zone_follows_its_own_dst_rules() -> None:
    data = ics(
        event("summer", "Customized Time Zone", "20260827T100000", "20260827T110000"),
        event("winter", "Customized Time Zone", "20261203T100000", "20261203T110000"),
        # Weekly across the change on 2026-10-25: 10:00 local stays 10:00 local.
        event(
            "weekly",
            "Customized Time Zone",
            "20261019T100000",
            "20261019T103000",
            "RRULE:FREQ=WEEKLY;COUNT=2",
        ),
        header=CUSTOMIZED_W_EUROPE,
    )
    result = run(data, SUMMER_TO_WINTER, default_zone="UTC")
    assert busy(result) == {
        ("2026-08-27T08:00", "2026-08-27T09:00", "busy"),
        ("2026-12-03T09:00", "2026-12-03T10:00", "busy"),
        ("2026-10-19T08:00", "2026-10-19T08:30", "busy"),
        ("2026-10-26T09:00", "2026-10-26T09:30", "busy"),
    }
    assert result.problems == ()


def test_a_vtimezone_matching_no_iana_zone_is_used_as_written() -> None:
    data = ics(
        event("summer", "Office Time", "20260827T100000", "20260827T110000"),
        event("winter", "Office Time", "20261203T100000", "20261203T110000"),
        header=OFFICE_TIME,
    )
    result = run(data, SUMMER_TO_WINTER, default_zone="UTC")
    assert busy(result) == {
        ("2026-08-27T03:30", "2026-08-27T04:30", "busy"),
        ("2026-12-03T04:30", "2026-12-03T05:30", "busy"),
    }
    assert result.problems == ()


def test_a_file_zone_reads_gaps_and_repeated_hours_like_zoneinfo() -> None:
    # 02:30 on 2026-03-08 does not exist in Office Time: read with the offset before the gap
    # (+05:30). 01:30 on 2026-11-01 happens twice: the earlier instant (+06:30).
    data = ics(
        event("gap", "Office Time", "20260308T023000", "20260308T043000"),
        event("twice", "Office Time", "20261101T013000", "20261101T023000"),
        header=OFFICE_TIME,
    )
    result = run(data, window("2026-03-01T00:00", "2026-11-30T00:00"), default_zone="UTC")
    assert busy(result) == {
        ("2026-03-07T21:00", "2026-03-07T22:00", "busy"),
        ("2026-10-31T19:00", "2026-10-31T21:00", "busy"),
    }


def test_two_feeds_with_the_same_custom_tzid_keep_their_own_zones() -> None:
    # icalendar caches a VTIMEZONE per TZID for the whole process; a feed must never see
    # another feed's definition.
    one = event("x", "Customized Time Zone", "20260827T100000", "20260827T110000")
    europe = ics(one, header=CUSTOMIZED_W_EUROPE)
    india = ics(one, header=CUSTOMIZED_FIXED)
    expected_europe = {("2026-08-27T08:00", "2026-08-27T09:00", "busy")}
    expected_india = {("2026-08-27T04:30", "2026-08-27T05:30", "busy")}
    for data, expected in [(europe, expected_europe), (india, expected_india)] * 2:
        assert busy(run(data, SUMMER_TO_WINTER, default_zone="UTC")) == expected


def test_a_windows_tzid_whose_vtimezone_disagrees_follows_the_vtimezone() -> None:
    # Mislabelled export: the name says New York, the VTIMEZONE says Central Europe.
    header = CUSTOMIZED_W_EUROPE.replace("Customized Time Zone", "Eastern Standard Time")
    data = ics(
        event("x", "Eastern Standard Time", "20260827T100000", "20260827T110000"), header=header
    )
    result = run(data, SUMMER_TO_WINTER, default_zone="UTC")
    assert busy(result) == {("2026-08-27T08:00", "2026-08-27T09:00", "busy")}
    assert result.problems == ()


def test_a_vtimezone_tzid_with_a_stray_colon_still_defines_the_events_zone() -> None:
    header = OFFICE_TIME.replace("TZID:Office Time", "TZID:Office Time:")
    data = ics(event("x", "Office Time", "20260827T100000", "20260827T110000"), header=header)
    assert busy(run(data, SUMMER_TO_WINTER, default_zone="UTC")) == {
        ("2026-08-27T03:30", "2026-08-27T04:30", "busy")
    }


@pytest.mark.parametrize(
    ("tzid", "zone"),
    [
        ("Eastern Standard Time 1", "America/New_York"),  # Outlook's numbered copy
        ("eastern standard time", "America/New_York"),
        ("/mozilla.org/20070129_1/America/New_York", "America/New_York"),
        ("america/new_york", "America/New_York"),
        # Display names hold ":" and ",", so exports quote them.
        ('"(UTC-05:00) Eastern Time (US & Canada), New York"', "America/New_York"),
    ],
)
def test_a_guessable_tzid_without_vtimezone_is_guessed_with_a_warning(tzid: str, zone: str) -> None:
    data = ics(event("x", tzid, "20260827T100000", "20260827T110000"))
    result = run(data, SUMMER_TO_WINTER, default_zone="Asia/Tokyo")
    assert busy(result) == {("2026-08-27T14:00", "2026-08-27T15:00", "busy")}
    assert [(p.kind, p.uid) for p in result.problems] == [("warning", "x")]
    assert zone in result.problems[0].reason


def test_a_display_name_tzid_is_read_as_its_first_city() -> None:
    tzid = '"(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna"'
    data = ics(event("x", tzid, "20260827T100000", "20260827T110000"))
    result = run(data, SUMMER_TO_WINTER, default_zone="UTC")
    assert busy(result) == {("2026-08-27T08:00", "2026-08-27T09:00", "busy")}
    assert "Europe/Amsterdam" in result.problems[0].reason


@pytest.mark.parametrize("default_zone", ["UTC", "America/Sao_Paulo"])
def test_a_display_name_tzid_without_a_known_city_uses_its_stated_offset(
    default_zone: str,
) -> None:
    # No IANA zone is called Brasília: the stated -03:00 (Sao Paulo has it, so it is used).
    data = ics(event("x", '"(UTC-03:00) Brasília"', "20260827T100000", "20260827T110000"))
    result = run(data, SUMMER_TO_WINTER, default_zone=default_zone)
    assert busy(result) == {("2026-08-27T13:00", "2026-08-27T14:00", "busy")}
    assert [(p.kind, p.uid) for p in result.problems] == [("warning", "x")]


@pytest.mark.parametrize("tzid", ["Europe", "America", "Etc", "Nowhere/Land", "../../etc/passwd"])
def test_an_unresolvable_tzid_costs_only_a_warning_never_the_feed(tzid: str) -> None:
    # tzdata raises IsADirectoryError for TZID=Europe; it once failed the whole feed.
    data = ics(
        event("bad", tzid, "20260827T100000", "20260827T110000"),
        "UID:good\nDTSTART:20260828T100000Z\nDTEND:20260828T110000Z",
        header="X-WR-TIMEZONE:Asia/Tokyo",
    )
    result = run(data, SUMMER_TO_WINTER, default_zone="UTC")
    assert busy(result) == {
        ("2026-08-27T01:00", "2026-08-27T02:00", "busy"),  # 10:00 in Tokyo
        ("2026-08-28T10:00", "2026-08-28T11:00", "busy"),
    }
    assert [(p.kind, p.uid) for p in result.problems] == [("warning", "bad")]
    assert "Asia/Tokyo" in result.problems[0].reason


def test_an_unresolvable_tzid_on_a_utc_time_keeps_the_utc_instant() -> None:
    data = ics(event("z", "Europe", "20260827T100000Z", "20260827T110000Z"))
    result = run(data, SUMMER_TO_WINTER, default_zone="Asia/Tokyo")
    assert busy(result) == {("2026-08-27T10:00", "2026-08-27T11:00", "busy")}
    assert result.problems == ()


def test_an_unusable_vtimezone_is_reported_and_its_tzid_read_in_the_calendar_zone() -> None:
    # A SECONDLY rule in a STANDARD block would walk billions of onsets.
    header = OFFICE_TIME.replace("RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11", "RRULE:FREQ=SECONDLY")
    data = ics(event("x", "Office Time", "20260827T100000", "20260827T110000"), header=header)
    began = time.perf_counter()
    result = normalize(data, SUMMER_TO_WINTER, default_zone="Europe/Paris", source="x")
    assert time.perf_counter() - began < 1
    assert busy(result) == {("2026-08-27T08:00", "2026-08-27T09:00", "busy")}
    assert [(p.kind, p.uid) for p in result.problems] == [("warning", "x")]
    assert "not usable" in result.problems[0].reason


def test_a_vtimezone_onset_that_never_happens_is_skipped_quickly() -> None:
    # Daylight time from 30 February: never, so +05:30 all year. dateutil would look for a
    # 30 February until year 9999 (0.6 s per look).
    header = OFFICE_TIME.replace("BYDAY=2SU;BYMONTH=3", "BYMONTHDAY=30;BYMONTH=2")
    data = ics(event("x", "Office Time", "20260827T100000", "20260827T110000"), header=header)
    began = time.perf_counter()
    result = normalize(data, SUMMER_TO_WINTER, default_zone="UTC", source="x")
    assert time.perf_counter() - began < 0.3
    assert busy(result) == {("2026-08-27T04:30", "2026-08-27T05:30", "busy")}
    assert result.problems == ()


def test_a_date_with_a_tzid_is_midnight_there_as_icalendar_reads_it() -> None:
    data = ics(
        "UID:d\nDTSTART;TZID=America/New_York:20260827\nDTEND;TZID=America/New_York:20260828"
    )
    assert busy(run(data, SUMMER_TO_WINTER, default_zone="UTC")) == {
        ("2026-08-27T04:00", "2026-08-28T04:00", "busy")
    }


def test_x_wr_timezone_keeps_the_range_of_a_thisandfuture_override() -> None:
    # x-wr-timezone rebuilds the UTC RECURRENCE-ID without its RANGE parameter, which turned
    # the override into a single moved instance; the 24th must move too.
    data = ics(
        "UID:r\nDTSTART:20260803T090000Z\nDTEND:20260803T100000Z\nRRULE:FREQ=WEEKLY;COUNT=4",
        "UID:r\nRECURRENCE-ID;RANGE=THISANDFUTURE:20260817T090000Z\n"
        "DTSTART:20260817T130000Z\nDTEND:20260817T140000Z",
        header="X-WR-TIMEZONE:Europe/London",
    )
    result = run(data, window("2026-08-01T00:00", "2026-09-01T00:00"), default_zone="UTC")
    assert busy(result) == {
        ("2026-08-03T09:00", "2026-08-03T10:00", "busy"),
        ("2026-08-10T09:00", "2026-08-10T10:00", "busy"),
        ("2026-08-17T13:00", "2026-08-17T14:00", "busy"),
        ("2026-08-24T13:00", "2026-08-24T14:00", "busy"),
    }
