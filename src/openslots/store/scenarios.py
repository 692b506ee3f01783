"""Assemble the engine's scenario for one query from the store.

Everything an answer depends on is read here, in one transaction: the organization's schedule,
the service, the pool's resources with their teams' schedules, the service's location, and the
blocks, bookings and live holds around the window. The result is an ordinary
:class:`openslots.engine.Scenario`, so the server's answer can be exported and replayed with
``openslots slots``.

This is the cold path of every availability answer, so it reads with few queries: one for the
service with its organization, one for the pool, one per kind of reservation, and for blocks one
for their sources plus one per resource. Busy blocks (thousands per query) are read with a plain
DB-API cursor, from the index alone, and built without the dataclass constructor; see
:func:`_synced_blocks`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import pairwise
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, Text, bindparam, cast, select

from openslots.engine.model import (
    BlockColumns,
    Booking,
    BusyBlock,
    Caps,
    Location,
    Organization,
    Query,
    Resource,
    Scenario,
    Schedule,
    Service,
    Team,
)
from openslots.engine.scenario import parse_schedule
from openslots.errors import ValidationError
from openslots.store.blocks import expand_manual_block
from openslots.store.catalog import NotFound
from openslots.store.reservations import reservations_and_expiry
from openslots.store.schema import (
    booking_resources,
    bookings,
    locations,
    organizations,
    resource_locations,
    resources,
    service_resources,
    services,
    teams,
)

__all__ = [
    "LoadedScenario",
    "load_query_scenario",
    "load_scenario",
    "schedule_of",
    "service_of",
]

DAY = 86_400
# Bookings are read from this long before and after the window: caps count a whole ISO week,
# and a booking's own buffers (at most a month, MAX_DURATION) can reach into the window.
_BOOKINGS_BEFORE = 40 * DAY
_BOOKINGS_AFTER = 40 * DAY


@lru_cache(maxsize=4096)
def _schedule_cached(text: str) -> Schedule | None:
    document = json.loads(text)
    # The JSON type stores None as the JSON text "null" (not as SQL NULL).
    return None if document is None else parse_schedule(document, "schedule")


def _schedule_of_text(text: str | None) -> Schedule | None:
    """The engine schedule of a stored schedule read as its JSON text (no decoding when the
    same text was seen before: every pool resource's schedule is read on each cold answer)."""
    return None if text is None else _schedule_cached(text)


def schedule_of(document: Any) -> Schedule | None:
    """The engine schedule of a stored schedule document (stored documents were validated)."""
    if document is None:
        return None
    return _schedule_cached(json.dumps(document, sort_keys=True))


def service_of(row: Mapping[str, Any]) -> Service:
    """The engine service of a catalog service object (``catalog.get(..., "services", ...)``)."""
    return Service(
        id=row["id"],
        duration=row["duration"],
        duration_options=tuple(row["duration_options"]) if row["duration_options"] else None,
        duration_interval=row["duration_interval"],
        interval=row["interval"],
        buffer_before=row["buffer_before"],
        buffer_after=row["buffer_after"],
        min_notice=row["min_notice"],
        horizon=row["horizon"],
        seats=row["seats"],
        caps=Caps(row["caps"]["per_day"], row["caps"]["per_week"]),
        resource_ids=tuple(row["resource_ids"]),
        location_id=row["location_id"],
        mode=row["mode"],
    )


@dataclass(frozen=True, slots=True)
class LoadedScenario:
    """A scenario and what its answer's lifetime depends on besides the stored versions.

    ``hold_expires_at`` is the earliest ``expires_at`` (UTC seconds) of the live holds in the
    scenario: at that instant a hold stops taking seats without any write, so an answer computed
    from this scenario is valid only before it. None when there is no live hold.
    """

    scenario: Scenario
    hold_expires_at: int | None


# -- busy blocks ----------------------------------------------------------------------------


def _busy_of(rows: Sequence[tuple[int, int, str, str]]) -> BlockColumns:
    """Blocks from ``(start, end, kind, source)`` rows, in their order."""
    if not rows:
        return BlockColumns((), (), (), ())
    starts, ends, kinds, sources = zip(*rows, strict=True)
    return BlockColumns(starts, ends, kinds, sources)


def _raw_rows(
    connection: Connection, sql: str, ids: Sequence[str], params: Sequence[Any]
) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` run on the DB-API cursor; ``{ids}`` expands to one placeholder per id and
    ``?`` is the placeholder of the other parameters, whatever the driver's style."""
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    text = sql.replace("{ids}", ", ".join([mark] * len(ids))).replace("?", mark)
    cursor = connection.connection.cursor()
    try:
        cursor.execute(text, (*ids, *params))
        return list(cursor.fetchall())
    finally:
        cursor.close()


# Synced blocks are read per resource, in the order of the index on (resource_id, start_at,
# end_at, kind, source), from the index alone. Most resources' blocks in a window share one kind
# and one source (one calendar), found first for every resource in one read; their blocks are
# then read as bare (start, end) pairs: the strings are most of the cost of reading a row.
_SOURCES = (
    "SELECT resource_id, MIN(kind), MAX(kind), MIN(source), MAX(source) FROM busy_blocks "
    "WHERE resource_id IN ({ids}) AND start_at < ? AND end_at > ? GROUP BY resource_id"
)
_SPANS = (
    "SELECT start_at, end_at FROM busy_blocks "
    "WHERE resource_id = ? AND start_at < ? AND end_at > ? ORDER BY start_at, end_at"
)
_ROWS = (
    "SELECT start_at, end_at, kind, source FROM busy_blocks "
    "WHERE resource_id = ? AND start_at < ? AND end_at > ? ORDER BY start_at, end_at"
)
_ROWS_WITH_IDS = (
    "SELECT start_at, end_at, id, kind, source FROM busy_blocks "
    "WHERE resource_id = ? AND start_at < ? AND end_at > ?"
)
_MANUAL = (
    "SELECT resource_id, start_at, end_at, id, kind, rrule, timezone FROM manual_blocks "
    "WHERE resource_id IN ({ids}) AND (rrule IS NOT NULL OR (start_at < ? AND end_at > ?))"
)
Item = tuple[int, int, str | None, str, str]  # start, end, block id (None: not read), kind, source


def _mixed(rows: list[tuple[int, int, str, str]]) -> tuple[BlockColumns, bool]:
    """Blocks from ``(start, end, kind, source)`` rows ordered by start and end, and whether two
    that start and end together differ (only their ids can order those)."""
    ties = any(row[:2] == last[:2] and row != last for last, row in pairwise(rows))
    return _busy_of(rows), ties


def _synced_blocks(
    connection: Connection, resource_ids: Sequence[str], window_start: int, window_end: int
) -> tuple[dict[str, Sequence[BusyBlock]], set[str]]:
    """Each resource's synced blocks by ``(start, end)``, and the resources where two blocks
    that start and end together differ."""
    out: dict[str, Sequence[BusyBlock]] = dict.fromkeys(resource_ids, ())
    ties: set[str] = set()
    window = (window_end, window_start)
    groups = _raw_rows(connection, _SOURCES, resource_ids, window)
    for resource_id, low_kind, high_kind, low_source, high_source in groups:
        if low_kind == high_kind and low_source == high_source:
            spans = _raw_rows(connection, _SPANS, (), (resource_id, *window))
            # Thousands of blocks per query: kept as columns, not one object per block.
            out[resource_id] = BlockColumns.uniform(spans, low_kind, low_source)
        else:
            rows = _raw_rows(connection, _ROWS, (), (resource_id, *window))
            out[resource_id], tied = _mixed(rows)
            if tied:
                ties.add(resource_id)
    return out, ties


def _manual_items(
    connection: Connection, resource_ids: Sequence[str], window_start: int, window_end: int
) -> dict[str, list[Item]]:
    """Each resource's manual blocks in the window (recurring ones expanded), unordered."""
    out: dict[str, list[Item]] = {}
    for row in _raw_rows(connection, _MANUAL, resource_ids, (window_end, window_start)):
        resource_id, start, end, block_id, kind, rrule, timezone = row
        items = out.setdefault(resource_id, [])
        if rrule is None:
            items.append((start, end, block_id, kind, "manual"))
            continue
        stored = SimpleNamespace(
            id=block_id,
            resource_id=resource_id,
            start_at=start,
            end_at=end,
            kind=kind,
            rrule=rrule,
            timezone=timezone,
        )
        items.extend(
            (b.start, b.end, b.id, b.kind, b.source)
            for b in expand_manual_block(stored, window_start, window_end)
        )
    return out


def _blocks_by_resource(
    connection: Connection, resource_ids: Sequence[str], window_start: int, window_end: int
) -> dict[str, Sequence[BusyBlock]]:
    """Each resource's blocks overlapping the window, whatever their source, ordered by
    ``(start, end, block id)`` exactly as :func:`openslots.store.blocks.blocks_in_window` does.

    Synced blocks are read without their ids (36 characters each, a large share of the reading
    time): ids only order blocks that start and end together yet differ, and are read for the
    resources that have such blocks, or manual blocks to interleave."""
    synced, ties = _synced_blocks(connection, resource_ids, window_start, window_end)
    manual = _manual_items(connection, resource_ids, window_start, window_end)
    for resource_id in ties | manual.keys():
        own = manual.get(resource_id, [])
        if not synced[resource_id]:
            # Manual blocks only: their ids are at hand.
            items = sorted(own, key=lambda item: (item[0], item[1], item[2] or ""))
        else:
            items = [(b.start, b.end, None, b.kind, b.source) for b in synced[resource_id]]
            items.extend(own)
            items.sort(key=lambda item: (item[0], item[1]))
            if _has_ties(items):
                items = _with_ids(connection, resource_id, own, window_start, window_end)
        synced[resource_id] = _busy_of([(s, e, k, src) for s, e, _, k, src in items])
    return synced


def _has_ties(items: list[Item]) -> bool:
    """Whether two different blocks start and end together (their order then needs the ids)."""
    return any(
        a[0] == b[0] and a[1] == b[1] and (a[2] != b[2] or a[3:] != b[3:])
        for a, b in pairwise(items)
    )


def _with_ids(
    connection: Connection,
    resource_id: str,
    manual: list[Item],
    window_start: int,
    window_end: int,
) -> list[Item]:
    """The resource's synced blocks read again with their ids, and its manual blocks, ordered
    by ``(start, end, block id)``."""
    synced: list[Item] = [
        (start, end, block_id, kind, source)
        for start, end, block_id, kind, source in _raw_rows(
            connection, _ROWS_WITH_IDS, (), (resource_id, window_end, window_start)
        )
    ]
    return sorted(synced + manual, key=lambda item: (item[0], item[1], item[2] or ""))


# -- reservations ---------------------------------------------------------------------------


def _rescheduled(
    connection: Connection, org_id: str, booking_id: str
) -> tuple[Booking, list[str]] | None:
    """The confirmed booking being rescheduled and its resources; NotFound when the booking is
    not the organization's, None when it is cancelled."""
    row = connection.execute(
        select(
            bookings.c.id,
            bookings.c.service_id,
            bookings.c.start_at,
            bookings.c.end_at,
            bookings.c.party_size,
            bookings.c.buffer_before,
            bookings.c.buffer_after,
            bookings.c.status,
        ).where(bookings.c.org_id == org_id, bookings.c.id == booking_id)
    ).first()
    if row is None:
        raise NotFound("booking")
    if row.status != "confirmed":
        return None
    holders = connection.execute(
        select(booking_resources.c.resource_id).where(
            booking_resources.c.booking_id == booking_id, booking_resources.c.active == 1
        )
    ).scalars()
    return Booking(*row[:7]), list(holders)


# -- the scenario ---------------------------------------------------------------------------


_SERVICE = (
    select(services, cast(organizations.c.schedule, Text).label("org_schedule"))
    .join(organizations, organizations.c.id == services.c.org_id)
    .where(services.c.org_id == bindparam("org_id"), services.c.id == bindparam("service_id"))
)
_POOL = (
    select(
        resources.c.id,
        resources.c.timezone,
        resources.c.capacity,
        resources.c.team_id,
        cast(resources.c.schedule, Text).label("schedule"),
    )
    .join(service_resources, service_resources.c.resource_id == resources.c.id)
    .where(
        service_resources.c.service_id == bindparam("service_id"),
        resources.c.org_id == bindparam("org_id"),
    )
    .order_by(service_resources.c.position)
)


def _service_row(connection: Connection, org_id: str, service_id: str) -> Any:
    row = connection.execute(_SERVICE, {"org_id": org_id, "service_id": service_id}).first()
    if row is None:
        raise NotFound("service")
    return row


def _pool_rows(connection: Connection, org_id: str, service_id: str) -> list[Any]:
    return list(connection.execute(_POOL, {"org_id": org_id, "service_id": service_id}))


def _check_owned(connection: Connection, org_id: str, ids: Iterable[str]) -> None:
    """NotFound unless every id names one of the organization's resources."""
    wanted = sorted(set(ids))
    if not wanted:
        return
    owned = set(
        connection.execute(
            select(resources.c.id).where(resources.c.org_id == org_id, resources.c.id.in_(wanted))
        ).scalars()
    )
    for resource_id in wanted:
        if resource_id not in owned:
            raise NotFound("resource")


def _location(connection: Connection, org_id: str, location_id: str) -> Location:
    row = connection.execute(
        select(locations.c.id, locations.c.timezone, locations.c.schedule).where(
            locations.c.org_id == org_id, locations.c.id == location_id
        )
    ).first()
    if row is None:
        raise NotFound("location")
    return Location(row.id, row.timezone, schedule_of(row.schedule))


def _serving(connection: Connection, pool: Sequence[str], location_id: str) -> list[str]:
    """The pool's resources that work at the location: those linked to it, and those linked to
    no location at all (they are not tied to a place)."""
    linked: dict[str, set[str]] = {}
    rows = connection.execute(
        select(resource_locations.c.resource_id, resource_locations.c.location_id).where(
            resource_locations.c.resource_id.in_(list(pool))
        )
    )
    for resource_id, linked_location in rows:
        linked.setdefault(resource_id, set()).add(linked_location)
    return [r for r in pool if r not in linked or location_id in linked[r]]


def _at_location(
    connection: Connection, query: Query, mode: str, pool: list[str], location_id: str
) -> Query:
    """The query narrowed to the pool's resources that serve ``location_id``."""
    serving = _serving(connection, pool, location_id)
    if query.resource_ids is not None:
        for index, resource_id in enumerate(query.resource_ids):
            if resource_id in pool and resource_id not in serving:
                raise ValidationError(
                    f"query.resource_ids.{index}",
                    f"resource {resource_id!r} does not work at location {location_id!r}",
                )
        return query
    if (query.mode or mode) == "combined":
        return query  # combined needs explicit resources: the engine says so
    if not serving:
        raise ValidationError(
            "query.location_id", f"no resource of the service works at location {location_id!r}"
        )
    if len(serving) == len(pool):
        return query
    return replace(query, resource_ids=tuple(serving))


def load_query_scenario(
    connection: Connection,
    org_id: str,
    service_id: str,
    query: Query,
    now: int,
    *,
    location_id: str | None = None,
) -> LoadedScenario:
    """The scenario of ``query`` for this organization's service, and when its holds expire.

    Raises NotFound when the service, a resource of ``query.resource_ids``, the location or the
    booking to reschedule is not the organization's. The whole pool is loaded even when the query
    narrows it: the engine checks the narrowing, and the exported scenario then replays exactly.

    ``location_id`` (a location of the organization) places the service there for this query:
    that location's hours, instead of the service's own location's, intersect each resource's
    hours, and the pool narrows to the resources that work there (those linked to it, and those
    linked to no location). A narrowing the query cannot honour is a ValidationError of
    ``query.resource_ids`` or ``query.location_id``.
    """
    row = _service_row(connection, org_id, service_id)
    pool_rows = _pool_rows(connection, org_id, service_id)
    pool = [r.id for r in pool_rows]
    if query.resource_ids is not None:
        _check_owned(connection, org_id, (r for r in query.resource_ids if r not in pool))
    service = Service(
        id=row.id,
        duration=row.duration,
        duration_options=tuple(row.duration_options) if row.duration_options else None,
        duration_interval=row.duration_interval,
        interval=row.interval,
        buffer_before=row.buffer_before,
        buffer_after=row.buffer_after,
        min_notice=row.min_notice,
        horizon=row.horizon,
        seats=row.seats,
        caps=Caps(row.cap_per_day, row.cap_per_week),
        resource_ids=tuple(pool),
        location_id=row.location_id,
        mode=row.mode,
    )
    engine_locations: tuple[Location, ...] = ()
    if location_id is not None:
        engine_locations = (_location(connection, org_id, location_id),)
        service = replace(service, location_id=location_id)
        query = _at_location(connection, query, service.mode, pool, location_id)
    elif service.location_id is not None:
        engine_locations = (_location(connection, org_id, service.location_id),)

    team_ids = sorted({r.team_id for r in pool_rows if r.team_id})
    engine_teams: tuple[Team, ...] = ()
    if team_ids:
        engine_teams = tuple(
            Team(t.id, schedule_of(t.schedule))
            for t in connection.execute(
                select(teams.c.id, teams.c.schedule)
                .where(teams.c.id.in_(team_ids), teams.c.org_id == org_id)
                .order_by(teams.c.id)
            )
        )

    longest = max((service.duration, query.duration or 0, *(service.duration_options or ())))
    margin = max(service.buffer_before, service.buffer_after) * 60 + service.duration * 60 + DAY
    busy = (
        _blocks_by_resource(
            connection, pool, query.start - margin, query.end + margin + longest * 60
        )
        if pool
        else {}
    )
    reservations, hold_expires_at = (
        reservations_and_expiry(
            connection, pool, query.start - _BOOKINGS_BEFORE, query.end + _BOOKINGS_AFTER, now
        )
        if pool
        else ({}, None)
    )
    if query.reschedule_booking_id is not None:
        _add_rescheduled(connection, org_id, query.reschedule_booking_id, reservations)

    engine_resources = tuple(
        Resource(
            id=r.id,
            timezone=r.timezone,
            capacity=r.capacity,
            team_id=r.team_id,
            schedule=_schedule_of_text(r.schedule),
            busy=busy[r.id],
            bookings=tuple(reservations[r.id]),
        )
        for r in pool_rows
    )
    scenario = Scenario(
        now=now,
        service=service,
        resources=engine_resources,
        query=query,
        organization=Organization(_schedule_of_text(row.org_schedule)),
        teams=engine_teams,
        locations=engine_locations,
    )
    return LoadedScenario(scenario, hold_expires_at)


def _add_rescheduled(
    connection: Connection, org_id: str, booking_id: str, reservations: dict[str, list[Booking]]
) -> None:
    """Add the booking being rescheduled where the window did not reach it, so that the engine
    can ignore it (a booking months away may be moved into this window)."""
    if booking_id.startswith("hold:") or any(
        b.id == booking_id for held in reservations.values() for b in held
    ):
        return  # a live hold near the window is loaded already; any other is not to be found
    found = _rescheduled(connection, org_id, booking_id)
    if found is None:
        return
    booking, holders = found
    for resource_id in holders:
        if resource_id in reservations:
            reservations[resource_id].append(booking)


def load_scenario(
    connection: Connection,
    org_id: str,
    service_id: str,
    query: Query,
    now: int,
) -> Scenario:
    """The scenario of ``query`` for this organization's service (NotFound when the service is
    not the organization's). See :func:`load_query_scenario`."""
    return load_query_scenario(connection, org_id, service_id, query, now).scenario
