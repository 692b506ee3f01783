"""DESIGN §3, modes and pools: which resources a slot lists (``none``, ``random``, ``balanced``,
``combined``), the pool's grid, and ``query.resource_ids`` narrowing the pool.

Unless a test says otherwise: resources open Monday 09:00-11:00 UTC, service of 30 minutes
(interval = duration), query over Monday 2026-03-02 in UTC, ``now`` the day before.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from openslots.engine import compute_availability, parse_scenario
from openslots.errors import ValidationError
from tests.engine.builders import (
    answer,
    block,
    booking,
    resource,
    rule,
    scenario,
    schedule,
    times,
)


def _listing(result: dict[str, Any]) -> list[tuple[str, list[str], int, int]]:
    return [
        (s["start"][11:16], s["resource_ids"], s["capacity"], s["available_capacity"])
        for s in result["slots"]
    ]


# -- the pool's grid ------------------------------------------------------------------------

_A = schedule(rule("mon", "09:00", "10:00"))
_B = schedule(rule("mon", "09:10", "11:00"))


def test_pool_grid_is_anchored_at_the_union_of_its_hours() -> None:
    # a 09:00-10:00, b 09:10-11:00: the pool's window is 09:00-11:00, so b's candidates follow
    # the 09:00 grid (09:30, 10:00, 10:30), not its own 09:10 one. 09:00 fits a only.
    doc = scenario(resource("a", _A), resource("b", _B))
    assert [(t, ids) for t, ids, _, _ in _listing(answer(doc))] == [
        ("09:00", ["a"]),
        ("09:30", ["a", "b"]),
        ("10:00", ["b"]),
        ("10:30", ["b"]),
    ]


def test_query_resource_ids_narrow_the_pool_and_its_grid() -> None:
    # Only b: its own window 09:10-11:00 anchors the grid: 09:10, 09:40, 10:10 (10:40 would end
    # 11:10).
    doc = scenario(resource("a", _A), resource("b", _B), query={"resource_ids": ["b"]})
    assert [(t, ids) for t, ids, _, _ in _listing(answer(doc))] == [
        ("09:10", ["b"]),
        ("09:40", ["b"]),
        ("10:10", ["b"]),
    ]


def test_query_resource_ids_must_belong_to_the_service_pool() -> None:
    doc = scenario(
        resource("a"),
        resource("b"),
        service={"resource_ids": ["a"]},
        query={"resource_ids": ["b"]},
    )
    with pytest.raises(ValidationError) as caught:
        compute_availability(parse_scenario(doc))
    assert caught.value.field == "query.resource_ids.0"


def test_service_resource_ids_define_the_pool() -> None:
    # c is in the scenario but not in the service's pool: it never appears.
    doc = scenario(
        resource("a"), resource("b"), resource("c"), service={"resource_ids": ["a", "b"]}
    )
    assert {tuple(s["resource_ids"]) for s in answer(doc)["slots"]} == {("a", "b")}


# -- none -----------------------------------------------------------------------------------


def test_mode_none_lists_every_free_resource_and_adds_up_capacity() -> None:
    # r1 capacity 1; r2 capacity 2, busy 09:30-10:00 and holding a booking 10:00-10:30.
    # 09:00: both, 1 + 2 = 3 seats, all free. 09:30: r1 only. 10:00: both, 3 seats, 1 + 1 free.
    # 10:30: both, all free.
    doc = scenario(
        resource("r1"),
        resource(
            "r2",
            capacity=2,
            busy=[block("09:30", "10:00")],
            bookings=[booking("x", "10:00", "10:30")],
        ),
        query={"mode": "none"},
    )
    assert _listing(answer(doc)) == [
        ("09:00", ["r1", "r2"], 3, 3),
        ("09:30", ["r1"], 1, 1),
        ("10:00", ["r1", "r2"], 3, 2),
        ("10:30", ["r1", "r2"], 3, 3),
    ]


def test_mode_none_needs_one_free_resource() -> None:
    # Both busy at 09:30: no slot there.
    doc = scenario(
        resource("r1", busy=[block("09:30", "10:00")]),
        resource("r2", busy=[block("09:30", "10:00")]),
    )
    assert times(doc) == ["09:00", "10:00", "10:30"]


def test_query_mode_overrides_the_service_default() -> None:
    doc = scenario(resource("a"), resource("b"), service={"mode": "random"}, query={"mode": "none"})
    assert {tuple(s["resource_ids"]) for s in answer(doc)["slots"]} == {("a", "b")}


# -- random ---------------------------------------------------------------------------------

_DAY = schedule(rule("mon", "09:00", "17:00"))


def _random_pool(**query: Any) -> dict[str, Any]:
    # Four resources open 09:00-17:00: 16 slots of 30 minutes.
    return scenario(
        *(resource(rid, _DAY) for rid in ("a", "b", "c", "d")),
        service={"mode": "random"},
        query=query,
    )


def test_mode_random_offers_one_free_resource_stably() -> None:
    doc = _random_pool()
    first, second = answer(doc), answer(json.loads(json.dumps(doc)))
    assert len(first["slots"]) == 16
    assert all(len(s["resource_ids"]) == 1 for s in first["slots"])
    assert all(s["capacity"] == 1 and s["available_capacity"] == 1 for s in first["slots"])
    assert first == second  # same query, same answer
    chosen = {s["resource_ids"][0] for s in first["slots"]}
    assert chosen <= {"a", "b", "c", "d"}
    assert len(chosen) > 1  # spread over the pool, not always the same one


def test_mode_random_is_stable_across_processes() -> None:
    # "Same query, same answer" must not depend on per-process hash seeds.
    doc = json.dumps(_random_pool())
    code = (
        "import json, sys\n"
        "from openslots.engine import compute_availability, parse_scenario\n"
        "a = compute_availability(parse_scenario(json.loads(sys.stdin.read())))\n"
        "print(json.dumps([s.resource_ids for s in a.slots]))\n"
    )
    picks = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code], input=doc, capture_output=True, text=True, env=env,
            check=False,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        picks.append(json.loads(out.stdout))
    assert picks[0] == picks[1]


def test_mode_random_picks_only_free_resources() -> None:
    # a and b are busy all day: every slot goes to c or d.
    doc = _random_pool()
    for r in doc["resources"][:2]:
        r["busy"] = [block("09:00", "17:00")]
    result = answer(doc)
    assert len(result["slots"]) == 16
    assert {s["resource_ids"][0] for s in result["slots"]} <= {"c", "d"}


# -- balanced -------------------------------------------------------------------------------


def test_mode_balanced_prefers_fewest_bookings_of_the_service_in_the_window() -> None:
    # Bookings outside the 09:00-11:00 hours, so they take no seats of any candidate:
    # a: 2 of this service on Monday -> 2.
    # b: 1 of this service on Monday, 3 of another service -> 1.
    # c: 1 of this service on Monday, 5 of it the week before (outside the window) -> 1.
    # b and c tie with 1; pool order (a, b, c) puts b first. Where b is busy (10:00), c (1) beats
    # a (2).
    def monday(i: int, service_id: str = "svc") -> dict[str, Any]:
        hour = f"{12 + i:02d}"
        return booking(f"{hour}-{service_id}", f"{hour}:00", f"{hour}:30", service_id=service_id)

    earlier = [booking(f"old{i}", "12:00", "12:30", day=f"2026-02-2{i}") for i in range(3, 8)]
    doc = scenario(
        resource("a", bookings=[monday(0), monday(1)]),
        resource(
            "b",
            busy=[block("10:00", "10:30")],
            bookings=[monday(0), *(monday(i, "other") for i in (1, 2, 3))],
        ),
        resource("c", bookings=[monday(0), *earlier]),
        service={"mode": "balanced", "resource_ids": ["a", "b", "c"]},
    )
    assert [(t, ids) for t, ids, _, _ in _listing(answer(doc))] == [
        ("09:00", ["b"]),
        ("09:30", ["b"]),
        ("10:00", ["c"]),
        ("10:30", ["b"]),
    ]


def test_mode_balanced_ties_follow_pool_order() -> None:
    # No bookings at all: every count is 0, the pool's first resource wins.
    doc = scenario(
        resource("a"), resource("b"), service={"mode": "balanced", "resource_ids": ["b", "a"]}
    )
    assert {tuple(s["resource_ids"]) for s in answer(doc)["slots"]} == {("b",)}


# -- combined -------------------------------------------------------------------------------


def test_mode_combined_needs_every_resource_free_and_uses_their_common_hours() -> None:
    # a (capacity 2) 09:00-11:00, b (capacity 1) 09:10-12:00: common hours 09:10-11:00, the grid
    # anchored at 09:10: 09:10, 09:40, 10:10. b is busy 09:40-10:10, so 09:40 goes although a is
    # free. Capacity and free seats are the smallest of the two: 1.
    doc = scenario(
        resource("a", schedule(rule("mon", "09:00", "11:00")), capacity=2),
        resource("b", schedule(rule("mon", "09:10", "12:00")), busy=[block("09:40", "10:10")]),
        query={"mode": "combined", "resource_ids": ["a", "b"]},
    )
    assert _listing(answer(doc)) == [
        ("09:10", ["a", "b"], 1, 1),
        ("10:10", ["a", "b"], 1, 1),
    ]


def test_mode_combined_requires_resource_ids() -> None:
    doc = scenario(resource("a"), resource("b"), query={"mode": "combined"})
    with pytest.raises(ValidationError) as caught:
        compute_availability(parse_scenario(doc))
    assert caught.value.field == "query.resource_ids"


def test_mode_combined_from_the_service_default_also_requires_resource_ids() -> None:
    doc = scenario(resource("a"), resource("b"), service={"mode": "combined"})
    with pytest.raises(ValidationError) as caught:
        compute_availability(parse_scenario(doc))
    assert caught.value.field == "query.resource_ids"
