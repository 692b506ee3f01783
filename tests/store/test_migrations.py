"""Schema migrations on both backends: empty and older databases are brought to the newest
revision, a second upgrade changes nothing, the result is exactly ``store/schema.py``, and
databases we cannot safely migrate are refused with a message instead of half-migrated.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from openslots.errors import ConfigurationError
from openslots.store import catalog
from openslots.store.database import Database
from openslots.store.migrate import current_revision, head_revision
from openslots.store.schema import metadata
from openslots.store.startup import apply_migrations, readiness


@pytest.fixture
def empty(database_url: str) -> Iterator[Database]:
    """A database on each backend with nothing in it, not even Alembic's table."""
    db = Database(database_url)
    yield db
    db.dispose()


def _tables(db: Database) -> set[str]:
    with db.engine.connect() as connection:
        return set(inspect(connection).get_table_names())


def _schema_differences(db: Database) -> list[object]:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def test_the_head_is_the_newest_migration() -> None:
    assert head_revision() == "0003"


def test_upgrade_of_an_empty_database(empty: Database) -> None:
    assert _tables(empty) == set()
    assert current_revision(empty) is None
    assert readiness(empty) is not None  # not ready before the migration

    assert apply_migrations(empty) == head_revision()

    assert current_revision(empty) == head_revision()
    assert _tables(empty) == {*metadata.tables, "alembic_version"}
    assert readiness(empty) is None


def test_the_migrated_schema_is_exactly_schema_py(empty: Database) -> None:
    # Catches a change to schema.py without a regenerated migration (or the reverse).
    apply_migrations(empty)
    assert _schema_differences(empty) == []


def test_a_second_upgrade_changes_nothing(empty: Database) -> None:
    apply_migrations(empty)
    with empty.write() as connection:
        org = catalog.create_org(connection, "Kept", "kept", 0)
    assert apply_migrations(empty) == head_revision()
    with empty.read() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        assert catalog.get_org(connection, org["id"])["name"] == "Kept"
    assert [v for (v,) in versions] == [head_revision()]


def test_upgrade_of_a_database_stamped_at_base(empty: Database) -> None:
    # "Older": Alembic's table exists but holds no revision (what `alembic stamp base` leaves).
    with empty.write() as connection:
        connection.execute(
            text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        )
    assert current_revision(empty) is None
    assert apply_migrations(empty) == head_revision()
    assert _tables(empty) == {*metadata.tables, "alembic_version"}
    assert _schema_differences(empty) == []


def test_upgrade_keeps_unrelated_tables(empty: Database) -> None:
    # A PostgreSQL database may be shared; tables that are not ours are left alone.
    with empty.write() as connection:
        connection.execute(text("CREATE TABLE other_app (id INTEGER PRIMARY KEY)"))
    assert apply_migrations(empty) == head_revision()
    assert "other_app" in _tables(empty)


def test_our_tables_without_history_are_refused(empty: Database) -> None:
    with empty.write() as connection:
        connection.execute(text("CREATE TABLE organizations (id VARCHAR(36) PRIMARY KEY)"))
    with pytest.raises(ConfigurationError, match="no migration history"):
        apply_migrations(empty)
    assert current_revision(empty) is None


def test_a_revision_from_a_newer_openslots_is_refused(empty: Database) -> None:
    apply_migrations(empty)
    with empty.write() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(ConfigurationError, match="newer openslots"):
        apply_migrations(empty)
    assert current_revision(empty) == "9999"
    assert readiness(empty) is not None


def test_an_unreachable_database_is_a_configuration_error(tmp_path: object) -> None:
    db = Database("postgresql://postgres:s3cret@127.0.0.1:1/none")
    try:
        with pytest.raises(ConfigurationError) as caught:
            apply_migrations(db)
        assert "s3cret" not in caught.value.message  # the password is never shown
        assert "127.0.0.1" in caught.value.message
        assert readiness(db) == "the database cannot be reached"
    finally:
        db.dispose()


# Each process waits until a common instant, then migrates: they overlap for certain.
_START_TOGETHER = """
import sys, time
from openslots.store.database import Database
from openslots.store.startup import apply_migrations
db = Database(sys.argv[1])
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
print(apply_migrations(db))
"""


def test_processes_starting_together_migrate_once(fresh_postgres_url: str) -> None:
    # PostgreSQL only: many processes share it (SQLite is served by one process, DESIGN §6).
    # Without the advisory lock, all but one of these processes fail (duplicate tables).
    database_url = fresh_postgres_url
    start_at = str(time.time() + 3)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _START_TOGETHER, database_url, start_at],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outcomes = [(p.wait(timeout=60), *p.communicate()) for p in processes]
    assert outcomes == [(0, f"{head_revision()}\n", "")] * len(processes)
    db = Database(database_url)
    try:
        assert current_revision(db) == head_revision()
    finally:
        db.dispose()


def test_0002_keeps_connections_and_schedules_them(empty: Database) -> None:
    """A database at 0001 with a connection (interval in minutes) upgrades to 0002: the
    interval becomes seconds and the connection is due at once, blocks untouched."""
    from alembic import command

    from openslots.store import migrate

    config = migrate._config()
    with empty.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    with empty.write() as connection:
        org = catalog.create_org(connection, "acme", "acme", 1)
        resource = catalog.create(
            connection, org["id"], "resources", {"name": "r", "timezone": "UTC"}
        )
        for name, status in (("live", "ok"), ("revoked", "needs_reauth")):
            connection.execute(
                text(
                    "INSERT INTO connections (id, org_id, resource_id, provider, settings, "
                    "sync_interval, status, failures, created_at) VALUES "
                    "(:id, :org, :resource, 'ics', '{}', 15, :status, 0, 1)"
                ),
                {"id": name, "org": org["id"], "resource": resource["id"], "status": status},
            )
    assert apply_migrations(empty) == head_revision()
    assert _schema_differences(empty) == []
    with empty.read() as connection:
        rows = connection.execute(
            text("SELECT id, sync_interval, due_at FROM connections ORDER BY id")
        ).all()
    assert [tuple(row) for row in rows] == [("live", 900, 0), ("revoked", 900, None)]
