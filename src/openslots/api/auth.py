"""Bearer API keys and scopes.

A key is checked against the store (one indexed read) and the verdict kept in the process for
``KEY_CACHE_SECONDS``, which is what lets a cached availability answer cost a fraction of a
millisecond. Revoking a key through this process takes effect on its very next request; a key
revoked through another process is refused within ``KEY_CACHE_SECONDS``. Unknown keys are never
cached. ``read`` < ``write`` < ``admin``: a key with a higher scope may do what a lower one may.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import update
from starlette.concurrency import run_in_threadpool

from openslots.errors import Forbidden, Unauthorized
from openslots.store.keys import ApiKey, verify_key
from openslots.store.schema import api_keys

__all__ = ["KEY_CACHE_SECONDS", "Caller", "KeyCache", "key_cache", "require"]

# last_used_at is written at most this often per key, so reads stay reads.
_TOUCH_EVERY = 60
KEY_CACHE_SECONDS = 2.0


class KeyCache:
    """Verified keys by token, each for ``KEY_CACHE_SECONDS`` (monotonic time)."""

    def __init__(self) -> None:
        self._keys: dict[str, tuple[float, ApiKey]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> ApiKey | None:
        entry = self._keys.get(token)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, token: str, key: ApiKey) -> None:
        with self._lock:
            if len(self._keys) > 10_000:
                self._keys.clear()  # bounded: a flood of valid keys only costs re-checks
            self._keys[token] = (time.monotonic() + KEY_CACHE_SECONDS, key)

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()


def key_cache(request: Request) -> KeyCache:
    """The app's key cache (one per app)."""
    cache: KeyCache = request.app.state.key_cache
    return cache


def _token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    return token.strip()


def _remembered(request: Request) -> ApiKey | None:
    return key_cache(request).get(_token(request))


def _authenticate(request: Request) -> ApiKey:
    settings = request.app.state.settings
    token = _token(request)
    cache = key_cache(request)
    with settings.database.read() as connection:
        key = verify_key(connection, token)
    if key is None:
        raise Unauthorized("unknown or revoked API key")
    cache.put(token, key)
    now = settings.clock()
    if key.last_used_at is None or now - key.last_used_at >= _TOUCH_EVERY:
        with settings.database.write() as connection:
            connection.execute(
                update(api_keys).where(api_keys.c.id == key.id).values(last_used_at=now)
            )
    return key


def require(scope: str) -> Callable[[Request], Awaitable[ApiKey]]:
    """A dependency that authenticates the request and checks the key's scope.

    It is a coroutine so that a remembered key costs no hop to the thread pool; only a key not
    yet verified goes there for its database read."""

    async def dependency(request: Request) -> ApiKey:
        key = _remembered(request)
        if key is None:
            key = await run_in_threadpool(_authenticate, request)
        if not key.allows(scope):
            raise Forbidden(f"this key lacks the '{scope}' scope")
        return key

    return dependency


Caller = Annotated[ApiKey, Depends(require("read"))]
