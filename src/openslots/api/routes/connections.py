"""Calendar connections (DESIGN §4): link an external calendar to a resource and watch it sync.

``POST /v1/connections`` takes ``resource_id``, ``provider`` (``ics``, ``caldav``, or any
installed connector), ``settings`` (shown back), ``credentials`` (encrypted at rest, never shown
back) and ``sync_interval`` (minutes). The provider's connector first moves secrets it finds in
``settings`` into ``credentials`` (an ICS URL's path and query) and checks the body, without
network access; the first sync then runs at once in a worker. ``GET`` lists them with their
status (``pending``, ``ok``, ``error``, ``needs_reauth``, ``disabled``), ``last_success_at``,
``last_error`` and the ``problems`` the last sync skipped. ``PATCH`` changes settings,
credentials (reconnecting: a ``needs_reauth`` connection starts over), the interval, or
``enabled``. ``POST .../sync`` syncs now, waiting at most the on-demand budget. ``DELETE``
removes the connection and every block it synced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from openslots.api.auth import require
from openslots.api.paging import DEFAULT_LIMIT, check_limit, page
from openslots.api.settings import app_settings, sync_services
from openslots.engine.scenario import format_instant
from openslots.errors import BadParameter, ConfigurationError, ValidationError
from openslots.store import catalog
from openslots.store.connections import (
    create_connection,
    delete_connection,
    get_connection,
    list_connections,
    stored_credentials,
    update_connection,
)
from openslots.store.database import Database
from openslots.store.keys import ApiKey
from openslots.sync.on_demand import OnDemandSync
from openslots.sync.services import SyncServices

router = APIRouter(prefix="/v1", tags=["connections"])

Reader = Annotated[ApiKey, Depends(require("read"))]
Writer = Annotated[ApiKey, Depends(require("write"))]

MAX_INTERVAL_MINUTES = 7 * 24 * 60
STATUSES = ("pending", "ok", "error", "needs_reauth", "disabled")


class ConnectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    resource_id: Annotated[str, Field(max_length=64)]
    provider: Annotated[str, Field(min_length=1, max_length=32, examples=["ics", "caldav"])]
    settings: Annotated[dict[str, Any], Field(description="shown back: URLs, calendars")] = {}
    credentials: Annotated[
        dict[str, Any], Field(description="encrypted, never shown back: passwords, secret URLs")
    ] = {}
    sync_interval: Annotated[
        int | None, Field(ge=1, le=MAX_INTERVAL_MINUTES, description="minutes")
    ] = None


class ConnectionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    settings: dict[str, Any] | None = None
    credentials: dict[str, Any] | None = None
    sync_interval: Annotated[int | None, Field(ge=1, le=MAX_INTERVAL_MINUTES)] = None
    enabled: bool | None = None


def _on_demand(request: Request) -> OnDemandSync:
    on_demand: OnDemandSync | None = request.app.state.on_demand
    if on_demand is None:
        raise ConfigurationError("calendar sync is not configured in this process")
    return on_demand


def _instant(value: int | None) -> str | None:
    return None if value is None else format_instant(value)


def connection_out(row: Mapping[str, Any]) -> dict[str, Any]:
    """A connection as shown: never its credentials, only whether it has some."""
    interval = row["sync_interval"]
    return {
        "id": row["id"],
        "resource_id": row["resource_id"],
        "provider": row["provider"],
        "settings": row["settings"] or {},
        "has_credentials": bool(row["has_credentials"]),
        "sync_interval": interval // 60 if interval % 60 == 0 else interval / 60,
        "status": row["status"],
        "last_success_at": _instant(row["last_success_at"]),
        "last_attempt_at": _instant(row["last_attempt_at"]),
        "last_error": row["last_error"],
        "failures": row["failures"],
        "next_attempt_at": _instant(row["next_attempt_at"]),
        "problems": row["problems"] or [],
        "created_at": format_instant(row["created_at"]),
    }


def _prefixed(error: ValidationError, default: str) -> ValidationError:
    field = error.field or default
    if not field.startswith(("settings", "credentials", "provider")):
        field = f"{default}.{field}"
    return ValidationError(field, error.message)


def _checked_body(
    services: SyncServices,
    provider: str,
    settings: Mapping[str, Any],
    credentials: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    connector = services.registry.get(provider)  # UnknownProvider: a 422 naming `provider`
    try:
        settings, credentials = connector.separate_secrets(settings, credentials)
        connector.validate_settings(settings, credentials)
    except ValidationError as error:
        raise _prefixed(error, "settings") from None
    return dict(settings), dict(credentials)


@router.post("/connections", status_code=201)
def create(request: Request, key: Writer, body: ConnectionIn) -> dict[str, Any]:
    """The new connection (credentials are not shown); its first sync is due at once."""
    settings = app_settings(request)
    services = sync_services(request)
    with settings.database.read() as connection:
        # Another organization's resource is a 404 before anything else is looked at.
        catalog.get(connection, key.org_id, "resources", body.resource_id)
    shown, secret = _checked_body(services, body.provider, body.settings, body.credentials)
    token = services.encrypt(secret)
    minutes = body.sync_interval or services.default_interval_minutes
    with settings.database.write() as connection:
        row = create_connection(
            connection,
            key.org_id,
            resource_id=body.resource_id,
            provider=body.provider,
            settings=shown,
            credentials=token,
            sync_interval=minutes * 60,
            now=settings.clock(),
        )
    return connection_out(row)


@router.get("/connections")
def list_all(
    request: Request,
    key: Reader,
    *,
    resource_id: str | None = None,
    status: str | None = None,
    limit: int = DEFAULT_LIMIT,
    after: str | None = None,
) -> dict[str, Any]:
    """The organization's connections by id, optionally of one resource or one status."""
    settings = app_settings(request)
    check_limit(limit, settings.max_page_size)
    if status is not None and status not in STATUSES:
        raise BadParameter("status", f"must be one of {', '.join(STATUSES)}")
    with settings.database.read() as connection:
        if resource_id is not None:
            catalog.get(connection, key.org_id, "resources", resource_id)
        return page(
            lambda n, cursor: list_connections(
                connection, key.org_id, n, cursor, resource_id=resource_id, status=status
            ),
            limit,
            after,
            connection_out,
        )


