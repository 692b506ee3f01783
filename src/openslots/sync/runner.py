"""Running one sync of one connection (DESIGN §5, RELIABILITY-NOTES §4).

:func:`run_sync` reads the connection, asks its connector for the window, and applies the
result and the new cursors in one write transaction. What can go wrong, and what is stored:

* any exception (from the connector or while applying) leaves the blocks and cursors as they
  were and records a short ``last_error`` (the error's code and message; for an unexpected
  exception only its class, since its text could carry a credential or a secret URL);
* a :class:`TransientError` (and :class:`RateLimited`) or any other failure backs off
  exponentially with full jitter: the delay is uniform in ``[0, min(cap, base * 2**(n-1))]``
  for the ``n``-th failure in a row, or upstream's ``retry_after`` when that is longer;
* :class:`AuthRevoked` sets ``needs_reauth`` with no next attempt: the runner skips the
  connection until it is reconnected (which resets its status);
* :class:`CursorExpired` is answered by calling the connector once more without cursors; its
  result replaces the blocks in the same single transaction, so the old set is served until the
  new one is complete.

Leases, scheduling and the on-demand budget are the caller's business; this module syncs one
connection once.
"""

from __future__ import annotations

import asyncio
import math
import random as _random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from openslots.errors import (
    AuthRevoked,
    ConfigurationError,
    CursorExpired,
    OpenslotsError,
    TransientError,
)
from openslots.store import sync_state
from openslots.store.database import Database
from openslots.sync.contract import (
    HttpClientFactory,
    SyncProblem,
    SyncRequest,
    SyncResult,
    SyncWindow,
)
from openslots.sync.registry import ConnectorRegistry

__all__ = ["Backoff", "SyncOutcome", "run_sync"]

# A stored error message is shown to users; a connector's message longer than this is cut.
MAX_ERROR_LENGTH = 300

CredentialReader = Callable[[bytes], Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter: the ``n``-th failure in a row waits a uniform
    random time in ``[0, min(cap, base * 2**(n-1))]`` seconds, or upstream's ``retry_after``
    when that is longer. Full jitter spreads the retries of many connections that failed
    together (one provider's outage) instead of bunching them."""

    base: float = 30.0
    cap: float = 3600.0

    def delay(self, failures: int, random: float, retry_after: float | None = None) -> int:
        """Whole seconds to wait after ``failures`` (>= 1) failures in a row; ``random`` is a
        draw from ``[0, 1)``."""
        ceiling = min(self.cap, self.base * 2.0 ** min(failures - 1, 62))
        wait = random * ceiling
        if retry_after is not None and retry_after > wait:
            wait = retry_after
        return math.ceil(wait)


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    """What one :func:`run_sync` did.

    ``status``: ``ok`` (applied), ``error`` (failed; retry from ``next_attempt_at``),
    ``needs_reauth`` (credentials refused; no retry) or ``skipped`` (the connection was not
    in a state to sync: ``needs_reauth`` or ``disabled``). ``error`` is the message stored as
    ``last_error``; ``problems`` are what a successful sync skipped.
    """

    status: str
    error: str | None = None
    next_attempt_at: int | None = None
    problems: tuple[SyncProblem, ...] = ()


def _no_http_client() -> httpx.AsyncClient:
    raise ConfigurationError("this sync runner was given no HTTP client factory")


def _error_message(exc: BaseException) -> str:
    if isinstance(exc, OpenslotsError):
        text = f"{exc.code}: {exc.message}"
    else:
        # An unexpected exception's text may quote anything (a URL with a token, a header).
        text = f"internal error ({type(exc).__name__})"
    if len(text) > MAX_ERROR_LENGTH:
        text = text[: MAX_ERROR_LENGTH - 1] + "…"
    return text


def run_sync(
    database: Database,
    registry: ConnectorRegistry,
    connection_id: str,
    now: int,
    window: SyncWindow,
    *,
    http_client: HttpClientFactory = _no_http_client,
    read_credentials: CredentialReader | None = None,
    backoff: Backoff = Backoff(),
    random: Callable[[], float] = _random.random,
) -> SyncOutcome:
    """Sync connection ``connection_id`` for ``window`` at ``now`` (UTC seconds) and store the
    outcome (see the module docstring). Failures of the sync are recorded, not raised; raises
    NotFound for an unknown connection and ConfigurationError when the connection has
    credentials but no ``read_credentials`` (which decrypts them) was given.

    Runs the connector's coroutine with :func:`asyncio.run`, so it must be called outside a
    running event loop (a worker thread, the CLI, tests).
    """
    with database.read() as connection:
        target = sync_state.load_target(connection, connection_id)
    if target.status in {"needs_reauth", "disabled"}:
        return SyncOutcome("skipped")
    if target.credentials is not None and read_credentials is None:
        raise ConfigurationError("the connection has credentials and nothing to read them")
    credentials = (
        read_credentials(target.credentials)
        if read_credentials is not None and target.credentials is not None
        else {}
    )

    def request(cursors: Mapping[str, str]) -> SyncRequest:
        return SyncRequest(
            settings=target.settings,
            credentials=credentials,
            window=window,
            http_client=http_client,
            cursors=dict(cursors),
            default_zone=target.zone,
        )

    try:
        connector = registry.get(target.provider)
        reset = False
        try:
            result = _call(connector.sync, request(target.cursors))
        except CursorExpired:
            # Build the whole new set first; it replaces the old one in one transaction below.
            reset = True
            result = _call(connector.sync, request({}))
        with database.write() as connection:
            sync_state.apply_result(connection, target, result, window, now, reset_cursors=reset)
    except Exception as exc:
        return _fail(database, target, exc, now=now, backoff=backoff, random=random)
    return SyncOutcome("ok", problems=result.problems)


def _call(sync: Callable[[SyncRequest], Any], request: SyncRequest) -> SyncResult:
    result = asyncio.run(sync(request))
    if not isinstance(result, SyncResult):
        raise TypeError(f"a connector returned {type(result).__name__}, not a SyncResult")
    return result


def _fail(
    database: Database,
    target: sync_state.SyncTarget,
    exc: Exception,
    *,
    now: int,
    backoff: Backoff,
    random: Callable[[], float],
) -> SyncOutcome:
    message = _error_message(exc)
    failures = target.failures + 1
    if isinstance(exc, AuthRevoked):
        status, next_attempt_at = "needs_reauth", None
    else:
        retry_after = exc.retry_after if isinstance(exc, TransientError) else None
        status = "error"
        next_attempt_at = now + backoff.delay(failures, random(), retry_after)
    with database.write() as connection:
        sync_state.record_failure(
            connection,
            target.id,
            message=message,
            status=status,
            failures=failures,
            next_attempt_at=next_attempt_at,
        )
    return SyncOutcome(status, message, next_attempt_at)
