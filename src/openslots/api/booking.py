"""The booking flow: a slot is rechecked by the engine and taken in the same transaction.

Holds and bookings are placed the same way:

1. The resources to lock are found in a short read: the ones the request names, else the
   service's whole pool (the mode picks among them later), or a confirmed hold's own.
2. In ``database.serialized(those ids)`` (SQLite ``BEGIN IMMEDIATE``; PostgreSQL row locks on
   the resources, taken in id order) the scenario is loaded from the store, the engine's
   :func:`~openslots.engine.check_slot` rechecks the slot, and the hold or booking is inserted.
   Competing writers for the same resources run one after the other, so each recheck sees every
   seat taken before it: a slot can never be sold twice, whatever the concurrency. Should the
   engine pick a resource that was not locked (the pool changed in between), the transaction
   is rolled back and retried with that resource locked too.

The engine's query carries the requested duration, party size and resources. Its window is the
local date of the slot's start in the zone of the first resource asked for (else the pool's
first): the window only matters to ``balanced`` mode, which prefers the resource with the fewest
bookings of the service in it, and a day keeps that choice "spread over the day" whatever
window a client listed. The scenario is loaded a day either side of the start, which covers
that date in any zone along with every block and booking near the slot.

A hold takes its seats like a booking until ``expires_at``. Confirming it rechecks the slot
without counting the hold's own seats (the engine's ``reschedule`` of the hold) and releases it
in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from sqlalchemy import Connection

from openslots.api.idempotency import Answer, fingerprint, replay
from openslots.api.settings import ApiSettings
from openslots.engine import Query, Scenario, Service, SlotCheck, check_slot
from openslots.engine.render import render_reason
from openslots.engine.scenario import format_instant
from openslots.engine.schedule import start_of_local_day
from openslots.engine.zones import DAY, local_day
from openslots.errors import (
    Conflict,
    HoldExpired,
    HoldReleased,
    SlotTaken,
    ValidationError,
)
from openslots.store import catalog, reservations
from openslots.store.database import Database, WriteConflict
from openslots.store.scenarios import load_scenario

__all__ = [
    "SlotRequest",
    "booking_out",
    "cancel_booking",
    "hold_out",
    "place_booking",
    "place_hold",
    "release_hold",
]

T = TypeVar("T")
# Attempts at a serialized transaction (the pool changed under it, or it lost a deadlock).
_ATTEMPTS = 3
# Engine query fields as the request body names them.
_BODY_FIELDS = {
    "query.duration": "duration",
    "query.party_size": "party_size",
    "query.resource_ids": "resource_ids",
    "query.reschedule_booking_id": "hold_id",
}


@dataclass(frozen=True, slots=True)
class SlotRequest:
    """A slot to take: ``start`` in UTC seconds; ``duration`` in minutes (None: the service's);
    ``resource_ids`` None lets the service's mode pick."""

    service_id: str
    start: int
    resource_ids: tuple[str, ...] | None = None
    duration: int | None = None
    party_size: int = 1


class _LockMissed(Exception):
    """The engine chose resources outside the locked set; retry with them locked."""

    def __init__(self, resource_ids: tuple[str, ...]) -> None:
        super().__init__("resources outside the lock")
        self.resource_ids = resource_ids


# -- answers ------------------------------------------------------------------------------


def _instant(value: int | None) -> str | None:
    return None if value is None else format_instant(value)


def booking_out(booking: Mapping[str, Any]) -> dict[str, Any]:
    """A booking as the API shows it (instants in UTC with ``Z``; buffers in minutes)."""
    return {
        "id": booking["id"],
        "service_id": booking["service_id"],
        "resource_ids": list(booking["resource_ids"]),
        "start": _instant(booking["start"]),
        "end": _instant(booking["end"]),
        "party_size": booking["party_size"],
        "buffer_before": booking["buffer_before"],
        "buffer_after": booking["buffer_after"],
        "status": booking["status"],
        "hold_id": booking["hold_id"],
        "created_at": _instant(booking["created_at"]),
        "cancelled_at": _instant(booking["cancelled_at"]),
    }


def _hold_status(hold: Mapping[str, Any], now: int) -> str:
    if hold["booking_id"] is not None:
        return "confirmed"
    if hold["released_at"] is not None:
        return "released"
    return "active" if hold["expires_at"] > now else "expired"


def hold_out(hold: Mapping[str, Any], now: int) -> dict[str, Any]:
    """A hold as the API shows it; ``status`` is ``active`` (its seats are taken), ``expired``,
    ``released`` or ``confirmed`` (then ``booking_id`` names the booking)."""
    return {
        "id": hold["id"],
        "service_id": hold["service_id"],
        "resource_ids": list(hold["resource_ids"]),
        "start": _instant(hold["start"]),
        "end": _instant(hold["end"]),
        "party_size": hold["party_size"],
        "buffer_before": hold["buffer_before"],
        "buffer_after": hold["buffer_after"],
        "expires_at": _instant(hold["expires_at"]),
        "status": _hold_status(hold, now),
        "released_at": _instant(hold["released_at"]),
        "booking_id": hold["booking_id"],
        "created_at": _instant(hold["created_at"]),
    }


# -- the check ----------------------------------------------------------------------------


def _local_day(zone: str, instant: int) -> tuple[int, int]:
    """``[local midnight, next local midnight)`` of the date of ``instant`` in ``zone``."""
    day = local_day(zone, instant)
    return start_of_local_day(zone, day), start_of_local_day(zone, day + 1)


def _day_window(scenario: Scenario, request: SlotRequest) -> Scenario:
    ids = request.resource_ids or scenario.service.resource_ids or ()
    zones = {r.id: r.timezone for r in scenario.resources}
    zone = zones.get(ids[0], "UTC") if ids else "UTC"
    lo, hi = _local_day(zone, request.start)
    return replace(scenario, query=replace(scenario.query, start=lo, end=hi))


def _body_error(error: ValidationError) -> ValidationError:
    """The engine names query fields (``query.duration``); the body names them plainly."""
    field = error.field
    for engine_field, body_field in _BODY_FIELDS.items():
        if field == engine_field or field.startswith(engine_field + "."):
            field = body_field + field[len(engine_field) :]
            break
    return ValidationError(field, error.message)


def _refusal(check: SlotCheck) -> SlotTaken:
    codes = ", ".join(dict.fromkeys(r.code for r in check.reasons))
    return SlotTaken(
        f"the slot at {format_instant(check.start)} cannot be booked: {codes}",
        [render_reason(r) for r in check.reasons],
    )


def _check(
    connection: Connection,
    org_id: str,
    request: SlotRequest,
    *,
    now: int,
    settings: ApiSettings,
    locked: frozenset[str],
    hold_id: str | None = None,
) -> tuple[SlotCheck, Service]:
    """The engine's verdict on the slot, inside the serialized transaction; raises SlotTaken
    with the engine's reasons when it cannot be booked, ValidationError (naming the body's
    field) for a duration, party or resources the service does not allow."""
    query = Query(
        start=request.start - DAY,
        end=request.start + DAY,
        resource_ids=request.resource_ids,
        duration=request.duration,
        party_size=request.party_size,
        reschedule_booking_id=None if hold_id is None else f"hold:{hold_id}",
    )
    try:
        scenario = _day_window(
            load_scenario(connection, org_id, request.service_id, query, now), request
        )
        check = check_slot(scenario, request.start, request.resource_ids, settings.limits)
    except ValidationError as error:
        raise _body_error(error) from None
    if not locked.issuperset(check.resource_ids):
        raise _LockMissed(check.resource_ids)
    if not check.bookable:
        raise _refusal(check)
    return check, scenario.service


def _seats(check: SlotCheck, service: Service, request: SlotRequest) -> dict[str, Any]:
    """What a hold or booking records: the checked slot and the service's buffers now."""
    return {
        "service_id": request.service_id,
        "resource_ids": list(check.resource_ids),
        "start": check.start,
        "end": check.end,
        "party_size": request.party_size,
        "buffer_before": service.buffer_before,
        "buffer_after": service.buffer_after,
    }


# -- transactions -------------------------------------------------------------------------


def _resources_to_lock(database: Database, org_id: str, request: SlotRequest) -> tuple[str, ...]:
    """The resources a request may take (404 for an id that is not the organization's)."""
    with database.read() as connection:
        service = catalog.get(connection, org_id, "services", request.service_id)
        if request.resource_ids is None:
            return tuple(service["resource_ids"])
        for resource_id in request.resource_ids:
            catalog.get(connection, org_id, "resources", resource_id)
        return request.resource_ids


def _locked(
    database: Database,
    resource_ids: tuple[str, ...],
    work: Callable[[Connection, frozenset[str]], T],
) -> T:
    """Run ``work`` in a transaction serialized on ``resource_ids``; run it again, with the lock
    widened, when it needs more resources than were locked, or when the database aborted it
    for a competing transaction (nothing was written either way)."""
    lock = frozenset(resource_ids)
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            with database.serialized(sorted(lock)) as connection:
                return work(connection, lock)
        except _LockMissed as missed:
            lock = lock | set(missed.resource_ids)
        except WriteConflict:
            if attempt == _ATTEMPTS:
                raise
    raise Conflict("the service's resources kept changing during the booking; try again")


def place_hold(
    settings: ApiSettings, org_id: str, request: SlotRequest, ttl_seconds: int
) -> dict[str, Any]:
    """Take the slot's seats for ``ttl_seconds``; the hold as the API shows it."""
    now = settings.clock()
    database = settings.database

    def work(connection: Connection, locked: frozenset[str]) -> dict[str, Any]:
        check, service = _check(
            connection, org_id, request, now=now, settings=settings, locked=locked
        )
        body = {**_seats(check, service, request), "expires_at": now + ttl_seconds}
        return reservations.create_hold(connection, org_id, body, now)

    hold = _locked(database, _resources_to_lock(database, org_id, request), work)
    return hold_out(hold, now)


def _ensure_live(hold: Mapping[str, Any], now: int) -> None:
    if hold["booking_id"] is not None:
        raise HoldReleased(f"hold {hold['id']} was already confirmed as {hold['booking_id']}")
    if hold["released_at"] is not None:
        raise HoldReleased(f"hold {hold['id']} was released")
    if hold["expires_at"] <= now:
        raise HoldExpired(f"hold {hold['id']} expired at {format_instant(hold['expires_at'])}")


def _from_hold(hold: Mapping[str, Any], given: Mapping[str, Any]) -> SlotRequest:
    """The slot a hold reserved; fields the body also gives must agree with it (422)."""
    held = SlotRequest(
        service_id=hold["service_id"],
        start=hold["start"],
        resource_ids=tuple(hold["resource_ids"]),
        duration=(hold["end"] - hold["start"]) // 60,
        party_size=hold["party_size"],
    )
    for field in ("service_id", "start", "resource_ids", "duration", "party_size"):
        value = given.get(field)
        expected = getattr(held, field)
        if field == "resource_ids" and value is not None:
            value, expected = sorted(value), sorted(expected)
        if value is not None and value != expected:
            raise ValidationError(field, f"does not match the hold's {field}")
    return held


def _direct(given: Mapping[str, Any]) -> SlotRequest:
    for field in ("service_id", "start"):
        if given.get(field) is None:
            raise ValidationError(field, "is required (unless a hold_id is given)")
    resource_ids = given.get("resource_ids")
    return SlotRequest(
        service_id=given["service_id"],
        start=given["start"],
        resource_ids=None if resource_ids is None else tuple(resource_ids),
        duration=given.get("duration"),
        party_size=given.get("party_size") or 1,
    )


def place_booking(
    settings: ApiSettings, org_id: str, given: Mapping[str, Any], key: str | None
) -> Answer:
    """Book a slot, directly or from ``given["hold_id"]``; ``given`` holds the body's fields as
    sent (``start`` parsed to UTC seconds). With an idempotency ``key``, the first answer (201,
    or 409 once the slot was checked) is saved in the same transaction and replayed after."""
    now = settings.clock()
    database = settings.database
    hashed = fingerprint("bookings", given) if key is not None else ""
    if key is not None:
        with database.read() as connection:
            answer = replay(connection, org_id, key, hashed, now, writing=False)
        if answer is not None:
            return answer

    hold_id = given.get("hold_id")
    if hold_id is None:
        request = _direct(given)
        lock = _resources_to_lock(database, org_id, request)
    else:
        with database.read() as connection:
            hold = reservations.get_hold(connection, org_id, hold_id)
        request = _from_hold(hold, given)
        lock = tuple(hold["resource_ids"])

    def work(connection: Connection, locked: frozenset[str]) -> Answer:
        if key is not None:
            saved = replay(connection, org_id, key, hashed, now, writing=True)
            if saved is not None:
                return saved
        try:
            if hold_id is not None:
                _ensure_live(reservations.get_hold(connection, org_id, hold_id), now)
            check, service = _check(
                connection,
                org_id,
                request,
                now=now,
                settings=settings,
                locked=locked,
                hold_id=hold_id,
            )
            body = {**_seats(check, service, request), "hold_id": hold_id}
            answer = Answer(
                201, booking_out(reservations.create_booking(connection, org_id, body, now))
            )
        except Conflict as refusal:
            if key is None:
                raise
            answer = Answer(refusal.status, refusal.to_dict())
        if key is not None:
            reservations.save_response(
                connection,
                org_id,
                key,
                reservations.SavedResponse(hashed, answer.status, answer.body, now),
            )
        return answer

    try:
        return _locked(database, lock, work)
    except reservations.KeyInUse:
        # A concurrent request with the same key committed first; ours was rolled back.
        assert key is not None
        with database.read() as connection:
            answer = replay(connection, org_id, key, hashed, now, writing=False)
        if answer is None:
            raise
        return answer


def cancel_booking(settings: ApiSettings, org_id: str, booking_id: str) -> dict[str, Any]:
    """Cancel a booking; its seats are free at once (cancelling twice changes nothing).

    Serialized on the booking's resources like a booking: the version bump locks their rows,
    and taking them in the same order as every booking keeps PostgreSQL free of deadlocks."""
    database = settings.database
    with database.read() as connection:
        booking = reservations.get_booking(connection, org_id, booking_id)

    def work(connection: Connection, _: frozenset[str]) -> dict[str, Any]:
        return reservations.cancel_booking(connection, org_id, booking_id, settings.clock())

    return booking_out(_locked(database, tuple(booking["resource_ids"]), work))


def release_hold(settings: ApiSettings, org_id: str, hold_id: str) -> dict[str, Any]:
    """Release a hold; its seats are free at once (a no-op once released or confirmed)."""
    database = settings.database
    now = settings.clock()
    with database.read() as connection:
        hold = reservations.get_hold(connection, org_id, hold_id)

    def work(connection: Connection, _: frozenset[str]) -> dict[str, Any]:
        return reservations.release_hold(connection, org_id, hold_id, now)

    return hold_out(_locked(database, tuple(hold["resource_ids"]), work), now)
