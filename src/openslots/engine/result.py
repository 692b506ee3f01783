"""The engine's answer: slots with their resources, seats and, when asked, reasons.

Instants are ``int`` UTC seconds here too; :mod:`openslots.engine.render` turns an answer into
the JSON of SCENARIO.md in the query's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

__all__ = ["REASON_CODES", "Availability", "Reason", "ReasonCode", "Slot", "SlotCheck"]

ReasonCode = Literal[
    "outside_hours", "busy", "buffer", "full", "capped", "min_notice", "horizon", "off_grid"
]
REASON_CODES: tuple[ReasonCode, ...] = (
    "outside_hours",
    "busy",
    "buffer",
    "full",
    "capped",
    "min_notice",
    "horizon",
    "off_grid",
)


class Reason(NamedTuple):
    """Why a candidate is not bookable on a resource (``resource_id`` is None for reasons that
    hold for the whole pool: ``min_notice``, ``horizon``, ``off_grid``). ``source`` names the
    busy block's source for ``busy``."""

    code: ReasonCode
    resource_id: str | None = None
    source: str | None = None


class Slot(NamedTuple):
    """A candidate ``[start, end)``.

    ``resource_ids`` are the resources the slot is offered on (for an unavailable slot, the
    pool's resources whose hours hold it). ``capacity`` is their seats; ``available_capacity``
    the seats still free over the padded interval (a busy block takes them all).
    ``reasons`` is None unless explanations were asked for. (A named tuple: an answer holds
    thousands, and creating them is on the hot path.)
    """

    start: int
    end: int
    resource_ids: tuple[str, ...]
    available: bool
    capacity: int
    available_capacity: int
    reasons: tuple[Reason, ...] | None = None


@dataclass(frozen=True, slots=True)
class Availability:
    """Slots starting in ``[window_start, window_end)``, chronological, and the query's zone."""

    timezone: str
    duration: int
    window_start: int
    window_end: int
    slots: tuple[Slot, ...]


@dataclass(frozen=True, slots=True)
class SlotCheck:
    """The answer to "can this exact slot be booked, and if not, why?".

    ``resource_ids`` are the resources a booking would take (the ones asked for, or the ones the
    service's mode picks). When ``bookable`` is false, ``reasons`` is never empty.
    """

    bookable: bool
    start: int
    end: int
    resource_ids: tuple[str, ...]
    reasons: tuple[Reason, ...]
    slot: Slot | None
