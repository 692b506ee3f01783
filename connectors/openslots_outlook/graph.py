"""Microsoft Graph over httpx: authorized GETs, error translation and delta rounds.

Every failure of the whole sync becomes one of the contract's errors here: 429 →
:class:`RateLimited` and 503 → :class:`TransientError`, both with ``Retry-After``; other 5xx and
network errors → :class:`TransientError`; 401 twice (the second time with a freshly redeemed
token) → :class:`AuthRevoked`; a body that is not the JSON Graph promises → :class:`FeedInvalid`.
A calendar that is gone or forbidden (404, 403) is :class:`CalendarUnavailable`, left to the
connector to report for that calendar alone; an expired state token (410, ``syncStateNotFound``
and its relatives) is :class:`DeltaExpired`.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import httpx

from openslots.sync.contract import (
    AuthRevoked,
    FeedInvalid,
    RateLimited,
    TransientError,
    retry_after_seconds,
)

from .tokens import TokenSource

__all__ = ["CalendarUnavailable", "DeltaExpired", "Graph"]

PAGE_SIZE = 200
# A delta round of a 120-day window is a few pages; thousands means a server looping on us.
MAX_PAGES = 2_000
# Codes Graph and its clients use for a state token it no longer knows (SYNC-NOTES §2.1).
_EXPIRED_CODES = frozenset({"syncstatenotfound", "resyncrequired", "syncstateinvalid"})


class DeltaExpired(Exception):
    """Graph no longer accepts the round's state token: start a new round."""


class CalendarUnavailable(Exception):
    """The calendar (or mailbox resource) answered 403 or 404."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(f"HTTP {status} {code}".strip())
        self.status = status
        self.code = code


class Graph:
    """Graph calls of one sync, through the request's HTTP client."""

    def __init__(self, client: httpx.AsyncClient, base_url: str, tokens: TokenSource) -> None:
        self.base_url = base_url.rstrip("/")
        self._origin = _origin(self.base_url)
        self._client = client
        self._tokens = tokens
        self._access: str | None = None
        self._refreshed = False

    async def get(self, url: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        """GET ``url`` (on the Graph host only: it carries the user's token) as a JSON object."""
        if _origin(url) != self._origin:
            raise FeedInvalid("Graph sent a link to another host; it is not followed")
        if self._access is None:
            self._access = await self._tokens.token()
        response = await self._send(url, params, self._access)
        if response.status_code == 401 and not self._refreshed:
            # An access token can be revoked before it expires: redeem the refresh token once.
            self._refreshed = True
            self._access = await self._tokens.token(force_refresh=True)
            response = await self._send(url, params, self._access)
        return _read(response)

    async def round(self, url: str, params: dict[str, str] | None = None) -> tuple[list[Any], str]:
        """All items of one delta round from ``url`` (a first request or a delta link),
        following ``@odata.nextLink``, and the round's ``@odata.deltaLink``."""
        items: list[Any] = []
        for _ in range(MAX_PAGES):
            page = await self.get(url, params)
            value = page.get("value")
            if not isinstance(value, list):
                raise FeedInvalid("a Graph delta page has no list of events ('value')")
            items.extend(value)
            delta_link, next_link = page.get("@odata.deltaLink"), page.get("@odata.nextLink")
            if isinstance(delta_link, str) and delta_link:
                return items, delta_link
            if not isinstance(next_link, str) or not next_link:
                raise FeedInvalid("a Graph delta page has neither a nextLink nor a deltaLink")
            url, params = next_link, None
        raise FeedInvalid(f"a Graph delta round went on for more than {MAX_PAGES} pages")

    async def _send(self, url: str, params: dict[str, str] | None, token: str) -> httpx.Response:
        headers = [
            ("Authorization", f"Bearer {token}"),
            ("Accept", "application/json"),
            # All times in UTC; pages of a bounded size. Separate Prefer headers, as Graph
            # documents them.
            ("Prefer", 'outlook.timezone="UTC"'),
            ("Prefer", f"odata.maxpagesize={PAGE_SIZE}"),
        ]
        try:
            return await self._client.get(url, params=params, headers=headers)
        except httpx.HTTPError as exc:
            reason = type(exc).__name__
            raise TransientError(f"Microsoft Graph could not be reached ({reason})") from exc


def _read(response: httpx.Response) -> dict[str, Any]:
    status = response.status_code
    if 200 <= status < 300:
        try:
            body = json.loads(response.content)
        except ValueError as exc:
            raise FeedInvalid(f"Graph answered HTTP {status} with a body that is not JSON") from exc
        if not isinstance(body, dict):
            raise FeedInvalid(f"Graph answered HTTP {status} with JSON that is not an object")
        return body
    code = _error_code(response)
    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    if status == 410 or code.lower() in _EXPIRED_CODES:
        raise DeltaExpired(f"HTTP {status} {code}".strip())
    if status == 429:
        raise RateLimited("Microsoft Graph throttled the sync (HTTP 429)", retry_after)
    if status >= 500:
        raise TransientError(f"Microsoft Graph failed (HTTP {status} {code})".strip(), retry_after)
    if status == 401:
        raise AuthRevoked("Microsoft Graph refused a freshly issued token (HTTP 401): reconnect")
    if status in (403, 404):
        raise CalendarUnavailable(status, code)
    raise FeedInvalid(f"Microsoft Graph refused the request (HTTP {status} {code})".strip())


def _error_code(response: httpx.Response) -> str:
    """Graph's ``error.code`` from an error body, or ``""``."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else ""


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()
