"""Microsoft's authorization-code flow with PKCE, redeemed through msal.

The consent URL is built here (the same query msal's ``initiate_auth_code_flow`` builds) so
that authorizing needs no call to Microsoft; the callback hands msal the flow it would have kept
in a session (state, redirect URI, scopes, PKCE verifier, OpenID nonce: all sealed in our state)
and msal redeems the code, checks the id_token's nonce, and fills a SerializableTokenCache: the
stored credentials are that cache, serialized, plus the account's ``home_account_id``, which is
what the Outlook connector's ``acquire_token_silent`` needs.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlencode

import httpx
import msal  # type: ignore[import-untyped]  # msal ships no type information

from openslots.errors import TransientError
from openslots.oauth.clients import TOKEN_TIMEOUT_SECONDS, ClientConfig, Grant
from openslots.oauth.errors import OAuthDenied

__all__ = ["GRAPH_SCOPES", "SCOPES", "HttpxForMsal", "authorization_url", "exchange"]

DEFAULT_AUTHORITY = "https://login.microsoftonline.com/common"
# What the token is for (msal adds openid, profile and offline_access itself, and refuses them
# in its scope lists).
GRAPH_SCOPES = ("Calendars.Read", "email")
SCOPES = ("Calendars.Read", "offline_access", "openid", "profile", "email")


def _authority(client: ClientConfig) -> str:
    return str(client.values.get("authority") or DEFAULT_AUTHORITY).rstrip("/")


def _nonce_hash(nonce: str) -> str:
    # msal compares the id_token's nonce with this hash of the flow's nonce.
    return hashlib.sha256(nonce.encode("ascii")).hexdigest()


def authorization_url(client: ClientConfig, state: str, code_challenge: str, nonce: str) -> str:
    """Microsoft's consent page for this flow."""
    query = {
        "client_id": client.client_id,
        "response_type": "code",
        "redirect_uri": client.redirect_uri,
        "response_mode": "query",
        "scope": " ".join(SCOPES),
        "state": state,
        "nonce": _nonce_hash(nonce),
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
        "prompt": "select_account",
    }
    return f"{_authority(client)}/oauth2/v2.0/authorize?{urlencode(query)}"


class HttpxForMsal:
    """msal's HTTP interface (``msal/oauth2cli/http.py``) over an httpx client; httpx responses
    already have ``status_code``, ``text``, ``headers`` and ``raise_for_status``."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def get(
        self, url: str, params: Any = None, headers: Any = None, **kwargs: Any
    ) -> httpx.Response:
        return self._client.get(url, params=params, headers=headers, timeout=_timeout(kwargs))

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kwargs: Any
    ) -> httpx.Response:
        body = {"content": data} if isinstance(data, str | bytes) else {"data": data}
        return self._client.post(
            url, params=params, headers=headers, timeout=_timeout(kwargs), **body
        )


def _timeout(kwargs: dict[str, Any]) -> float:
    value = kwargs.get("timeout")
    return float(value) if isinstance(value, int | float) else TOKEN_TIMEOUT_SECONDS


def exchange(client: ClientConfig, state: str, code: str, verifier: str, nonce: str) -> Grant:
    """Redeem ``code`` through msal; OAuthDenied when Microsoft refuses it (``invalid_grant``:
    used or expired), TransientError when Microsoft cannot be reached."""
    cache = msal.SerializableTokenCache()
    flow = {
        "state": state,
        "redirect_uri": client.redirect_uri,
        "scope": list(SCOPES),
        "code_verifier": verifier,
        "nonce": nonce,
    }
    # A plain client, not the SSRF-guarded fetcher: the authority is the operator's
    # configuration (outlook.authority), not user input, and tests and air-gapped setups point
    # it at a local server the guard would refuse.
    try:
        with httpx.Client(timeout=TOKEN_TIMEOUT_SECONDS, follow_redirects=False) as http:
            app = msal.ConfidentialClientApplication(
                client.client_id,
                client_credential=client.client_secret,
                authority=_authority(client),
                token_cache=cache,
                http_client=HttpxForMsal(http),
                # No instance-discovery call: the authority is configured, not looked up.
                instance_discovery=False,
            )
            result = app.acquire_token_by_auth_code_flow(flow, {"code": code, "state": state})
            accounts = app.get_accounts()
    except httpx.HTTPError as error:
        raise TransientError(f"Microsoft's token endpoint could not be reached ({error})") from None
    except ValueError as error:
        # msal raises ValueError when the authority's OpenID configuration cannot be read.
        raise TransientError(f"Microsoft's authority could not be used ({error})") from None
    except RuntimeError as error:
        # msal: the id_token's nonce does not match the flow's.
        raise OAuthDenied(f"Microsoft's answer did not match this sign-in ({error})") from None
    if "error" in result:
        raise OAuthDenied(_refusal(result))
    refresh_tokens = list(cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN))
    if not refresh_tokens or not accounts:
        raise OAuthDenied(
            "Microsoft issued no refresh token or account (is offline_access allowed for the "
            "app?): connect again"
        )
    claims = result.get("id_token_claims") or {}
    email = claims.get("email") or claims.get("preferred_username")
    account = next(
        (a for a in accounts if email and a.get("username", "").lower() == str(email).lower()),
        accounts[0],
    )
    credentials = {"token_cache": cache.serialize(), "home_account_id": account["home_account_id"]}
    return Grant(credentials, email if isinstance(email, str) else None)


def _refusal(result: dict[str, Any]) -> str:
    error = str(result.get("error"))[:100]
    # Entra's descriptions start with an AADSTS code and carry trace ids on later lines.
    lines = str(result.get("error_description") or "").splitlines()
    detail = lines[0][:300] if lines else ""
    if error == "invalid_grant":
        return (
            "Microsoft refused the authorization code (invalid_grant: it was already used or "
            f"has expired{'; ' + detail if detail else ''}): start the connection again"
        )
    return f"Microsoft refused the authorization code ({error}{': ' + detail if detail else ''})"
