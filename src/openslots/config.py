"""Configuration: one schema, read from a TOML file and ``OPENSLOTS_*`` environment variables.

The schema below is the single source of truth: ``config.example.toml`` documents exactly its
keys (a test keeps them in step). Precedence, lowest first: the schema's defaults, the TOML file
(``openslots --config FILE`` or ``OPENSLOTS_CONFIG``), then ``OPENSLOTS_<SECTION>__<KEY>``
variables (``OPENSLOTS_ENGINE__MAX_WINDOW_DAYS=31``). ``OPENSLOTS_DATABASE_URL`` is the short form
of ``OPENSLOTS_DATABASE__URL`` (the name deployment tools expect); setting both to different
values is an error rather than a guess. The configuration is built once by the CLI and passed
down; nothing reads it at import time.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openslots.engine.plan import Limits
from openslots.errors import ValidationError
from openslots.observability.logs import FORMATS, LEVELS

__all__ = ["ALIASES", "SCHEMA", "Config", "load_config"]


@dataclass(frozen=True, slots=True)
class Key:
    type: type
    default: Any
    doc: str
    minimum: float | None = None
    maximum: float | None = None
    # For a string: the only values it may take.
    choices: tuple[str, ...] | None = None


# The key names of DESIGN.md §6 are fixed: deployments and tools rely on them.
SCHEMA: dict[str, dict[str, Key]] = {
    "database": {
        # Relative SQLite paths are read from the working directory of the process.
        "url": Key(str, "sqlite:///openslots.db", "SQLAlchemy URL of the database"),
    },
    "server": {
        "host": Key(str, "127.0.0.1", "address `serve` and `api` listen on"),
        "port": Key(int, 8080, "TCP port `serve` and `api` listen on", 1, 65535),
    },
    "api": {
        "cache_entries": Key(int, 1024, "availability answers cached per process; 0 = off", 0),
        "max_body_bytes": Key(int, 1_048_576, "largest request body accepted, in bytes", 1),
        "hold_ttl_seconds": Key(int, 300, "how long a hold keeps its seats by default", 1),
        "max_hold_ttl_seconds": Key(int, 3600, "longest hold a request may ask for", 1),
        "max_page_size": Key(int, 500, "most items one list request may return", 1),
    },
    "engine": {
        "max_window_days": Key(int, 93, "longest availability window one query may ask", 1),
        "min_interval_minutes": Key(int, 5, "smallest step between slot starts", 1),
    },
    "security": {
        # Newest first: new credentials use the first; any of them decrypts (rotation).
        "encryption_keys": Key(
            list, [], "Fernet keys that encrypt connection credentials, newest first"
        ),
    },
    "sync": {
        # Off, user-supplied URLs may only reach public addresses (openslots.sync.addresses).
        "allow_private_networks": Key(
            bool, False, "let feed and CalDAV URLs reach loopback and private addresses"
        ),
        "window_past_days": Key(int, 1, "days before today that sync reads", 0, 366),
        "window_future_days": Key(int, 120, "days after today that sync reads", 1, 3660),
        "max_instances_per_series": Key(
            int, 10_000, "most occurrences one recurring series expands to", 1, 1_000_000
        ),
        "on_demand_budget_seconds": Key(
            float, 3.0, "how long `sync=true` waits for connections before answering", 0, 60
        ),
        "default_interval_minutes": Key(
            int, 15, "sync interval of a connection created without one", 1, 10_080
        ),
        "poll_seconds": Key(float, 10.0, "how often a worker looks for due connections", 0.1),
        "lease_seconds": Key(
            int, 120, "how long a worker's claim on a connection lasts unless renewed", 2
        ),
        "concurrency": Key(int, 8, "connections one worker process syncs at once", 1, 256),
    },
    "logging": {
        "format": Key(str, "text", "log lines as `text` or `json` (one a line)", choices=FORMATS),
        "level": Key(str, "info", "least severe level logged", choices=LEVELS),
    },
    # OAuth clients and endpoints (DESIGN §6). Empty client ids: connecting that provider is
    # refused with a message saying which key to set. Endpoints point at the providers; tests
    # and air-gapped setups point them at local servers.
    "google": {
        "client_id": Key(str, "", "OAuth client id of your Google Cloud project"),
        "client_secret": Key(str, "", "its client secret"),
        "redirect_uri": Key(str, "", "where Google sends users back: .../v1/oauth/google/callback"),
        "auth_uri": Key(str, "https://accounts.google.com/o/oauth2/v2/auth", "consent page"),
        "token_uri": Key(str, "https://oauth2.googleapis.com/token", "token endpoint"),
        "api_endpoint": Key(str, "https://www.googleapis.com/", "Calendar API root"),
        "max_concurrent_syncs": Key(
            int, 16, "Google syncs one process runs at once (quota)", 1, 1000
        ),
    },
    "outlook": {
        "client_id": Key(str, "", "application (client) id of your Microsoft Entra app"),
        "client_secret": Key(str, "", "its client secret"),
        "redirect_uri": Key(
            str, "", "where Microsoft sends users back: .../v1/oauth/outlook/callback"
        ),
        "authority": Key(str, "https://login.microsoftonline.com/common", "token authority"),
        "graph_url": Key(str, "https://graph.microsoft.com/v1.0", "Microsoft Graph root"),
        "max_concurrent_syncs": Key(
            int, 16, "Outlook syncs one process runs at once (throttling)", 1, 1000
        ),
    },
    "metrics": {
        "enabled": Key(bool, True, "serve Prometheus metrics at /metrics"),
        # Empty: /metrics needs no token (keep it on the operators' network).
        "bearer_tokens": Key(list, [], "tokens one of which /metrics requires, if any"),
        "worker_port": Key(
            int, 0, "port `openslots worker` serves /metrics on; 0 = none", 0, 65535
        ),
    },
}

# Short names some variables are also known by, mapped to (section, key).
ALIASES = {"OPENSLOTS_DATABASE_URL": ("database", "url")}


@dataclass(frozen=True, slots=True)
class Config:
    values: Mapping[str, Mapping[str, Any]]

    def get(self, section: str, key: str) -> Any:
        return self.values[section][key]

    @property
    def sync_window_days(self) -> tuple[int, int]:
        """Days before and after today that sync reads."""
        return self.get("sync", "window_past_days"), self.get("sync", "window_future_days")

    @property
    def limits(self) -> Limits:
        return Limits(
            max_window_days=self.get("engine", "max_window_days"),
            min_interval_minutes=self.get("engine", "min_interval_minutes"),
        )


_TYPE_NAMES = {
    int: "whole number",
    float: "number",
    bool: "boolean (true or false)",
    str: "string",
    list: "list of strings",
}


def _from_environment(section: str, key: str, text: str, source: str) -> Any:
    """Environment variables are text: read them as the key's type."""
    spec = SCHEMA[section][key]
    text = text.strip()
    if spec.type is bool:
        if text.lower() not in {"true", "false", "1", "0", "yes", "no"}:
            raise ValidationError(f"{section}.{key}", f"{source}: {text!r} is not a boolean")
        return text.lower() in {"true", "1", "yes"}
    if spec.type is int:
        try:
            return int(text)
        except ValueError:
            raise ValidationError(
                f"{section}.{key}", f"{source}: {text!r} is not a whole number"
            ) from None
    if spec.type is float:
        try:
            return float(text)
        except ValueError:
            raise ValidationError(
                f"{section}.{key}", f"{source}: {text!r} is not a number"
            ) from None
    if spec.type is list:
        # A list in one variable: comma-separated (Fernet keys never contain a comma).
        return [item.strip() for item in text.split(",") if item.strip()]
    return text


