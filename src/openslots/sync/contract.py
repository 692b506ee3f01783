"""The connector contract: the one module a connector plugin imports (DESIGN §5).

A connector turns one external calendar account into busy time. Given a connection's settings,
credentials, a time window and the last cursor of each calendar, it returns either a full
snapshot or a delta of events for each calendar, plus the new cursor. Words, used with exactly
these meanings here and in every connector:

connection
    One account at one provider, attached to one resource: a ``provider`` name (the entry-point
    name, e.g. ``ics``, ``caldav``), ``settings`` (plain JSON: URLs, calendar choices) and
    ``credentials`` (JSON stored encrypted: passwords, tokens, secret feed URLs).
calendar
    One collection of events inside a connection, named by an id the connector chooses and keeps
    stable (a CalDAV collection path, a Google calendar id; ``"default"`` for a lone ICS feed).
    Stored blocks are grouped by ``<connection id>:<calendar>``.
window
    The half-open span ``[start, end)`` of UTC epoch seconds that sync covers
    (:class:`SyncWindow`); events are expanded, returned and replaced only inside it.
event
    One busy occurrence (:class:`BusyEvent`) after the busy rules of DESIGN §5 were applied:
    transparent, cancelled, declined and zero-length occurrences are never returned.
    ``external_id`` names the upstream *object* the occurrence came from (a CalDAV resource, a
    Google event id), so all occurrences of one recurring series share it.
snapshot
    Every event of one calendar overlapping the window (:class:`CalendarSnapshot`). Applying it
    replaces all of that calendar's stored events overlapping the window.
delta
    The changes of one calendar since its cursor (:class:`CalendarDelta`): every stored event
    whose ``external_id`` is in ``upserted`` or ``deleted_ids`` is dropped, then ``upserted`` is
    added. An upstream object that changed has all of its in-window occurrences in ``upserted``;
    one that was deleted, or changed so that no occurrence overlaps the window any more, is in
    ``deleted_ids``.
cursor
    Opaque text a connector returns with each snapshot or delta and gets back next time, per
    calendar (a sync token, a delta link, an ETag). ``None`` or absence means "no cursor: send a
    snapshot". Openslots stores it verbatim and never reads it.

The promise a connector keeps (the contract suite, ``tests/sync/contract_suite.py``, checks it):
after a result is applied to what the previous results left, the events of each returned
calendar that overlap ``request.window`` equal a fresh snapshot of that window. So a delta is
only allowed when the cursor covers the requested window; a connector whose cursor was made for
another window, or that cannot tell, returns a snapshot. Callers align windows (to UTC days) so
that consecutive syncs share a window and deltas stay possible.

Failures are exceptions from :mod:`openslots.errors`, re-exported here, raised for the whole
sync and translated once from the vendor's errors (``raise CursorExpired(...) from exc``):
:class:`CursorExpired` (the runner calls again without cursors; a connector may instead answer
that calendar with a snapshot itself), :class:`AuthRevoked`, :class:`RateLimited`,
:class:`TransientError` and :class:`FeedInvalid`. A calendar or an object that cannot be read
while the rest can is left out and reported in :attr:`SyncResult.problems`: an omitted
calendar keeps its stored events, a skipped object does not make the snapshot partial silently.

:meth:`Connector.sync` is a coroutine. The on-demand path (DESIGN §5) syncs many connections
concurrently within a time budget and joins syncs already in flight, which asyncio tasks give
directly (``asyncio.wait`` with a timeout, shared tasks) while threads cannot be abandoned
cleanly; HTTP is asynchronous through ``httpx.AsyncClient``. A connector built on a blocking
library (caldav) runs that part with ``asyncio.to_thread``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

import httpx

from openslots.engine.model import BLOCK_KINDS, BlockKind
from openslots.errors import (
    AuthRevoked,
    CursorExpired,
    FeedInvalid,
    RateLimited,
    TransientError,
    ValidationError,
)

__all__ = [
    "BLOCK_KINDS",
    "AuthRevoked",
    "BlockKind",
    "BusyEvent",
    "CalendarDelta",
    "CalendarSnapshot",
    "Connector",
    "CursorExpired",
    "FeedInvalid",
    "HttpClientFactory",
    "RateLimited",
    "SyncProblem",
    "SyncRequest",
    "SyncResult",
    "SyncWindow",
    "TransientError",
    "ValidationError",
    "retry_after_seconds",
    "validate_owner_emails",
]

HttpClientFactory = Callable[[], httpx.AsyncClient]
"""Makes the HTTP client a connector must use for every request to a user-supplied URL: it
carries the SSRF guard, size and time caps (DESIGN §5). Use it as ``async with factory() as
client``; tests inject one built on ``httpx.MockTransport`` or a local server."""


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from an HTTP ``Retry-After`` header (delta-seconds or an HTTP date), or
    ``None`` when it is missing or unreadable: what :class:`RateLimited` and
    :class:`TransientError` carry as ``retry_after``."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


MAX_OWNER_EMAILS = 50
_MAX_EMAIL_LENGTH = 320  # RFC 5321: 64 for the local part, 255 for the domain, and the "@"


def validate_owner_emails(emails: object, field: str = "settings.emails") -> None:
    """Check a connection's ``emails`` setting (the owner's addresses, for declined
    invitations): absent, or a list of at most 50 plausible addresses. Raises
    :class:`ValidationError` naming ``field`` or the offending item (``settings.emails.2``)."""
    if emails is None:
        return
    if not isinstance(emails, list):
        raise ValidationError(field, "must be a list of e-mail addresses")
    if len(emails) > MAX_OWNER_EMAILS:
        raise ValidationError(field, f"may hold at most {MAX_OWNER_EMAILS} addresses")
    for index, email in enumerate(emails):
        item = f"{field}.{index}"
        if not isinstance(email, str):
            raise ValidationError(item, "must be an e-mail address (a string)")
        text = email.strip()
        local, at, domain = text.rpartition("@")
        if not at or not local or not domain or any(c.isspace() for c in text):
            raise ValidationError(item, "must be an e-mail address such as ada@example.org")
        if len(text) > _MAX_EMAIL_LENGTH:
            raise ValidationError(item, f"is longer than {_MAX_EMAIL_LENGTH} characters")


@dataclass(frozen=True, slots=True)
class SyncWindow:
    """The half-open span ``[start, end)`` of UTC epoch seconds a sync covers."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"empty sync window [{self.start}, {self.end})")

    def overlaps(self, start: int, end: int) -> bool:
        """Whether ``[start, end)`` shares at least one second with the window."""
        return start < self.end and end > self.start


