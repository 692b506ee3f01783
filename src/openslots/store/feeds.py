"""Free/busy feeds: secret tokens that publish a resource's or a team's busy time.

A feed is minted for one *subject*, a resource or a team. Its token (256 random bits, URL-safe
base64, 43 characters) is the only credential of the feed URLs: it is shown once, when minted,
and only its SHA-256 is stored, looked up directly (a plain hash suffices for a high-entropy
secret, as for API keys). Deleting a feed deletes its row, so the token stops working at once.

What a feed shows is read here too (:func:`feed_busy`), in UTC seconds, half-open intervals:

* a resource is busy during every block of it overlapping the window, whatever its source
  (synced, manual one-off, occurrences of manual recurring ones), and during each of its
  confirmed bookings, ``[start, end)`` without the service's buffers (the appointment itself;
  holds are not shown, they expire within minutes). A booking takes the resource whatever seats
  remain: it is in use.
* kinds rank ``tentative`` < ``busy`` < ``oof``; at each instant the strongest kind there wins,
  so the three sets of :class:`FeedBusy` are disjoint. A booking counts as ``busy``.
* a team is busy at an instant only when every member is, at the *weakest* of their levels (a
  team whose members are one out of office and one tentative is tentatively busy: someone may
  still be booked). A team without members is never busy.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from openslots.engine.intervals import IntervalSet, Span
from openslots.errors import NotFound
from openslots.store.blocks import blocks_in_window
from openslots.store.catalog import NotFound as CatalogNotFound
from openslots.store.catalog import new_id
from openslots.store.schema import booking_resources, feeds, resources, teams

__all__ = [
    "DAY",
    "Feed",
    "FeedBusy",
    "FeedNotFound",
    "combine_levels",
    "delete_feed",
    "feed_busy",
    "feed_by_token",
    "feed_window",
    "get_feed",
    "list_feeds",
    "mint_feed",
    "resource_levels",
    "team_levels",
]

DAY = 86_400
KINDS = ("tentative", "busy", "oof")  # weakest to strongest
_RANK = {kind: rank for rank, kind in enumerate(KINDS, start=1)}
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)

# Per level, from "at least tentative" to "at least out of office": the instants where the
# subject is at least that busy. Each set contains the next.
Levels = tuple[IntervalSet, IntervalSet, IntervalSet]
_NONE: Levels = (IntervalSet(), IntervalSet(), IntervalSet())


class FeedNotFound(NotFound):
    """No live feed has this token. The message is the same for a malformed, an unknown and a
    revoked token, and names none of them."""

    def __init__(self) -> None:
        super().__init__("not found: no such feed (the address is wrong or was revoked)")


@dataclass(frozen=True, slots=True)
class Feed:
    """A feed as stored, without its token. ``created_at`` is UTC epoch seconds; exactly one of
    ``resource_id`` and ``team_id`` is set."""

    id: str
    org_id: str
    resource_id: str | None
    team_id: str | None
    label: str | None
    past_days: int
    future_days: int
    created_at: int


@dataclass(frozen=True, slots=True)
class FeedBusy:
    """What a feed publishes for its window: the calendar's name, and the busy time.

    ``tentative``, ``busy`` and ``unavailable`` (out of office) are disjoint, each instant in the
    strongest kind found there, clipped to the window; ``periods`` is their union *unclipped*:
    whole merged periods of the blocks and bookings that overlap the window, so a period that
    began before the window keeps its start (and its event UID) while the window moves.
    """

    name: str
    window: Span
    tentative: IntervalSet
    busy: IntervalSet
    unavailable: IntervalSet
    periods: IntervalSet


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _feed(row: Any) -> Feed:
    m = row._mapping
    return Feed(
        id=m["id"],
        org_id=m["org_id"],
        resource_id=m["resource_id"],
        team_id=m["team_id"],
        label=m["label"],
        past_days=m["past_days"],
        future_days=m["future_days"],
        created_at=m["created_at"],
    )


def _check_subject(connection: Connection, org_id: str, kind: str, subject_id: str) -> None:
    table = resources if kind == "resource" else teams
    found = connection.execute(
        select(table.c.id).where(table.c.org_id == org_id, table.c.id == subject_id)
    ).first()
    if found is None:
        raise CatalogNotFound(kind)


def mint_feed(
    connection: Connection,
    org_id: str,
    *,
    resource_id: str | None = None,
    team_id: str | None = None,
    label: str | None,
    past_days: int,
    future_days: int,
    now: int,
) -> tuple[Feed, str]:
    """Create a feed of one of the organization's resources or teams (exactly one of the two;
    NotFound for a foreign or missing one). Returns the feed and its token, which is never
    available again. The window's bounds are checked by the caller."""
    if (resource_id is None) == (team_id is None):
        raise ValueError("a feed is of a resource or of a team")
    if resource_id is not None:
        _check_subject(connection, org_id, "resource", resource_id)
    else:
        assert team_id is not None
        _check_subject(connection, org_id, "team", team_id)
    token = secrets.token_urlsafe(32)
    feed = Feed(new_id(), org_id, resource_id, team_id, label, past_days, future_days, now)
    connection.execute(
        insert(feeds).values(
            id=feed.id,
            org_id=org_id,
            resource_id=resource_id,
            team_id=team_id,
            token_hash=_digest(token),
            label=label,
            past_days=past_days,
            future_days=future_days,
            created_at=now,
        )
    )
    return feed, token


def feed_by_token(connection: Connection, token: str) -> Feed:
    """The live feed a token opens; FeedNotFound when it is malformed, unknown or revoked."""
    if not _TOKEN.fullmatch(token):
        raise FeedNotFound()
    row = connection.execute(select(feeds).where(feeds.c.token_hash == _digest(token))).first()
    if row is None:
        raise FeedNotFound()
    return _feed(row)


