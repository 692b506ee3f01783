"""Connecting a Google or Outlook calendar with OAuth (DESIGN §6).

``GET /v1/oauth/google/authorize?resource_id=…`` (or ``/outlook/``) (write scope) answers with the
provider's consent URL (``?redirect=true``: a 302 to it). The URL carries a PKCE challenge and a
sealed ``state`` bound to the caller's organization and the resource, valid 10 minutes, usable
once. The provider sends the browser to ``GET /v1/oauth/{provider}/callback?code=…&state=…``
(no API key: the state authenticates), which redeems the code, stores the tokens encrypted and
answers with the connection: a new one, or, when the resource already has a connection of that
provider for the same account or waiting for a reconnect (``needs_reauth``), that one with the
new tokens (it starts over: ``pending``, due at once).
"""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from openslots.api.auth import require
from openslots.api.routes.connections import connection_out
from openslots.api.settings import app_settings, sync_services
from openslots.oauth import PROVIDERS
from openslots.oauth.connect import begin, complete
from openslots.oauth.state import STATE_TTL_SECONDS, NonceLedger
from openslots.store import catalog
from openslots.store.keys import ApiKey

router = APIRouter(prefix="/v1/oauth", tags=["oauth"])

Writer = Annotated[ApiKey, Depends(require("write"))]

_ledger_lock = threading.Lock()


def _ledger(request: Request) -> NonceLedger:
    """The app's ledger of used states (one per app, made on first use)."""
    with _ledger_lock:
        ledger: NonceLedger | None = getattr(request.app.state, "oauth_nonces", None)
        if ledger is None:
            ledger = NonceLedger()
            request.app.state.oauth_nonces = ledger
        return ledger


def authorize(
    request: Request, key: ApiKey, provider: str, resource_id: str, redirect: bool
) -> dict[str, Any] | Response:
    settings = app_settings(request)
    with settings.database.read() as connection:
        # Another organization's resource is a 404 before anything else is looked at, even
        # in a process without sync.
        catalog.get(connection, key.org_id, "resources", resource_id)
    url = begin(
        sync_services(request),
        settings.database,
        now=settings.clock(),
        provider=provider,
        org_id=key.org_id,
        resource_id=resource_id,
    )
    if redirect:
        return RedirectResponse(url, status_code=302)
    return {"authorization_url": url, "expires_in": STATE_TTL_SECONDS}


def callback(request: Request, provider: str, answer: dict[str, str | None]) -> JSONResponse:
    settings = app_settings(request)
    row, reconnected = complete(
        sync_services(request),
        settings.database,
        clock=settings.clock,
        ledger=_ledger(request),
        provider=provider,
        answer=answer,
    )
    return JSONResponse(
        {"connection": connection_out(row), "reconnected": reconnected},
        status_code=200 if reconnected else 201,
    )


def _add_routes(provider: str) -> None:
    """The two routes of ``provider``, at fixed paths (the provider is not a parameter)."""

    @router.get(f"/{provider}/authorize", response_model=None, name=f"{provider}_authorize")
    def authorize_route(
        request: Request, key: Writer, resource_id: str, redirect: bool = False
    ) -> dict[str, Any] | Response:
        """``{"authorization_url": …, "expires_in": 600}``: where to send the user to let
        openslots read their calendars' busy time; with ``redirect=true`` a 302 there."""
        return authorize(request, key, provider, resource_id, redirect)

    @router.get(f"/{provider}/callback", name=f"{provider}_callback")
    def callback_route(
        request: Request,
        *,
        code: str | None = None,
        state: str | None = None,
        error: str | None = None,
        error_description: str | None = None,
    ) -> JSONResponse:
        """Where the provider sends the browser back (no API key: the state authenticates):
        the connection made (201) or reconnected (200) with the tokens issued for ``code``."""
        answer = {
            "code": code,
            "state": state,
            "error": error,
            "error_description": error_description,
        }
        return callback(request, provider, answer)


for _provider in PROVIDERS:
    _add_routes(_provider)
