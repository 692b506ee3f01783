"""Busy blocks: synced ones (rows of ``busy_blocks``) and manual ones, one-off or recurring.

A manual block is stored once, as its first occurrence plus an optional RFC 5545 RRULE read in
its time zone: the recurrence follows the wall clock (a weekly 12:00-13:00 lunch stays at noon
across DST), and occurrences are expanded only inside the window asked for, at most
``MAX_INSTANCES`` per series. A wall time that a DST gap skips moves forward by the gap; a wall
time that a fall-back repeats means its first instance.

Recurrences are checked when they are stored, so that expanding them stays cheap: daily or
coarser (no sub-daily FREQ, no BYHOUR/BYMINUTE/BYSECOND), COUNT at most ``MAX_INSTANCES``, the
block's start is the series' first occurrence (as DTSTART is in RFC 5545), and the series never
goes ``MAX_GAP_YEARS`` without an occurrence. dateutil walks every period from DTSTART, and a rule
with no occurrence (February 30th, every day) would otherwise walk to the year 9999 on every
availability query. For the same reason an old DAILY or WEEKLY series (without COUNT) is
expanded from a start moved forward by whole periods to just before the window.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr
from sqlalchemy import Connection, delete, insert, select

from openslots.engine.zones import is_valid_zone
from openslots.errors import Conflict, ValidationError
from openslots.store import versions
from openslots.store.catalog import NotFound, new_id
from openslots.store.schema import busy_blocks, manual_blocks, resources

__all__ = [
    "MAX_GAP_YEARS",
    "MAX_INSTANCES",
    "Block",
    "blocks_in_window",
    "create_manual_block",
    "delete_manual_block",
    "expand_manual_block",
    "normalize_rrule",
]

MAX_INSTANCES = 10_000
MAX_GAP_YEARS = 8
_FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
_PARTS = (
    "FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO",
    "BYMONTH", "BYSETPOS", "WKST",
)  # fmt: skip
_SUB_DAILY = ("BYHOUR", "BYMINUTE", "BYSECOND")
_UNTIL = re.compile(r"[0-9]{8}(T[0-9]{6}Z?)?")
_MAX_YEAR = 9999  # dateutil stops walking empty periods here


@dataclass(frozen=True, slots=True)
class Block:
    """One busy interval ``[start, end)`` of a resource (UTC epoch seconds), whatever its source.

    For an occurrence of a recurring manual block, ``id`` is the series' id (what DELETE takes)
    and ``rrule``/``timezone`` describe the series.
    """

    id: str
    resource_id: str
    start: int
    end: int
    kind: str
    source: str
    rrule: str | None = None
    timezone: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "resource_id": self.resource_id,
            "start": self.start,
            "end": self.end,
            "kind": self.kind,
            "source": self.source,
            "rrule": self.rrule,
            "timezone": self.timezone,
            "note": self.note,
        }


def _local_naive(instant: int, zone: ZoneInfo) -> datetime:
    # dateutil's rrule works on naive wall times; the zone is applied to each occurrence.
    return datetime.fromtimestamp(instant, zone).replace(tzinfo=None)


def _instant(wall: datetime, zone: ZoneInfo) -> int:
    # fold=0: a wall time in a DST gap is read with the offset before the gap, which lands it
    # the gap's length later (moved forward); a repeated wall time means its first instance.
    return int(wall.replace(tzinfo=zone, fold=0).timestamp())


def _parts(text: str, field: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for item in text.split(";"):
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ValidationError(field, f"not a valid RRULE part: {item!r}")
        if key in _SUB_DAILY:
            raise ValidationError(field, f"{key} is not supported: blocks recur daily or less")
        if key not in _PARTS:
            raise ValidationError(field, f"unsupported RRULE part {key}")
        if key in parts:
            raise ValidationError(field, f"{key} appears twice")
        parts[key] = value
    return parts


def normalize_rrule(text: str, field: str = "rrule") -> str:
    """The canonical form of an RRULE value (upper case, no ``RRULE:`` prefix), checked for the
    parts we expand; ValidationError naming ``field`` otherwise. See :func:`_check_series` for
    the checks that need the block's start."""
    value = text.strip().upper()
    value = value.removeprefix("RRULE:")
    if not value or any(c in value for c in "\r\n:"):
        raise ValidationError(field, "must be one RRULE value such as FREQ=WEEKLY;BYDAY=MO")
    parts = _parts(value, field)
    freq = parts.get("FREQ")
    if freq is None:
        raise ValidationError(field, "FREQ is required")
    if freq not in _FREQUENCIES:
        raise ValidationError(
            field, f"FREQ must be one of {', '.join(_FREQUENCIES)} (blocks recur daily or less)"
        )
    if "COUNT" in parts and "UNTIL" in parts:
        raise ValidationError(field, "COUNT and UNTIL may not both be given (RFC 5545)")
    if "COUNT" in parts and not (
        parts["COUNT"].isdigit() and 1 <= int(parts["COUNT"]) <= MAX_INSTANCES
    ):
        raise ValidationError(field, f"COUNT must be a whole number from 1 to {MAX_INSTANCES}")
    if "INTERVAL" in parts and not (
        parts["INTERVAL"].isdigit() and 1 <= int(parts["INTERVAL"]) <= 1000
    ):
        raise ValidationError(field, "INTERVAL must be a whole number from 1 to 1000")
    if "UNTIL" in parts and not _UNTIL.fullmatch(parts["UNTIL"]):
        raise ValidationError(field, "UNTIL must be a date (YYYYMMDD) or YYYYMMDDTHHMMSSZ")
    return value


