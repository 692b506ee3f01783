"""BlockColumns: the same blocks as a tuple of BusyBlock, held as columns."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from openslots.engine import (
    BlockColumns,
    BusyBlock,
    compute_availability,
    parse_scenario,
    render_availability,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BLOCKS = (
    BusyBlock(100, 200, "busy", "a"),
    BusyBlock(150, 400, "tentative", "b"),
    BusyBlock(500, 600, "oof", "a"),
)


def _columns(blocks: tuple[BusyBlock, ...]) -> BlockColumns:
    return BlockColumns(
        [b.start for b in blocks],
        [b.end for b in blocks],
        [b.kind for b in blocks],
        [b.source for b in blocks],
    )


def test_columns_are_the_sequence_of_their_blocks() -> None:
    columns = _columns(BLOCKS)
    assert len(columns) == 3
    assert tuple(columns) == BLOCKS
    assert columns == BLOCKS
    assert columns[1] == BLOCKS[1]
    assert columns[1:] == BLOCKS[1:]
    assert columns != BLOCKS[:2]
    assert hash(columns) == hash(BLOCKS)


def test_uniform_columns_repeat_kind_and_source() -> None:
    columns = BlockColumns.uniform([(1, 2), (3, 4)], "busy", "cal")
    assert tuple(columns) == (BusyBlock(1, 2, "busy", "cal"), BusyBlock(3, 4, "busy", "cal"))
    assert BlockColumns.uniform([], "busy", "cal") == ()


def test_columns_of_unequal_length_are_refused() -> None:
    with pytest.raises(ValueError, match="length"):
        BlockColumns([1], [2, 3], ["busy"], ["x"])


@pytest.mark.parametrize("tentative_as_busy", [True, False])
@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.json")))
def test_the_engine_answers_the_same_for_tuples_and_columns(
    name: str, tentative_as_busy: bool
) -> None:
    scenario = parse_scenario(json.loads((EXAMPLES / name).read_text()))
    scenario = replace(
        scenario,
        query=replace(scenario.query, tentative_as_busy=tentative_as_busy, explain=True),
    )
    columnar = replace(
        scenario,
        resources=tuple(replace(r, busy=_columns(tuple(r.busy))) for r in scenario.resources),
    )
    assert render_availability(compute_availability(columnar)) == render_availability(
        compute_availability(scenario)
    )