def _checked(section: str, key: str, value: Any, source: str) -> Any:
    spec = SCHEMA[section][key]
    if spec.type is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    wrong_type = not isinstance(value, spec.type) or (
        spec.type in (int, float) and isinstance(value, bool)
    )
    if spec.type is list and not wrong_type:
        wrong_type = not all(isinstance(item, str) for item in value)
    if wrong_type:
        raise ValidationError(
            f"{section}.{key}", f"{source}: must be a {_TYPE_NAMES.get(spec.type, spec.type)}"
        )
    if spec.minimum is not None and value < spec.minimum:
        raise ValidationError(f"{section}.{key}", f"{source}: must be at least {spec.minimum}")
    if spec.maximum is not None and value > spec.maximum:
        raise ValidationError(f"{section}.{key}", f"{source}: must be at most {spec.maximum}")
    # A key whose default is empty ("not configured", an OAuth client id) may stay empty.
    if spec.type is str and not value.strip() and spec.default:
        raise ValidationError(f"{section}.{key}", f"{source}: must not be empty")
    if spec.choices is not None:
        # `INFO` or `JSON` in a variable mean what they say.
        value = value.lower()
    if spec.choices is not None and value not in spec.choices:
        raise ValidationError(
            f"{section}.{key}", f"{source}: must be one of {', '.join(spec.choices)}"
        )
    return value


def load_config(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Build the configuration from defaults, the TOML file and the environment."""
    environ = os.environ if environ is None else environ
    values: dict[str, dict[str, Any]] = {
        section: {key: spec.default for key, spec in keys.items()}
        for section, keys in SCHEMA.items()
    }
    path = path or environ.get("OPENSLOTS_CONFIG")
    if path:
        try:
            document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ValidationError("config", f"cannot read {path}: {exc}") from None
        for section, table in document.items():
            if section not in SCHEMA or not isinstance(table, dict):
                raise ValidationError(section, f"{path}: unknown section")
            for key, value in table.items():
                if key not in SCHEMA[section]:
                    raise ValidationError(f"{section}.{key}", f"{path}: unknown key")
                values[section][key] = _checked(section, key, value, str(path))
    for name, text in environ.items():
        if not name.startswith("OPENSLOTS_") or "__" not in name:
            continue
        section, _, key = name[len("OPENSLOTS_") :].lower().partition("__")
        if section not in SCHEMA or key not in SCHEMA[section]:
            # A typo in a variable would otherwise be silently ignored.
            raise ValidationError(f"{section}.{key}", f"{name}: no such configuration key")
        value = _from_environment(section, key, text, name)
        values[section][key] = _checked(section, key, value, name)
    for alias, (section, key) in ALIASES.items():
        if alias not in environ:
            continue
        value = _checked(
            section, key, _from_environment(section, key, environ[alias], alias), alias
        )
        long_name = f"OPENSLOTS_{section.upper()}__{key.upper()}"
        if long_name in environ and values[section][key] != value:
            raise ValidationError(f"{section}.{key}", f"{alias} and {long_name} disagree")
        values[section][key] = value
    return Config(values)