@dataclass(frozen=True, slots=True)
class BusyEvent:
    """One busy occurrence ``[start, end)`` (UTC epoch seconds) of the upstream object
    ``external_id``; ``kind`` is ``busy``, ``tentative`` or ``oof``.

    An event overlapping the window is returned whole, not clipped to it.
    """

    external_id: str
    start: int
    end: int
    kind: BlockKind = "busy"

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"event {self.external_id!r} is empty: [{self.start}, {self.end})")
        if self.kind not in BLOCK_KINDS:
            raise ValueError(f"event {self.external_id!r} has unknown kind {self.kind!r}")


@dataclass(frozen=True, slots=True)
class CalendarSnapshot:
    """All events of ``calendar`` overlapping the request's window, and the new cursor."""

    calendar: str
    events: tuple[BusyEvent, ...]
    cursor: str | None = None

    def apply(self, stored: Iterable[BusyEvent], window: SyncWindow) -> tuple[BusyEvent, ...]:
        """The calendar's events after this snapshot: ``stored`` events outside ``window``
        stay, the rest are replaced by :attr:`events`. The runner does the same in SQL."""
        kept = [e for e in stored if not window.overlaps(e.start, e.end)]
        return (*kept, *self.events)


@dataclass(frozen=True, slots=True)
class CalendarDelta:
    """The changes of ``calendar`` since its cursor, and the new cursor (see the module's
    vocabulary: replace by ``external_id``, then add)."""

    calendar: str
    upserted: tuple[BusyEvent, ...]
    deleted_ids: tuple[str, ...]
    cursor: str | None = None

    def apply(self, stored: Iterable[BusyEvent], window: SyncWindow) -> tuple[BusyEvent, ...]:
        """The calendar's events after this delta: every ``stored`` event whose external id
        is upserted or deleted is dropped, then :attr:`upserted` is added. ``window`` is unused
        (a delta is not bounded by it) and accepted so both kinds apply alike."""
        del window
        touched = {e.external_id for e in self.upserted} | set(self.deleted_ids)
        kept = [e for e in stored if e.external_id not in touched]
        return (*kept, *self.upserted)


