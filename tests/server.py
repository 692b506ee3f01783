"""A real openslots server for tests: uvicorn in a subprocess on 127.0.0.1, on a given database.

:func:`app_from_environment` is the uvicorn factory (``uvicorn --factory
tests.server:app_from_environment``); it reads the database URL from :data:`DATABASE_ENV`, so the
server process gets nothing from the test but its environment. The database must be migrated
before the server starts (``tests.databases.fresh_postgres_database`` makes a PostgreSQL one
that can outlive one test, for a module's server).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
from fastapi import FastAPI

from openslots.api.app import create_app
from openslots.api.settings import ApiSettings
from openslots.store.database import Database

DATABASE_ENV = "OPENSLOTS_TEST_SERVER_DATABASE_URL"
_ROOT = Path(__file__).resolve().parent.parent
_STARTUP_SECONDS = 30.0


def app_from_environment() -> FastAPI:
    """The app on the database named by the environment (system clock, default settings)."""
    return create_app(ApiSettings(database=Database(os.environ[DATABASE_ENV])))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_server(database_url: str, workers: int = 1) -> Iterator[str]:
    """Serve the app on ``database_url`` until the block ends; yields the base URL."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "tests.server:app_from_environment",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    environment = {**os.environ, DATABASE_ENV: database_url}
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            command, cwd=_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_ready(process, base_url, log)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_ready(process: subprocess.Popen[bytes], base_url: str, log: IO[str]) -> None:
    deadline = time.monotonic() + _STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"the server exited at start:\n{log.read()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the server did not answer within {_STARTUP_SECONDS} s")
