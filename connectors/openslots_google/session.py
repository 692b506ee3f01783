"""The Google client of one sync: OAuth credentials, the Calendar service, error translation.

google-api-python-client and google-auth do their own HTTP through httplib2, not through the
request's SSRF-guarded client: the API endpoint and the token endpoint come from the operator's
configuration (``google.api_endpoint``, ``google.token_uri``), never from a user, so there is no
user-supplied URL to guard. The library is blocking; a :class:`Session` lives on one worker
thread for one sync (httplib2 connections are not thread-safe).

Retries are the runner's (one backoff policy for every connector, with ``Retry-After``), so
requests run with ``num_retries=0`` and every failure is translated once, here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import google_auth_httplib2  # type: ignore[import-untyped]
import httplib2  # type: ignore[import-untyped]
from google.auth.exceptions import RefreshError, TransportError
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build  # type: ignore[import-untyped]
from googleapiclient.errors import HttpError  # type: ignore[import-untyped]

from openslots.sync.contract import (
    AuthRevoked,
    FeedInvalid,
    RateLimited,
    TransientError,
    retry_after_seconds,
)

__all__ = ["CalendarGone", "Forbidden", "Session", "SyncTokenGone"]

DEFAULT_API_ENDPOINT = "https://www.googleapis.com/"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
# ``client_options.api_endpoint`` replaces rootUrl *and* servicePath of the discovery document,
# while the configuration names the root (``https://www.googleapis.com/``), as Google does.
_SERVICE_PATH = "calendar/v3/"
_TIMEOUT_SECONDS = 30
_RATE_LIMIT_REASONS = frozenset(
    {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "dailyLimitExceeded"}
)


class SyncTokenGone(Exception):
    """410: the sync token was invalidated; the calendar needs a full sync."""


class CalendarGone(Exception):
    """404: the calendar does not exist (any more) for this account."""


class Forbidden(Exception):
    """403 other than a rate limit: this calendar cannot be read with these credentials."""


class Session:
    """One sync's service and credentials. :meth:`call` executes one API request and
    translates its failure; :meth:`refreshed` tells whether google-auth obtained a new
    access token along the way (before expiry, or on a 401)."""

    def __init__(self, credentials: Mapping[str, Any], config: Mapping[str, Any]) -> None:
        self._first_token = credentials.get("access_token") or None
        self.credentials = Credentials(  # type: ignore[no-untyped-call]
            token=self._first_token,
            refresh_token=credentials["refresh_token"],
            token_uri=str(config.get("token_uri") or DEFAULT_TOKEN_URI),
            client_id=config.get("client_id"),
            client_secret=config.get("client_secret"),
            scopes=list(credentials.get("scopes") or []) or None,
            expiry=_naive_utc(credentials.get("expires_at")),
        )
        root = str(config.get("api_endpoint") or DEFAULT_API_ENDPOINT)
        authorized = google_auth_httplib2.AuthorizedHttp(
            self.credentials, http=httplib2.Http(timeout=_TIMEOUT_SECONDS)
        )
        self.service: Any = build(
            "calendar",
            "v3",
            http=authorized,
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": urljoin(root.rstrip("/") + "/", _SERVICE_PATH)},
        )

    def call(self, resource: str, method: str, **params: Any) -> dict[str, Any]:
        """``service.<resource>().<method>(**params).execute()``, translated; the answer must
        be a JSON object."""
        with translated():
            request = getattr(getattr(self.service, resource)(), method)(**params)
            answer = request.execute(num_retries=0)
        if not isinstance(answer, dict):
            raise FeedInvalid("Google answered with JSON that is not an object")
        return answer

    def close(self) -> None:
        """Close the kept-alive connections (httplib2 would leave them to the collector)."""
        self.service.close()

    def refreshed(self) -> dict[str, Any] | None:
        """The credentials to store if the access token changed during this sync, else
        ``None``; a refresh token Google rotated replaces the old one."""
        token = self.credentials.token
        if not token or token == self._first_token:
            return None
        expiry = self.credentials.expiry
        return {
            "refresh_token": self.credentials.refresh_token,
            "access_token": token,
            # google-auth keeps expiry as a naive datetime in UTC.
            "expires_at": int(expiry.replace(tzinfo=UTC).timestamp()) if expiry else None,
            "scopes": list(self.credentials.scopes or []),
        }


def _naive_utc(expires_at: object) -> datetime | None:
    if not isinstance(expires_at, int) or isinstance(expires_at, bool):
        return None
    # google-auth compares expiry with a naive UTC "now"; an aware value would raise there.
    return datetime.fromtimestamp(expires_at, UTC).replace(tzinfo=None)


@contextmanager
def translated() -> Iterator[None]:
    """Vendor failures → the contract's errors (and this module's per-calendar ones)."""
    try:
        yield
    except HttpError as exc:
        raise _from_http_error(exc) from exc
    except RefreshError as exc:
        raise _from_refresh_error(exc) from exc
    except TransportError as exc:
        raise TransientError(f"Google token endpoint unreachable: {exc}") from exc
    except (TimeoutError, httplib2.HttpLib2Error, OSError) as exc:
        raise TransientError(f"Google unreachable: {type(exc).__name__}: {exc}") from exc
    except ValueError as exc:
        # JsonModel.deserialize: a 2xx whose body is not JSON (a proxy's HTML page).
        raise FeedInvalid(f"Google answered with a body that is not JSON: {exc}") from exc


def _from_http_error(exc: HttpError) -> Exception:
    status = int(exc.resp.status)
    reasons = _reasons(exc.content)
    retry_after = retry_after_seconds(exc.resp.get("retry-after"))
    if status == 429 or (status == 403 and reasons & _RATE_LIMIT_REASONS):
        return RateLimited(f"Google rate limit ({status} {sorted(reasons)})", retry_after)
    if status == 401:
        # google-auth already refreshed the token and retried: the grant itself is refused.
        return AuthRevoked("Google refused the access token after a refresh (401)")
    if status == 410:
        return SyncTokenGone()
    if status == 404:
        return CalendarGone()
    if status == 403:
        return Forbidden(f"Google refused access (403 {sorted(reasons)})")
    if status >= 500:
        return TransientError(f"Google failed with {status}", retry_after)
    return FeedInvalid(f"Google refused the request ({status} {sorted(reasons)})")


def _reasons(content: bytes | str | None) -> frozenset[str]:
    try:
        error = json.loads(content or b"{}")["error"]
        return frozenset(
            str(e["reason"])
            for e in error.get("errors", [])
            if isinstance(e, dict) and "reason" in e
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return frozenset()


def _from_refresh_error(exc: RefreshError) -> Exception:
    data = exc.args[1] if len(exc.args) > 1 else None
    error = data.get("error") if isinstance(data, dict) else None
    if error == "invalid_grant":
        return AuthRevoked("Google refused the refresh token (invalid_grant): reconnect")
    if exc.retryable:
        return TransientError(f"Google token endpoint failed: {exc}")
    if error is None:
        # Not an answer from Google but the library refusing to refresh (fields missing).
        return AuthRevoked(f"cannot refresh the Google access token: {exc}")
    # invalid_client and the like: the operator's OAuth client, not the user's grant.
    return TransientError(f"Google token endpoint refused the OAuth client: {error}")
