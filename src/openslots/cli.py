"""The ``openslots`` command.

``openslots slots SCENARIO.json`` prints the engine's answer as JSON. Errors are printed as the
documented error JSON on standard error; invalid input exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
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
    return code
