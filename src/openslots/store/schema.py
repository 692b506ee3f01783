"""The tables: one per entity of DESIGN §2, written with SQLAlchemy Core.

Conventions:

* ids are server-assigned UUID4 strings, never sequential integers;
* every row that belongs to a tenant carries ``org_id``, and every query filters on it;
* instants are ``BIGINT`` seconds since the Unix epoch, UTC, half-open ``[start_at, end_at)``:
  unambiguous on every backend and exactly what the engine computes with;
* schedules (weekly rules and overrides) are JSON in the scenario format of SCENARIO.md;
* ``resources.version``, ``services.version`` and ``organizations.version`` count changes that can
  alter availability; the availability cache keys on them, so every process sees a change.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "api_keys",
    "booking_resources",
    "bookings",
    "busy_blocks",
    "connections",
    "feeds",
    "hold_resources",
    "holds",
    "idempotency_keys",
    "locations",
    "manual_blocks",
    "metadata",
    "organizations",
    "resource_locations",
    "resources",
    "service_resources",
    "services",
    "teams",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = 36  # a UUID's text form


def _id() -> Column[str]:
    return Column("id", String(ID), primary_key=True)


def _org() -> Column[str]:
    return Column(
        "org_id", String(ID), ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
    )


organizations = Table(
    "organizations",
    metadata,
    _id(),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("schedule", JSON, nullable=True),
    Column("version", BigInteger, nullable=False, default=0),
    Column("created_at", BigInteger, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    _id(),
    _org(),
    # The key's public part, looked up in clear; only a hash of the secret part is stored.
    Column("prefix", String(32), nullable=False, unique=True),
    Column("secret_hash", String(64), nullable=False),
    Column("name", String(200), nullable=False, default=""),
    Column("scopes", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
    Column("last_used_at", BigInteger, nullable=True),
)

locations = Table(
    "locations",
    metadata,
    _id(),
    _org(),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("schedule", JSON, nullable=True),
)

teams = Table(
    "teams",
    metadata,
    _id(),
    _org(),
    Column("name", String(200), nullable=False),
    Column("schedule", JSON, nullable=True),
)

resources = Table(
    "resources",
    metadata,
    _id(),
    _org(),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("capacity", Integer, nullable=False, default=1),
    Column("team_id", String(ID), ForeignKey("teams.id", ondelete="SET NULL"), nullable=True),
    Column("schedule", JSON, nullable=True),
    Column("version", BigInteger, nullable=False, default=0),
    CheckConstraint("capacity >= 1", name="capacity_positive"),
)

resource_locations = Table(
    "resource_locations",
    metadata,
    Column(
        "resource_id",
        String(ID),
        ForeignKey("resources.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "location_id",
        String(ID),
        ForeignKey("locations.id", ondelete="CASCADE"),
        primary_key=True,
    ),
)

services = Table(
    "services",
    metadata,
    _id(),
    _org(),
    Column("name", String(200), nullable=False),
    Column("duration", Integer, nullable=False),
    Column("duration_options", JSON, nullable=True),
    Column("duration_interval", Integer, nullable=True),
    Column("interval", Integer, nullable=True),
    Column("buffer_before", Integer, nullable=False, default=0),
    Column("buffer_after", Integer, nullable=False, default=0),
    Column("min_notice", Integer, nullable=False, default=0),
    Column("horizon", Integer, nullable=True),
    Column("seats", Integer, nullable=True),
    Column("cap_per_day", Integer, nullable=True),
    Column("cap_per_week", Integer, nullable=True),
    Column("mode", String(16), nullable=False, default="none"),
    Column(
        "location_id", String(ID), ForeignKey("locations.id", ondelete="SET NULL"), nullable=True
    ),
    Column("version", BigInteger, nullable=False, default=0),
)

service_resources = Table(
    "service_resources",
    metadata,
    Column(
        "service_id", String(ID), ForeignKey("services.id", ondelete="CASCADE"), primary_key=True
    ),
    Column(
        "resource_id", String(ID), ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True
    ),
    # The pool's order: ties in balanced mode and the grid's anchoring zone follow it.
    Column("position", Integer, nullable=False),
)

connections = Table(
    "connections",
    metadata,
    _id(),
    _org(),
    Column(
        "resource_id", String(ID), ForeignKey("resources.id", ondelete="CASCADE"), nullable=False
    ),
    Column("provider", String(32), nullable=False),
    Column("settings", JSON, nullable=False),
    Column("credentials", LargeBinary, nullable=True),  # Fernet token; never returned
    # Seconds between scheduled syncs (the API speaks minutes; tests and benchmarks need less).
    Column("sync_interval", Integer, nullable=False, default=900),
    Column("cursor", Text, nullable=True),
    # pending (never synced), ok, error, needs_reauth, disabled.
    Column("status", String(16), nullable=False, default="pending"),
    Column("last_success_at", BigInteger, nullable=True),
    Column("last_error", Text, nullable=True),
    # Failed syncs in a row, and when the next attempt may start (UTC seconds; null: when the
    # sync interval says). The runner backs off on them; the scheduler reads them.
    Column("failures", Integer, nullable=False, default=0, server_default="0"),
    Column("next_attempt_at", BigInteger, nullable=True),
    # When the scheduler should next sync it (null: never by itself: needs_reauth, disabled),
    # and the lease of the worker syncing it now (DESIGN §5 "Scheduling").
    Column("due_at", BigInteger, nullable=True),
    Column("lease_owner", String(120), nullable=True),
    Column("lease_expires_at", BigInteger, nullable=True),
    Column("last_attempt_at", BigInteger, nullable=True),
    # What the last successful sync skipped (broken series, unreadable calendars), shown to users.
    Column("problems", JSON, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_connections_resource", "resource_id"),
    Index("ix_connections_due", "due_at"),
)

busy_blocks = Table(
    "busy_blocks",
    metadata,
    _id(),
    _org(),
    Column(
        "resource_id", String(ID), ForeignKey("resources.id", ondelete="CASCADE"), nullable=False
    ),
    # ``manual`` for blocks made through the API; ``<connection id>:<calendar>`` for synced ones.
    Column("source", String(300), nullable=False),
    Column(
        "connection_id",
        String(ID),
        ForeignKey("connections.id", ondelete="CASCADE"),
        nullable=True,
    ),
    Column("external_id", String(500), nullable=True),
    Column("start_at", BigInteger, nullable=False),
    Column("end_at", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False, default="busy"),
    CheckConstraint("end_at > start_at", name="block_not_empty"),
    # Covers the availability read (kind and source included): thousands of blocks per query
    # are read from the index alone, without a table lookup each.
    Index("ix_busy_blocks_resource_window", "resource_id", "start_at", "end_at", "kind", "source"),
)

manual_blocks = Table(
    "manual_blocks",
    metadata,
    _id(),
    _org(),
    Column(
        "resource_id", String(ID), ForeignKey("resources.id", ondelete="CASCADE"), nullable=False
    ),
    Column("start_at", BigInteger, nullable=False),
    Column("end_at", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False, default="busy"),
    # RFC 5545 RRULE, read in ``timezone`` (wall-clock recurrence), or null for a one-off block.
    Column("rrule", String(500), nullable=True),
    Column("timezone", String(64), nullable=False, default="UTC"),
    Column("note", String(200), nullable=True),
    CheckConstraint("end_at > start_at", name="manual_not_empty"),
    Index("ix_manual_blocks_resource", "resource_id"),
)

bookings = Table(
    "bookings",
    metadata,
    _id(),
    _org(),
    Column("service_id", String(ID), ForeignKey("services.id", ondelete="CASCADE"), nullable=False),
    Column("start_at", BigInteger, nullable=False),
    Column("end_at", BigInteger, nullable=False),
    Column("party_size", Integer, nullable=False, default=1),
    # The service's buffers when the booking was made: they occupy time around it.
    Column("buffer_before", Integer, nullable=False, default=0),
    Column("buffer_after", Integer, nullable=False, default=0),
    Column("status", String(16), nullable=False, default="confirmed"),
    Column("hold_id", String(ID), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("cancelled_at", BigInteger, nullable=True),
    CheckConstraint("end_at > start_at", name="booking_not_empty"),
    # A hold's booking is looked up by the hold (its status, a second confirmation).
    Index("ix_bookings_hold", "hold_id"),
)

booking_resources = Table(
    "booking_resources",
    metadata,
    Column(
        "booking_id", String(ID), ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True
    ),
    Column(
        "resource_id", String(ID), ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True
    ),
    # Copied from the booking so that a resource's seats in a window are one indexed read.
    Column("start_at", BigInteger, nullable=False),
    Column("end_at", BigInteger, nullable=False),
    Column("active", Integer, nullable=False, default=1),
    Index("ix_booking_resources_window", "resource_id", "active", "start_at"),
)

holds = Table(
    "holds",
    metadata,
    _id(),
    _org(),
    Column("service_id", String(ID), ForeignKey("services.id", ondelete="CASCADE"), nullable=False),
    Column("start_at", BigInteger, nullable=False),
    Column("end_at", BigInteger, nullable=False),
    Column("party_size", Integer, nullable=False, default=1),
    Column("buffer_before", Integer, nullable=False, default=0),
    Column("buffer_after", Integer, nullable=False, default=0),
    Column("expires_at", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("released_at", BigInteger, nullable=True),
)

hold_resources = Table(
    "hold_resources",
    metadata,
    Column("hold_id", String(ID), ForeignKey("holds.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "resource_id", String(ID), ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True
    ),
    # Every availability answer and booking check reads a resource's live holds.
    Index("ix_hold_resources_resource", "resource_id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    _org(),
    Column("key", String(200), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("org_id", "key", name="uq_idempotency_keys_org_key"),
)

feeds = Table(
    "feeds",
    metadata,
    _id(),
    _org(),
    # What it publishes: one resource's busy time, or a team's (busy when every member is).
    Column(
        "resource_id", String(ID), ForeignKey("resources.id", ondelete="CASCADE"), nullable=True
    ),
    Column("team_id", String(ID), ForeignKey("teams.id", ondelete="CASCADE"), nullable=True),
    # SHA-256 of the token, looked up directly: the token is shown once and never stored.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("label", String(200), nullable=True),
    Column("past_days", Integer, nullable=False),
    Column("future_days", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    CheckConstraint("(resource_id IS NULL) <> (team_id IS NULL)", name="one_subject"),
    Index("ix_feeds_resource", "resource_id"),
    Index("ix_feeds_team", "team_id"),
)
