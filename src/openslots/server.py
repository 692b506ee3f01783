"""Running the HTTP API and the sync worker: built from the configuration, served by uvicorn.

The configuration is read once by the CLI; this module turns it into the app factory's explicit
:class:`ApiSettings` (and the worker's settings) and runs uvicorn in the foreground until SIGINT
or SIGTERM, which finish the requests in flight. ``openslots serve`` runs a sync worker beside
the API in the same process; ``openslots api`` runs none.
"""

from __future__ import annotations

import gc
from typing import TextIO

import uvicorn
from fastapi import FastAPI

from openslots.api.app import create_app
from openslots.api.settings import ApiSettings
from openslots.config import Config
from openslots.observability import logs
from openslots.observability.exporter import MetricsServer
from openslots.observability.metrics import Metrics, MetricsAccess
from openslots.store.database import Database
from openslots.sync.services import SyncServices
from openslots.sync.worker import SyncWorker, WorkerSettings

__all__ = [
    "api_settings",
    "build_app",
    "build_metrics",
    "build_worker",
    "configure_logging",
    "log_settings",
    "run",
    "serve_worker_metrics",
    "tune_gc",
    "uvicorn_config",
    "worker_settings",
]


def log_settings(config: Config | None) -> logs.LogSettings:
    """The ``[logging]`` section (the defaults without a configuration)."""
    if config is None:
        return logs.LogSettings()
    return logs.LogSettings(config.get("logging", "format"), config.get("logging", "level"))


def configure_logging(config: Config | None = None, stream: TextIO | None = None) -> None:
    """Our log lines, uvicorn's and libraries' warnings on standard error, as text or JSON
    (``logging.format``), redacted (:mod:`openslots.observability.logs`)."""
    logs.configure_logging(log_settings(config), stream)


def build_metrics(config: Config) -> Metrics:
    """The process's metrics, with ``[metrics]``'s access rules; one per process, shared by
    its API and its worker."""
    return Metrics(
        MetricsAccess(
            enabled=config.get("metrics", "enabled"),
            bearer_tokens=tuple(config.get("metrics", "bearer_tokens")),
        )
    )


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


def build_app(
    config: Config,
    database: Database,
    sync: SyncServices | None = None,
    metrics: Metrics | None = None,
) -> FastAPI:
    metrics = metrics if metrics is not None else build_metrics(config)
    return create_app(api_settings(config, database, sync), metrics=metrics)


def worker_settings(config: Config) -> WorkerSettings:
    return WorkerSettings(
        poll_seconds=config.get("sync", "poll_seconds"),
        lease_seconds=config.get("sync", "lease_seconds"),
        concurrency=config.get("sync", "concurrency"),
    )


def build_worker(
    config: Config,
    database: Database,
    sync: SyncServices | None = None,
    metrics: Metrics | None = None,
) -> SyncWorker:
    services = sync if sync is not None else SyncServices.from_config(config)
    metrics = metrics if metrics is not None else build_metrics(config)
    return SyncWorker(database, services, worker_settings(config), metrics=metrics)


def serve_worker_metrics(config: Config, metrics: Metrics) -> MetricsServer | None:
    """Start serving ``metrics`` on ``metrics.worker_port`` (at ``server.host``) for
    ``openslots worker``; None when that port is 0 or metrics are off. Stop it when done."""
    port = config.get("metrics", "worker_port")
    if port == 0 or not metrics.access.enabled:
        return None
    exporter = MetricsServer(metrics, config.get("server", "host"), port)
    exporter.start()
    return exporter


def uvicorn_config(
    app: FastAPI, host: str, port: int, config: Config | None = None
) -> uvicorn.Config:
    """How :func:`run` has uvicorn serve ``app``: its loggers get no handlers of their own, so
    their lines (errors and the access log) go through :func:`configure_logging`'s, formatted
    and redacted like ours."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_settings(config).level,
        log_config=None,
        server_header=False,
    )


def run(
    app: FastAPI,
    database: Database,
    host: str,
    port: int,
    worker: SyncWorker | None = None,
    *,
    config: Config | None = None,
) -> None:
    """Serve ``app`` on ``host:port`` until interrupted, with ``worker`` running beside it;
    uvicorn and openslots log to standard error as ``config``'s ``[logging]`` says (standard
    output is kept for what a command prints on purpose: the demo's key and lines to paste).

    On SIGINT or SIGTERM uvicorn finishes the requests in flight, then re-raises the signal, so
    the process ends with that signal's status (130 or 143 in a shell), as supervisors expect.
    """
    server = uvicorn.Server(uvicorn_config(app, host, port, config))
    tune_gc()
    configure_logging(config)
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
