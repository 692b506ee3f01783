"""Free/busy feeds (DESIGN §4): secret addresses any calendar app can subscribe to.

``POST /v1/resources/{id}/feeds`` and ``POST /v1/teams/{id}/feeds`` (write scope) mint a feed
with an optional ``label`` (the calendar's name; default the resource's or team's name) and
window (``past_days``, default 7, and ``future_days``, default 60, whole UTC days around today).
The 201 answer carries the ``token`` and the two addresses built on it, shown that once only.
``GET`` on the same paths lists the feeds without tokens; ``GET /v1/feeds/{id}`` shows one and
``DELETE /v1/feeds/{id}`` revokes it (204): the next request for its token is a 404.

The addresses need no API key, the token is the credential:

* ``GET /feeds/{token}/freebusy.ics``: one VFREEBUSY of the window, periods by FBTYPE;
* ``GET /feeds/{token}/busy.ics``: one opaque "Busy" VEVENT per merged busy period.

What counts as busy, how kinds combine and how a team's busy time is made is in
:mod:`openslots.store.feeds`. Both answers carry an ``ETag`` (a hash of the body, which is
byte-identical for the same busy time on the same UTC day), honour ``If-None-Match`` with a 304,
and ``Cache-Control: private, max-age=300``. A wrong, malformed or revoked token is a 404 in the
error shape, the same for each. Event UIDs are a hash of the feed's id and the period's start:
stable across regenerations and across changes to other periods, different between feeds, and
revealing no id; a period that grows keeps its UID (subscribers update the event), one whose
start moves gets a new one (the old event disappears).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from openslots.api.auth import require
from openslots.api.freebusy_ics import (
    BusyEvent,
    FreeBusyPeriod,
    busy_calendar,
    freebusy_calendar,
)
from openslots.api.paging import DEFAULT_LIMIT, check_limit, page
from openslots.api.settings import app_settings
from openslots.engine.scenario import format_instant
from openslots.store.feeds import (
    DAY,
    Feed,
    FeedBusy,
    delete_feed,
    feed_busy,
    feed_by_token,
    get_feed,
    list_feeds,
    mint_feed,
)
from openslots.store.keys import ApiKey

router = APIRouter(tags=["feeds"])

Reader = Annotated[ApiKey, Depends(require("read"))]
Writer = Annotated[ApiKey, Depends(require("write"))]

MAX_PAST_DAYS = 90
MAX_FUTURE_DAYS = 366
CACHE_CONTROL = "private, max-age=300"
# What subscribers are asked to wait between refreshes; with ETags a refresh is cheap.
REFRESH = "PT15M"
CONTENT_TYPE = "text/calendar; charset=utf-8"


class FeedIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    label: Annotated[
        str | None, Field(max_length=200, description="the calendar's name in subscribers' apps")
    ] = None
    past_days: Annotated[
        int, Field(ge=0, le=MAX_PAST_DAYS, description="whole UTC days before today")
    ] = 7
    future_days: Annotated[
        int, Field(ge=1, le=MAX_FUTURE_DAYS, description="whole UTC days after today")
    ] = 60


def feed_out(feed: Feed) -> dict[str, Any]:
    """A feed as listed: never its token, nor the addresses that contain it."""
    return {
        "id": feed.id,
        "resource_id": feed.resource_id,
        "team_id": feed.team_id,
        "label": feed.label,
        "past_days": feed.past_days,
        "future_days": feed.future_days,
        "created_at": format_instant(feed.created_at),
    }


def _mint(request: Request, key: ApiKey, body: FeedIn | None, **subject: str) -> dict[str, Any]:
    """Mint a feed of ``subject`` (``resource_id=`` or ``team_id=``); the answer carries the
    token and the addresses built on it, which are never shown again."""
    body = body or FeedIn()
    settings = app_settings(request)
    with settings.database.write() as connection:
        feed, token = mint_feed(
            connection,
            key.org_id,
            **subject,
            label=body.label,
            past_days=body.past_days,
            future_days=body.future_days,
            now=settings.clock(),
        )
    return {
        **feed_out(feed),
        "token": token,
        "freebusy_url": str(request.url_for("freebusy_feed", token=token)),
        "busy_url": str(request.url_for("busy_feed", token=token)),
    }


@router.post("/v1/resources/{resource_id}/feeds", status_code=201)
def create_resource_feed(
    request: Request, key: Writer, resource_id: str, body: FeedIn | None = None
) -> dict[str, Any]:
    """A new feed of the resource's busy time, with its ``token``: shown here once only."""
    return _mint(request, key, body, resource_id=resource_id)


