"""The commands that use the database: ``serve``/``api``, ``migrate``, ``orgs create``, ``keys
create``. Each opens the configured database and migrates it first (an empty or older database
is brought to the newest revision). Keys are printed once, on standard output; what a person
reads about the process goes to standard error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from openslots import demo, server
from openslots.config import Config
from openslots.credentials import cipher_for, generate_key
from openslots.errors import NotFound, ValidationError
from openslots.oauth.cli_flow import connect_from_shell
from openslots.store import catalog, organizations
from openslots.store.connections import (
    all_connections,
    credential_tokens,
    replace_credential_token,
)
from openslots.store.database import Database
from openslots.store.keys import mint_key
from openslots.store.startup import apply_migrations, open_database
from openslots.sync.batch import sync_many
from openslots.sync.services import SyncServices
from openslots.sync.worker import worker_name

__all__ = [
    "connect",
    "connections_list",
    "keys_create",
    "migrate",
    "orgs_create",
    "rotate_key",
    "serve",
    "sync",
    "worker",
]


def _now() -> int:
    return int(time.time())


def _database(config: Config, *, report: bool = False) -> Database:
    """The configured database, migrated to the newest revision (with ``report``, said on
    standard error)."""
    database = open_database(config.get("database", "url"))
    revision = apply_migrations(database)
    if report:
        print(f"openslots: database schema at revision {revision}", file=sys.stderr, flush=True)
    return database


def _program(args: argparse.Namespace) -> str:
    """How the user ran us, to print commands they can paste (``.venv/bin/openslots``)."""
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else "openslots"
    program = "python -m openslots" if Path(argv0).name == "__main__.py" else argv0
    return f"{program} --config {shlex.quote(args.config)}" if args.config else program


def _base_url(host: str, port: int) -> str:
    """A URL a local client can use: a wildcard address means "this machine"."""
    if host in {"0.0.0.0", ""}:
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _demo(args: argparse.Namespace, database: Database, base_url: str) -> None:
    now = _now()
    seeded = demo.seed_demo(database, now)
    if seeded is None:
        print(
            "The database already has organizations: not adding the demo organization.",
            flush=True,
        )
        return
    slot = demo.first_free_slot(database, seeded, now)
    text = demo.instructions(seeded, base_url=base_url, slot=slot, mint=_program(args))
    # Flushed before the server starts, so a pipe or a log sees it at once.
    print(text, flush=True)


def serve(args: argparse.Namespace, config: Config) -> int:
    host = args.host if args.host is not None else config.get("server", "host")
    port = args.port if args.port is not None else config.get("server", "port")
    if not 1 <= port <= 65535:
        raise ValidationError("--port", f"{port} is not a TCP port (1-65535)")
    database = _database(config, report=True)
    if args.demo:
        _demo(args, database, _base_url(host, port))
    sync = SyncServices.from_config(config)
    # One set of metrics per process: /metrics shows the worker's syncs beside the requests.
    metrics = server.build_metrics(config)
    # `serve` is the one-process deployment: the API and a sync worker; `api` is the API alone.
    worker = (
        server.build_worker(config, database, sync, metrics) if args.command == "serve" else None
    )
    app = server.build_app(config, database, sync, metrics)
    server.run(app, database, host, port, worker, config=config)
    return 0


def worker(_: argparse.Namespace, config: Config) -> int:
    """Run a sync worker until SIGINT or SIGTERM; syncs in progress then finish first."""
    database = _database(config, report=True)
    server.configure_logging(config)
    metrics = server.build_metrics(config)
    sync_worker = server.build_worker(config, database, metrics=metrics)
    exporter = server.serve_worker_metrics(config, metrics)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    sync_worker.start()
    print(f"openslots: sync worker {sync_worker.name} running", file=sys.stderr, flush=True)
    try:
        stop.wait()
    finally:
        sync_worker.stop(wait=True)
        if exporter is not None:
            exporter.stop()
        database.dispose()
    return 0


def rotate_key(args: argparse.Namespace, config: Config) -> int:
    """``--generate``: print a new key. Otherwise re-encrypt every stored credential with the
    newest configured key (the first of ``security.encryption_keys``)."""
    if args.generate:
        print(generate_key())
        return 0
    keys = config.get("security", "encryption_keys")
    cipher = cipher_for(keys, config.get("database", "url"))
    database = _database(config)
    rotated = 0
    try:
        with database.read() as connection:
            tokens = list(credential_tokens(connection))
        for connection_id, token in tokens:
            new = cipher.rotate(token)
            with database.write() as connection:
                rotated += replace_credential_token(connection, connection_id, token, new)
    finally:
        database.dispose()
    print(
        f"re-encrypted the credentials of {rotated} connection(s) with the newest key; "
        "older keys can be removed from security.encryption_keys now",
        file=sys.stderr,
    )
    return 0


def migrate(_: argparse.Namespace, config: Config) -> int:
    database = open_database(config.get("database", "url"))
    try:
        print(apply_migrations(database))
    finally:
        database.dispose()
    return 0


def _print_key(args: argparse.Namespace, document: dict[str, Any], text: str) -> None:
    if args.json:
        print(json.dumps(document))
    else:
        print(text)


def orgs_create(args: argparse.Namespace, config: Config) -> int:
    name = args.name.strip()
    if not name or len(name) > 200:
        raise ValidationError("name", "an organization's name has 1 to 200 characters")
    slug = args.slug
    if slug is not None and (slug != organizations.slugify(slug) or len(slug) > 64):
        raise ValidationError("--slug", "a slug is lower-case letters, digits and single dashes")
    database = _database(config)
    try:
        with database.write() as connection:
            if slug is None:
                slug = organizations.free_slug(connection, organizations.slugify(name))
            elif organizations.find_org(connection, slug) is not None:
                raise ValidationError("--slug", f"an organization already uses the slug {slug}")
            org = catalog.create_org(connection, name, slug, _now())
            _, token = mint_key(connection, org["id"], ("admin",), "first admin key", _now())
    finally:
        database.dispose()
    _print_key(
        args,
        {"org_id": org["id"], "slug": slug, "name": name, "api_key": token},
        f'Created organization "{name}" (slug {slug}, id {org["id"]}).\n'
        f"Its admin API key is shown only this once (it is stored as a hash):\n\n    {token}",
    )
    return 0


def keys_create(args: argparse.Namespace, config: Config) -> int:
    if len(args.name) > 200:
        raise ValidationError("--name", "a key's name has at most 200 characters")
    database = _database(config)
    try:
        with database.write() as connection:
            org = organizations.find_org(connection, args.org)
            if org is None:
                raise NotFound(f"no organization with the slug or id {args.org}")
            key, token = mint_key(connection, org["id"], (args.scope,), args.name, _now())
    finally:
        database.dispose()
    document = {
        "id": key.id,
        "org_id": org["id"],
        "slug": org["slug"],
        "scopes": list(key.scopes),
        "name": key.name,
        "api_key": token,
    }
    # Just the key, so that `export OPENSLOTS_KEY=$(openslots keys create demo)` works.
    _print_key(args, document, token)
    return 0


def _org_id(database: Database, org: str | None) -> str | None:
    if org is None:
        return None
    with database.read() as connection:
        found = organizations.find_org(connection, org)
    if found is None:
        raise NotFound(f"no organization with the slug or id {org}")
    return str(found["id"])


def _ago(instant: int | None, now: int) -> str:
    if instant is None:
        return "never"
    seconds = max(0, now - instant)
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def connections_list(args: argparse.Namespace, config: Config) -> int:
    """A status table of the connections (of one organization with ``--org``)."""
    database = _database(config)
    try:
        with database.read() as connection:
            rows = all_connections(connection, _org_id(database, args.org))
    finally:
        database.dispose()
    if args.json:
        shown = [{k: v for k, v in row.items() if k != "has_credentials"} for row in rows]
        print(json.dumps(shown, default=str))
        return 0
    now = _now()
    table = [("ID", "ORG", "RESOURCE", "PROVIDER", "STATUS", "LAST SUCCESS", "LAST ERROR")]
    for row in rows:
        error = (row["last_error"] or "")[:60]
        table.append(
            (
                row["id"],
                row["org_slug"],
                row["resource"][:30],
                row["provider"],
                row["status"],
                _ago(row["last_success_at"], now),
                error,
            )
        )
    widths = [max(len(str(line[i])) for line in table) for i in range(len(table[0]))]
    for line in table:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)))
    print(f"{len(rows)} connection(s)", file=sys.stderr)
    return 0


class _Progress:
    """``[#####.....] 12/200  ok 10  error 2`` redrawn on standard error."""

    def __init__(self, total: int, stream: Any = sys.stderr) -> None:
        self.total = total
        self.done = 0
        self.counts: dict[str, int] = {}
        self.stream = stream
        self.interactive = bool(getattr(stream, "isatty", lambda: False)())

    def __call__(self, connection_id: str, status: str) -> None:
        self.done += 1
        self.counts[status] = self.counts.get(status, 0) + 1
        if self.interactive:
            print("\r" + self.line(), end="", file=self.stream, flush=True)
        elif self.done == self.total or self.done % 50 == 0:
            print(self.line(), file=self.stream, flush=True)

    def line(self) -> str:
        width = 30
        filled = width * self.done // max(self.total, 1)
        tally = "  ".join(f"{status} {count}" for status, count in sorted(self.counts.items()))
        return f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}  {tally}"

    def finish(self) -> None:
        if self.interactive:
            print(file=self.stream)


