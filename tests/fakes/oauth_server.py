"""Fake Google and Microsoft OAuth servers for the connect flows, served through respx.

A test "consents" on the fake with the authorization URL openslots built (what the user's
browser does at the provider's consent page) and gets a code back; the fake's token endpoint
then redeems it once, only with the PKCE verifier of that URL's challenge, the same redirect
URI and the configured client, as the real endpoints do.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import respx

GOOGLE_AUTH = "https://accounts.google.test/o/oauth2/v2/auth"
GOOGLE_TOKEN = "https://oauth2.google.test/token"
MS_AUTHORITY = "https://login.microsoft.test/common"
MS_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"
CLIENT_ID = "client-123"
CLIENT_SECRET = "secret-456"


def _b64(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).rstrip(b"=").decode("ascii")


def jwt(claims: dict[str, Any]) -> str:
    """An unsigned-looking JWT (header.claims.signature); nothing checks the signature here."""
    header = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}.{_b64(b'signature')}"


@dataclass
class Consent:
    challenge: str
    redirect_uri: str
    client_id: str
    nonce: str | None
    email: str
    scope: str
    used: bool = False


@dataclass
class FakeOAuth:
    """Both providers' token endpoints; ``requests`` keeps every form the token endpoints got."""

    consents: dict[str, Consent] = field(default_factory=dict)
    requests: list[dict[str, str]] = field(default_factory=list)
    # Set to make the token endpoint answer this error for every code.
    fail_with: str | None = None
    # Google: the scope granted (None: what was asked for).
    granted_scope: str | None = None
    refresh_tokens: list[str] = field(default_factory=list)

    def consent(self, authorization_url: str, email: str = "ada@example.com") -> str:
        """The code the provider gives the browser for ``authorization_url``."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorization_url).query).items()}
        assert query["response_type"] == "code"
        assert query["code_challenge_method"] == "S256"
        code = "code-" + secrets.token_urlsafe(8)
        self.consents[code] = Consent(
            query["code_challenge"],
            query["redirect_uri"],
            query["client_id"],
            query.get("nonce"),
            email,
            query["scope"],
        )
        return code

    def install(self, router: respx.Router) -> None:
        router.post(GOOGLE_TOKEN).mock(side_effect=self._google_token)
        router.get(f"{MS_AUTHORITY}/v2.0/.well-known/openid-configuration").mock(
            return_value=httpx.Response(200, json=self._ms_configuration())
        )
        router.post(f"{MS_AUTHORITY}/oauth2/v2.0/token").mock(side_effect=self._ms_token)

    def _ms_configuration(self) -> dict[str, str]:
        return {
            "authorization_endpoint": f"{MS_AUTHORITY}/oauth2/v2.0/authorize",
            "token_endpoint": f"{MS_AUTHORITY}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{MS_AUTHORITY}/oauth2/v2.0/devicecode",
            "issuer": "https://login.microsoft.test/{tenantid}/v2.0",
        }

    def _redeem(self, request: httpx.Request) -> tuple[dict[str, str], Consent | httpx.Response]:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        self.requests.append(form)

        def refused(error: str) -> httpx.Response:
            return httpx.Response(400, json={"error": error, "error_description": error})

        if self.fail_with:
            return form, refused(self.fail_with)
        consent = self.consents.get(form.get("code", ""))
        if form.get("grant_type") != "authorization_code" or consent is None or consent.used:
            return form, refused("invalid_grant")
        if form.get("client_secret") != CLIENT_SECRET or consent.client_id != CLIENT_ID:
            return form, refused("invalid_client")
        if form.get("redirect_uri") != consent.redirect_uri:
            return form, refused("redirect_uri_mismatch")
        verifier = form.get("code_verifier", "")
        if _b64(hashlib.sha256(verifier.encode()).digest()) != consent.challenge:
            return form, refused("invalid_grant")
        consent.used = True
        return form, consent

    def _refresh_token(self) -> str:
        token = "refresh-" + secrets.token_urlsafe(16)
        self.refresh_tokens.append(token)
        return token

    def _google_token(self, request: httpx.Request) -> httpx.Response:
        _, outcome = self._redeem(request)
        if isinstance(outcome, httpx.Response):
            return outcome
        claims = {"iss": "https://accounts.google.com", "aud": CLIENT_ID, "email": outcome.email}
        return httpx.Response(
            200,
            json={
                "access_token": "access-" + secrets.token_urlsafe(8),
                "expires_in": 3599,
                "refresh_token": self._refresh_token(),
                "scope": self.granted_scope if self.granted_scope is not None else outcome.scope,
                "token_type": "Bearer",
                "id_token": jwt(claims),
            },
        )

    def _ms_token(self, request: httpx.Request) -> httpx.Response:
        _, outcome = self._redeem(request)
        if isinstance(outcome, httpx.Response):
            return outcome
        now = int(time.time())  # msal reads exp against the wall clock
        oid = "00000000-0000-0000-66f3-3332eca7ea81"
        claims = {
            "iss": f"https://login.microsoft.test/{MS_TENANT}/v2.0",
            "aud": CLIENT_ID,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "nonce": outcome.nonce,
            "oid": oid,
            "sub": "sub-1",
            "tid": MS_TENANT,
            "preferred_username": outcome.email,
            "email": outcome.email,
        }
        client_info = _b64(json.dumps({"uid": oid, "utid": MS_TENANT}).encode())
        return httpx.Response(
            200,
            json={
                "token_type": "Bearer",
                "scope": "Calendars.Read email openid profile",
                "expires_in": 3600,
                "ext_expires_in": 3600,
                "access_token": "access-" + secrets.token_urlsafe(8),
                "refresh_token": self._refresh_token(),
                "id_token": jwt(claims),
                "client_info": client_info,
            },
        )
