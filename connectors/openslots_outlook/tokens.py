"""Access tokens for Graph from the connection's msal token cache.

msal is blocking (it speaks HTTP through ``requests``), so every call runs on a worker thread.
The cache is deserialized per sync and, when msal changed it (a refreshed access token, a
rotated refresh token), serialized back into the connection's credentials.

The authority is operator configuration (``outlook.authority``), never a user-supplied URL, so
msal's own HTTP client is used in production; tests pass a fake ``http_client``. Instance
discovery is off: the cache was written by the connect flow against this same authority, and
discovery would cost an extra request to Microsoft on every sync.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import msal  # type: ignore[import-untyped]

from openslots.sync.contract import AuthRevoked, TransientError

__all__ = ["SCOPES", "TokenSource"]

SCOPES = ["Calendars.Read"]
# Errors after which only the user can help: the grant was revoked, expired or needs consent.
_REAUTH_ERRORS = frozenset(
    {"invalid_grant", "interaction_required", "consent_required", "login_required"}
)


class TokenSource:
    """Access tokens for one sync of one connection."""

    def __init__(
        self,
        provider_config: Mapping[str, Any],
        credentials: Mapping[str, Any],
        http_client: Any = None,
    ) -> None:
        self._config = provider_config
        self._home_account_id = str(credentials.get("home_account_id", ""))
        self._cache = msal.SerializableTokenCache()
        try:
            self._cache.deserialize(str(credentials.get("token_cache", "")))
        except ValueError as exc:
            raise AuthRevoked("the stored msal token cache cannot be read") from exc
        self._http_client = http_client
        self._app: Any = None

    async def token(self, *, force_refresh: bool = False) -> str:
        """An access token for :data:`SCOPES`; ``force_refresh`` redeems the refresh token
        even when the cached access token looks valid (Graph refused it with 401)."""
        return await asyncio.to_thread(self._token, force_refresh)

    def credentials(self) -> dict[str, Any] | None:
        """New credentials when msal changed the cache during this sync, else ``None``."""
        if not self._cache.has_state_changed:
            return None
        return {"token_cache": self._cache.serialize(), "home_account_id": self._home_account_id}

    def _token(self, force_refresh: bool) -> str:
        try:
            app = self._application()
            accounts = [
                a for a in app.get_accounts() if a.get("home_account_id") == self._home_account_id
            ]
            if not accounts:
                raise AuthRevoked("the msal token cache holds no account for this connection")
            result = app.acquire_token_silent_with_error(
                SCOPES, account=accounts[0], force_refresh=force_refresh
            )
        except (OSError, ValueError) as exc:
            # requests' errors are OSErrors; msal raises ValueError for unreadable answers.
            raise TransientError(f"the Microsoft identity platform failed: {exc}") from exc
        if not result:
            raise AuthRevoked("the msal token cache holds no refresh token: reconnect")
        if "access_token" in result:
            return str(result["access_token"])
        error = str(result.get("error", "unknown_error"))
        if error in _REAUTH_ERRORS:
            raise AuthRevoked(f"Microsoft refused the refresh token ({error}): reconnect")
        # invalid_client (a wrong or expired client secret) and server errors are for the
        # operator or time to fix, not the user: the connection keeps its grant.
        raise TransientError(f"Microsoft did not issue a token ({error})")

    def _application(self) -> Any:
        if self._app is None:
            self._app = msal.ConfidentialClientApplication(
                self._config.get("client_id"),
                client_credential=self._config.get("client_secret"),
                authority=self._config.get("authority", "https://login.microsoftonline.com/common"),
                token_cache=self._cache,
                http_client=self._http_client,
                instance_discovery=False,
            )
        return self._app
