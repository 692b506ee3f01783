"""Holds and bookings: the seats taken in a resource's time.

A booking records its service's buffers when it is made, so the time it occupies never changes
when the service does. A hold is a booking with an expiry: until ``expires_at`` it takes its seats
like a booking; after that it is ignored (and a booking made from it must recheck the slot).
Bookings and holds of several resources are linked to each of them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from openslots import errors
from openslots.engine.model import Booking
from openslots.store import versions
from openslots.store.catalog import NotFound, new_id
from openslots.store.schema import (
    booking_resources,
    bookings,
    hold_resources,
    holds,
    idempotency_keys,
)

__all__ = [
    "KeyInUse",
    "SavedResponse",
    "cancel_booking",
    "create_booking",
    "create_hold",
    "forget_response",
    "get_booking",
    "get_hold",
    "list_bookings",
    "release_hold",
    "request_hash",
    "reservations_and_expiry",
    "reservations_in_window",
    "save_response",
    "saved_response",
]


def _booking_dict(row: Any, resource_ids: list[str]) -> dict[str, Any]:
    return {
        "id": row.id,
        "service_id": row.service_id,
        "resource_ids": resource_ids,
        "start": row.start_at,
        "end": row.end_at,
        "party_size": row.party_size,
        "buffer_before": row.buffer_before,
        "buffer_after": row.buffer_after,
        "status": row.status,
        "hold_id": row.hold_id,
        "created_at": row.created_at,
        "cancelled_at": row.cancelled_at,
    }


def _hold_dict(row: Any, resource_ids: list[str], booking_id: str | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "service_id": row.service_id,
        "resource_ids": resource_ids,
        "start": row.start_at,
        "end": row.end_at,
        "party_size": row.party_size,
        "buffer_before": row.buffer_before,
        "buffer_after": row.buffer_after,
        "expires_at": row.expires_at,
        "released_at": row.released_at,
        "created_at": row.created_at,
        "booking_id": booking_id,
    }


# Statements of the cold path, built once: building a select and its cache key costs about as
# much as running it on SQLite.
_BOOKED = (
    select(
        booking_resources.c.resource_id,
        bookings.c.id,
        bookings.c.service_id,
        bookings.c.start_at,
        bookings.c.end_at,
        bookings.c.party_size,
        bookings.c.buffer_before,
        bookings.c.buffer_after,
    )
    .join(bookings, bookings.c.id == booking_resources.c.booking_id)
    .where(
        booking_resources.c.resource_id.in_(bindparam("ids", expanding=True)),
        booking_resources.c.active == 1,
        booking_resources.c.start_at < bindparam("end"),
        booking_resources.c.start_at >= bindparam("start"),
    )
    .order_by(bookings.c.start_at, bookings.c.id)
)
_HELD = (
    select(
        hold_resources.c.resource_id,
        holds.c.id,
        holds.c.service_id,
        holds.c.start_at,
        holds.c.end_at,
        holds.c.party_size,
        holds.c.buffer_before,
        holds.c.buffer_after,
        holds.c.expires_at,
    )
    .join(holds, holds.c.id == hold_resources.c.hold_id)
    .where(
        hold_resources.c.resource_id.in_(bindparam("ids", expanding=True)),
        holds.c.released_at.is_(None),
        holds.c.expires_at > bindparam("now"),
        holds.c.start_at < bindparam("end"),
        holds.c.start_at >= bindparam("start"),
    )
    .order_by(holds.c.start_at, holds.c.id)
)


def reservations_and_expiry(
    connection: Connection, resource_ids: Sequence[str], start: int, end: int, now: int
) -> tuple[dict[str, list[Booking]], int | None]:
    """Confirmed bookings and live holds of each resource starting in ``[start, end)`` (a hold's
    id is prefixed ``hold:``), ordered by start then id, and the earliest live hold's expiry (an
    answer computed from them is valid only before it)."""
    out: dict[str, list[Booking]] = {r: [] for r in resource_ids}
    if not resource_ids:
        return out, None
    window = {"ids": list(resource_ids), "start": start, "end": end}
    for resource_id, *fields in connection.execute(_BOOKED, window):
        out[resource_id].append(Booking(*fields))
    expires: int | None = None
    for resource_id, hold_id, *fields, expires_at in connection.execute(
        _HELD, {**window, "now": now}
    ):
        out[resource_id].append(Booking(f"hold:{hold_id}", *fields))
        expires = expires_at if expires is None else min(expires, expires_at)
    return out, expires


def reservations_in_window(
    connection: Connection, resource_ids: Sequence[str], start: int, end: int, now: int
) -> dict[str, list[Booking]]:
    """Confirmed bookings and live holds of each resource that start in ``[start, end)``, as
    engine bookings (a hold's id is prefixed ``hold:``)."""
    return reservations_and_expiry(connection, resource_ids, start, end, now)[0]


def create_hold(
    connection: Connection, org_id: str, body: Mapping[str, Any], now: int
) -> dict[str, Any]:
    """Insert a hold (body: service_id, resource_ids, start, end, party_size, buffers,
    expires_at); the caller has checked the slot inside the same serialized transaction."""
    hold_id = new_id()
    connection.execute(
        insert(holds).values(
            id=hold_id,
            org_id=org_id,
            service_id=body["service_id"],
            start_at=body["start"],
            end_at=body["end"],
            party_size=body["party_size"],
            buffer_before=body["buffer_before"],
            buffer_after=body["buffer_after"],
            expires_at=body["expires_at"],
            created_at=now,
        )
    )
    for resource_id in body["resource_ids"]:
        connection.execute(insert(hold_resources).values(hold_id=hold_id, resource_id=resource_id))
    versions.bump_resources(connection, body["resource_ids"])
    return get_hold(connection, org_id, hold_id)


def get_hold(connection: Connection, org_id: str, hold_id: str) -> dict[str, Any]:
    """The hold (instants in UTC seconds) with ``booking_id``, the booking confirmed from it
    (None unless it was confirmed); NotFound for another organization's hold."""
    row = connection.execute(
        select(holds).where(holds.c.org_id == org_id, holds.c.id == hold_id)
    ).first()
    if row is None:
        raise NotFound(hold_id)
    ids = [
        r.resource_id
        for r in connection.execute(
            select(hold_resources.c.resource_id)
            .where(hold_resources.c.hold_id == hold_id)
            .order_by(hold_resources.c.resource_id)
        )
    ]
    booking_id = connection.execute(
        select(bookings.c.id).where(bookings.c.org_id == org_id, bookings.c.hold_id == hold_id)
    ).scalar()
    return _hold_dict(row, ids, booking_id)


def release_hold(connection: Connection, org_id: str, hold_id: str, now: int) -> dict[str, Any]:
    """Give the hold's seats back now (a no-op for a hold already released or confirmed)."""
    hold = get_hold(connection, org_id, hold_id)
    if hold["released_at"] is None:
        connection.execute(
            update(holds)
            .where(holds.c.id == hold_id, holds.c.released_at.is_(None))
            .values(released_at=now)
        )
        versions.bump_resources(connection, hold["resource_ids"])
    return get_hold(connection, org_id, hold_id)


def create_booking(
    connection: Connection, org_id: str, body: Mapping[str, Any], now: int
) -> dict[str, Any]:
    """Insert a confirmed booking (body as for a hold, plus an optional ``hold_id`` that is
    released in the same transaction)."""
    booking_id = new_id()
    connection.execute(
        insert(bookings).values(
            id=booking_id,
            org_id=org_id,
            service_id=body["service_id"],
            start_at=body["start"],
            end_at=body["end"],
            party_size=body["party_size"],
            buffer_before=body["buffer_before"],
            buffer_after=body["buffer_after"],
            status="confirmed",
            hold_id=body.get("hold_id"),
            created_at=now,
        )
    )
    for resource_id in body["resource_ids"]:
        connection.execute(
            insert(booking_resources).values(
                booking_id=booking_id,
                resource_id=resource_id,
                start_at=body["start"],
                end_at=body["end"],
                active=1,
            )
        )
    if body.get("hold_id"):
        connection.execute(
            update(holds).where(holds.c.id == body["hold_id"]).values(released_at=now)
        )
    versions.bump_resources(connection, body["resource_ids"])
    return get_booking(connection, org_id, booking_id)


def _resource_ids_of(connection: Connection, booking_id: str) -> list[str]:
    return [
        r.resource_id
        for r in connection.execute(
            select(booking_resources.c.resource_id)
            .where(booking_resources.c.booking_id == booking_id)
            .order_by(booking_resources.c.resource_id)
        )
    ]


def get_booking(connection: Connection, org_id: str, booking_id: str) -> dict[str, Any]:
    row = connection.execute(
        select(bookings).where(bookings.c.org_id == org_id, bookings.c.id == booking_id)
    ).first()
    if row is None:
        raise NotFound(booking_id)
    return _booking_dict(row, _resource_ids_of(connection, booking_id))


def list_bookings(
    connection: Connection,
    org_id: str,
    *,
    resource_id: str | None = None,
    start: int | None = None,
    end: int | None = None,
    status: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Up to ``limit`` bookings in start order (ties by id), cancelled ones included unless
    ``status`` is given. ``start``/``end`` keep the bookings overlapping ``[start, end)``;
    ``after`` (a booking id of this organization, else NotFound) continues a listing after it.
    """
    query = select(bookings).where(bookings.c.org_id == org_id)
    if resource_id is not None:
        query = query.where(
            bookings.c.id.in_(
                select(booking_resources.c.booking_id).where(
                    booking_resources.c.resource_id == resource_id
                )
            )
        )
    if start is not None:
        query = query.where(bookings.c.end_at > start)
    if end is not None:
        query = query.where(bookings.c.start_at < end)
    if status is not None:
        query = query.where(bookings.c.status == status)
    if after is not None:
        last = get_booking(connection, org_id, after)
        query = query.where(
            or_(
                bookings.c.start_at > last["start"],
                and_(bookings.c.start_at == last["start"], bookings.c.id > after),
            )
        )
    rows = connection.execute(query.order_by(bookings.c.start_at, bookings.c.id).limit(limit))
    return [_booking_dict(row, _resource_ids_of(connection, row.id)) for row in rows]


def cancel_booking(
    connection: Connection, org_id: str, booking_id: str, now: int
) -> dict[str, Any]:
    """Cancel a booking: its seats are free at once (idempotent for a cancelled booking)."""
    booking = get_booking(connection, org_id, booking_id)
    if booking["status"] != "cancelled":
        connection.execute(
            update(bookings)
            .where(bookings.c.id == booking_id)
            .values(status="cancelled", cancelled_at=now)
        )
        connection.execute(
            update(booking_resources)
            .where(booking_resources.c.booking_id == booking_id)
            .values(active=0)
        )
        versions.bump_resources(connection, booking["resource_ids"])
    return get_booking(connection, org_id, booking_id)


# -- idempotency ----------------------------------------------------------------------------


class SavedResponse(NamedTuple):
    """The first answer given to a request made with an idempotency key."""

    request_hash: str
    status: int
    body: dict[str, Any]
    created_at: int  # UTC seconds


class KeyInUse(errors.Conflict):
    """Another transaction saved an answer under this idempotency key first."""

    code = "idempotency_key_in_use"

    def __init__(self, key: str) -> None:
        super().__init__(f"the idempotency key {key!r} is being used by another request")


def request_hash(body: Mapping[str, Any]) -> str:
    """A stable digest of a request's parameters (key order does not matter)."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def saved_response(connection: Connection, org_id: str, key: str) -> SavedResponse | None:
    """The answer saved under this organization's ``key``, if any."""
    row = connection.execute(
        select(idempotency_keys).where(
            and_(idempotency_keys.c.org_id == org_id, idempotency_keys.c.key == key)
        )
    ).first()
    if row is None:
        return None
    return SavedResponse(row.request_hash, row.status_code, row.response, row.created_at)


def forget_response(connection: Connection, org_id: str, key: str) -> None:
    """Drop the answer saved under ``key`` (an expired key is then free for a new request)."""
    connection.execute(
        delete(idempotency_keys).where(
            idempotency_keys.c.org_id == org_id, idempotency_keys.c.key == key
        )
    )


def save_response(connection: Connection, org_id: str, key: str, answer: SavedResponse) -> None:
    """Save the first answer under ``key``; raises KeyInUse when a concurrent transaction
    committed one first (this transaction must then be rolled back: it lost the race)."""
    try:
        # A savepoint, so that PostgreSQL reports the violation without poisoning the
        # transaction before the caller gets to roll it back.
        with connection.begin_nested():
            connection.execute(
                insert(idempotency_keys).values(
                    org_id=org_id,
                    key=key,
                    request_hash=answer.request_hash,
                    status_code=answer.status,
                    response=answer.body,
                    created_at=answer.created_at,
                )
            )
    except IntegrityError as exc:
        raise KeyInUse(key) from exc
