"""The normalizer's fast paths give the right answer on a realistic feed.

The feed looks like a Google export: X-WR-TIMEZONE, a VTIMEZONE, one-off events in UTC, in
Europe/Berlin and all-day, spread over three years, with Meet descriptions and attendees, plus
weekly, daily and monthly series with EXDATEs and moved instances. Every one-off event in the
window must be found at the right instant, and every series must expand. How fast that is
(against ``Calendar.from_ical`` on the same bytes) is measured by ``bench/sync.py``, not here:
timings on a shared machine make flaky tests.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from openslots.sync.normalize import normalize
from tests.sync import window

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 8, 1, tzinfo=UTC)
WINDOW_90_DAYS = window("2026-07-31T00:00", "2026-10-29T00:00")
VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Europe/Berlin
X-LIC-LOCATION:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE"""
RULES = (
    "FREQ=WEEKLY;BYDAY=MO",
    "FREQ=WEEKLY;BYDAY=MO,WE,FR",
    "FREQ=DAILY",
    "FREQ=MONTHLY;BYDAY=1TU",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH",
)
Busy = set[tuple[str, int, int, str]]


def feed(events: int, series: int, seed: int = 7) -> tuple[bytes, Busy]:
    """A feed of ``events`` VEVENTs of which ``series`` recur, and the busy one-off events
    (external id, start, end, kind) it holds in the 90-day window."""
    rng = random.Random(seed)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Google Inc//Google Calendar 70.9054//EN",
        "X-WR-TIMEZONE:Europe/Berlin",
        VTIMEZONE,
    ]
    count = 0
    for index in range(series):
        uid = f"series-{index}@google.com"
        start = (NOW - timedelta(days=rng.randint(30, 2000))).replace(
            hour=rng.randint(7, 17), minute=rng.choice([0, 30])
        )
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid}",
            f"DTSTART;TZID=Europe/Berlin:{start:%Y%m%dT%H%M%S}",
            f"DTEND;TZID=Europe/Berlin:{start + timedelta(minutes=45):%Y%m%dT%H%M%S}",
            f"RRULE:{RULES[index % len(RULES)]}",
            "SUMMARY:Recurring sync",
            "ATTENDEE;CN=Owner;PARTSTAT=ACCEPTED:mailto:owner@example.com",
        ]
        if index % 3 == 0:
            lines.append(f"EXDATE;TZID=Europe/Berlin:{start + timedelta(days=7):%Y%m%dT%H%M%S}")
        lines.append("END:VEVENT")
        count += 1
        if index % 5 in (0, 2) and index % 2 == 0:  # a weekly or daily one: move an instance
            step = timedelta(days=7 if index % 5 == 0 else 1)
            moved = start + step * ((NOW - start) // step + 3)
            lines += [
                "BEGIN:VEVENT",
                f"UID:{uid}",
                f"RECURRENCE-ID;TZID=Europe/Berlin:{moved:%Y%m%dT%H%M%S}",
                f"DTSTART;TZID=Europe/Berlin:{moved + timedelta(hours=2):%Y%m%dT%H%M%S}",
                f"DTEND;TZID=Europe/Berlin:{moved + timedelta(hours=3):%Y%m%dT%H%M%S}",
                "SEQUENCE:1",
                "END:VEVENT",
            ]
            count += 1
    expected: Busy = set()
    index = 0
    while count < events:
        index += 1
        uid = f"{index:06d}@google.com"
        day = NOW + timedelta(days=rng.randint(-730, 365))
        start = day.replace(hour=rng.randint(6, 18), minute=rng.choice([0, 15, 30, 45]))
        length = timedelta(minutes=rng.choice([15, 30, 60, 90]))
        shape = rng.random()
        if shape < 0.1:
            first = datetime.combine(day.date(), datetime.min.time(), tzinfo=BERLIN)
            times = [
                f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
                f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}",
            ]
            span = (first, first + timedelta(days=1))
        elif shape < 0.6:
            times = [f"DTSTART:{start:%Y%m%dT%H%M%SZ}", f"DTEND:{start + length:%Y%m%dT%H%M%SZ}"]
            span = (start, start + length)
        else:
            local = start.replace(tzinfo=BERLIN)
            times = [
                f"DTSTART;TZID=Europe/Berlin:{local:%Y%m%dT%H%M%S}",
                f"DTEND;TZID=Europe/Berlin:{local + length:%Y%m%dT%H%M%S}",
            ]
            span = (local, local + length)
        free = rng.random() < 0.05
        kind = "tentative" if rng.random() < 0.05 else "busy"
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid}",
            *times,
            "DTSTAMP:20260701T000000Z",
            f"SUMMARY:Meeting number {index} about the quarterly planning",
            "DESCRIPTION:Join with Google Meet: https://meet.google.com/abc-defg-hij\\nOr dial:"
            " (US) +1 555-0100 PIN: 123456789#\\nLearn more about Meet at: https://support.goo"
            "gle.com/a/users/answer/9282720",
            "LOCATION:Room 4.12\\, Building B",
            "ATTENDEE;CN=owner@example.com;PARTSTAT=NEEDS-ACTION:mailto:owner@example.com",
            *(["TRANSP:TRANSPARENT"] if free else []),
            *(["STATUS:TENTATIVE"] if kind == "tentative" else []),
            "END:VEVENT",
        ]
        count += 1
        first_second, last_second = (int(moment.timestamp()) for moment in span)
        if not free and last_second > WINDOW_90_DAYS[0] and first_second < WINDOW_90_DAYS[1]:
            expected.add((uid, first_second, last_second, kind))
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode(), expected


def test_a_realistic_feed_is_read_exactly() -> None:
    data, expected = feed(events=1_000, series=20)
    result = normalize(data, WINDOW_90_DAYS, default_zone="UTC", source="x")
    found = {(e.external_id, e.start, e.end, e.kind) for e in result.events}
    assert {e for e in found if "#" not in e[0]} == expected
    assert {e[0].split("#")[0] for e in found if "#" in e[0]} == {
        f"series-{i}@google.com" for i in range(20)
    }
    assert result.problems == ()