@router.post("/v1/teams/{team_id}/feeds", status_code=201)
def create_team_feed(
    request: Request, key: Writer, team_id: str, body: FeedIn | None = None
) -> dict[str, Any]:
    """A new feed of the times when every member of the team is busy, with its ``token``."""
    return _mint(request, key, body, team_id=team_id)


def _list(
    request: Request, key: ApiKey, limit: int, after: str | None, **subject: str
) -> dict[str, Any]:
    settings = app_settings(request)
    check_limit(limit, settings.max_page_size)
    with settings.database.read() as connection:
        return page(
            lambda n, cursor: list_feeds(connection, key.org_id, limit=n, after=cursor, **subject),
            limit,
            after,
            feed_out,
        )


@router.get("/v1/resources/{resource_id}/feeds")
def list_resource_feeds(
    request: Request,
    key: Reader,
    resource_id: str,
    limit: int = DEFAULT_LIMIT,
    after: str | None = None,
) -> dict[str, Any]:
    return _list(request, key, limit, after, resource_id=resource_id)


@router.get("/v1/teams/{team_id}/feeds")
def list_team_feeds(
    request: Request,
    key: Reader,
    team_id: str,
    limit: int = DEFAULT_LIMIT,
    after: str | None = None,
) -> dict[str, Any]:
    return _list(request, key, limit, after, team_id=team_id)


@router.get("/v1/feeds/{feed_id}")
def get_one(request: Request, key: Reader, feed_id: str) -> dict[str, Any]:
    with app_settings(request).database.read() as connection:
        return feed_out(get_feed(connection, key.org_id, feed_id))


@router.delete("/v1/feeds/{feed_id}", status_code=204)
def revoke(request: Request, key: Writer, feed_id: str) -> Response:
    """Revoke the feed: its token answers 404 from the commit on, in every process."""
    with app_settings(request).database.write() as connection:
        delete_feed(connection, key.org_id, feed_id)
    return Response(status_code=204)


# -- the feeds themselves -------------------------------------------------------------------


def _uid(feed: Feed, suffix: str) -> str:
    digest = hashlib.sha256(f"{feed.id}:{suffix}".encode()).hexdigest()[:32]
    return f"{digest}@openslots"


def _freebusy_body(feed: Feed, busy: FeedBusy, stamp: int) -> bytes:
    periods = [
        FreeBusyPeriod(start, end, fbtype)
        for fbtype, spans in (
            ("BUSY-TENTATIVE", busy.tentative),
            ("BUSY", busy.busy),
            ("BUSY-UNAVAILABLE", busy.unavailable),
        )
        for start, end in spans
    ]
    return freebusy_calendar(
        name=busy.name,
        uid=_uid(feed, "freebusy"),
        stamp=stamp,
        window=busy.window,
        periods=periods,
        refresh=REFRESH,
    )


def _busy_body(feed: Feed, busy: FeedBusy, stamp: int) -> bytes:
    events = [BusyEvent(_uid(feed, str(start)), start, end) for start, end in busy.periods]
    return busy_calendar(name=busy.name, stamp=stamp, events=events, refresh=REFRESH)


def _etag_matches(header: str | None, etag: str) -> bool:
    """RFC 9110 §13.1.2: ``*`` or any listed tag, compared weakly (``W/`` ignored)."""
    if header is None:
        return False
    tags = [tag.strip() for tag in header.split(",")]
    return any(tag == "*" or tag.removeprefix("W/") == etag for tag in tags)


Render = Callable[[Feed, FeedBusy, int], bytes]


def _serve(request: Request, token: str, render: Render) -> Response:
    settings = app_settings(request)
    now = settings.clock()
    with settings.database.read() as connection:
        feed = feed_by_token(connection, token)
        busy = feed_busy(connection, feed, now)
    # DTSTAMP: the start of the UTC day the window was built from, so that the same busy time
    # gives the same bytes all day long (the window itself moves at midnight UTC).
    body = render(feed, busy, now - now % DAY)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type=CONTENT_TYPE, headers=headers)


@router.get(
    "/feeds/{token}/freebusy.ics",
    name="freebusy_feed",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}, 304: {"description": "not modified"}},
)
def freebusy_feed(request: Request, token: str) -> Response:
    """The VFREEBUSY of the feed's window (no API key: the token is the credential)."""
    return _serve(request, token, _freebusy_body)


@router.get(
    "/feeds/{token}/busy.ics",
    name="busy_feed",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}, 304: {"description": "not modified"}},
)
def busy_feed(request: Request, token: str) -> Response:
    """One opaque "Busy" event per busy period (no API key: the token is the credential)."""
    return _serve(request, token, _busy_body)
