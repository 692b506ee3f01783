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

:func:`sync_once` is a coroutine: the on-demand path awaits it on the API's event loop, a
worker thread runs it with :func:`asyncio.run`; its database work runs in threads. Given a
``lease_owner``, the outcome is stored only while that worker still holds the connection's
lease (``lost_lease`` otherwise, nothing written).
Scheduling and the on-demand budget are the callers' business (:mod:`openslots.sync.worker`,
:mod:`openslots.sync.on_demand`); this module syncs one connection once.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from openslots.store import leases, sync_state
from openslots.store.database import Database
from openslots.sync.contract import (
    HttpClientFactory,
    SyncProblem,
    SyncRequest,
    SyncResult,
    SyncWindow,
)
from openslots.sync.registry import ConnectorRegistry

__all__ = ["Backoff", "SyncOutcome", "sync_once", "sync_window"]

DAY = 86_400

# A stored error message is shown to users; a connector's message longer than this is cut.
MAX_ERROR_LENGTH = 300

CredentialReader = Callable[[bytes], Mapping[str, Any]]
CredentialWriter = Callable[[Mapping[str, Any]], bytes | None]


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
    ``needs_reauth`` (credentials refused; no retry), ``skipped`` (the connection was not
    in a state to sync: ``needs_reauth`` or ``disabled``) or ``lost_lease`` (another worker
    took the connection over meanwhile; nothing was stored). ``error`` is the message stored as
    ``last_error``; ``problems`` are what a successful sync skipped; ``provider`` is the
    connection's (the metrics count syncs by it).
    """

    status: str
    error: str | None = None
    next_attempt_at: int | None = None
    problems: tuple[SyncProblem, ...] = ()
    provider: str = "unknown"


def sync_window(now: int, past_days: int, future_days: int) -> SyncWindow:
    """The window a sync at ``now`` reads: from ``past_days`` before today's UTC midnight to
    ``future_days`` after it. Aligned to days, so the syncs of one day share a window and
    connectors can answer with deltas (see :mod:`openslots.sync.contract`)."""
    today = now - now % DAY
    return SyncWindow(today - past_days * DAY, today + future_days * DAY)


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


def _owner_emails(settings: Mapping[str, Any]) -> frozenset[str]:
    emails = settings.get("emails")
    if not isinstance(emails, list):
        return frozenset()
    return frozenset(e.strip().lower() for e in emails if isinstance(e, str) and e.strip())


async def sync_once(
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
    lease_owner: str | None = None,
    max_instances_per_series: int = 10_000,
    write_credentials: CredentialWriter | None = None,
    provider_config: Callable[[str], Mapping[str, Any]] = lambda provider: {},
    limit: Callable[[str], contextlib.AbstractAsyncContextManager[None]] | None = None,
) -> SyncOutcome:
    """Sync connection ``connection_id`` for ``window`` at ``now`` (UTC seconds) and store the
    outcome (see the module docstring). Failures of the sync are recorded, not raised; raises
    NotFound for an unknown connection."""
    target = await asyncio.to_thread(_load, database, connection_id)
    if target.status in {"needs_reauth", "disabled"}:
        if lease_owner is not None:
            await asyncio.to_thread(_free, database, lease_owner, connection_id)
        return SyncOutcome("skipped", provider=target.provider)

    def request(credentials: Mapping[str, Any], cursors: Mapping[str, str]) -> SyncRequest:
        return SyncRequest(
            settings=target.settings,
            credentials=credentials,
            window=window,
            http_client=http_client,
            cursors=dict(cursors),
            owner_emails=_owner_emails(target.settings),
            default_zone=target.zone,
            max_instances_per_series=max_instances_per_series,
            provider_config=provider_config(target.provider),
        )

    try:
        credentials: Mapping[str, Any] = {}
        if target.credentials is not None:
            if read_credentials is None:
                raise ConfigurationError("the connection has credentials and nothing to read them")
            credentials = read_credentials(target.credentials)
        connector = registry.get(target.provider)
        reset = False
        gate = limit(target.provider) if limit is not None else contextlib.nullcontext()
        async with gate:
            try:
                result = _checked(await connector.sync(request(credentials, target.cursors)))
            except CursorExpired:
                # Build the whole new set first; it replaces the old one in one transaction.
                reset = True
                result = _checked(await connector.sync(request(credentials, {})))
        new_credentials = None
        if result.credentials is not None:
            if write_credentials is None:
                raise ConfigurationError(
                    "a connector returned credentials and nothing can store them"
                )
            new_credentials = write_credentials(result.credentials)
        await asyncio.to_thread(
            _apply,
            database,
            target,
            result,
            window=window,
            now=now,
            reset=reset,
            lease_owner=lease_owner,
            credentials=new_credentials,
        )
    except sync_state.LeaseLost:
        return SyncOutcome("lost_lease", provider=target.provider)
    except Exception as exc:
        try:
            return await asyncio.to_thread(
                _fail,
                database,
                target,
                exc,
                now=now,
                backoff=backoff,
                random=random,
                lease_owner=lease_owner,
            )
        except sync_state.LeaseLost:
            return SyncOutcome("lost_lease", provider=target.provider)
    return SyncOutcome("ok", problems=result.problems, provider=target.provider)


def _load(database: Database, connection_id: str) -> sync_state.SyncTarget:
    with database.read() as connection:
        return sync_state.load_target(connection, connection_id)


def _free(database: Database, owner: str, connection_id: str) -> None:
    with database.write() as connection:
        leases.free(connection, owner, connection_id)


def _apply(
    database: Database,
    target: sync_state.SyncTarget,
    result: SyncResult,
    *,
    window: SyncWindow,
    now: int,
    reset: bool,
    lease_owner: str | None,
    credentials: bytes | None,
) -> None:
    with database.write() as connection:
        sync_state.apply_result(
            connection,
            target,
            result,
            window,
            now,
            reset_cursors=reset,
            lease_owner=lease_owner,
            credentials=credentials,
        )


def _checked(result: object) -> SyncResult:
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
    lease_owner: str | None,
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
            lease_owner=lease_owner,
        )
    return SyncOutcome(status, message, next_attempt_at, provider=target.provider)
