"""Opening the database when a process starts: check the URL, reach it, migrate, report readiness.

Errors are translated here, once, into openslots errors a command can print: a URL that cannot
be used is a :class:`ValidationError` naming ``database.url``; a database that cannot be reached
or migrated is a :class:`ConfigurationError`. Messages show the URL without its password.
"""

from __future__ import annotations

from functools import cache

from alembic.util.exc import CommandError
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from openslots.errors import ConfigurationError, ValidationError
from openslots.store import migrate
from openslots.store.database import Database
from openslots.store.schema import metadata

__all__ = ["apply_migrations", "head_revision", "open_database", "readiness"]

# Any constant works; it only has to be the same in every openslots process.
_MIGRATION_LOCK = 0x6F70656E736C6F74  # "openslot"


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _reason(exc: BaseException) -> str:
    """The driver's own first line (``connection refused``), without SQLAlchemy's wrapping."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


def open_database(url: str) -> Database:
    """A :class:`Database` for ``url`` (no connection is made yet).

    Raises ValidationError (field ``database.url``) for a URL that is not a SQLAlchemy URL or
    names a driver that is not installed.
    """
    try:
        return Database(url)
    except ArgumentError as exc:
        raise ValidationError("database.url", f"not a usable database URL: {exc}") from None
    except ImportError as exc:
        raise ValidationError(
            "database.url", f"no driver for {_shown(url)} ({exc}); use sqlite:// or postgresql://"
        ) from None


@cache
def head_revision() -> str:
    """The newest migration this openslots ships (read once per process)."""
    return migrate.head_revision()


def _check_history(database: Database) -> None:
    """Refuse a database that has our tables but no migration history: upgrading it would try
    to create them again, and guessing its revision could corrupt it."""
    with database.engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
    if not tables & set(metadata.tables):
        return
    if migrate.current_revision(database) is None:
        raise ConfigurationError(
            f"{_shown(database.url)} has openslots tables but no migration history "
            "(alembic_version); restore it from a backup or start from an empty database"
        )


def _upgrade(database: Database) -> None:
    try:
        _check_history(database)
        migrate.upgrade(database)
    except CommandError as exc:
        # Typically a revision this version does not know: the database is newer than we are.
        raise ConfigurationError(
            f"cannot migrate {_shown(database.url)}: {exc} (was it migrated by a newer openslots?)"
        ) from None


def apply_migrations(database: Database) -> str:
    """Bring the schema to the newest revision (empty and older databases alike; a no-op when
    current) and return the revision. On PostgreSQL an advisory lock makes processes starting
    together migrate one after the other instead of racing to create the same tables.

    Raises ConfigurationError when the database cannot be reached or migrated.
    """
    try:
        if database.is_sqlite:
            _upgrade(database)
        else:
            with database.engine.connect() as lock:
                lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
                try:
                    _upgrade(database)
                finally:
                    lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})
        revision = migrate.current_revision(database)
    except SQLAlchemyError as exc:
        raise ConfigurationError(
            f"cannot use the database {_shown(database.url)}: {_reason(exc)}"
        ) from None
    assert revision is not None
    return revision


def readiness(database: Database) -> str | None:
    """None when the database answers and its schema is at the newest revision; otherwise why
    not, in words for an operator (never a driver's message, which may name hosts)."""
    try:
        current = migrate.current_revision(database)
    except SQLAlchemyError:
        return "the database cannot be reached"
    head = head_revision()
    if current != head:
        return (
            f"the database schema is at revision {current or 'none'}, this openslots needs "
            f"{head}: run `openslots migrate`"
        )
    return None
