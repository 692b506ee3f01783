"""Benchmark of the slot engine: prints median compute times and a scaling ratio.

Cases (fixed seed, so every run computes the same answer):

* heavy: 20 resources, 30 days across the 2026-03-08 DST change in America/New_York, weekday
  hours 08-16, 09-17, 10-18 rotating, a 30-minute service on a 15-minute grid, 500 busy blocks per
  resource (07:00-19:00 local, 15-120 minutes); modes ``none`` and ``combined``.
* large: 200 resources, 90 days, 2,000 blocks each, mode ``none``.
* scaling: the large case's shape at 25, 50, 100 and 200 resources, to show time growing
  linearly in resources x (blocks + candidates).

Compute time is ``compute_availability`` plus rendering the JSON answer (what
``openslots slots --timing`` measures); building the scenario is not counted.

    python bench/engine.py [--quick]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from openslots.engine import (
    BusyBlock,
    Query,
    Resource,
    Scenario,
    Schedule,
    Service,
    WeeklyRule,
    compute_availability,
    render_availability,
)

ZONE = "America/New_York"
FIRST_DAY = date(2026, 2, 23)  # 30 days from here cross the spring-forward of 2026-03-08
HOURS = ((8, 16), (9, 17), (10, 18))

# Targets of the issue, on the 2-core machine (milliseconds, medians).
TARGETS = {"heavy/none": 7.0, "heavy/combined": 6.0, "large/none": 300.0}


def _instant(day: date, minute_of_day: int) -> int:
    local = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(ZONE)) + timedelta(
        minutes=minute_of_day
    )
    return int(local.timestamp())


def build_case(resources: int, days: int, blocks: int, mode: str, seed: int = 7) -> Scenario:
    rng = random.Random(seed)
    dates = [FIRST_DAY + timedelta(days=i) for i in range(days)]
    pool = []
    for index in range(resources):
        opens, closes = HOURS[index % len(HOURS)]
        schedule = Schedule(
            ZONE, tuple(WeeklyRule(day, opens * 60, closes * 60) for day in range(5))
        )
        busy = []
        for _ in range(blocks):
            length = rng.randint(15, 120)
            start_minute = rng.randint(7 * 60, 19 * 60 - length)
            start = _instant(rng.choice(dates), start_minute)
            busy.append(BusyBlock(start, start + length * 60, "busy", f"cal:{index}"))
        pool.append(Resource(f"r{index:03d}", ZONE, schedule=schedule, busy=tuple(busy)))
    ids = tuple(r.id for r in pool)
    window_start = _instant(dates[0], 0)
    window_end = _instant(dates[-1] + timedelta(days=1), 0)
    return Scenario(
        now=window_start - 86_400,
        service=Service("consult", duration=30, interval=15, resource_ids=ids),
        resources=tuple(pool),
        query=Query(
            start=window_start,
            end=window_end,
            timezone=ZONE,
            mode=mode,  # type: ignore[arg-type]
            resource_ids=ids if mode == "combined" else None,
        ),
    )


def measure(scenario: Scenario, repeat: int) -> tuple[float, float, int]:
    """(first run ms, median ms, number of slots)."""
    timings = []
    slots = 0
    for _ in range(repeat):
        began = time.perf_counter()
        answer = render_availability(compute_availability(scenario))
        timings.append((time.perf_counter() - began) * 1000)
        slots = len(answer["slots"])
    return timings[0], statistics.median(timings), slots


def candidates(scenario: Scenario) -> int:
    """Grid points of the pool in the window (every candidate the engine judges)."""
    probe = Scenario(
        now=scenario.now,
        service=scenario.service,
        resources=tuple(
            Resource(r.id, r.timezone, schedule=r.schedule) for r in scenario.resources
        ),
        query=scenario.query,
    )
    return len(compute_availability(probe).slots)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (for CI smoke)")
    args = parser.parse_args()
    heavy_repeat, large_repeat = (5, 2) if args.quick else (51, 7)

    results: dict[str, float] = {}
    print(f"{'case':<16}{'first ms':>10}{'median ms':>11}{'slots':>8}{'target ms':>11}")
    for name, (r, d, b, mode, repeat) in {
        "heavy/none": (20, 30, 500, "none", heavy_repeat),
        "heavy/combined": (20, 30, 500, "combined", heavy_repeat),
        "large/none": (200, 90, 2000, "none", large_repeat),
    }.items():
        first, median, slots = measure(build_case(r, d, b, mode), repeat)
        results[name] = median
        print(f"{name:<16}{first:>10.2f}{median:>11.2f}{slots:>8}{TARGETS[name]:>11.1f}")

    print("\nscaling (90 days, 2,000 blocks per resource, mode none)")
    print(f"{'resources':>9}{'work units':>12}{'median ms':>11}{'ns/unit':>9}")
    per_unit = []
    for r in (25, 50, 100, 200):
        scenario = build_case(r, 90, 2000, "none")
        work = r * (2000 + candidates(scenario))
        _, median, _ = measure(scenario, large_repeat)
        per_unit.append(median * 1e6 / work)
        print(f"{r:>9}{work:>12}{median:>11.2f}{per_unit[-1]:>9.1f}")
    print(f"ratio of time per unit, 200 vs 25 resources: {per_unit[-1] / per_unit[0]:.2f}")

    missed = [n for n, ms in results.items() if ms > TARGETS[n]]
    print("\ntargets: " + ("all met" if not missed else "missed " + ", ".join(missed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