def _wall_until(value: str, zone: ZoneInfo) -> str:
    """UNTIL in the series' wall clock: a UTC ``...Z`` form is converted (RFC 5545 asks for UTC
    when DTSTART has a zone; dateutil wants both naive)."""
    if not value.endswith("Z"):
        return value
    moment = datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return moment.astimezone(zone).strftime("%Y%m%dT%H%M%S")


def _rule(
    value: str,
    dtstart: datetime,
    zone: ZoneInfo,
    *,
    unbounded: bool = False,
    near: datetime | None = None,
) -> rrule:
    """The dateutil rule of a stored RRULE value, on naive wall times of ``zone``.

    With ``near``, a DAILY or WEEKLY rule without COUNT starts instead at the last occurrence
    period that begins a week or more before ``near``: the occurrences from ``near`` on are the
    same, and dateutil, which walks every period from DTSTART, no longer walks from an old start.
    """
    parts = _parts(value, "rrule")
    if near is not None and "COUNT" not in parts and parts["FREQ"] in {"DAILY", "WEEKLY"}:
        period = int(parts.get("INTERVAL", "1")) * (1 if parts["FREQ"] == "DAILY" else 7)
        periods = ((near - dtstart).days - 7) // period
        # Whole periods keep the phase of INTERVAL, the weekday and the time of day.
        dtstart += timedelta(days=max(periods, 0) * period)
    if "UNTIL" in parts:
        parts["UNTIL"] = _wall_until(parts["UNTIL"], zone)
    if unbounded:
        parts.pop("UNTIL", None)
        parts.pop("COUNT", None)
    text = ";".join(f"{k}={v}" for k, v in parts.items())
    rule = rrulestr(text, dtstart=dtstart)
    assert isinstance(rule, rrule)
    return rule


def _shift(moment: datetime, years: int) -> datetime:
    # The Gregorian calendar repeats exactly every 400 years (146,097 days, 20,871 weeks), so a
    # shift by whole cycles keeps every weekday, leap day and ISO week.
    return moment.replace(year=moment.year + years)


