"""Every invalid scenario value is a ValidationError naming its exact dotted path (SCENARIO.md).

Each case starts from one valid document that uses every level of the format and changes a few
values by dotted path (``resources.0.schedule.rules.1.end``), then checks the ``field`` of the
error. Single-field rules are :func:`parse_scenario`'s; the cross-field rules of the query (allowed
durations, the pool, ``combined``, the window's length, the grid step) are checked by
:func:`compute_availability`, so they hold for scenarios built in code too.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from openslots.engine import (
    Limits,
    compute_availability,
    parse_scenario,
    render_availability,
    scenario_to_dict,
)
from openslots.errors import ValidationError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DELETE: Any = object()


def _rules(days: str, start: str, end: str) -> list[dict[str, str]]:
    return [{"day": day, "start": start, "end": end} for day in days.split()]


def _document() -> dict[str, Any]:
    """A valid scenario with every level of the format present."""
    weekdays = "mon tue wed thu fri"
    return {
        "version": 1,
        "now": "2026-03-01T12:00:00Z",
        "organization": {
            "schedule": {
                "timezone": "UTC",
                "rules": _rules(weekdays, "13:00", "22:00"),
                "overrides": [],
            }
        },
        "teams": [
            {
                "id": "stylists",
                "schedule": {
                    "timezone": "America/New_York",
                    "rules": _rules(weekdays, "10:00", "16:00"),
                    "overrides": [],
                },
            }
        ],
        "locations": [
            {
                "id": "nyc",
                "timezone": "America/New_York",
                "schedule": {
                    "timezone": "America/New_York",
                    "rules": _rules(weekdays, "08:00", "20:00"),
                    "overrides": [],
                },
            }
        ],
        "service": {
            "id": "haircut",
            "duration": 30,
            "duration_options": None,
            "duration_interval": None,
            "interval": 15,
            "buffer_before": 5,
            "buffer_after": 10,
            "min_notice": 60,
            "horizon": 20160,
            "seats": None,
            "caps": {"per_day": 8, "per_week": 30},
            "resource_ids": ["alice", "bob"],
            "location_id": "nyc",
            "mode": "none",
        },
        "resources": [
            {
                "id": "alice",
                "timezone": "America/New_York",
                "capacity": 1,
                "team_id": "stylists",
                "schedule": {
                    "timezone": "America/New_York",
                    "rules": [
                        {"day": "mon", "start": "09:00", "end": "12:00"},
                        {"day": "mon", "start": "13:00", "end": "17:00"},
                    ],
                    "overrides": [
                        {"date": "2026-03-03", "intervals": []},
                        {"date": "2026-03-04", "intervals": [{"start": "10:00", "end": "14:00"}]},
                    ],
                },
                "busy": [
                    {
                        "start": "2026-03-02T15:00:00Z",
                        "end": "2026-03-02T16:00:00Z",
                        "kind": "busy",
                        "source": "google:primary",
                    }
                ],
                "bookings": [
                    {
                        "id": "b1",
                        "service_id": "haircut",
                        "start": "2026-03-02T18:00:00Z",
                        "end": "2026-03-02T18:30:00Z",
                        "party_size": 1,
                        "buffer_before": 5,
                        "buffer_after": 10,
                    }
                ],
            },
            {
                "id": "bob",
                "timezone": "America/New_York",
                "capacity": 2,
                "team_id": "stylists",
                "schedule": None,
                "busy": [
                    {
                        "start": "2026-03-03T14:00:00Z",
                        "end": "2026-03-03T15:00:00Z",
                        "kind": "tentative",
                        "source": "caldav:work",
                    }
                ],
                "bookings": [
                    {
                        "id": "b2",
                        "service_id": "beard-trim",
                        "start": "2026-03-03T16:00:00Z",
                        "end": "2026-03-03T16:30:00Z",
                        "party_size": 1,
                        "buffer_before": 0,
                        "buffer_after": 0,
                    }
                ],
            },
            {
                "id": "carol",
                "timezone": "Europe/London",
                "capacity": 1,
                "team_id": None,
                "schedule": {
                    "timezone": "Europe/London",
                    "rules": _rules(weekdays, "09:00", "17:00"),
                },
                "busy": [],
                "bookings": [],
            },
        ],
        "query": {
            "start": "2026-03-02",
            "end": "2026-03-06",
            "timezone": "America/New_York",
            "resource_ids": None,
            "mode": None,
            "duration": None,
            "interval": None,
            "party_size": 1,
            "first_available": False,
            "include_unavailable": False,
            "explain": False,
            "reschedule_booking_id": None,
            "tentative_as_busy": True,
        },
    }


def _set(document: dict[str, Any], path: str, value: Any) -> None:
    """Set (or, with DELETE, remove) the value at a dotted path; an index one past the end of a
    list appends."""
    *parents, last = path.split(".")
    node: Any = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        index = int(last)
        if value is DELETE:
            del node[index]
        elif index == len(node):
            node.append(value)
        else:
            node[index] = value
    elif value is DELETE:
        del node[last]
    else:
        node[last] = value


def _changed(changes: dict[str, Any]) -> dict[str, Any]:
    document = _document()
    for path, value in changes.items():
        _set(document, path, value if value is DELETE else copy.deepcopy(value))
    return document


def _id(changes: dict[str, Any]) -> str:
    def show(value: Any) -> str:
        return "DELETE" if value is DELETE else json.dumps(value, ensure_ascii=True)[:40]

    return ",".join(f"{path}={show(value)}" for path, value in changes.items())


def bad(path: str, value: Any, field: str | None = None) -> Any:
    """One changed value; the error names ``field`` (by default the changed path itself)."""
    return pytest.param({path: value}, field or path, id=_id({path: value}))


def case(changes: dict[str, Any], field: str) -> Any:
    return pytest.param(changes, field, id=_id(changes))


def ok(changes: dict[str, Any]) -> Any:
    return pytest.param(changes, id=_id(changes))


def _parse_error(document: Any) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        parse_scenario(document)
    return caught.value


# -- the starting point ----------------------------------------------------------------------


def test_the_base_document_is_valid_and_has_slots() -> None:
    answer = render_availability(compute_availability(parse_scenario(_document())))
    assert answer["slots"]


# -- single values: parse_scenario ----------------------------------------------------------

R0 = "resources.0"
RULE = "resources.0.schedule.rules.0"
OVERRIDE = "resources.0.schedule.overrides.1"
SPAN = "resources.0.schedule.overrides.1.intervals.0"
BUSY = "resources.0.busy.0"
BOOKING = "resources.0.bookings.0"

UNKNOWN_FIELDS = [
    bad("colour", "red"),
    bad("organization.colour", "red"),
    bad("organization.schedule.colour", "red"),
    bad("teams.0.colour", "red"),
    bad("locations.0.colour", "red"),
    bad("service.colour", "red"),
    bad("service.caps.per_month", 3),
    bad(f"{R0}.colour", "red"),
    bad(f"{R0}.schedule.colour", "red"),
    bad(f"{RULE}.colour", "red"),
    bad(f"{RULE}.Day", "mon"),
    bad(f"{OVERRIDE}.colour", "red"),
    bad(f"{SPAN}.colour", "red"),
    bad(f"{BUSY}.colour", "red"),
    bad(f"{BOOKING}.colour", "red"),
    bad("query.colour", "red"),
    bad("query.durations", 30),
]

MISSING_FIELDS = [
    bad("now", DELETE),
    bad("service", DELETE),
    bad("resources", DELETE),
    bad("query", DELETE),
    bad("service.id", DELETE),
    bad("service.duration", DELETE),
    bad(f"{R0}.id", DELETE),
    bad(f"{R0}.schedule.timezone", DELETE),
    bad(f"{RULE}.day", DELETE),
    bad(f"{RULE}.start", DELETE),
    bad(f"{RULE}.end", DELETE),
    bad(f"{OVERRIDE}.date", DELETE),
    bad(f"{SPAN}.end", DELETE),
    bad(f"{BUSY}.start", DELETE),
    bad(f"{BUSY}.end", DELETE),
    bad(f"{BOOKING}.id", DELETE),
    bad(f"{BOOKING}.service_id", DELETE),
    bad(f"{BOOKING}.start", DELETE),
    bad("teams.0.id", DELETE),
    bad("locations.0.id", DELETE),
    bad("locations.0.timezone", DELETE),
    bad("query.start", DELETE),
    bad("query.end", DELETE),
    # A resource needs a zone: its own, or its schedule's.
    case({"resources.1.timezone": DELETE}, "resources.1.timezone"),
]

ORDER = [
    bad(f"{RULE}.end", "09:00", f"{RULE}.end"),
    bad(f"{RULE}.end", "08:00", f"{RULE}.end"),
    case({f"{RULE}.start": "00:00", f"{RULE}.end": "00:00"}, f"{RULE}.end"),
    bad(f"{SPAN}.end", "10:00", f"{SPAN}.end"),
    bad(f"{SPAN}.end", "09:59", f"{SPAN}.end"),
    bad(f"{BUSY}.end", "2026-03-02T15:00:00Z"),
    bad(f"{BUSY}.end", "2026-03-02T10:00:00-05:00"),
    bad(f"{BOOKING}.end", "2026-03-02T17:59:00Z"),
    # Start after end of the query window, as dates and as instants.
    case({"query.start": "2026-03-06", "query.end": "2026-03-02"}, "query.end"),
    case({"query.start": "2026-03-02T12:00:00Z", "query.end": "2026-03-02T12:00:00Z"}, "query.end"),
    case(
        {"query.start": "2026-03-02T12:00:00Z", "query.end": "2026-03-02T07:00:00-05:00"},
        "query.end",
    ),
]

DAYS = [
    bad(f"{RULE}.day", value)
    for value in ["monday", "Mon", "MON", "lun", "", "mon ", 0, 1, None, ["mon"]]
] + [bad("resources.2.schedule.rules.4.day", "fry")]

TIMES = (
    [
        bad(f"{RULE}.start", value)
        for value in [
            "9:00",
            "25:00",
            "12:60",
            "24:30",
            "24:00",  # 24:00 may only end a span
            "09:00:00",
            "0900",
            "09h00",
            "9am",
            "",
            " 09:00",
            "09:00\n",
            "０９:００",  # full-width digits
            "-1:00",
            900,
            9.0,
            None,
        ]
    ]
    + [bad(f"{RULE}.end", value) for value in ["24:30", "24:01", "25:00", "17:60", "5:00"]]
    + [bad(f"{SPAN}.start", value) for value in ["9:00", "24:00", "10:5"]]
    + [bad(f"{SPAN}.end", value) for value in ["24:30", "14:00:00", "2pm"]]
)

ZONE_FIELDS = [
    f"{R0}.timezone",
    f"{R0}.schedule.timezone",
    "teams.0.schedule.timezone",
    "organization.schedule.timezone",
    "locations.0.timezone",
    "locations.0.schedule.timezone",
    "query.timezone",
]
ZONES = [bad(path, "Mars/Olympus") for path in ZONE_FIELDS] + [
    bad(f"{R0}.timezone", value)
    for value in [
        "Europe",
        "America",
        "../../etc/passwd",
        "Europe/../Europe/Berlin",
        "/etc/localtime",
        "/usr/share/zoneinfo/UTC",
        "Europe\\Berlin",
        "Europe/Berlin ",
        "Europe/Berlin\x00",
        "zone.tab",
        "tzdata.zi",
        "__init__.py",
        "",
        5,
        ["UTC"],
    ]
]

NAIVE_INSTANTS = {
    "now": "2026-03-01T12:00:00",
    f"{BUSY}.start": "2026-03-02T15:00:00",
    f"{BUSY}.end": "2026-03-02T16:00:00",
    f"{BOOKING}.start": "2026-03-02T18:00:00",
    f"{BOOKING}.end": "2026-03-02T18:30:00",
    "query.start": "2026-03-02T00:00:00",
    "query.end": "2026-03-06T00:00:00",
}
INSTANTS = [bad(path, value) for path, value in NAIVE_INSTANTS.items()] + [
    # A date where an instant is needed, and things that are not instants.
    bad("now", "2026-03-01"),
    bad(f"{BUSY}.start", "2026-03-02"),
    bad("now", "2026-03-01T12:00:00+25:00"),
    bad("now", "2026-03-01T25:00:00Z"),
    bad("now", "yesterday"),
    bad("now", ""),
    bad("now", 1772366400),
    bad("now", None),
    bad(f"{BOOKING}.start", "2026-02-30T18:00:00Z"),
    bad("query.end", "2026-03-06T24:00:00"),
]

DATES = [
    bad(f"{OVERRIDE}.date", value)
    for value in [
        "2026-02-30",
        "2026-02-29",  # 2026 is not a leap year
        "2026/03/04",
        "04-03-2026",
        "2026-3-4",
        "20260304",
        "2026-03-04T00:00:00Z",
        "2026-03-04\n",
        "",
        20260304,
        None,
    ]
] + [
    bad("query.start", "2026-13-01"),
    bad("query.start", "2026-02-29"),
    bad("query.start", "March 2"),
    bad("query.end", "2026-02-30"),
    bad("query.end", "2026-04-31"),
]

WRONG_TYPES = [
    bad("version", "1"),
    bad("version", True),
    bad("version", 1.0),
    bad("organization", []),
    bad("organization", "acme"),
    bad("organization.schedule", "9-5"),
    bad("teams", {}),
    bad("teams", "stylists"),
    bad("teams.0", "stylists"),
    bad("locations", {}),
    bad("locations", "nyc"),
    bad("service", []),
    bad("service.id", 7),
    bad("service.id", ""),
    bad("service.duration", "30"),
    bad("service.duration", True),
    bad("service.duration", 30.0),
    bad("service.duration", 30.5),
    bad("service.duration", None),
    bad("service.duration_options", "30"),
    bad("service.duration_options", 30),
    case({"service.duration_options": [30, "60"]}, "service.duration_options.1"),
    case({"service.duration_options": [30, True]}, "service.duration_options.1"),
    case({"service.duration_options": [30, 60.0]}, "service.duration_options.1"),
    bad("service.duration_interval", 15.0),
    bad("service.duration_interval", "15"),
    bad("service.interval", "15"),
    bad("service.interval", False),
    bad("service.interval", 15.0),
    bad("service.buffer_before", "5"),
    bad("service.buffer_after", 10.5),
    bad("service.min_notice", True),
    bad("service.horizon", "14d"),
    bad("service.seats", True),
    bad("service.seats", 12.0),
    bad("service.caps", []),
    bad("service.caps", "none"),
    bad("service.caps.per_day", "8"),
    bad("service.caps.per_week", 30.0),
    bad("service.resource_ids", "alice"),
    case({"service.resource_ids": ["alice", 7]}, "service.resource_ids.1"),
    case({"service.resource_ids": ["alice", ""]}, "service.resource_ids.1"),
    bad("service.location_id", 1),
    bad("service.mode", "fast"),
    bad("service.mode", "Balanced"),
    bad("service.mode", True),
    bad("resources", {}),
    bad("resources", "alice"),
    bad(R0, "alice"),
    bad(f"{R0}.id", 5),
    bad(f"{R0}.id", ""),
    bad(f"{R0}.capacity", "1"),
    bad(f"{R0}.capacity", True),
    bad(f"{R0}.capacity", 1.0),
    bad(f"{R0}.team_id", 3),
    bad(f"{R0}.schedule", "weekdays"),
    bad(f"{R0}.schedule.rules", {}),
    bad(f"{R0}.schedule.rules", "mon 9-5"),
    bad(RULE, "mon 09:00-12:00"),
    bad(f"{R0}.schedule.overrides", {}),
    bad(OVERRIDE, "2026-03-04"),
    bad(f"{OVERRIDE}.intervals", {"start": "10:00", "end": "14:00"}),
    bad(SPAN, ["10:00", "14:00"]),
    bad(f"{R0}.busy", {}),
    bad(f"{R0}.busy", "busy"),
    bad(BUSY, "2026-03-02T15:00:00Z/2026-03-02T16:00:00Z"),
    bad(f"{BUSY}.kind", "maybe"),
    bad(f"{BUSY}.kind", "Busy"),
    bad(f"{BUSY}.kind", 1),
    bad(f"{BUSY}.source", 5),
    bad(f"{R0}.bookings", {}),
    bad(f"{R0}.bookings", "b1"),
    bad(BOOKING, "b1"),
    bad(f"{BOOKING}.id", 1),
    bad(f"{BOOKING}.service_id", None),
    bad(f"{BOOKING}.party_size", "2"),
    bad(f"{BOOKING}.party_size", True),
    bad(f"{BOOKING}.party_size", 2.0),
    bad(f"{BOOKING}.buffer_before", "5"),
    bad(f"{BOOKING}.buffer_after", 10.0),
    bad("query", []),
    bad("query.start", 20260302),
    bad("query.timezone", 0),
    bad("query.resource_ids", "alice"),
    case({"query.resource_ids": ["alice", 2]}, "query.resource_ids.1"),
    bad("query.mode", "quick"),
    bad("query.duration", "30"),
    bad("query.duration", 30.0),
    bad("query.interval", 15.0),
    bad("query.interval", True),
    bad("query.party_size", "2"),
    bad("query.party_size", True),
    bad("query.party_size", 2.0),
    bad("query.first_available", "yes"),
    bad("query.first_available", 1),
    bad("query.include_unavailable", "true"),
    bad("query.explain", 0),
    bad("query.tentative_as_busy", "false"),
    bad("query.reschedule_booking_id", 1),
    bad("query.reschedule_booking_id", ""),
]

BELOW_MINIMUM = [
    bad("service.duration", 0),
    bad("service.duration", -30),
    bad("service.buffer_before", -5),
    bad("service.buffer_after", -1),
    bad("service.min_notice", -1),
    bad("service.horizon", -1),
    bad("service.interval", 0),
    bad("service.interval", -15),
    bad("service.duration_interval", 0),
    case({"service.duration_options": [30, 0]}, "service.duration_options.1"),
    bad("service.seats", 0),
    bad("service.caps.per_day", 0),
    bad("service.caps.per_week", -1),
    bad(f"{R0}.capacity", 0),
    bad(f"{R0}.capacity", -1),
    bad(f"{BOOKING}.party_size", 0),
    bad(f"{BOOKING}.buffer_before", -10),
    bad(f"{BOOKING}.buffer_after", -1),
    bad("query.duration", 0),
    bad("query.duration", -30),
    bad("query.interval", 0),
    bad("query.party_size", 0),
    bad("query.party_size", -1),
]

REFERENCES_AND_DUPLICATES = [
    # A repeated id in a list of ids is named at its second occurrence.
    case({"query.resource_ids": ["alice", "alice"]}, "query.resource_ids.1"),
    bad(f"{R0}.team_id", "ghosts"),
    bad("resources.2.team_id", "barbers"),
    bad("service.location_id", "paris"),
    case({"service.resource_ids": ["alice", "zed"]}, "service.resource_ids.1"),
    case({"service.resource_ids": ["zed"]}, "service.resource_ids.0"),
    # The duration must be one of its own options.
    case({"service.duration_options": [45, 60]}, "service.duration"),
    # Duplicates name their second occurrence.
    bad("resources.1.id", "alice"),
    bad("resources.2.id", "bob"),
    case({"teams.1": {"id": "stylists", "schedule": None}}, "teams.1.id"),
    case({"locations.1": {"id": "nyc", "timezone": "UTC", "schedule": None}}, "locations.1.id"),
    bad(f"{OVERRIDE}.date", "2026-03-03", f"{OVERRIDE}.date"),
    case(
        {"resources.0.schedule.overrides.2": {"date": "2026-03-04", "intervals": []}},
        "resources.0.schedule.overrides.2.date",
    ),
    # Booking ids identify one booking (reschedule_booking_id refers to it).
    bad("resources.1.bookings.0.id", "b1"),
    case(
        {
            "resources.0.bookings.1": {
                "id": "b1",
                "service_id": "haircut",
                "start": "2026-03-02T20:00:00Z",
                "end": "2026-03-02T20:30:00Z",
            }
        },
        "resources.0.bookings.1.id",
    ),
    # A pool naming a resource twice would count its seats twice.
    case({"service.resource_ids": ["alice", "bob", "alice"]}, "service.resource_ids.2"),
    bad("version", 2),
    bad("version", 0),
]


@pytest.mark.parametrize(
    ("changes", "field"),
    UNKNOWN_FIELDS
    + MISSING_FIELDS
    + ORDER
    + DAYS
    + TIMES
    + ZONES
    + INSTANTS
    + DATES
    + WRONG_TYPES
    + BELOW_MINIMUM
    + REFERENCES_AND_DUPLICATES,
)
def test_parse_names_the_invalid_field(changes: dict[str, Any], field: str) -> None:
    error = _parse_error(_changed(changes))
    assert error.field == field, error.message
    assert error.message
    assert error.to_dict() == {
        "error": {"code": "validation_error", "message": error.message, "field": field}
    }


@pytest.mark.parametrize("document", [[], "scenario", 1, None])
def test_a_document_that_is_not_an_object_names_the_root(document: Any) -> None:
    assert _parse_error(document).field == "$"


# -- the query against its service: compute_availability ------------------------------------

QUERY_RULES = [
    # No duration_options nor duration_interval: only the service's own duration.
    bad("query.duration", 45),
    bad("query.duration", 60),
    case({"service.duration_options": [30, 60], "query.duration": 45}, "query.duration"),
    case({"service.duration_options": [30, 60], "query.duration": 90}, "query.duration"),
    case({"service.duration_interval": 15, "query.duration": 40}, "query.duration"),
    case({"service.duration_interval": 20, "query.duration": 50}, "query.duration"),
    # The window: at most 93 days.
    case({"query.start": "2026-03-01", "query.end": "2026-06-02"}, "query.end"),
    case(
        {
            "query.start": "2026-03-01T00:00:00Z",
            "query.end": "2026-06-02T00:00:01Z",
            "query.timezone": "UTC",
        },
        "query.end",
    ),
    case({"query.start": "2026-01-01", "query.end": "2027-12-31"}, "query.end"),
    # combined names its resources.
    bad("query.mode", "combined", "query.resource_ids"),
    bad("service.mode", "combined", "query.resource_ids"),
    # The pool a query narrows.
    case({"query.resource_ids": ["zed"]}, "query.resource_ids.0"),
    case({"query.resource_ids": ["alice", "carol"]}, "query.resource_ids.1"),
    case(
        {"query.resource_ids": ["alice", "zed"], "query.mode": "combined"}, "query.resource_ids.1"
    ),
    case({"query.resource_ids": []}, "query.resource_ids"),
    # Rescheduling a booking that does not exist.
    bad("query.reschedule_booking_id", "nope"),
    # Slots at least 5 minutes apart: the field that set the step is named.
    bad("service.interval", 4),
    bad("query.interval", 4),
    bad("query.interval", 1),
    case({"service.duration": 4, "service.interval": None}, "service.duration"),
    case(
        {"service.interval": None, "service.duration_interval": 2, "query.duration": 4},
        "query.duration",
    ),
]


@pytest.mark.parametrize(("changes", "field"), QUERY_RULES)
def test_compute_names_the_query_field(changes: dict[str, Any], field: str) -> None:
    scenario = parse_scenario(_changed(changes))
    with pytest.raises(ValidationError) as caught:
        compute_availability(scenario)
    assert caught.value.field == field, caught.value.message


@pytest.mark.parametrize(
    ("limits", "changes", "field"),
    [
        pytest.param(Limits(max_window_days=3), {}, "query.end", id="max_window_days"),
        pytest.param(Limits(min_interval_minutes=20), {}, "service.interval", id="min_interval"),
        pytest.param(
            Limits(min_interval_minutes=20),
            {"query.interval": 30, "service.interval": 10},
            None,
            id="query-interval-wins",
        ),
    ],
)
def test_limits_are_parameters(limits: Limits, changes: dict[str, Any], field: str | None) -> None:
    scenario = parse_scenario(_changed(changes))
    if field is None:
        compute_availability(scenario, limits)
        return
    with pytest.raises(ValidationError) as caught:
        compute_availability(scenario, limits)
    assert caught.value.field == field


OUT_OF_RANGE = [
    # Values no sane engine can compute with must be refused, not crash with OverflowError or
    # ValueError deep inside.
    bad("service.duration", 10**12),
    bad("service.buffer_before", 10**18),
    bad("service.seats", 2**70),
    bad(f"{R0}.capacity", 2**70),
    bad(f"{BOOKING}.party_size", 2**70),
    bad(f"{BOOKING}.buffer_after", 10**18),
    # Dates beyond the supported years (1900-2199) name the first bound out of range.
    case({"query.start": "9999-12-30", "query.end": "9999-12-31"}, "query.start"),
    case({"query.start": "2199-12-30", "query.end": "2200-01-01"}, "query.end"),
    case(
        {"query.start": "0001-01-01", "query.end": "0001-01-03", "query.timezone": "Asia/Tokyo"},
        "query.start",
    ),
    case(
        {"query.start": "0001-01-01T00:00:00Z", "query.end": "0001-01-03T00:00:00Z"},
        "query.start",
    ),
]


@pytest.mark.parametrize(("changes", "field"), OUT_OF_RANGE)
def test_out_of_range_values_are_validation_errors(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        render_availability(compute_availability(parse_scenario(_changed(changes))))
    assert caught.value.field == field, caught.value.message


# -- boundaries that are valid --------------------------------------------------------------

ACCEPTED = [
    ok({f"{RULE}.end": "24:00"}),
    ok({f"{RULE}.start": "00:00", f"{RULE}.end": "00:01"}),
    ok({f"{SPAN}.start": "00:00", f"{SPAN}.end": "24:00"}),
    ok({"version": DELETE}),
    ok({"service.interval": 5}),
    ok({"query.interval": 5}),
    ok({"service.buffer_before": 0, "service.buffer_after": 0, "service.min_notice": 0}),
    ok({"service.horizon": 0}),
    ok({"service.duration_options": [30, 60], "query.duration": 60}),
    ok({"service.duration_interval": 15, "query.duration": 45}),
    ok({"query.duration": 30}),
    ok({"query.start": "2026-03-02T09:00:00-05:00", "query.end": "2026-03-02T09:00:01-05:00"}),
    ok({"query.resource_ids": ["bob", "alice"], "query.mode": "combined"}),
    ok({"query.reschedule_booking_id": "b2"}),
    ok({"now": "2026-03-01T07:00:00.5-05:00"}),
    ok({f"{R0}.timezone": None}),
    ok({f"{R0}.busy": None, f"{R0}.bookings": None}),
    # Exactly 93 days: in UTC, and as 93 local dates across the autumn DST change (one hour more
    # of elapsed time than 93 * 24 hours).
    ok({"query.start": "2026-03-01", "query.end": "2026-06-01", "query.timezone": "UTC"}),
    ok({"query.start": "2026-10-01", "query.end": "2027-01-01"}),
]


@pytest.mark.parametrize("changes", ACCEPTED)
def test_valid_boundaries_are_accepted(changes: dict[str, Any]) -> None:
    answer = render_availability(compute_availability(parse_scenario(_changed(changes))))
    assert set(answer) == {"timezone", "duration", "slots", "days"}


# -- writing a scenario back out ------------------------------------------------------------

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.name for p in EXAMPLE_FILES])
def test_examples_round_trip(path: Path) -> None:
    scenario = parse_scenario(json.loads(path.read_text(encoding="utf-8")))
    written = scenario_to_dict(scenario)
    assert parse_scenario(written) == scenario
    assert parse_scenario(json.loads(json.dumps(written))) == scenario


def test_every_field_round_trips() -> None:
    scenario = parse_scenario(_document())
    assert parse_scenario(json.loads(json.dumps(scenario_to_dict(scenario)))) == scenario


def test_the_examples_are_all_here() -> None:
    names = {p.stem for p in EXAMPLE_FILES}
    assert {
        "haircut",
        "overrides",
        "round-robin",
        "combined",
        "group-seats",
        "buffers-and-caps",
        "dst",
        "explain",
    } <= names
