"""Holds and bookings: ``/v1/holds`` and ``/v1/bookings`` (the flow lives in api/booking.py).

``POST /v1/holds`` takes a slot's seats for a TTL (default ``hold_ttl_seconds``, at most
``max_hold_ttl_seconds``); ``DELETE`` releases them. ``POST /v1/bookings`` books a slot directly
or from a live hold, with an optional ``Idempotency-Key``; ``DELETE /v1/bookings/{id}`` cancels.
Both refuse a slot the engine's single-slot check refuses with 409 ``slot_taken`` and its
reasons; a duration, party size or resource the service does not allow is a 422 naming it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from openslots.api import booking
from openslots.api.auth import Caller, require
from openslots.api.idempotency import HEADER, check_key
from openslots.api.settings import app_settings
from openslots.engine.scenario import MAX_COUNT, MAX_DURATION, parse_instant
from openslots.errors import BadParameter, ValidationError
from openslots.store import catalog, reservations
from openslots.store.keys import ApiKey

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["holds and bookings"])

Writer = Annotated[ApiKey, Depends(require("write"))]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Ids = Annotated[list[Id], Field(min_length=1, max_length=100)]
Duration = Annotated[StrictInt, Field(ge=1, le=MAX_DURATION, description="minutes")]
Party = Annotated[StrictInt, Field(ge=1, le=MAX_COUNT)]


class HoldIn(BaseModel):
    """A slot to hold: ``start`` is an ISO 8601 instant with an offset; ``duration`` in minutes
    (default: the service's); without ``resource_ids`` the service's mode picks."""

    model_config = ConfigDict(extra="forbid")

    service_id: Id
    start: str
    resource_ids: Ids | None = None
    duration: Duration | None = None
    party_size: Party = 1
    ttl_seconds: StrictInt | None = Field(default=None, ge=1)


class BookingIn(BaseModel):
    """A slot to book, or ``hold_id`` to confirm a hold (its fields are then taken from the
    hold, and any given here must agree with it)."""

    model_config = ConfigDict(extra="forbid")

    service_id: Id | None = None
    start: str | None = None
    resource_ids: Ids | None = None
    duration: Duration | None = None
    party_size: Party | None = None
    hold_id: Id | None = None


class _Reservation(BaseModel):
    id: str
    service_id: str
    resource_ids: list[str]
    start: str
    end: str
    party_size: int
    buffer_before: int
    buffer_after: int
    created_at: str


class HoldOut(_Reservation):
    expires_at: str
    status: Literal["active", "expired", "released", "confirmed"]
    released_at: str | None
    booking_id: str | None


class BookingOut(_Reservation):
    status: Literal["confirmed", "cancelled"]
    hold_id: str | None
    cancelled_at: str | None


class BookingPage(BaseModel):
    items: list[BookingOut]
    next_after: str | None


class ErrorOut(BaseModel):
    error: dict[str, Any]


_REFUSALS: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut, "description": "slot taken (with the engine's reasons)"},
    422: {"model": ErrorOut, "description": "invalid body (names the field)"},
}


def _slot(body: HoldIn) -> booking.SlotRequest:
    return booking.SlotRequest(
        service_id=body.service_id,
        start=parse_instant(body.start, "start"),
        resource_ids=None if body.resource_ids is None else tuple(body.resource_ids),
        duration=body.duration,
        party_size=body.party_size,
    )


@router.post("/holds", status_code=201, response_model=HoldOut, responses=_REFUSALS)
def create_hold(body: HoldIn, request: Request, caller: Writer) -> dict[str, Any]:
    """Hold a slot: its seats are taken until ``expires_at`` (or release, or confirmation)."""
    settings = app_settings(request)
    ttl = settings.hold_ttl_seconds if body.ttl_seconds is None else body.ttl_seconds
    if ttl > settings.max_hold_ttl_seconds:
        raise ValidationError(
            "ttl_seconds", f"a hold lasts at most {settings.max_hold_ttl_seconds} seconds"
        )
    return booking.place_hold(settings, caller.org_id, _slot(body), ttl)


@router.get("/holds/{hold_id}", response_model=HoldOut)
def get_hold(hold_id: str, request: Request, caller: Caller) -> dict[str, Any]:
    settings = app_settings(request)
    with settings.database.read() as connection:
        hold = reservations.get_hold(connection, caller.org_id, hold_id)
    return booking.hold_out(hold, settings.clock())


@router.delete("/holds/{hold_id}", response_model=HoldOut)
def release_hold(hold_id: str, request: Request, caller: Writer) -> dict[str, Any]:
    """Release a hold: its seats are free at once. Answers the hold (``status: released``)."""
    return booking.release_hold(app_settings(request), caller.org_id, hold_id)


@router.post("/bookings", status_code=201, response_model=BookingOut, responses=_REFUSALS)
def create_booking(
    body: BookingIn,
    request: Request,
    caller: Writer,
    idempotency_key: Annotated[str | None, Header(alias=HEADER)] = None,
) -> JSONResponse:
    """Book a slot (directly or from a hold). With an ``Idempotency-Key``, a retry with the same
    body gets the first answer again (``Idempotent-Replayed: true``); another body, 422."""
    key = check_key(idempotency_key)
    given = body.model_dump(exclude_none=True)
    if "start" in given:
        given["start"] = parse_instant(given["start"], "start")
    answer = booking.place_booking(app_settings(request), caller.org_id, given, key)
    return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers())


@router.get("/bookings/{booking_id}", response_model=BookingOut)
def get_booking(booking_id: str, request: Request, caller: Caller) -> dict[str, Any]:
    with app_settings(request).database.read() as connection:
        return booking.booking_out(reservations.get_booking(connection, caller.org_id, booking_id))


def _param_instant(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    try:
        return parse_instant(value, name)
    except ValidationError as error:
        raise BadParameter(name, error.message) from None


@router.get("/bookings", response_model=BookingPage)
def list_bookings(
    request: Request,
    caller: Caller,
    *,
    resource_id: str | None = None,
    start: str | None = None,
    end: str | None = None,
    status: Literal["confirmed", "cancelled"] | None = None,
    limit: int = 100,
    after: str | None = None,
) -> dict[str, Any]:
    """Bookings in start order, those overlapping ``[start, end)`` when given, of one resource
    when ``resource_id`` is given; cancelled ones too unless ``status`` says otherwise."""
    settings = app_settings(request)
    if not 1 <= limit <= settings.max_page_size:
        raise BadParameter("limit", f"must be between 1 and {settings.max_page_size}")
    lo, hi = _param_instant(start, "start"), _param_instant(end, "end")
    if lo is not None and hi is not None and hi <= lo:
        raise BadParameter("end", "must be later than start")
    with settings.database.read() as connection:
        if resource_id is not None:
            catalog.get(connection, caller.org_id, "resources", resource_id)
        items = reservations.list_bookings(
            connection,
            caller.org_id,
            resource_id=resource_id,
            start=lo,
            end=hi,
            status=status,
            after=after,
            limit=limit,
        )
    return {
        "items": [booking.booking_out(b) for b in items],
        "next_after": items[-1]["id"] if len(items) == limit else None,
    }


@router.delete("/bookings/{booking_id}", response_model=BookingOut)
def cancel_booking(booking_id: str, request: Request, caller: Writer) -> dict[str, Any]:
    """Cancel a booking: its seats are free at once. Answers the booking (``cancelled``)."""
    return booking.cancel_booking(app_settings(request), caller.org_id, booking_id)
