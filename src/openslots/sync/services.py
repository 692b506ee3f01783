"""What syncing needs in one process, built once from the configuration and shared by the
worker (:mod:`openslots.sync.worker`), the on-demand path (:mod:`openslots.sync.on_demand`) and
the CLI: the connector registry, the SSRF-safe HTTP client, the credential cipher, the sync
window and the limits."""

from __future__ import annotations

import asyncio
import contextlib
import random as _random
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from openslots.config import Config
from openslots.credentials import CredentialCipher, cipher_for
from openslots.errors import ConfigurationError
from openslots.store.database import Database
from openslots.sync.contract import HttpClientFactory, SyncWindow
from openslots.sync.fetch import Fetcher
from openslots.sync.registry import ConnectorRegistry
from openslots.sync.runner import Backoff, SyncOutcome, sync_once, sync_window

__all__ = ["PROVIDER_SECTIONS", "ProviderLimits", "SyncServices"]

# Configuration sections that are also provider names.
PROVIDER_SECTIONS = ("google", "outlook")


class ProviderLimits:
    """At most ``limits[provider]`` syncs of a provider at once in this process, whatever event
    loop or thread runs them (the worker runs each sync in its own loop), so a burst of
    on-demand syncs stays within the provider's quota. Providers not listed are not limited."""

    def __init__(self, limits: Mapping[str, int]) -> None:
        self._gates = {name: threading.BoundedSemaphore(n) for name, n in limits.items()}

    @contextlib.asynccontextmanager
    async def slot(self, provider: str) -> AsyncIterator[None]:
        gate = self._gates.get(provider)
        if gate is None:
            yield
            return
        # A thread semaphore, polled: an asyncio one belongs to one loop.
        while not gate.acquire(blocking=False):
            await asyncio.sleep(0.01)
        try:
            yield
        finally:
            gate.release()


@dataclass
class SyncServices:
    """The sync side of a process. ``cipher`` is None when no key is configured: connections
    with credentials then cannot be created or synced (a clear ConfigurationError says so)."""

    registry: ConnectorRegistry
    http_client: HttpClientFactory
    cipher: CredentialCipher | None = None
    window_past_days: int = 1
    window_future_days: int = 120
    max_instances_per_series: int = 10_000
    on_demand_budget_seconds: float = 3.0
    default_interval_minutes: int = 15
    lease_seconds: int = 120
    backoff: Backoff = field(default_factory=Backoff)
    random: Callable[[], float] = _random.random
    # Configuration sections handed to connectors by provider name (OAuth clients, endpoints).
    provider_configs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    limits: ProviderLimits = field(default_factory=lambda: ProviderLimits({}))

    @classmethod
    def from_config(cls, config: Config, fetcher: Fetcher | None = None) -> SyncServices:
        """Built from ``config``; ``fetcher`` (else a new one) carries the SSRF guard."""
        fetcher = fetcher or Fetcher(
            allow_private_networks=config.get("sync", "allow_private_networks")
        )
        try:
            cipher: CredentialCipher | None = cipher_for(
                config.get("security", "encryption_keys"), config.get("database", "url")
            )
        except ConfigurationError:
            cipher = None
        return cls(
            registry=ConnectorRegistry(),
            http_client=fetcher.async_client,
            cipher=cipher,
            window_past_days=config.get("sync", "window_past_days"),
            window_future_days=config.get("sync", "window_future_days"),
            max_instances_per_series=config.get("sync", "max_instances_per_series"),
            on_demand_budget_seconds=config.get("sync", "on_demand_budget_seconds"),
            default_interval_minutes=config.get("sync", "default_interval_minutes"),
            lease_seconds=config.get("sync", "lease_seconds"),
            provider_configs={name: dict(config.values[name]) for name in PROVIDER_SECTIONS},
            limits=ProviderLimits(
                {name: config.get(name, "max_concurrent_syncs") for name in PROVIDER_SECTIONS}
            ),
        )

    def require_cipher(self) -> CredentialCipher:
        if self.cipher is None:
            raise ConfigurationError(
                "security.encryption_keys is not set, so credentials cannot be stored or read "
                "(`openslots rotate-key --generate` prints a key)"
            )
        return self.cipher

    def encrypt(self, credentials: Mapping[str, Any]) -> bytes | None:
        """Credentials as stored: encrypted, or None when there are none."""
        return self.require_cipher().encrypt(credentials) if credentials else None

    def read_credentials(self, token: bytes) -> Mapping[str, Any]:
        return self.require_cipher().decrypt(token)

    def window(self, now: int) -> SyncWindow:
        return sync_window(now, self.window_past_days, self.window_future_days)

    async def sync(
        self, database: Database, connection_id: str, now: int, lease_owner: str | None = None
    ) -> SyncOutcome:
        """Sync one connection once at ``now`` (see :func:`openslots.sync.runner.sync_once`)."""
        return await sync_once(
            database,
            self.registry,
            connection_id,
            now,
            self.window(now),
            http_client=self.http_client,
            read_credentials=self.read_credentials,
            backoff=self.backoff,
            random=self.random,
            lease_owner=lease_owner,
            max_instances_per_series=self.max_instances_per_series,
            write_credentials=self.encrypt,
            provider_config=lambda provider: self.provider_configs.get(provider, {}),
            limit=self.limits.slot,
        )