def sync(args: argparse.Namespace, config: Config) -> int:
    """Sync one connection, or all that can sync (``--all``), now; exits 1 when any failed.
    One connection prints its outcome as JSON; ``--all`` shows a progress bar and a tally."""
    if bool(args.connection) == bool(args.all):
        raise ValidationError("connection", "name one connection id, or pass --all")
    database = _database(config)
    services = SyncServices.from_config(config)
    try:
        with database.read() as connection:
            rows = all_connections(connection, _org_id(database, args.org))
        if args.all:
            ids = [r["id"] for r in rows if r["status"] in {"pending", "ok", "error"}]
        else:
            ids = [r["id"] for r in rows if r["id"] == args.connection]
            if not ids:
                raise NotFound(f"no connection {args.connection}")
        progress = _Progress(len(ids))
        results = asyncio.run(
            sync_many(
                database,
                services,
                ids,
                owner=worker_name(),
                clock=_now,
                concurrency=config.get("sync", "concurrency"),
                on_done=progress if args.all else lambda *_: None,
            )
        )
        if args.all:
            progress.finish()
        else:
            with database.read() as connection:
                [row] = [r for r in all_connections(connection) if r["id"] == args.connection]
            shown = {k: row[k] for k in ("id", "status", "last_error")}
            print(json.dumps({**shown, "sync": results[row["id"]]}))
    finally:
        database.dispose()
    failed = sum(1 for status in results.values() if status in {"error", "needs_reauth"})
    return 1 if failed else 0


def connect(args: argparse.Namespace, config: Config) -> int:
    """Connect a Google or Outlook calendar from a terminal: print the consent URL, read back
    the address the browser landed on, store the tokens and the connection."""
    database = _database(config)
    try:
        with database.read() as connection:
            org_id = catalog.org_of_resource(connection, args.resource)
        if org_id is None:
            raise NotFound(f"no resource {args.resource}")
        row, reconnected = connect_from_shell(
            SyncServices.from_config(config),
            database,
            clock=_now,
            provider=args.provider,
            org_id=org_id,
            resource_id=args.resource,
            write=lambda text: print(text, file=sys.stderr),
        )
    finally:
        database.dispose()
    verb = "Reconnected" if reconnected else "Connected"
    print(f"{verb} {args.provider} calendar: connection {row['id']}", file=sys.stderr)
    print(json.dumps({"id": row["id"], "status": row["status"], "reconnected": reconnected}))
    return 0
