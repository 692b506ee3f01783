"""API keys of the caller's organization (admin scope only).

``POST /v1/api-keys`` mints a key and returns its token in that response only (201); the store
keeps a hash. ``GET /v1/api-keys`` and ``GET /v1/api-keys/{id}`` show keys without any secret;
``DELETE /v1/api-keys/{id}`` revokes one (204), and its next request is refused with 401.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from openslots.api.auth import key_cache, require
from openslots.api.paging import DEFAULT_LIMIT, check_limit, page
from openslots.api.settings import app_settings
from openslots.engine.scenario import format_instant
from openslots.store.keys import ApiKey, get_key, list_keys, mint_key, revoke_key

router = APIRouter(prefix="/v1", tags=["api-keys"])

Admin = Annotated[ApiKey, Depends(require("admin"))]


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: Annotated[str, Field(max_length=200)] = ""
    scopes: Annotated[
        list[Literal["read", "write", "admin"]],
        Field(min_length=1, max_length=3, description="admin > write > read"),
    ]


def _instant(value: int | None) -> str | None:
    return None if value is None else format_instant(value)


def key_out(key: ApiKey) -> dict[str, Any]:
    """A key without its secret: the prefix identifies it (the token starts ``osk_<prefix>_``)."""
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "scopes": list(key.scopes),
        "created_at": format_instant(key.created_at),
        "revoked_at": _instant(key.revoked_at),
        "last_used_at": _instant(key.last_used_at),
    }


@router.post("/api-keys", status_code=201)
def create_key(request: Request, caller: Admin, body: KeyIn) -> dict[str, Any]:
    """The new key with its ``token``: shown here once, never again."""
    settings = app_settings(request)
    with settings.database.write() as connection:
        key, token = mint_key(connection, caller.org_id, body.scopes, body.name, settings.clock())
    return {**key_out(key), "token": token}


@router.get("/api-keys")
def list_api_keys(
    request: Request, caller: Admin, limit: int = DEFAULT_LIMIT, after: str | None = None
) -> dict[str, Any]:
    settings = app_settings(request)
    check_limit(limit, settings.max_page_size)
    with settings.database.read() as connection:
        return page(
            lambda n, cursor: list_keys(connection, caller.org_id, n, cursor),
            limit,
            after,
            key_out,
        )


@router.get("/api-keys/{key_id}")
def get_api_key(request: Request, caller: Admin, key_id: str) -> dict[str, Any]:
    with app_settings(request).database.read() as connection:
        return key_out(get_key(connection, caller.org_id, key_id))


@router.delete("/api-keys/{key_id}", status_code=204)
def revoke_api_key(request: Request, caller: Admin, key_id: str) -> Response:
    settings = app_settings(request)
    with settings.database.write() as connection:
        revoke_key(connection, caller.org_id, key_id, settings.clock())
    # Verified keys are remembered briefly; this process forgets them at once.
    key_cache(request).clear()
    return Response(status_code=204)