def _check_series(value: str, start: int, timezone: str, field: str) -> None:
    """The series must begin at ``start`` and never go MAX_GAP_YEARS without an occurrence.

    Probed on the rule without COUNT/UNTIL, moved by whole 400-year cycles close to the year
    9999, where dateutil stops walking, so even a rule with no occurrence costs a bounded time.
    """
    zone = ZoneInfo(timezone)
    dtstart = _local_naive(start, zone)
    cycles = 400 * ((_MAX_YEAR - 2 * MAX_GAP_YEARS - 1 - dtstart.year) // 400)
    probe_start = _shift(dtstart, cycles)
    try:
        rule = _rule(value, probe_start, zone, unbounded=True)
        occurrences = iter(rule)
        first = next(occurrences, None)
        if first == probe_start:
            # Cheap now: the first candidate is the start, so UNTIL is judged on it at once.
            real_first = next(iter(_rule(value, dtstart, zone)), None)
    except (ValueError, TypeError, OverflowError, KeyError, IndexError) as exc:
        raise ValidationError(field, f"not a valid RRULE: {exc}") from None
    if first is None or first - probe_start > timedelta(days=366 * MAX_GAP_YEARS):
        raise ValidationError(field, f"the rule has no occurrence within {MAX_GAP_YEARS} years")
    if first != probe_start:
        raise ValidationError(
            "start", "must be an occurrence of the rule (it is the series' first occurrence)"
        )
    if real_first != dtstart:
        raise ValidationError(field, "UNTIL is before the block's start: the series is empty")
    horizon = _shift(probe_start, 2 * MAX_GAP_YEARS)
    previous = first
    while previous <= horizon:
        following = next(occurrences, None)
        if following is None or following - previous > timedelta(days=366 * MAX_GAP_YEARS):
            raise ValidationError(
                field, f"the rule leaves more than {MAX_GAP_YEARS} years between occurrences"
            )
        previous = following


def expand_manual_block(row: Any, window_start: int, window_end: int) -> list[Block]:
    """The occurrences of one stored manual block overlapping ``[window_start, window_end)``.

    ``row`` has the attributes of a ``manual_blocks`` row: ``id``, ``resource_id``,
    ``start_at``/``end_at`` (UTC seconds), ``kind``, ``rrule`` (None for a one-off block),
    ``timezone`` and optionally ``note``. At most MAX_INSTANCES occurrences are returned.
    """
    note = getattr(row, "note", None)
    if row.rrule is None:
        if row.start_at < window_end and row.end_at > window_start:
            return [
                Block(
                    row.id,
                    row.resource_id,
                    row.start_at,
                    row.end_at,
                    row.kind,
                    "manual",
                    None,
                    row.timezone,
                    note,
                )
            ]
        return []
    zone = ZoneInfo(row.timezone)
    length = row.end_at - row.start_at
    dtstart = _local_naive(row.start_at, zone)
    # Occurrences that end after the window starts: start after window_start - length.
    after = _local_naive(window_start - length, zone) - timedelta(days=1)
    rule = _rule(row.rrule, dtstart, zone, near=after)
    before = _local_naive(window_end, zone) + timedelta(days=1)
    out: list[Block] = []
    for index, wall in enumerate(rule.xafter(after, inc=True)):
        if wall > before or index >= MAX_INSTANCES:
            break
        # The first occurrence is the stored start itself (which may be a fall-back repeat).
        start = row.start_at if wall == dtstart else _instant(wall, zone)
        if start < window_end and start + length > window_start:
            out.append(
                Block(
                    row.id,
                    row.resource_id,
                    start,
                    start + length,
                    row.kind,
                    "manual",
                    row.rrule,
                    row.timezone,
                    note,
                )
            )
    return out


# The name other store modules used before the function was public.
_expand = expand_manual_block


def blocks_in_window(
    connection: Connection, resource_ids: Sequence[str], window_start: int, window_end: int
) -> list[Block]:
    """Every block of the resources overlapping ``[window_start, window_end)``, by start.

    The caller has checked that the resources are the organization's."""
    if not resource_ids:
        return []
    ids = list(resource_ids)
    synced = connection.execute(
        select(
            busy_blocks.c.id,
            busy_blocks.c.resource_id,
            busy_blocks.c.start_at,
            busy_blocks.c.end_at,
            busy_blocks.c.kind,
            busy_blocks.c.source,
        ).where(
            busy_blocks.c.resource_id.in_(ids),
            busy_blocks.c.start_at < window_end,
            busy_blocks.c.end_at > window_start,
        )
    )
    out = [Block(*row) for row in synced]
    manual = connection.execute(select(manual_blocks).where(manual_blocks.c.resource_id.in_(ids)))
    for row in manual:
        out.extend(expand_manual_block(row, window_start, window_end))
    out.sort(key=lambda b: (b.start, b.end, b.id))
    return out


def _check_resource(connection: Connection, org_id: str, resource_id: str) -> None:
    found = connection.execute(
        select(resources.c.id).where(resources.c.org_id == org_id, resources.c.id == resource_id)
    ).first()
    if found is None:
        raise NotFound("resource")


def create_manual_block(
    connection: Connection, org_id: str, resource_id: str, body: Mapping[str, Any]
) -> dict[str, Any]:
    """Store a manual block of one of the organization's resources.

    ``body``: ``start``/``end`` (UTC epoch seconds, ``end > start``), ``kind`` (default
    ``busy``), ``rrule`` (optional), ``timezone`` (the zone the RRULE is read in; default UTC),
    ``note``. Raises NotFound for a foreign resource, ValidationError for a bad rule or zone.
    """
    _check_resource(connection, org_id, resource_id)
    timezone = body.get("timezone") or "UTC"
    if not is_valid_zone(timezone):
        raise ValidationError("timezone", f"unknown time zone {timezone!r} (use an IANA name)")
    if body["end"] <= body["start"]:
        raise ValidationError("end", "must be later than start")
    rule = None
    if body.get("rrule"):
        rule = normalize_rrule(body["rrule"])
        _check_series(rule, body["start"], timezone, "rrule")
    block = Block(
        id=new_id(),
        resource_id=resource_id,
        start=body["start"],
        end=body["end"],
        kind=body.get("kind") or "busy",
        source="manual",
        rrule=rule,
        timezone=timezone,
        note=body.get("note"),
    )
    connection.execute(
        insert(manual_blocks).values(
            id=block.id,
            org_id=org_id,
            resource_id=resource_id,
            start_at=block.start,
            end_at=block.end,
            kind=block.kind,
            rrule=block.rrule,
            timezone=block.timezone,
            note=block.note,
        )
    )
    versions.bump_resources(connection, [resource_id])
    return block.to_dict()


def delete_manual_block(
    connection: Connection, org_id: str, resource_id: str, block_id: str
) -> None:
    """Delete a manual block (a whole series for a recurring one).

    NotFound unless the block is a manual block of this organization's resource; Conflict for a
    synced block of that resource, which only its calendar can remove."""
    _check_resource(connection, org_id, resource_id)
    result = connection.execute(
        delete(manual_blocks).where(
            manual_blocks.c.org_id == org_id,
            manual_blocks.c.resource_id == resource_id,
            manual_blocks.c.id == block_id,
        )
    )
    if result.rowcount:
        versions.bump_resources(connection, [resource_id])
        return
    synced = connection.execute(
        select(busy_blocks.c.id).where(
            busy_blocks.c.org_id == org_id,
            busy_blocks.c.resource_id == resource_id,
            busy_blocks.c.id == block_id,
        )
    ).first()
    if synced is not None:
        raise Conflict(
            "this block is synced from a connected calendar: remove it there (or disconnect the "
            "calendar); only manual blocks can be deleted here"
        )
    raise NotFound("block")
