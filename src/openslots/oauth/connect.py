"""A connect flow from start to finish, shared by the API routes and the CLI: :func:`begin`
makes the consent URL, :func:`complete` turns the provider's answer into a stored connection.

Completing creates a connection, or reconnects one: when the resource already has a connection
of that provider for the same account, or one waiting for a reconnect (``needs_reauth``), that
connection gets the new tokens and starts over (``pending``, due at once) and keeps the
calendars the user chose.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from openslots.oauth import google, outlook
from openslots.oauth.clients import ClientConfig, Grant, client_config
from openslots.oauth.errors import InvalidState, OAuthDenied
from openslots.oauth.pkce import challenge_of, new_verifier
from openslots.oauth.state import NonceLedger, OAuthState, open_state, seal
from openslots.store import catalog
from openslots.store.connections import create_connection, list_connections, update_connection
from openslots.store.database import Database
from openslots.sync.services import SyncServices

__all__ = ["DEFAULT_SETTINGS", "begin", "complete"]

DEFAULT_SETTINGS = {"google": {"calendars": "primary"}, "outlook": {"calendars": "default"}}


def begin(
    services: SyncServices,
    database: Database,
    *,
    now: int,
    provider: str,
    org_id: str,
    resource_id: str,
) -> str:
    """The consent URL for connecting ``resource_id`` (NotFound when it is not the
    organization's; OAuthNotConfigured when the client is not configured)."""
    with database.read() as connection:
        # Another organization's resource is a 404 before anything else is looked at.
        catalog.get(connection, org_id, "resources", resource_id)
    client = client_config(provider, services.provider_configs)
    verifier = new_verifier()
    state = OAuthState.new(provider, org_id, resource_id, verifier, now)
    sealed = seal(services.require_cipher(), state)
    if provider == "google":
        return google.authorization_url(client, sealed, challenge_of(verifier))
    return outlook.authorization_url(client, sealed, challenge_of(verifier), state.nonce)


def complete(
    services: SyncServices,
    database: Database,
    *,
    clock: Callable[[], int],
    ledger: NonceLedger,
    provider: str,
    answer: dict[str, str | None],
) -> tuple[dict[str, Any], bool]:
    """The connection made from the provider's ``answer`` (the callback's query: ``code``,
    ``state``, or ``error`` and ``error_description``) and whether it was a reconnect."""
    error, state, code = answer.get("error"), answer.get("state"), answer.get("code")
    if error is not None:
        # The user declined, or the provider refused the request; nothing to redeem.
        description = answer.get("error_description")
        detail = f": {description[:300]}" if description else ""
        reason = "access was declined" if error == "access_denied" else "the provider refused"
        raise OAuthDenied(f"{reason} ({error[:100]}{detail}); nothing was connected")
    if not state:
        raise InvalidState("the answer has no state: start the connection again")
    if not code:
        raise OAuthDenied("the answer has no authorization code: start the connection again")
    client = client_config(provider, services.provider_configs)
    now = clock()
    opened = open_state(services.require_cipher(), state, provider, now)
    ledger.claim(opened, now)
    grant = _exchange(client, opened, state, code, now)
    return _store(services, database, clock(), opened, grant)


def _exchange(client: ClientConfig, opened: OAuthState, state: str, code: str, now: int) -> Grant:
    if opened.provider == "google":
        return google.exchange(client, code, opened.verifier, now)
    return outlook.exchange(client, state, code, opened.verifier, opened.nonce)


def _store(
    services: SyncServices, database: Database, now: int, opened: OAuthState, grant: Grant
) -> tuple[dict[str, Any], bool]:
    token = services.encrypt(grant.credentials)
    shown: dict[str, Any] = dict(DEFAULT_SETTINGS[opened.provider])
    if grant.email:
        shown["emails"] = [grant.email]
    with database.write() as connection:
        existing = _reconnectable(connection, opened, grant.email)
        if existing is None:
            row = create_connection(
                connection,
                opened.org_id,
                resource_id=opened.resource_id,
                provider=opened.provider,
                settings=shown,
                credentials=token,
                sync_interval=services.default_interval_minutes * 60,
                now=now,
            )
            return row, False
        # Keep the calendars the user chose; the account may have changed.
        kept = {**shown, **(existing["settings"] or {})}
        if grant.email:
            kept["emails"] = [grant.email]
        row = update_connection(
            connection,
            opened.org_id,
            existing["id"],
            now=now,
            settings=kept,
            credentials=token,
            replace_credentials=True,
        )
        return row, True


def _reconnectable(
    connection: Any,  # a store connection (only store/ imports SQLAlchemy)
    opened: OAuthState,
    email: str | None,
) -> dict[str, Any] | None:
    """The resource's connection of this provider the new tokens replace: the one for the same
    account, else one waiting for a reconnect; None when a new connection is due."""
    same = [
        row
        for row in list_connections(connection, opened.org_id, 500, resource_id=opened.resource_id)
        if row["provider"] == opened.provider
    ]
    if email:
        for row in same:
            emails = (row["settings"] or {}).get("emails") or []
            if isinstance(emails, list) and email.lower() in (str(e).lower() for e in emails):
                return row
    return next((row for row in same if row["status"] == "needs_reauth"), None)
