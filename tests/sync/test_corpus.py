"""Normalization of the shared real-world corpus (``shared/corpus/ics``, SYNC-NOTES §7).

Every file loads (broken ones raise FeedInvalid or record problems, never crash), and the busy
sets of the files below are asserted with expectations read off the .ics files themselves.
Every normalization here also runs with each calendar's components reversed (``run``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from openslots.errors import FeedInvalid
from openslots.sync.normalize import normalize
from tests.sync import busy, reversed_components, run, window

# CI clones the repo with shared/ beside it: <repo>/../shared/corpus/ics.
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "ics"
if not CORPUS.is_dir():
    pytest.skip(
        f"the shared ICS corpus is missing: expected it at {CORPUS}", allow_module_level=True
    )

# ``run`` re-serializes each file with icalendar to reverse its components, and icalendar warns
# when it parses a globally unique TZID (normalization itself no longer asks icalendar).
pytestmark = pytest.mark.filterwarnings("ignore::icalendar.error.GloballyUniqueTZIDGuessed")

FILES = sorted(path.name for path in CORPUS.glob("*.ics"))
EVERYTHING = window("1900-01-01T00:00", "2100-01-01T00:00")
UNPARSABLE = {"issue_104_broken_calendar.ics"}


def read(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def test_the_corpus_is_there() -> None:
    assert len(FILES) >= 27


@pytest.mark.parametrize("name", FILES)
def test_every_file_loads(name: str) -> None:
    if name in UNPARSABLE:
        with pytest.raises(FeedInvalid):
            normalize(read(name), EVERYTHING, default_zone="Europe/Berlin", source="corpus")
        return
    result = run(read(name), window("2000-01-01T00:00", "2030-01-01T00:00"))
    assert all(event.start < event.end for event in result.events)
    assert len({event.external_id for event in result.events}) == len(result.events)
    assert [(b.start, b.end, b.kind) for b in result.blocks()] == [
        (e.start, e.end, e.kind) for e in result.events
    ]
    assert {block.source for block in result.blocks()} <= {"test"}


def test_swapped_start_and_end_is_swapped_back() -> None:
    # DTSTART 23:45, DTEND 23:30 Europe/Paris (CET, +01:00) on 2023-12-18; the VTODO is ignored.
    result = run(read("issue_132_swapped_start_and_end.ics"), EVERYTHING)
    assert busy(result) == {("2023-12-18T22:30", "2023-12-18T22:45", "busy")}
    assert [e.external_id for e in result.events] == ["84A72-65798A00-5-20465200"]


def test_globally_unique_tzids_are_guessed() -> None:
    # 14:00 local on 2020-04-26 in Berlin (+02), New York (-04) and Buenos Aires (-03).
    result = run(read("issue_313_globally_unique_tzid.ics"), EVERYTHING)
    assert busy(result) == {
        ("2020-04-26T12:00", "2020-04-26T13:00", "busy"),
        ("2020-04-26T18:00", "2020-04-26T19:00", "busy"),
        ("2020-04-26T17:00", "2020-04-26T18:00", "busy"),
    }
    # icalendar warns about the guess only the first time it meets a TZID in a process, so
    # the warning it may add to ``problems`` is not asserted here.


def test_explicit_tzid_wins_over_x_wr_timezone() -> None:
    # DTSTART;TZID=America/New_York:20211222T170000Z → 17:00 in New York (EST, -05:00).
    result = run(read("single-event-x-wr-timezone-not-used.in.ics"), EVERYTHING)
    assert busy(result) == {("2021-12-22T22:00", "2021-12-22T23:00", "busy")}


def test_utc_times_stay_utc_under_another_x_wr_timezone() -> None:
    result = run(read("alarm_google_future.ics"), EVERYTHING)
    assert busy(result) == {("2024-10-04T18:15", "2024-10-04T19:00", "busy")}


def test_exdate_of_the_only_start_leaves_nothing() -> None:
    assert busy(run(read("exdate-hackerpublicradio-modified.in.ics"), EVERYTHING)) == set()


def test_events_without_dtend_are_zero_length_so_not_busy() -> None:
    result = run(read("issue_722_timezone_transition_ambiguity.ics"), EVERYTHING)
    assert busy(result) == set()
    assert not [p for p in result.problems if p.kind == "skipped"]


def test_a_malformed_rrule_skips_that_series_and_says_so() -> None:
    result = run(read("bad_rrule_missing_until_event.ics"), EVERYTHING)
    assert busy(result) == set()
    assert [(p.kind, p.uid) for p in result.problems] == [("skipped", "blabla")]
    assert "UNTIL" in result.problems[0].reason


def test_an_escaped_semicolon_in_an_rrule_skips_that_series() -> None:
    result = run(read("issue_165_missing_event.ics"), EVERYTHING)
    assert busy(result) == set()
    assert [p.kind for p in result.problems] == ["skipped"]


def test_a_file_that_does_not_parse_raises_feed_invalid() -> None:
    with pytest.raises(FeedInvalid, match="does not parse") as caught:
        normalize(read("issue_104_broken_calendar.ics"), EVERYTHING, default_zone="UTC", source="x")
    assert caught.value.code == "feed_invalid"


@pytest.mark.parametrize("name", ["Germany_Holidays.ics", "issue_44_double_event.ics"])
def test_transparent_all_day_events_are_not_busy(name: str) -> None:
    assert busy(run(read(name), EVERYTHING)) == set()


def test_a_quoted_windows_tzid_uses_the_files_vtimezone() -> None:
    # 12:00 "Pacific Standard Time" on 2017-02-24: the VTIMEZONE says -08:00 in February.
    result = run(read("timezone_same_start.ics"), EVERYTHING)
    assert busy(result) == {("2017-02-24T20:00", "2017-02-24T20:30", "busy")}


def test_a_non_ascii_display_name_tzid_uses_the_files_vtimezone() -> None:
    # 13:30 "(UTC-03:00) Brasília" on 2017-05-11: outside its Oct-Feb summer time, so -03:00.
    result = run(read("issue_237_fail_to_parse_timezone_with_non_ascii_tzid.ics"), EVERYTHING)
    assert busy(result) == {("2017-05-11T16:30", "2017-05-11T17:00", "busy")}


def test_two_rrules_in_one_event_both_count() -> None:
    # 20 Thursdays from 2023-01-12 plus the 2nd Mondays of Feb and Mar (January's is before
    # DTSTART), 10:00-12:00 Europe/London: 10:00Z until BST starts on 2023-03-26, then 09:00Z.
    result = run(read("multiple_rrule.ics"), EVERYTHING)
    found = busy(result)
    assert len(found) == 22
    assert ("2023-02-13T10:00", "2023-02-13T12:00", "busy") in found
    assert ("2023-03-13T10:00", "2023-03-13T12:00", "busy") in found
    assert ("2023-03-23T10:00", "2023-03-23T12:00", "busy") in found
    assert ("2023-03-30T09:00", "2023-03-30T11:00", "busy") in found
    assert ("2023-05-25T09:00", "2023-05-25T11:00", "busy") in found


def test_range_thisandfuture_moves_every_later_occurrence() -> None:
    # Every 2nd day 12:00-14:00Z from 2024-09-01; from the 13th on, 09:00-16:00Z (RANGE);
    # the 15th moved alone to 17:00-19:00Z; from the 21st on, +1 day 14:22-16:13Z (RANGE).
    result = run(
        read("issue_75_range_parameter.ics"), window("2024-09-01T00:00", "2024-09-27T00:00")
    )
    found = busy(result)
    assert ("2024-09-11T12:00", "2024-09-11T14:00", "busy") in found
    assert ("2024-09-13T09:00", "2024-09-13T16:00", "busy") in found
    assert ("2024-09-15T17:00", "2024-09-15T19:00", "busy") in found
    assert ("2024-09-17T09:00", "2024-09-17T16:00", "busy") in found
    assert ("2024-09-22T14:22", "2024-09-22T16:13", "busy") in found
    assert ("2024-09-24T14:22", "2024-09-24T16:13", "busy") in found
    assert not any(
        start.startswith(("2024-09-13T12", "2024-09-21", "2024-09-23")) for start, *_ in found
    )
    ids = {e.external_id for e in result.events}
    assert "210#20240915T120000" in ids


def test_an_endless_daily_all_day_series_in_the_resource_zone_across_dst() -> None:
    # No X-WR-TIMEZONE, so the all-day days are New York days; DST starts 2026-03-08.
    result = run(
        read("one_day_event_repeat_every_day.ics"),
        window("2026-03-07T12:00", "2026-03-09T12:00"),
        default_zone="America/New_York",
    )
    assert busy(result) == {
        ("2026-03-07T05:00", "2026-03-08T05:00", "busy"),
        ("2026-03-08T05:00", "2026-03-09T04:00", "busy"),
        ("2026-03-09T04:00", "2026-03-10T04:00", "busy"),
    }
    assert {e.external_id for e in result.events} == {
        "UYDQSG9TH4DE0WM3QFL2J#20260307T000000",
        "UYDQSG9TH4DE0WM3QFL2J#20260308T000000",
        "UYDQSG9TH4DE0WM3QFL2J#20260309T000000",
    }


def test_the_endless_series_is_capped_and_reported() -> None:
    # 89 days from 2019-03-04 in the window, capped at 50: the first 50 are kept.
    result = run(
        read("one_day_event_repeat_every_day.ics"),
        window("2019-03-01T00:00", "2019-06-01T00:00"),
        max_instances_per_series=50,
    )
    assert len(result.events) == 50
    assert result.events[-1].external_id == "UYDQSG9TH4DE0WM3QFL2J#20190422T000000"
    assert [(p.kind, p.uid) for p in result.problems] == [("truncated", "UYDQSG9TH4DE0WM3QFL2J")]


def test_an_expansion_far_over_the_cap_is_refused_not_truncated() -> None:
    result = run(
        read("one_day_event_repeat_every_day.ics"), EVERYTHING, max_instances_per_series=50
    )
    assert result.events == ()
    assert [p.kind for p in result.problems] == ["skipped"]
    assert "too expensive" in result.problems[0].reason


def test_reversal_really_reorders_components() -> None:
    data = read("multiple_rrule.ics")
    assert reversed_components(read("issue_75_range_parameter.ics")) != read(
        "issue_75_range_parameter.ics"
    )
    assert b"BEGIN:VEVENT" in reversed_components(data)
