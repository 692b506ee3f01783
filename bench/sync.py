"""Benchmark of calendar sync: normalizing a large feed, and what an unchanged feed costs.

The feed (fixed seed, so every run reads the same bytes) holds 10,000 VEVENTs:

* 200 recurring series, half weekly (one to three weekdays), half daily (every day or every
  other day), starting up to 400 days before the window, some ended by UNTIL or COUNT; two
  EXDATEs each inside the window; every second series has a moved override (RECURRENCE-ID),
  every fifth a cancelled one;
* one-off events for the rest, spread from 135 days before the window to 135 days after it,
  15 minutes to 3 hours long, a few all-day, transparent or tentative;
* times in UTC or with a TZID of New York, Berlin, Kolkata, Sydney or Auckland, each zone with
  its VTIMEZONE, as Google and Exchange exports carry them.

Measured, as medians:

1. ``icalendar.Calendar.from_ical`` alone on the bytes (the parse every reading starts with);
2. ``openslots.sync.normalize.normalize`` for a 90-day window: the busy occurrences the worker
   stores, and occurrences per second;
3. through the real ICS connector (found by its entry point, as the worker finds it) and the
   real SSRF-guarded client against the local feed server on 127.0.0.1: a first sync (fetch
   and normalize), a sync answered ``304 Not Modified``, and a sync of a feed without
   validators whose body is unchanged (fetched again, compared by SHA-256, not parsed).

    python bench/sync.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from openslots.sync.contract import Connector, SyncRequest, SyncWindow
from openslots.sync.fetch import Fetcher
from openslots.sync.normalize import normalize
from openslots.sync.registry import ConnectorRegistry

# The local feed server is the tests' fake, shared so both exercise the same server.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.fakes.ics_server import IcsServer

EVENTS = 10_000
SERIES = 200
WINDOW_START = datetime(2026, 12, 1, tzinfo=UTC)
WINDOW_DAYS = 90
ZONES = (
    "America/New_York",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Pacific/Auckland",
)
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR")


def _local(instant: datetime, zone: str | None) -> tuple[str, str]:
    """(property parameters, value) for ``instant`` in UTC (``zone`` None) or in ``zone``."""
    if zone is None:
        return "", instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f";TZID={zone}", instant.astimezone(ZoneInfo(zone)).strftime("%Y%m%dT%H%M%S")


def _times(start: datetime, end: datetime, zone: str | None) -> list[str]:
    params, value = _local(start, zone)
    end_params, end_value = _local(end, zone)
    return [f"DTSTART{params}:{value}", f"DTEND{end_params}:{end_value}"]


def _series(rng: random.Random, index: int) -> list[list[str]]:
    """One recurring series: its master and its overrides, as VEVENT property lines."""
    zone = ZONES[index % len(ZONES)]
    tz = ZoneInfo(zone)
    uid = f"series-{index}@bench.openslots"
    first_day = (WINDOW_START - timedelta(days=rng.randint(10, 400))).astimezone(tz).date()
    start = datetime(
        first_day.year, first_day.month, first_day.day, rng.randint(7, 17), 0, tzinfo=tz
    )
    length = timedelta(minutes=rng.choice((30, 45, 60, 90)))
    if index % 2:
        days = sorted(rng.sample(WEEKDAYS, rng.randint(1, 3)), key=WEEKDAYS.index)
        rule, step = f"FREQ=WEEKLY;BYDAY={','.join(days)}", timedelta(days=7)
        # The master's start must be one of its own occurrences.
        while start.strftime("%a").upper()[:2] != days[0]:
            start += timedelta(days=1)
    else:
        interval = rng.choice((1, 2))
        rule, step = f"FREQ=DAILY;INTERVAL={interval}", timedelta(days=interval)
    if index % 10 == 3:
        rule += ";UNTIL=" + (WINDOW_START - timedelta(days=5)).strftime("%Y%m%dT%H%M%SZ")
    elif index % 10 == 7:
        rule += f";COUNT={rng.randint(50, 500)}"
    # Occurrences inside the window, found by stepping from the master (weekly series step
    # from their first weekday, enough for EXDATEs and overrides).
    inside = []
    moment = start
    while moment.astimezone(UTC) < WINDOW_START + timedelta(days=WINDOW_DAYS):
        if moment.astimezone(UTC) >= WINDOW_START:
            inside.append(moment)
        moment = datetime.combine(moment.date() + step, moment.timetz())
    picked = rng.sample(inside, min(4, len(inside)))
    master = [f"UID:{uid}", f"SUMMARY:Series {index}", *_times(start, start + length, zone)]
    master.append(f"RRULE:{rule}")
    master += [f"EXDATE;TZID={zone}:{_local(d, zone)[1]}" for d in picked[:2]]
    components = [master]
    if index % 2 == 0 and len(picked) > 2:
        original = picked[2]
        moved = original + timedelta(hours=1)
        components.append(
            [
                f"UID:{uid}",
                f"RECURRENCE-ID;TZID={zone}:{_local(original, zone)[1]}",
                f"SUMMARY:Series {index} (moved)",
                *_times(moved, moved + length, zone),
            ]
        )
    if index % 5 == 0 and len(picked) > 3:
        cancelled = picked[3]
        components.append(
            [
                f"UID:{uid}",
                f"RECURRENCE-ID;TZID={zone}:{_local(cancelled, zone)[1]}",
                "STATUS:CANCELLED",
                *_times(cancelled, cancelled + length, zone),
            ]
        )
    return components


def _single(rng: random.Random, index: int) -> list[str]:
    offset = timedelta(minutes=15 * rng.randint(-135 * 96, (WINDOW_DAYS + 135) * 96))
    start = WINDOW_START + offset
    lines = [f"UID:event-{index}@bench.openslots", f"SUMMARY:Event {index}"]
    if rng.random() < 0.05:
        day = start.date()
        lines += [
            f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
            f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}",
        ]
    else:
        zone = rng.choice((None, None, None, *ZONES))
        lines += _times(start, start + timedelta(minutes=15 * rng.randint(1, 12)), zone)
    draw = rng.random()
    if draw < 0.05:
        lines.append("TRANSP:TRANSPARENT")
    elif draw < 0.08:
        lines.append("STATUS:TENTATIVE")
    return lines


def _timezones() -> bytes:
    """VTIMEZONE components for :data:`ZONES`, as icalendar writes them from the zone data."""
    calendar = Calendar()
    calendar.add("PRODID", "-//openslots//bench//EN")
    for zone in ZONES:
        event = Event()
        event.add("UID", zone)
        event.add("DTSTART", WINDOW_START.astimezone(ZoneInfo(zone)))
        calendar.add_component(event)
    calendar.add_missing_timezones()
    # Sorted: icalendar adds them in an order that may differ between processes.
    found = sorted(calendar.walk("VTIMEZONE"), key=lambda tz: str(tz["TZID"]))
    return b"".join(bytes(tz.to_ical()) for tz in found)


def build_feed(seed: int = 7) -> bytes:
    """The benchmark feed: :data:`EVENTS` VEVENTs, :data:`SERIES` of them recurring series."""
    rng = random.Random(seed)
    components: list[list[str]] = []
    for index in range(SERIES):
        components += _series(rng, index)
    components += [_single(rng, i) for i in range(EVENTS - len(components))]
    stamp = "DTSTAMP:20261120T120000Z"
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//openslots//bench//EN"]
    head.append("X-WR-CALNAME:Benchmark")
    lines: list[str] = []
    for properties in components:
        lines += ["BEGIN:VEVENT", *properties, stamp, "END:VEVENT"]
    lines.append("END:VCALENDAR")
    text = ("\r\n".join(head) + "\r\n").encode(), ("\r\n".join(lines) + "\r\n").encode()
    return text[0] + _timezones() + text[1]


def measure(run: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(first run ms, median ms over ``repeat`` runs)."""
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        timings.append((time.perf_counter() - started) * 1000)
    return timings[0], statistics.median(timings)


