"""Google's authorization-code flow with PKCE (OAuth 2.0 for web server applications).

The consent page asks for offline access with ``prompt=consent``, so Google issues a refresh
token every time (it would otherwise issue one only at the first consent), and the token
endpoint is called with a plain form POST.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx

from openslots.errors import TransientError
from openslots.oauth.clients import TOKEN_TIMEOUT_SECONDS, ClientConfig, Grant, id_token_claims
from openslots.oauth.errors import OAuthDenied

__all__ = ["CALENDAR_SCOPES", "SCOPES", "authorization_url", "exchange"]

DEFAULT_AUTH_URI = "https://accounts.google.com/o/oauth2/v2/auth"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
SCOPES = ("https://www.googleapis.com/auth/calendar.readonly", "openid", "email")
# Either grant lets the connector read busy time: all of calendar.readonly, or the narrower
# pair (free/busy plus the calendar list).
CALENDAR_SCOPES = (
    frozenset({"https://www.googleapis.com/auth/calendar.readonly"}),
    frozenset(
        {
            "https://www.googleapis.com/auth/calendar.events.freebusy",
            "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
        }
    ),
)


def authorization_url(client: ClientConfig, state: str, code_challenge: str) -> str:
    """Google's consent page for this flow."""
    query = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "scope": " ".join(SCOPES),
        "access_type": "offline",
        "prompt": "consent",
        "include_granted_scopes": "true",
        "state": state,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
    }
    base = str(client.values.get("auth_uri") or DEFAULT_AUTH_URI)
    return f"{base}{'&' if '?' in base else '?'}{urlencode(query)}"


def exchange(client: ClientConfig, code: str, verifier: str, now: int) -> Grant:
    """Redeem ``code`` at the token endpoint; OAuthDenied when Google refuses it (a code already
    used or expired is ``invalid_grant``), TransientError when Google cannot be reached."""
    token_uri = str(client.values.get("token_uri") or DEFAULT_TOKEN_URI)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": client.redirect_uri,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "code_verifier": verifier,
    }
    # A plain client, not the SSRF-guarded fetcher: the token endpoint is the operator's
    # configuration (google.token_uri), not user input, and tests and air-gapped setups point
    # it at a local server the guard would refuse.
    try:
        with httpx.Client(timeout=TOKEN_TIMEOUT_SECONDS, follow_redirects=False) as http:
            response = http.post(token_uri, data=form, headers={"Accept": "application/json"})
    except httpx.HTTPError as error:
        raise TransientError(f"Google's token endpoint could not be reached ({error})") from None
    body = _json(response)
    if response.status_code >= 500 or (response.status_code != 200 and "error" not in body):
        raise TransientError(f"Google's token endpoint answered {response.status_code}")
    if response.status_code != 200:
        raise OAuthDenied(_refusal(body))
    return _grant(body, now)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _refusal(body: dict[str, Any]) -> str:
    error = str(body.get("error"))[:100]
    detail = str(body.get("error_description") or "")[:300]
    if error == "invalid_grant":
        return (
            "Google refused the authorization code (invalid_grant: it was already used or has "
            "expired): start the connection again"
        )
    return f"Google refused the authorization code ({error}{': ' + detail if detail else ''})"


def _grant(body: dict[str, Any], now: int) -> Grant:
    refresh_token = body.get("refresh_token")
    if not isinstance(refresh_token, str) or not refresh_token:
        raise OAuthDenied(
            "Google issued no refresh token, so openslots could not sync after an hour: remove "
            "openslots' access at https://myaccount.google.com/permissions and connect again"
        )
    granted = str(body.get("scope") or "").split()
    if not any(needed <= set(granted) for needed in CALENDAR_SCOPES):
        raise OAuthDenied(
            "the calendar permission was not granted (the consent page lets users untick it): "
            "connect again and allow openslots to see your calendars"
        )
    expires_in = body.get("expires_in")
    access_token = body.get("access_token")
    credentials = {
        "refresh_token": refresh_token,
        "access_token": access_token if isinstance(access_token, str) else None,
        "expires_at": now + int(expires_in) if isinstance(expires_in, int | float) else None,
        "scopes": granted,
    }
    email = id_token_claims(body.get("id_token")).get("email")
    return Grant(credentials, email if isinstance(email, str) else None)