@dataclass(frozen=True, slots=True)
class SyncProblem:
    """Something skipped without failing the sync: an unreadable ``calendar`` (then
    ``external_id`` is ``None``) or one object of it (a broken series, a bad component)."""

    calendar: str
    message: str
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What one sync of a connection returned.

    ``calendars`` holds one snapshot or delta per calendar that was read (at most one each);
    a calendar of the connection that is not in it keeps its stored events and cursor.
    ``removed_calendars`` names calendars that no longer exist upstream (or are no longer
    chosen in the settings): their events and cursors are dropped. ``problems`` are reported to
    the user as the connection's warnings. ``credentials``, when set, replace the connection's
    stored credentials (encrypted) in the same transaction: an OAuth connector returns them
    after refreshing an access token or when the provider rotated the refresh token.
    """

    calendars: tuple[CalendarSnapshot | CalendarDelta, ...]
    problems: tuple[SyncProblem, ...] = ()
    removed_calendars: tuple[str, ...] = ()
    credentials: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        names = [c.calendar for c in self.calendars]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"calendars returned more than once: {duplicates}")
        both = sorted(set(names) & set(self.removed_calendars))
        if both:
            raise ValueError(f"calendars both returned and removed: {both}")

    @property
    def cursors(self) -> dict[str, str | None]:
        """The new cursor of each returned calendar."""
        return {c.calendar: c.cursor for c in self.calendars}


@dataclass(frozen=True, slots=True)
class SyncRequest:
    """Everything one sync of one connection gets; a connector reads nothing else.

    ``settings`` and ``credentials`` are the connection's (already checked by
    :meth:`Connector.validate_settings`); ``cursors`` maps calendar → last cursor (empty on the
    first sync and after :class:`CursorExpired`). ``owner_emails`` are the addresses of the
    calendar's owner, lower-cased, for "declined by the owner"; ``default_zone`` is the IANA
    zone of the resource, for all-day and floating times when the calendar names none.
    ``max_instances_per_series`` caps recurrence expansion. ``provider_config`` is the
    configuration section named after the provider (OAuth client, endpoints), else empty.
    """

    settings: Mapping[str, Any]
    credentials: Mapping[str, Any]
    window: SyncWindow
    http_client: HttpClientFactory
    cursors: Mapping[str, str] = field(default_factory=dict)
    owner_emails: frozenset[str] = frozenset()
    default_zone: str = "UTC"
    max_instances_per_series: int = 10_000
    provider_config: Mapping[str, Any] = field(default_factory=dict)


class Connector(abc.ABC):
    """A calendar provider. Subclass it, set :attr:`provider`, implement both methods, and
    register the class under the entry-point group ``openslots.connectors`` with the same name::

        [project.entry-points."openslots.connectors"]
        example = "openslots_example:ExampleConnector"

    Openslots makes one instance with no arguments and uses it for every connection of that
    provider, concurrently: keep per-sync state in locals, not on ``self``.
    """

    provider: ClassVar[str]
    """The provider name, equal to the entry-point name; stored with each connection."""

    @abc.abstractmethod
    def validate_settings(
        self, settings: Mapping[str, Any], credentials: Mapping[str, Any]
    ) -> None:
        """Check a connection body before it is stored, without network access.

        Raises :class:`ValidationError` whose ``field`` is the dotted path of the offending
        value, starting with ``settings`` or ``credentials`` (``settings.url``), so the API can
        answer 422 pointing at it.
        """

    def separate_secrets(
        self, settings: Mapping[str, Any], credentials: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Move whatever in ``settings`` is secret into ``credentials`` before the connection
        is stored; ``settings`` are shown back to users, ``credentials`` are encrypted and
        never shown (DESIGN §4). For example an ICS feed's URL, whose path or query is the
        secret, goes to ``credentials`` and ``settings`` keeps a redacted form.

        Called before :meth:`validate_settings`, without network access. The default keeps
        both as given.
        """
        return dict(settings), dict(credentials)

    @abc.abstractmethod
    async def sync(self, request: SyncRequest) -> SyncResult:
        """Read the connection's calendars for ``request.window``: a snapshot, or a delta from
        the calendar's cursor, per calendar (see the module docstring for the promise).

        Raises :class:`CursorExpired`, :class:`AuthRevoked`, :class:`RateLimited`,
        :class:`TransientError` or :class:`FeedInvalid` for the whole sync; nothing is applied
        then.
        """
