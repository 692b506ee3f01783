"""Benchmark of the HTTP API: availability latency and throughput, cold and warm.

What it does:

1. creates a fresh SQLite database in a temporary directory, with an organization and a key
   (through the store: the API has no route that creates organizations);
2. starts the server in a subprocess (uvicorn on 127.0.0.1; the app is built by this file's
   ``serve`` mode because the engine case lives in 2026-02/03 and the server's clock must stand
   at the case's ``now``, not at the wall clock, for the answers to be the engine's);
3. loads the heavy case of ``bench/engine.py`` (20 resources, 30 days, 500 blocks each) through
   HTTP: resources with their schedules and the service with ``POST``. The 10,000 busy blocks
   go straight into ``busy_blocks`` through the store by default: they are the engine case's
   calendar blocks (source ``cal:N``), i.e. synced blocks, which the API does not create.
   ``--http-blocks`` posts them instead as manual blocks (``POST /v1/resources/{id}/blocks``),
   10,000 requests;
4. checks that the API's slots are the engine's, then measures ``GET /v1/availability`` for the
   heavy query at concurrency 1 and 16, cold (``cache_entries=0``, every request reads the store
   and computes) and warm (the cache on, every request after the first a hit), with a small
   asyncio HTTP/1.1 client holding one keep-alive connection per concurrent requester;
5. prints p50/p99 latency and requests/s, and the ratio of the cold p50 to the bare engine median
   on the same scenario (``bench/engine.py``'s measure: compute and render, no I/O).

Targets: cold p50 <= 3 x engine median + 5 ms; warm >= 1,000 requests/s.

    python bench/api.py [--quick] [--http-blocks]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import uvicorn
from sqlalchemy import insert

from openslots.api.app import create_app
from openslots.api.settings import ApiSettings
from openslots.engine import Scenario, compute_availability, render_availability
from openslots.engine.scenario import format_instant, schedule_to_dict
from openslots.server import tune_gc
from openslots.store import catalog, versions
from openslots.store.database import Database
from openslots.store.keys import mint_key, verify_key
from openslots.store.migrate import upgrade
from openslots.store.schema import busy_blocks

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine import build_case, measure

HOST = "127.0.0.1"
TARGET_WARM_RPS = 1000.0


# -- the server -----------------------------------------------------------------------------


def serve(url: str, port: int, cache_entries: int, now: int) -> None:
    """Run the API on ``port`` with a clock standing at ``now`` (the subprocess's job)."""
    database = Database(url)
    settings = ApiSettings(database=database, clock=lambda: now, cache_entries=cache_entries)
    tune_gc()  # as `openslots serve` does
    uvicorn.run(
        create_app(settings),
        host=HOST,
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """The API in a subprocess, for the duration of a ``with`` block."""

    def __init__(self, url: str, cache_entries: int, now: int) -> None:
        self.port = _free_port()
        self.base = f"http://{HOST}:{self.port}"
        command = [sys.executable, __file__, "serve", url, str(self.port), str(cache_entries)]
        self.process = subprocess.Popen([*command, str(now)])

    def __enter__(self) -> Server:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the server exited at start")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("the server did not start within 30 s")

    def __exit__(self, *_: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# -- the data -------------------------------------------------------------------------------


def create_database(url: str, now: int) -> str:
    """Migrate an empty database and create an organization; its admin key."""
    database = Database(url)
    upgrade(database)
    with database.write() as connection:
        org = catalog.create_org(connection, "bench", "bench", now)
        _, token = mint_key(connection, org["id"], ("admin",), "bench", now)
    database.dispose()
    return token


def insert_blocks(url: str, token: str, scenario: Scenario, ids: dict[str, str]) -> None:
    """The case's busy blocks as synced blocks, in one transaction, bumping each resource."""
    database = Database(url)
    with database.write() as connection:
        key = verify_key(connection, token)
        assert key is not None
        rows = [
            {
                "id": str(uuid.uuid4()),
                "org_id": key.org_id,
                "resource_id": ids[resource.id],
                "source": block.source,
                "start_at": block.start,
                "end_at": block.end,
                "kind": block.kind,
            }
            for resource in scenario.resources
            for block in resource.busy
        ]
        connection.execute(insert(busy_blocks), rows)
        versions.bump_resources(connection, ids.values())
    database.dispose()


def _check(response: httpx.Response, status: int = 201) -> dict[str, Any]:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
    body: dict[str, Any] = response.json()
    return body


def load_case(
    client: httpx.Client, scenario: Scenario, url: str, token: str, http_blocks: bool
) -> tuple[str, dict[str, str], float]:
    """Resources, service and blocks of the case; (service id, case id -> API id, seconds)."""
    began = time.perf_counter()
    ids: dict[str, str] = {}
    for resource in scenario.resources:
        body = {"name": resource.id, "schedule": schedule_to_dict(resource.schedule)}
        ids[resource.id] = _check(client.post("/v1/resources", json=body))["id"]
    service = scenario.service
    service_id = _check(
        client.post(
            "/v1/services",
            json={
                "name": service.id,
                "duration": service.duration,
                "interval": service.interval,
                "resource_ids": [ids[r] for r in service.resource_ids or ()],
            },
        )
    )["id"]
    if http_blocks:
        for resource in scenario.resources:
            for block in resource.busy:
                _check(
                    client.post(
                        f"/v1/resources/{ids[resource.id]}/blocks",
                        json={
                            "start": format_instant(block.start),
                            "end": format_instant(block.end),
                            "kind": block.kind,
                        },
                    )
                )
    else:
        insert_blocks(url, token, scenario, ids)
    return service_id, ids, time.perf_counter() - began


# -- the load -------------------------------------------------------------------------------


async def _requester(
    port: int, request: bytes, count: int, latencies: list[float], sizes: set[int]
) -> None:
    """One keep-alive connection sending ``count`` requests one after another."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        for _ in range(count):
            began = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = head[9:12]
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - began)
            if status != b"200":
                raise RuntimeError(f"status {status.decode()}: {body[:300]!r}")
            sizes.add(len(body))
    finally:
        writer.close()


def load(port: int, path: str, token: str, concurrency: int, total: int) -> dict[str, float]:
    """p50 and p99 latency (ms) and throughput (requests/s) of ``total`` GETs of ``path``."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: application/json\r\n\r\n"
    ).encode()
    latencies: list[float] = []
    sizes: set[int] = set()
    per = total // concurrency

    async def run() -> float:
        began = time.perf_counter()
        await asyncio.gather(
            *(_requester(port, request, per, latencies, sizes) for _ in range(concurrency))
        )
        return time.perf_counter() - began

    elapsed = asyncio.run(run())
    latencies.sort()
    assert len(sizes) == 1, "every answer of one query must be the same"
    return {
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "rps": len(latencies) / elapsed,
        "n": len(latencies),
    }


def availability_path(service_id: str, scenario: Scenario) -> str:
    query = scenario.query
    params = {
        "service_id": service_id,
        "start": format_instant(query.start),
        "end": format_instant(query.end),
        "timezone": query.timezone,
    }
    return "/v1/availability?" + urlencode(params)


def same_slots(api: dict[str, Any], engine: dict[str, Any], ids: dict[str, str]) -> bool:
    """Whether the API's slots are the engine's (resource ids mapped to the API's)."""
    expected = [
        {**slot, "resource_ids": [ids[r] for r in slot["resource_ids"]]} for slot in engine["slots"]
    ]
    return bool(api["slots"] == expected) and list(api["days"]) == list(engine["days"])


# -- main -----------------------------------------------------------------------------------


def reference(port: int, token: str, total: int) -> dict[str, dict[str, float]]:
    """Throughput at concurrency 16 of the same server on routes that do less: the ceiling the
    stack (uvicorn, FastAPI, middleware, key check) leaves to any authenticated route."""
    out = {}
    for name, path in (("/healthz", "/healthz"), ("key + 1 read", "/v1/organization")):
        try:
            out[name] = load(port, path, token, 16, total)
        except RuntimeError as error:  # a route this build does not have
            print(f"(no reference {name}: {error})")
    return out


def print_table(results: dict[str, dict[str, float]]) -> None:
    print(f"{'case':<18}{'requests':>9}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>9}")
    for name, figures in results.items():
        print(
            f"{name:<18}{int(figures['n']):>9}{figures['p50']:>9.2f}{figures['p99']:>9.2f}"
            f"{figures['rps']:>9.0f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests (for CI smoke)")
    parser.add_argument(
        "--http-blocks", action="store_true", help="post the 10,000 blocks through the API"
    )
    args = parser.parse_args()
    cold_total, warm_total = (48, 800) if args.quick else (320, 8000)
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    scenario = build_case(20, 30, 500, "none")
    engine_answer = render_availability(compute_availability(scenario))
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'bench.db'}"
        token = create_database(url, scenario.now)
        headers = {"Authorization": f"Bearer {token}"}
        with Server(url, 0, scenario.now) as server:
            with httpx.Client(base_url=server.base, headers=headers, timeout=60) as client:
                service_id, ids, seconds = load_case(client, scenario, url, token, args.http_blocks)
                path = availability_path(service_id, scenario)
                answer = _check(client.get(path), 200)
            how = "10,000 manual blocks over HTTP" if args.http_blocks else "blocks via the store"
            print(f"loaded the heavy case in {seconds:.1f} s ({how})")
            if not same_slots(answer, engine_answer, ids):
                print("the API's slots differ from the engine's")
                return 1
            print(f"API answer = engine answer ({len(answer['slots'])} slots)")
            # The engine alone, measured now, on the machine as the server finds it.
            _, engine_median, _ = measure(scenario, 15 if args.quick else 51)
            load(server.port, path, token, 1, 8)  # warm up the process (imports, zone caches)
            for concurrency in (1, 16):
                results[f"cold c={concurrency}"] = load(
                    server.port, path, token, concurrency, cold_total
                )
        with Server(url, 1024, scenario.now) as server:
            load(server.port, path, token, 1, 8)
            for concurrency in (1, 16):
                results[f"warm c={concurrency}"] = load(
                    server.port, path, token, concurrency, warm_total
                )
            references = reference(server.port, token, warm_total)

    print(f"\nengine median (compute + render, no I/O): {engine_median:.2f} ms")
    print_table(results)
    print("reference routes of the warm server, concurrency 16:")
    print_table(references)
    cold = results["cold c=1"]["p50"]
    target = 3 * engine_median + 5
    print(f"\ncold p50 / engine median: {cold / engine_median:.2f}")
    print(
        f"cold p50 target <= 3 x {engine_median:.2f} + 5 = {target:.2f} ms: "
        + ("met" if cold <= target else "MISSED")
    )
    best = max(results["warm c=1"]["rps"], results["warm c=16"]["rps"])
    print(
        f"warm target >= {TARGET_WARM_RPS:.0f} req/s: "
        + ("met" if best >= TARGET_WARM_RPS else "MISSED")
        + f" (best of c=1 and c=16: {best:.0f} req/s)"
    )
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit(main())
