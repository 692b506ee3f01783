"""The bundled example answers, end to end through the public engine API."""

import json
from pathlib import Path

from openslots.engine import compute_availability, parse_scenario, render_availability

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_haircut_example_lists_split_schedule_and_inherited_hours() -> None:
    scenario = parse_scenario(json.loads((EXAMPLES / "haircut.json").read_text()))
    answer = render_availability(compute_availability(scenario))
    monday = answer["days"]["2026-03-02"]
    starts = [(s["start"][11:16], tuple(s["resource_ids"])) for s in monday]
    # bob inherits the organization's 13:00-22:00 UTC (08:00-17:00 New York) and is tentatively
    # busy 09:00-10:00; a 10-minute buffer after keeps 08:30 out.
    assert starts[:2] == [("08:00", ("bob",)), ("08:15", ("bob",))]
    assert ("08:30", ("bob",)) not in starts
    # alice's split schedule: nothing starts at 11:45 (it would run past 12:00) or 12:00-12:45.
    assert not [s for s, ids in starts if "alice" in ids and "11:45" <= s < "13:00"]
    assert list(answer["days"]) == [
        "2026-03-02",
        "2026-03-03",
        "2026-03-04",
        "2026-03-05",
        "2026-03-06",
    ]
