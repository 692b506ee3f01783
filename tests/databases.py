"""Fresh PostgreSQL databases for tests: created empty, dropped afterwards.

The server's URL comes from ``OPENSLOTS_TEST_POSTGRES_URL`` (``.ci/run`` sets it, so CI always
runs these tests). Without it the test is skipped with a message saying how to run it; with it
set and the server down the test fails, so CI can never pass without having run them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from openslots.store.database import normalize_url

__all__ = ["POSTGRES_ENV", "fresh_postgres_database"]

POSTGRES_ENV = "OPENSLOTS_TEST_POSTGRES_URL"


@contextmanager
def fresh_postgres_database(prefix: str = "openslots_test") -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database named ``<prefix>_<random>``."""
    admin_url = os.environ.get(POSTGRES_ENV)
    if not admin_url:
        pytest.skip(
            f"PostgreSQL tests need {POSTGRES_ENV} "
            "(e.g. postgresql://postgres@127.0.0.1:5432/test); .ci/run sets it"
        )
    admin_url = normalize_url(admin_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
