"""Shared fixtures: a fresh database on each backend, the API app, an organization with a key.

PostgreSQL tests read the server's URL from ``OPENSLOTS_TEST_POSTGRES_URL`` (``.ci/run`` sets
it, so CI always runs them). Each test gets a database of its own, created and dropped here.
Without the variable they are skipped with a message saying how to run them; with it set and
the server down they fail, so CI can never pass without having run them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from openslots.store.database import Database
from openslots.store.migrate import upgrade
from tests.databases import fresh_postgres_database

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """A URL of a newly created, empty PostgreSQL database, dropped after the test."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL on each backend (SQLite file, PostgreSQL database)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'openslots.db'}"
    value: str = request.getfixturevalue("fresh_postgres_url")
    return value


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A migrated database on each backend."""
    db = Database(database_url)
    upgrade(db)
    yield db
    db.dispose()


class FakeClock:
    """A settable clock for the API (UTC seconds); starts at 2026-03-01T12:00:00Z."""

    def __init__(self, now: int = 1_772_366_400) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: int) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@dataclass(frozen=True)
class Tenant:
    """An organization and a key of each scope."""

    org_id: str
    admin: str
    write: str
    read: str

    def headers(self, scope: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {getattr(self, scope)}"}


@pytest.fixture
def make_tenant(database: Database, clock: FakeClock) -> Callable[[str], Tenant]:
    """Creates an organization named ``name`` with an admin, a write and a read key."""
    from openslots.store import catalog
    from openslots.store.keys import mint_key

    def make(name: str) -> Tenant:
        with database.write() as connection:
            org = catalog.create_org(connection, name, f"{name}-{uuid.uuid4().hex[:6]}", clock())
            tokens = {
                scope: mint_key(connection, org["id"], (scope,), scope, clock())[1]
                for scope in ("admin", "write", "read")
            }
        return Tenant(org["id"], tokens["admin"], tokens["write"], tokens["read"])

    return make


@pytest.fixture
def api_settings(database: Database, clock: FakeClock) -> object:
    from openslots.api.settings import ApiSettings

    return ApiSettings(database=database, clock=clock)


@pytest.fixture
def client(api_settings: object) -> Iterator[object]:
    """A test client of the app on a fresh database of each backend."""
    from fastapi.testclient import TestClient

    from openslots.api.app import create_app

    with TestClient(create_app(api_settings)) as test_client:  # type: ignore[arg-type]
        yield test_client
