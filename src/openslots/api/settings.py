"""What the API needs, passed to the app factory explicitly (the app reads no globals)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.requests import Request

from openslots.engine.plan import Limits
from openslots.errors import ConfigurationError
from openslots.store.database import Database
from openslots.sync.services import SyncServices

__all__ = ["ApiSettings", "app_settings", "sync_services", "system_clock"]


def system_clock() -> int:
    """Now, in UTC seconds since the epoch."""
    return int(time.time())


@dataclass(frozen=True)
class ApiSettings:
    database: Database
    clock: Callable[[], int] = system_clock
    limits: Limits = field(default_factory=Limits)
    # Availability answers cached per process (0 turns the cache off).
    cache_entries: int = 1024
    # Largest request body accepted, in bytes.
    max_body_bytes: int = 1_048_576
    # How long a hold takes its seats unless the request asks otherwise (seconds).
    hold_ttl_seconds: int = 300
    # Longest hold a request may ask for (seconds).
    max_hold_ttl_seconds: int = 3600
    # Most items one list request returns.
    max_page_size: int = 500
    # Calendar sync in this process (connections API, on-demand sync); None: not available.
    sync: SyncServices | None = None


def app_settings(request: Request) -> ApiSettings:
    """The settings of the app serving ``request``."""
    settings: ApiSettings = request.app.state.settings
    return settings


def sync_services(request: Request) -> SyncServices:
    """The sync side of the app serving ``request``; ConfigurationError when it has none."""
    services = app_settings(request).sync
    if services is None:
        raise ConfigurationError("calendar sync is not configured in this process")
    return services
