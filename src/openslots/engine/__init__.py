"""The slot engine: pure computation of bookable slots (DESIGN §3).

No I/O, no ORM, no web types: the same :class:`~openslots.engine.model.Scenario` and ``now``
always give the same answer. Instants are ``int`` seconds since the Unix epoch, UTC; intervals
are half-open. Entry points:

* :func:`parse_scenario` / :func:`scenario_to_dict`: the scenario format of SCENARIO.md;
* :func:`compute_availability`: the slots of a query;
* :func:`check_slot`: whether one exact slot can be booked, and if not, why (same code path);
* :func:`render_availability`: the answer as JSON in the query's zone.
"""

from openslots.engine.availability import check_slot, compute_availability
from openslots.engine.intervals import IntervalSet
from openslots.engine.model import (
    BlockColumns,
    Booking,
    BusyBlock,
    Caps,
    DateOverride,
    Location,
    Organization,
    Query,
    Resource,
    Scenario,
    Schedule,
    Service,
    Team,
    WeeklyRule,
)
from openslots.engine.plan import Limits
from openslots.engine.render import render_availability
from openslots.engine.result import Availability, Reason, Slot, SlotCheck
from openslots.engine.scenario import parse_scenario, scenario_to_dict

__all__ = [
    "Availability",
    "BlockColumns",
    "Booking",
    "BusyBlock",
    "Caps",
    "DateOverride",
    "IntervalSet",
    "Limits",
    "Location",
    "Organization",
    "Query",
    "Reason",
    "Resource",
    "Scenario",
    "Schedule",
    "Service",
    "Slot",
    "SlotCheck",
    "Team",
    "WeeklyRule",
    "check_slot",
    "compute_availability",
    "parse_scenario",
    "render_availability",
    "scenario_to_dict",
]
