"""Running the HTTP API and the sync worker: built from the configuration, served by uvicorn.

The configuration is read once by the CLI; this module turns it into the app factory's explicit
:class:`ApiSettings` (and the worker's settings) and runs uvicorn in the foreground until SIGINT
or SIGTERM, which finish the requests in flight. ``openslots serve`` runs a sync worker beside
the API in the same process; ``openslots api`` runs none.
"""

from __future__ import annotations

import copy
import gc
import logging
import sys
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.config import LOGGING_CONFIG

from openslots.api.app import create_app
from openslots.api.settings import ApiSettings
from openslots.config import Config
from openslots.store.database import Database
from openslots.sync.services import SyncServices
from openslots.sync.worker import SyncWorker, WorkerSettings

__all__ = [
    "api_settings",
    "build_app",
    "build_worker",
    "configure_logging",
    "run",
    "tune_gc",
    "worker_settings",
]


def configure_logging() -> None:
    """Our own log lines (sync outcomes, worker trouble) on standard error, as uvicorn's are.
    Messages never carry credentials or feed URLs (the runner stores error codes and hosts)."""
    logger = logging.getLogger("openslots")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def tune_gc() -> None:
    """Collect garbage less often in a long-lived server.

    A cold availability answer allocates tens of thousands of short-lived objects (one per busy
    block and slot); with the default gen-0 threshold of 700 that triggers dozens of collections
    per request, each of which walks the young objects, and older collections walk everything
    imported at start. Freezing the start-up heap and raising the thresholds measured 1-2 ms off
    a cold answer's median and more than half off its 99th percentile (bench/api.py).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def api_settings(
    config: Config, database: Database, sync: SyncServices | None = None
) -> ApiSettings:
    """The app's settings: the ``[api]`` and ``[engine]`` sections over ``database``, and the
    sync services (made from the configuration unless given)."""
    return ApiSettings(
        database=database,
        limits=config.limits,
        cache_entries=config.get("api", "cache_entries"),
        max_body_bytes=config.get("api", "max_body_bytes"),
        hold_ttl_seconds=config.get("api", "hold_ttl_seconds"),
        max_hold_ttl_seconds=config.get("api", "max_hold_ttl_seconds"),
        max_page_size=config.get("api", "max_page_size"),
        sync=sync if sync is not None else SyncServices.from_config(config),
    )


def build_app(config: Config, database: Database, sync: SyncServices | None = None) -> FastAPI:
    return create_app(api_settings(config, database, sync))


def worker_settings(config: Config) -> WorkerSettings:
    return WorkerSettings(
        poll_seconds=config.get("sync", "poll_seconds"),
        lease_seconds=config.get("sync", "lease_seconds"),
        concurrency=config.get("sync", "concurrency"),
    )


def build_worker(
    config: Config, database: Database, sync: SyncServices | None = None
) -> SyncWorker:
    services = sync if sync is not None else SyncServices.from_config(config)
    return SyncWorker(database, services, worker_settings(config))


def _log_config() -> dict[str, Any]:
    """uvicorn's logging with access lines on standard error too: standard output is kept for
    what a command prints on purpose (the demo's key and lines to paste)."""
    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    return config


def run(
    app: FastAPI, database: Database, host: str, port: int, worker: SyncWorker | None = None
) -> None:
    """Serve ``app`` on ``host:port`` until interrupted, with ``worker`` running beside it;
    uvicorn logs to standard error.

    On SIGINT or SIGTERM uvicorn finishes the requests in flight, then re-raises the signal, so
    the process ends with that signal's status (130 or 143 in a shell), as supervisors expect.
    """
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="info",
            log_config=_log_config(),
            server_header=False,
        )
    )
    tune_gc()
    configure_logging()
    try:
        if worker is not None:
            worker.start()
        server.run()
    finally:
        if worker is not None:
            worker.stop(wait=True)
        database.dispose()
    if not server.started:
        # uvicorn has logged why (typically: the address is already in use).
        raise SystemExit(1)