def get_feed(connection: Connection, org_id: str, feed_id: str) -> Feed:
    """One of the organization's feeds; NotFound otherwise."""
    row = connection.execute(
        select(feeds).where(feeds.c.org_id == org_id, feeds.c.id == feed_id)
    ).first()
    if row is None:
        raise CatalogNotFound("feed")
    return _feed(row)


def list_feeds(
    connection: Connection,
    org_id: str,
    *,
    resource_id: str | None = None,
    team_id: str | None = None,
    limit: int | None = None,
    after: str | None = None,
) -> list[Feed]:
    """The feeds of one of the organization's resources or teams, by id (keyset paging after
    ``after``); NotFound for a foreign or missing subject."""
    query = select(feeds).where(feeds.c.org_id == org_id)
    if resource_id is not None:
        _check_subject(connection, org_id, "resource", resource_id)
        query = query.where(feeds.c.resource_id == resource_id)
    if team_id is not None:
        _check_subject(connection, org_id, "team", team_id)
        query = query.where(feeds.c.team_id == team_id)
    if after is not None:
        query = query.where(feeds.c.id > after)
    query = query.order_by(feeds.c.id)
    if limit is not None:
        query = query.limit(limit)
    return [_feed(row) for row in connection.execute(query)]


def delete_feed(connection: Connection, org_id: str, feed_id: str) -> None:
    """Revoke one of the organization's feeds (NotFound otherwise): its token stops working
    with the commit."""
    result = connection.execute(
        delete(feeds).where(feeds.c.org_id == org_id, feeds.c.id == feed_id)
    )
    if not result.rowcount:
        raise CatalogNotFound("feed")


# -- what a feed shows ----------------------------------------------------------------------


def feed_window(feed: Feed, now: int) -> Span:
    """``[start, end)`` in UTC seconds: from midnight UTC ``past_days`` before today to the end
    of the UTC day ``future_days`` after today. Whole days keep the window, and so the feed's
    body and ETag, the same all day long."""
    today = now - now % DAY
    return today - feed.past_days * DAY, today + (feed.future_days + 1) * DAY


def combine_levels(spans_by_kind: Mapping[str, Iterable[Span]]) -> Levels:
    """A subject's levels from its busy spans by kind (an unknown kind counts as ``busy``)."""
    ranked: list[list[Span]] = [[], [], []]
    for kind, spans in spans_by_kind.items():
        ranked[_RANK.get(kind, _RANK["busy"]) - 1].extend(spans)
    oof = IntervalSet(ranked[2])
    busy = IntervalSet(ranked[1]) | oof
    return IntervalSet(ranked[0]) | busy, busy, oof


def team_levels(members: Sequence[Levels]) -> Levels:
    """Busy at a level where every member is at least that busy; never busy without members."""
    if not members:
        return _NONE
    at_least = [IntervalSet.intersect_all(m[level] for m in members) for level in range(3)]
    return at_least[0], at_least[1], at_least[2]


_BOOKED = select(
    booking_resources.c.resource_id, booking_resources.c.start_at, booking_resources.c.end_at
)


def resource_levels(
    connection: Connection, resource_ids: Sequence[str], start: int, end: int
) -> dict[str, Levels]:
    """Each resource's levels from its blocks and confirmed bookings overlapping
    ``[start, end)`` (whole, not clipped). The caller has checked the resources' organization."""
    spans: dict[str, dict[str, list[Span]]] = {r: defaultdict(list) for r in resource_ids}
    for block in blocks_in_window(connection, resource_ids, start, end):
        spans[block.resource_id][block.kind].append((block.start, block.end))
    if resource_ids:
        booked = connection.execute(
            _BOOKED.where(
                booking_resources.c.resource_id.in_(list(resource_ids)),
                booking_resources.c.active == 1,
                booking_resources.c.start_at < end,
                booking_resources.c.end_at > start,
            )
        )
        for resource_id, booked_start, booked_end in booked:
            spans[resource_id]["busy"].append((booked_start, booked_end))
    return {r: combine_levels(by_kind) for r, by_kind in spans.items()}


def _subject(connection: Connection, feed: Feed) -> tuple[str, list[str]]:
    """The subject's name and the resources whose busy time it shows."""
    if feed.resource_id is not None:
        name = connection.execute(
            select(resources.c.name).where(resources.c.id == feed.resource_id)
        ).scalar_one()
        return name, [feed.resource_id]
    name = connection.execute(select(teams.c.name).where(teams.c.id == feed.team_id)).scalar_one()
    members = connection.execute(
        select(resources.c.id)
        .where(resources.c.org_id == feed.org_id, resources.c.team_id == feed.team_id)
        .order_by(resources.c.id)
    ).scalars()
    return name, list(members)


def feed_busy(connection: Connection, feed: Feed, now: int) -> FeedBusy:
    """What ``feed`` publishes at ``now`` (see the module docs for what counts as busy)."""
    start, end = feed_window(feed, now)
    name, members = _subject(connection, feed)
    by_resource = resource_levels(connection, members, start, end)
    levels = (
        by_resource[feed.resource_id]
        if feed.resource_id is not None
        else team_levels([by_resource[m] for m in members])
    )
    any_level, busy_or_worse, oof = (level.clip(start, end) for level in levels)
    return FeedBusy(
        name=feed.label or name,
        window=(start, end),
        tentative=any_level - busy_or_worse,
        busy=busy_or_worse - oof,
        unavailable=oof,
        periods=levels[0],
    )
