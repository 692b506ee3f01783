"""One connection's sync, blocking: the caldav client, its calendars, and errors translated.

Runs in a worker thread (:mod:`.connector`); every request goes through the
:class:`~openslots_caldav.session.LoopSession` it is given. caldav's errors become the
contract's here, once:

* the session's own failure (guard refusal, network, 429, 502-504) wins over whatever caldav
  made of it;
* 401 anywhere: :class:`AuthRevoked`;
* discovery failing otherwise: :class:`FeedInvalid` (4xx: not a CalDAV account we can use,
  fix the settings) or :class:`TransientError` (5xx);
* one calendar failing in any other way: a problem, and the calendar keeps its stored events;
  a calendar that is gone (404) is removed.
"""

from __future__ import annotations

from typing import Any, NoReturn, cast

from caldav.davclient import DAVClient
from caldav.lib import error

from openslots.sync.contract import (
    AuthRevoked,
    CalendarDelta,
    CalendarSnapshot,
    FeedInvalid,
    SyncProblem,
    SyncRequest,
    SyncResult,
    TransientError,
)
from openslots_caldav.cursor import Basis, Cursor
from openslots_caldav.discovery import Discovered, discover
from openslots_caldav.reading import read_calendar
from openslots_caldav.session import LoopSession
from openslots_caldav.settings import Connection

__all__ = ["read_account"]

_NOT_FOUND = 404


def read_account(connection: Connection, request: SyncRequest, session: LoopSession) -> SyncResult:
    """The result of one sync of ``connection`` (blocking; see the module docstring)."""
    client = _client(connection, session)
    try:
        found = discover(client, connection)
    except Exception as exc:
        _raise_translated(exc, session, connection)
    parts: list[CalendarSnapshot | CalendarDelta] = []
    problems: list[SyncProblem] = list(found.problems)
    gone: set[str] = set(found.missing)
    unreadable: set[str] = set(found.unreadable)
    emails = request.owner_emails | connection.emails
    for info in found.calendars:
        basis = Basis(
            request.window,
            info.zone or request.default_zone,
            emails,
            request.max_instances_per_series,
        )
        try:
            read = read_calendar(client, info, basis, Cursor.decode(request.cursors.get(info.id)))
        except Exception as exc:
            # Anything but a failed session or refused credentials stays with this calendar.
            if session.failure is not None or _status(exc) == 401:
                _raise_translated(exc, session, connection)
            if _status(exc) == _NOT_FOUND:
                gone.add(info.id)
                problems.append(SyncProblem(info.id, "calendar not found on the server"))
            else:
                unreadable.add(info.id)
                problems.append(SyncProblem(info.id, f"calendar cannot be read: {_reason(exc)}"))
            continue
        parts.append(read.part)
        problems.extend(read.problems)
    if session.failure is not None:
        raise session.failure
    removed = _removed(request, found, parts, gone, unreadable)
    return SyncResult(tuple(parts), tuple(problems), removed)


def _client(connection: Connection, session: LoopSession) -> DAVClient:
    """A caldav client for the connection whose HTTP is ``session``. It gets no credentials
    (the session's auth answers challenges) and does no DNS-based service discovery, which
    would bypass the guard; it never sleeps on 429 itself."""
    client = DAVClient(url=connection.url, enable_rfc6764=False, rate_limit_handle=False)
    client.session.close()
    cast(Any, client).session = session
    return client


def _removed(
    request: SyncRequest,
    found: Discovered,
    parts: list[CalendarSnapshot | CalendarDelta],
    gone: set[str],
    unreadable: set[str],
) -> tuple[str, ...]:
    """Calendars with a cursor that are no longer read, and are not merely unreadable now,
    plus the ones the server no longer has."""
    read = {part.calendar for part in parts}
    listed = {info.id for info in found.calendars} | unreadable
    return tuple(sorted(((set(request.cursors) - listed) | gone) - read))


def _raise_translated(exc: Exception, session: LoopSession, connection: Connection) -> NoReturn:
    if session.failure is not None:
        raise session.failure from exc
    if not isinstance(exc, error.DAVError):
        if isinstance(exc, (AuthRevoked, FeedInvalid, TransientError)):
            raise exc
        message = f"the CalDAV server's answer could not be used: {type(exc).__name__}: {exc}"
        raise FeedInvalid(message) from exc
    host = connection.origin[1]
    status = exc.status
    if status == 401:
        raise AuthRevoked(f"{host} refused the CalDAV account's credentials (401)") from exc
    if status is not None and status >= 500:
        raise TransientError(f"{host} failed to answer ({status})") from exc
    message = f"{host} has no CalDAV account to sync at this URL: {_reason(exc)}"
    raise FeedInvalid(message) from exc


def _status(exc: Exception) -> int | None:
    return exc.status if isinstance(exc, error.DAVError) else None


def _reason(exc: Exception) -> str:
    status = _status(exc)
    return f"HTTP {status}" if status else f"{type(exc).__name__}: {exc}"
