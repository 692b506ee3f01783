"""The ``openslots`` command.

``openslots slots SCENARIO.json`` prints the engine's answer as JSON. ``openslots serve`` runs the
HTTP API and a sync worker in one process (migrating the database first; ``--demo`` seeds a demo
organization); ``openslots api`` runs the API alone and ``openslots worker`` a sync worker alone,
for deployments that run many of each over one PostgreSQL. ``openslots migrate`` upgrades the
database; ``openslots orgs create`` and ``openslots keys create`` make an organization and API
keys, printing each key once; ``openslots rotate-key`` re-encrypts stored credentials with the
newest key (``--generate`` prints a new one); ``openslots connections list`` shows every
connection's sync status and ``openslots sync ID|--all`` syncs now, with a progress bar;
``openslots connect google|outlook --resource ID`` connects a calendar from a terminal.

Errors are printed as the documented error JSON on standard error; invalid input (including the
configuration) exits with status 2, any other error with status 1.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from openslots.config import Config, load_config
from openslots.engine import compute_availability, parse_scenario, render_availability
from openslots.errors import OpenslotsError, ValidationError

__all__ = ["main"]

EXIT_INVALID = 2


def _print_error(error: OpenslotsError, stream: TextIO) -> None:
    print(json.dumps(error.to_dict()), file=stream)


def _read_document(source: str) -> Any:
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise ValidationError("$", f"cannot read {source}: {exc.strerror or exc}") from None
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValidationError("$", "not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ValidationError("$", f"not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except RecursionError:
        raise ValidationError("$", "JSON nested too deeply") from None


def _slots(args: argparse.Namespace, config: Config) -> int:
    scenario = parse_scenario(_read_document(args.scenario))
    limits = config.limits
    timings: list[float] = []
    answer: dict[str, Any] = {}
    for _ in range(max(args.repeat, 1)):
        began = time.perf_counter()
        answer = render_availability(compute_availability(scenario, limits))
        timings.append((time.perf_counter() - began) * 1000)
    json.dump(answer, sys.stdout, indent=2 if args.pretty else None)
    sys.stdout.write("\n")
    if args.timing:
        median = statistics.median(timings)
        print(f"median_ms {median:.3f} over {len(timings)} runs", file=sys.stderr)
    return 0


def _command(name: str) -> Callable[[argparse.Namespace, Config], int]:
    """The command ``name`` of :mod:`openslots.commands`, imported when it runs: ``openslots
    slots`` then starts without SQLAlchemy, FastAPI and uvicorn (0.2 s instead of 0.8 s)."""

    def run(args: argparse.Namespace, config: Config) -> int:
        function = getattr(importlib.import_module("openslots.commands"), name)
        return int(function(args, config))

    return run


def _add_serve(commands: Any, name: str, help_text: str) -> None:
    serve = commands.add_parser(name, help=help_text)
    serve.add_argument("--host", help="address to listen on (default: server.host, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: server.port, 8080)")
    serve.add_argument(
        "--demo",
        action="store_true",
        help="seed a demo organization into an empty database and print its key and curl lines",
    )
    serve.set_defaults(run=_command("serve"))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="openslots", description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="TOML configuration file (default: $OPENSLOTS_CONFIG)")
    commands = parser.add_subparsers(dest="command", required=True)
    slots = commands.add_parser("slots", help="print the slots of a scenario file as JSON")
    slots.add_argument("scenario", help="scenario JSON file (SCENARIO.md), or - for stdin")
    slots.add_argument("--repeat", type=int, default=1, help="compute N times (for --timing)")
    slots.add_argument(
        "--timing",
        action="store_true",
        help="print the median compute time in ms on stderr (JSON loading and printing excluded)",
    )
    slots.add_argument("--pretty", action="store_true", help="indent the JSON answer")
    slots.set_defaults(run=_slots)
    _add_serve(commands, "serve", "migrate the database, then run the HTTP API and a sync worker")
    _add_serve(commands, "api", "the HTTP API alone, without a sync worker")
    worker = commands.add_parser("worker", help="run a sync worker alone (no HTTP API)")
    worker.set_defaults(run=_command("worker"))
    rotate = commands.add_parser(
        "rotate-key", help="re-encrypt stored credentials with the newest encryption key"
    )
    rotate.add_argument(
        "--generate", action="store_true", help="print a new key for security.encryption_keys"
    )
    rotate.set_defaults(run=_command("rotate_key"))

    connections = commands.add_parser("connections", help="calendar connections").add_subparsers(
        dest="connections_command", required=True
    )
    listing = connections.add_parser("list", help="a status table of the connections")
    listing.add_argument("--org", help="only this organization (slug or id)")
    listing.add_argument("--json", action="store_true", help="print the rows as JSON")
    listing.set_defaults(run=_command("connections_list"))
    sync = commands.add_parser(
        "sync", help="sync a connection, or all of them, now (exit 1 when any failed)"
    )
    sync.add_argument("connection", nargs="?", help="the connection's id")
    sync.add_argument("--all", action="store_true", help="every connection that can sync")
    sync.add_argument("--org", help="with --all: only this organization (slug or id)")
    sync.set_defaults(run=_command("sync"))
    connect = commands.add_parser(
        "connect", help="connect a Google or Outlook calendar from a terminal (headless servers)"
    )
    connect.add_argument("provider", choices=["google", "outlook"])
    connect.add_argument("--resource", required=True, help="the id of the calendar's resource")
    connect.set_defaults(run=_command("connect"))
    migrate = commands.add_parser("migrate", help="upgrade the database; print its revision")
    migrate.set_defaults(run=_command("migrate"))

    orgs = commands.add_parser("orgs", help="organizations").add_subparsers(
        dest="orgs_command", required=True
    )
    create_org = orgs.add_parser("create", help="create an organization; print its admin key once")
    create_org.add_argument("name", help="the organization's name")
    create_org.add_argument("--slug", help="its short unique name (default: from the name)")
    create_org.add_argument(
        "--json", action="store_true", help='print {"org_id", "slug", "name", "api_key"}'
    )
    create_org.set_defaults(run=_command("orgs_create"))

    keys = commands.add_parser("keys", help="API keys").add_subparsers(
        dest="keys_command", required=True
    )
    create_key = keys.add_parser("create", help="mint an API key; print it once")
    create_key.add_argument("org", help="the organization's slug or id")
    create_key.add_argument("--scope", choices=["read", "write", "admin"], default="admin")
    create_key.add_argument("--name", default="cli", help="a label shown in key lists")
    create_key.add_argument("--json", action="store_true", help="print the key with its ids")
    create_key.set_defaults(run=_command("keys_create"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = load_config(args.config)
        code: int = args.run(args, config)
    except ValidationError as error:
        _print_error(error, sys.stderr)
        return EXIT_INVALID
    except OpenslotsError as error:
        _print_error(error, sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader stopped early (`openslots slots … | head`): not an error of ours.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        return 130
    return code