@router.get("/connections/{connection_id}")
def get_one(request: Request, key: Reader, connection_id: str) -> dict[str, Any]:
    with app_settings(request).database.read() as connection:
        return connection_out(get_connection(connection, key.org_id, connection_id))


@router.patch("/connections/{connection_id}")
def patch(
    request: Request, key: Writer, connection_id: str, body: ConnectionPatch
) -> dict[str, Any]:
    """Change what the body names. New settings or credentials are checked like a new
    connection's (settings replace the old ones whole, and so do credentials) and start the
    connection over: status ``pending``, due at once."""
    settings = app_settings(request)
    services = sync_services(request)
    database: Database = settings.database
    token: bytes | None = None
    replace = body.settings is not None or body.credentials is not None
    shown: dict[str, Any] | None = None
    if replace:
        with database.read() as connection:
            current = get_connection(connection, key.org_id, connection_id)
            stored = stored_credentials(connection, key.org_id, connection_id)
        if body.credentials is not None:
            credentials = body.credentials
        else:
            # New settings alone keep the stored credentials (a moved server, same password).
            credentials = dict(services.read_credentials(stored)) if stored else {}
        shown, secret = _checked_body(
            services,
            current["provider"],
            body.settings if body.settings is not None else current["settings"],
            credentials,
        )
        token = services.encrypt(secret)
    with database.write() as connection:
        row = update_connection(
            connection,
            key.org_id,
            connection_id,
            now=settings.clock(),
            settings=shown,
            credentials=token,
            replace_credentials=replace,
            sync_interval=None if body.sync_interval is None else body.sync_interval * 60,
            enabled=body.enabled,
        )
    return connection_out(row)


@router.delete("/connections/{connection_id}", status_code=204)
def delete(request: Request, key: Writer, connection_id: str) -> Response:
    """The connection and every block it synced are gone (its resource's availability shows
    it at once)."""
    with app_settings(request).database.write() as connection:
        delete_connection(connection, key.org_id, connection_id)
    return Response(status_code=204)


@router.post("/connections/{connection_id}/sync")
async def sync_now(request: Request, key: Writer, connection_id: str) -> dict[str, Any]:
    """Sync now and answer with the connection once it is done, or when the on-demand budget
    runs out (``sync`` is then ``stale``: the sync goes on in the background). ``sync`` says
    how this sync went: ``ok``, ``error``, ``needs_reauth``, ``skipped`` (disabled, or waiting
    for a reconnect) or ``stale``."""
    settings = app_settings(request)
    with settings.database.read() as connection:
        get_connection(connection, key.org_id, connection_id)
    outcome = await _on_demand(request).run(key.org_id, [connection_id])
    with settings.database.read() as connection:
        row = get_connection(connection, key.org_id, connection_id)
    return {**connection_out(row), "sync": outcome.results[connection_id]}