def measure_syncs(
    connector: Connector,
    make: Callable[[str | None], SyncRequest],
    repeat: int,
    between: Callable[[], None],
) -> tuple[float, float, float]:
    """(ms of a first sync, without a cursor; median ms of ``repeat`` syncs, each from the
    previous one's cursor; the same after ``between`` ran). The feed's body never changes."""

    async def go() -> tuple[float, float, float]:
        started = time.perf_counter()
        result = await connector.sync(make(None))
        first = (time.perf_counter() - started) * 1000
        medians: list[float] = []
        for _ in range(2):
            again: list[float] = []
            for _ in range(repeat):
                cursor = result.cursors["default"]
                started = time.perf_counter()
                result = await connector.sync(make(cursor))
                again.append((time.perf_counter() - started) * 1000)
                part = result.calendars[0]
                assert getattr(part, "upserted", None) == (), "an unchanged feed is a no-op"
            medians.append(statistics.median(again))
            between()
        return first, medians[0], medians[1]

    return asyncio.run(go())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (for CI smoke)")
    args = parser.parse_args()
    parse_repeat, sync_repeat = (1, 10) if args.quick else (3, 50)

    feed = build_feed()
    start = int(WINDOW_START.timestamp())
    window = SyncWindow(start, start + WINDOW_DAYS * 86_400)
    series = sum(1 for line in feed.splitlines() if line.startswith(b"RRULE:"))
    events = feed.count(b"BEGIN:VEVENT")
    print(
        f"feed: {events:,} VEVENTs, {series} recurring series, {len(feed) / 1e6:.2f} MB; "
        f"window {WINDOW_START:%Y-%m-%d} + {WINDOW_DAYS} days"
    )

    found: list[int] = []

    def normalize_feed() -> None:
        result = normalize(feed, (window.start, window.end), default_zone="UTC", source="bench")
        found.append(len(result.events))

    parse_first, parse_median = measure(lambda: Calendar.from_ical(feed), parse_repeat)
    norm_first, norm_median = measure(normalize_feed, parse_repeat)

    connector = ConnectorRegistry().get("ics")
    with IcsServer() as server, Fetcher(allow_private_networks=True) as fetcher:
        server.set_feed("/feed.ics", feed)
        settings, credentials = connector.separate_secrets({"url": server.url("/feed.ics")}, {})

        def make(cursor: str | None) -> SyncRequest:
            return SyncRequest(
                settings=settings,
                credentials=credentials,
                window=window,
                http_client=fetcher.async_client,
                cursors={"default": cursor} if cursor else {},
            )

        def drop_validators() -> None:
            # The same bytes from a server that sends no ETag or Last-Modified and ignores
            # conditional requests: every sync gets the body and compares its SHA-256.
            server.set_feed("/feed.ics", feed, etag=False, last_modified=False)

        full, not_modified, same_body = measure_syncs(connector, make, sync_repeat, drop_validators)
        statuses = [r.status for r in server.requests_for("/feed.ics")]
        assert statuses == [200] + [304] * sync_repeat + [200] * sync_repeat, statuses

    print(f"\n{'step':<38}{'first ms':>10}{'median ms':>11}{'runs':>6}")
    rows = [
        ("icalendar Calendar.from_ical", parse_first, parse_median, parse_repeat),
        (f"normalize, {WINDOW_DAYS}-day window", norm_first, norm_median, parse_repeat),
        ("ics sync, first (fetch + normalize)", full, full, 1),
        ("ics sync, 304 Not Modified", None, not_modified, sync_repeat),
        ("ics sync, unchanged body (sha256)", None, same_body, sync_repeat),
    ]
    for name, first, median, runs in rows:
        shown = f"{first:>10.2f}" if first is not None else f"{'':>10}"
        print(f"{name:<38}{shown}{median:>11.2f}{runs:>6}")
    occurrences = found[-1]
    print(
        f"\noccurrences in the window: {occurrences:,}, "
        f"{occurrences / (norm_median / 1000):,.0f} per second of normalize; "
        f"normalize takes {norm_median / parse_median:.1f} x the bare parse"
    )
    print(
        f"an unchanged feed costs {not_modified:.2f} ms (304) or {same_body:.2f} ms (same body): "
        f"{norm_median / not_modified:,.0f} x and {norm_median / same_body:,.0f} x less than "
        "normalizing it"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
