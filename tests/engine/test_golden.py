"""Golden scenarios: each file of ``tests/golden/`` holds a scenario (SCENARIO.md) and the exact
answer the engine must render for it, verified by hand (its ``description`` says how).

A file is ``{"description": str, "scenario": {...}, "answer": {...}}``; adding one adds a test.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from openslots.engine import compute_availability, parse_scenario, render_availability

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
FILES = sorted(GOLDEN.glob("*.json"))


def _load(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def test_golden_folder_is_populated() -> None:
    assert len(FILES) >= 6


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_golden_file_is_well_formed(path: Path) -> None:
    document = _load(path)
    assert set(document) == {"description", "scenario", "answer"}
    assert isinstance(document["description"], str)
    assert document["description"].strip()
    answer = document["answer"]
    # The answer's days hold exactly its slots, in order, each under its local start date.
    assert [s for day in answer["days"].values() for s in day] == answer["slots"]
    for day, slots in answer["days"].items():
        assert all(slot["start"][:10] == day for slot in slots)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_golden_answer(path: Path) -> None:
    document = _load(path)
    result = render_availability(compute_availability(parse_scenario(document["scenario"])))
    assert result == document["answer"]
