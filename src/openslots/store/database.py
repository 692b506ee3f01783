"""The database handle: one SQLAlchemy engine per process, configured for each backend.

SQLite (the default, one process does everything): WAL journal so readers never wait for the
writer, foreign keys on, a busy timeout, and transactions begun by us so that a write that must
serialize (a booking's capacity recheck) can take the write lock up front with ``BEGIN
IMMEDIATE`` instead of failing half way with "database is locked".

PostgreSQL (many processes share it): psycopg 3; competing writers for the same resources are
serialized by locking those resources' rows (``SELECT ... FOR UPDATE``) inside the transaction,
always in id order. Should PostgreSQL still abort a serialized transaction as a deadlock victim
(another writer took a resource's row first and then wanted one of ours, as when a service's
pool is rewritten), it surfaces as :class:`WriteConflict`, which a caller may simply retry.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from openslots import errors
from openslots.store import schema

__all__ = ["Database", "WriteConflict", "normalize_url"]

# PostgreSQL's "try the transaction again" states: deadlock_detected, serialization_failure.
_RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


class WriteConflict(errors.Conflict):
    """The database aborted a serialized transaction in favour of a competing one; nothing
    was written, and running the transaction again is safe."""

    code = "write_conflict"

    def __init__(self) -> None:
        super().__init__("a concurrent change got in the way; please try again")


def _retryable(error: DBAPIError) -> bool:
    return getattr(error.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES


def normalize_url(url: str) -> str:
    """Pick the drivers we ship: psycopg 3 for PostgreSQL, the standard library for SQLite."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_engine(url: str) -> Engine:
    parsed = make_url(url)
    memory = parsed.database in {None, "", ":memory:"}
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        # An in-memory database lives in one connection, shared. A file pools as many
        # connections as the server has worker threads (40), so that under load no connection
        # is closed and reopened (each opening runs the PRAGMAs below).
        **({"poolclass": StaticPool} if memory else {"pool_size": 40, "max_overflow": 10}),
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's own transaction handling defers it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get("serialize_writes", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """Owns the engine; hands out read and write transactions."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = _sqlite_engine(self.url)
        else:
            self.engine = create_engine(self.url, pool_size=10, max_overflow=20, pool_pre_ping=True)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A transaction for reading (committed on exit, so nothing is left open)."""
        with self.engine.begin() as connection:
            yield connection

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction for writing; committed on success, rolled back on any exception."""
        options = {"serialize_writes": True} if self.is_sqlite else {}
        with self.engine.connect().execution_options(**options) as connection, connection.begin():
            yield connection

    @contextmanager
    def serialized(self, resource_ids: Sequence[str]) -> Iterator[Connection]:
        """A write transaction that no other writer touching ``resource_ids`` runs alongside.

        SQLite has one writer at a time and ``BEGIN IMMEDIATE`` takes the lock before the first
        read (a waiting writer waits up to the busy timeout, it does not fail); PostgreSQL
        locks the resources' rows, always in id order to avoid deadlocks. Raises WriteConflict
        when PostgreSQL aborts the transaction anyway (it was rolled back; retry it).
        """
        try:
            with self.write() as connection:
                if not self.is_sqlite and resource_ids:
                    connection.execute(
                        select(schema.resources.c.id)
                        .where(schema.resources.c.id.in_(sorted(set(resource_ids))))
                        .order_by(schema.resources.c.id)
                        .with_for_update()
                    ).all()
                yield connection
        except DBAPIError as error:
            if _retryable(error):
                raise WriteConflict() from error
            raise

    def dispose(self) -> None:
        self.engine.dispose()
