"""Observability (issue 6): Prometheus metrics at ``/metrics`` and structured, redacted logs.

Metrics are read the way Prometheus reads them: ``/metrics`` scraped and parsed with
prometheus_client's own parser. Every app and worker here has a registry of its own, so no test
sees another's counts. Logs are written through :func:`openslots.server.configure_logging` to a
buffer, and the root logger is put back as it was after each test.
"""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from openslots.api.app import create_app
from openslots.api.settings import ApiSettings
from openslots.config import load_config
from openslots.credentials import CredentialCipher, generate_key
from openslots.errors import AuthRevoked, TransientError, ValidationError
from openslots.observability.exporter import MetricsServer
from openslots.observability.logs import OUR_LOGGERS, LogSettings
from openslots.observability.metrics import Metrics, MetricsAccess
from openslots.observability.redaction import REDACTED, redact
from openslots.server import (
    build_metrics,
    configure_logging,
    log_settings,
    serve_worker_metrics,
    uvicorn_config,
)
from openslots.store import leases
from openslots.store.database import Database
from openslots.store.schema import connections
from openslots.sync.worker import SyncWorker, WorkerSettings
from tests.api.test_availability import MONDAY, NY, Shop, week
from tests.conftest import FakeClock, Tenant
from tests.sync.fake_calendar import FakeCalendars
from tests.sync.test_worker import Setup, services_for, soon

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

FAMILIES = {
    "openslots_http_request_duration_seconds",
    "openslots_availability_compute_seconds",
    "openslots_availability_answers",
    "openslots_sync_duration_seconds",
    "openslots_syncs",
    "openslots_lease_claims",
    "openslots_connections",
}

# Secrets as they could reach a log line; none may come out.
API_KEY = "osk_0a1b2c3d4e5f_Zq9xW2vB7nM4kL0pR8sT6uY1iO3eA5dF7gH9jK2lQ4w"
PASSWORD = "hunter2-Xy9$"
FEED_TOKEN = "Qm3nB8vC1xZ9lK7jH5gF3dS1aP0oI8uY6tR4eW2qA7s"
FEED_URL = "https://calendar.example.com/ical/private-7f3a9c0b1d/basic.ics?token=Zx81Qw"
CALDAV_URL = "https://alice:S3cretPass@dav.example.com/dav/calendars/alice/"
OAUTH_CODE = "4/0AeaYSHBx7Km2Pq9Lr3Ts6Vw8Yz1"
BEARER = "tok-7f3a9c-very-secret"


def _fernet_token() -> str:
    return CredentialCipher([generate_key()]).encrypt({"password": PASSWORD}).decode()


# -- reading /metrics -----------------------------------------------------------------------


def parse(text: str) -> Samples:
    """Every sample of an exposition, keyed by sample name and labels."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def families(text: str) -> set[str]:
    return {family.name for family in text_string_to_metric_families(text)}


def scrape(client: Any, **headers: str) -> Samples:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def labels_of(samples: Samples, name: str, label: str) -> set[str]:
    return {dict(key)[label] for (sample, key) in samples if sample == name and label in dict(key)}


# -- request latency by route ---------------------------------------------------------------


def test_metrics_need_no_key_and_expose_every_family(client: Any) -> None:
    assert client.get("/healthz").status_code == 200
    response = client.get("/metrics")
    assert response.status_code == 200
    assert families(response.text) >= FAMILIES
    samples = parse(response.text)
    name = "openslots_http_request_duration_seconds_count"
    assert value(samples, name, route="/healthz", method="GET", status="2xx") == 1
    # Both claimers and both cache outcomes are there from the start, at zero.
    for by in ("worker", "on_demand"):
        assert ("openslots_lease_claims_total", frozenset({("by", by)})) in samples
    assert value(samples, "openslots_availability_answers_total", cache="hit") == 0


def test_requests_are_counted_by_route_template_never_by_raw_path(
    client: Any, make_tenant: Callable[[str], Tenant]
) -> None:
    shop = Shop(client, make_tenant("acme").headers())
    resource = shop.resource("alice", week("mon"))
    missing = "00000000-0000-4000-8000-000000000000"
    assert shop.get(f"/v1/resources/{resource}").status_code == 200
    assert shop.get(f"/v1/resources/{missing}").status_code == 404
    blocks = shop.get(f"/v1/resources/{resource}/blocks", start=MONDAY, end=MONDAY, timezone=NY)
    assert blocks.status_code == 200, blocks.text
    assert client.get(f"/no/such/{resource}").status_code == 404
    assert client.request("BREW", "/healthz").status_code == 405
    samples = scrape(client)
    name = "openslots_http_request_duration_seconds_count"
    routes = labels_of(samples, name, "route")
    assert {"/v1/resources", "/v1/resources/{resource_id}", "unmatched"} <= routes
    assert "/v1/resources/{resource_id}/blocks" in routes
    assert not any(resource in r or missing in r for r in routes), routes
    one = {"route": "/v1/resources/{resource_id}", "method": "GET"}
    assert value(samples, name, **one, status="2xx") == 1
    assert value(samples, name, **one, status="4xx") == 1
    assert value(samples, name, route="/v1/resources", method="POST", status="2xx") == 1
    assert value(samples, name, route="unmatched", method="GET", status="4xx") == 1
    # A made-up method is not a label value of its own.
    assert value(samples, name, route="/healthz", method="other", status="4xx") == 1
    # The latency is a histogram with the request in its buckets.
    buckets = "openslots_http_request_duration_seconds_bucket"
    assert value(samples, buckets, route="/v1/resources", method="POST", status="2xx", le="+Inf")


def test_refused_bodies_and_crashes_are_timed(database: Database, clock: FakeClock) -> None:
    app = create_app(ApiSettings(database=database, clock=clock, max_body_bytes=10))

    @app.get("/boom/{thing}")
    def boom(thing: str) -> None:
        raise RuntimeError(thing)

    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.post("/v1/resources", content=b"x" * 100).status_code == 413
        assert client.get("/boom/abc").status_code == 500
        samples = scrape(client)
    name = "openslots_http_request_duration_seconds_count"
    # Refused before routing: no route to name.
    assert value(samples, name, route="unmatched", method="POST", status="4xx") == 1
    assert value(samples, name, route="/boom/{thing}", method="GET", status="5xx") == 1


def test_two_apps_count_apart(database: Database, clock: FakeClock) -> None:
    settings = ApiSettings(database=database, clock=clock)
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        one.get("/healthz")
        one.get("/healthz")
        two.get("/healthz")
        name = "openslots_http_request_duration_seconds_count"
        labels = {"route": "/healthz", "method": "GET", "status": "2xx"}
        assert value(scrape(one), name, **labels) == 2
        assert value(scrape(two), name, **labels) == 1


# -- availability ---------------------------------------------------------------------------


def test_availability_compute_time_counts_misses_only(
    client: Any, make_tenant: Callable[[str], Tenant]
) -> None:
    shop = Shop(client, make_tenant("acme").headers())
    service = shop.service([shop.resource("alice", week("mon"))])
    assert shop.get(service_id=service, start=MONDAY, end=MONDAY, timezone=NY).headers[
        "X-Cache"
    ] == ("miss")
    assert shop.get(service_id=service, start=MONDAY, end=MONDAY, timezone=NY).headers[
        "X-Cache"
    ] == ("hit")
    samples = scrape(client)
    assert value(samples, "openslots_availability_compute_seconds_count") == 1
    assert value(samples, "openslots_availability_compute_seconds_sum") > 0
    assert value(samples, "openslots_availability_answers_total", cache="miss") == 1
    assert value(samples, "openslots_availability_answers_total", cache="hit") == 1
    name = "openslots_http_request_duration_seconds_count"
    assert value(samples, name, route="/v1/availability", method="GET", status="2xx") == 2


# -- syncs and leases -----------------------------------------------------------------------


@pytest.fixture
def world(database: Database, clock: FakeClock) -> Setup:
    """An organization with a resource and a fake calendar service (tests/sync/test_worker)."""
    return Setup(database, clock)


def worker_of(world: Setup, metrics: Metrics) -> SyncWorker:
    return SyncWorker(
        world.database,
        world.services,
        WorkerSettings(),
        name="w1",
        clock=world.clock,
        metrics=metrics,
    )


def test_worker_syncs_are_counted_by_provider_and_outcome(world: Setup) -> None:
    span = soon(world.clock)
    good = world.connect("good", span)
    world.connect("flaky", span)
    world.connect("revoked", span)
    world.calendars.failures["flaky"] = TransientError("upstream said 503")
    world.calendars.failures["revoked"] = AuthRevoked("token revoked")
    metrics = Metrics()
    worker = worker_of(world, metrics)
    try:
        assert len(worker.tick()) == 3
        worker.drain()
    finally:
        worker.stop()
    assert world.row(good).status == "ok"
    samples = parse(metrics.exposition()[0].decode())
    for outcome in ("ok", "error", "needs_reauth"):
        labels = {"provider": "fake", "outcome": outcome}
        assert value(samples, "openslots_syncs_total", **labels) == 1, outcome
        assert value(samples, "openslots_sync_duration_seconds_count", **labels) == 1, outcome
    assert value(samples, "openslots_lease_claims_total", by="worker") == 3
    assert value(samples, "openslots_lease_claims_total", by="on_demand") == 0
    # Nothing is due any more: a tick that claims nothing counts nothing.
    worker = worker_of(world, metrics)
    try:
        assert worker.tick() == []
    finally:
        worker.stop()
    assert metrics.sample("openslots_lease_claims_total", {"by": "worker"}) == 3


def test_skipped_and_lost_lease_outcomes(world: Setup) -> None:
    metrics = Metrics()
    disabled = world.connect("off", soon(world.clock))
    taken = world.connect("taken", soon(world.clock))
    # Claimed by w1, then disabled (skipped) or taken over by another worker (lost_lease)
    # before w1's sync stores anything.
    with world.database.write() as connection:
        assert leases.claim(connection, "w1", disabled, world.clock(), 60)
        assert leases.claim(connection, "w1", taken, world.clock(), 60)
        connection.execute(
            update(connections).where(connections.c.id == disabled).values(status="disabled")
        )
        connection.execute(
            update(connections).where(connections.c.id == taken).values(lease_owner="w9")
        )
    worker = worker_of(world, metrics)
    try:
        assert worker._sync(disabled) is not None
        assert worker._sync(taken) is not None
    finally:
        worker.stop()
    for outcome in ("skipped", "lost_lease"):
        labels = {"provider": "fake", "outcome": outcome}
        assert metrics.sample("openslots_syncs_total", labels) == 1, outcome


def test_a_crashed_sync_is_counted(world: Setup) -> None:
    metrics = Metrics()
    worker = worker_of(world, metrics)
    try:
        # No such connection: the runner raises instead of recording an outcome.
        assert worker._sync("00000000-0000-4000-8000-000000000000") is None
    finally:
        worker.stop()
    labels = {"provider": "unknown", "outcome": "crashed"}
    assert metrics.sample("openslots_syncs_total", labels) == 1


@pytest.fixture
def calendars() -> FakeCalendars:
    upstream = FakeCalendars()
    upstream.add("work", (1_772_463_600, 1_772_467_200), token=BEARER)
    return upstream


@pytest.fixture
def sync_client(database: Database, clock: FakeClock, calendars: FakeCalendars) -> Iterator[Any]:
    services = services_for(calendars, CredentialCipher([generate_key()]))
    settings = ApiSettings(database=database, clock=clock, sync=services)
    with TestClient(create_app(settings)) as client:
        yield client


def test_on_demand_syncs_and_their_lease_claims_are_on_metrics(
    sync_client: Any, make_tenant: Callable[[str], Tenant]
) -> None:
    shop = Shop(sync_client, make_tenant("acme").headers())
    resource = shop.resource("alice", week("mon"))
    service = shop.service([resource])
    body = {
        "resource_id": resource,
        "provider": "fake",
        "settings": {"calendar": "work", "token": BEARER},
    }
    created = shop.post("/v1/connections", body)
    answer = shop.availability(service, sync="true")
    assert [s["sync"] for s in answer["sources"]] == ["ok"]
    samples = scrape(sync_client)
    assert value(samples, "openslots_lease_claims_total", by="on_demand") == 1
    assert value(samples, "openslots_syncs_total", provider="fake", outcome="ok") == 1
    count = "openslots_sync_duration_seconds_count"
    assert value(samples, count, provider="fake", outcome="ok") == 1
    assert value(samples, "openslots_connections", status="ok") == 1
    # The connection's id is in no label.
    assert created["id"] not in sync_client.get("/metrics").text


def test_connections_by_status_cover_every_organization(
    database: Database, clock: FakeClock, client: Any
) -> None:
    first, second = Setup(database, clock), Setup(database, clock)  # two organizations
    ids = [first.connect("a"), first.connect("b"), second.connect("c"), second.connect("d")]
    statuses = {ids[0]: "ok", ids[1]: "error", ids[2]: "ok", ids[3]: "needs_reauth"}
    with database.write() as connection:
        for connection_id, status in statuses.items():
            connection.execute(
                update(connections).where(connections.c.id == connection_id).values(status=status)
            )
    samples = scrape(client)
    names = ("pending", "ok", "error", "needs_reauth", "disabled")
    counts = {status: value(samples, "openslots_connections", status=status) for status in names}
    assert counts == {"pending": 0, "ok": 2, "error": 1, "needs_reauth": 1, "disabled": 0}
    # Read at scrape time: a change shows at the next scrape.
    first.connect("e")
    assert value(scrape(client), "openslots_connections", status="pending") == 1


def test_a_scrape_survives_a_database_that_is_away() -> None:
    metrics = Metrics()

    def broken() -> dict[str, int]:
        raise OSError("connection refused by db.internal")

    metrics.watch_connections(broken)
    text = metrics.exposition()[0].decode()
    assert "openslots_connections{" not in text
    assert "openslots_syncs" in families(text)


# -- who may read /metrics --------------------------------------------------------------------


def _app_with(database: Database, clock: FakeClock, access: MetricsAccess) -> TestClient:
    metrics = Metrics(access)
    return TestClient(create_app(ApiSettings(database=database, clock=clock), metrics=metrics))


def test_metrics_can_be_turned_off(database: Database, clock: FakeClock) -> None:
    with _app_with(database, clock, MetricsAccess(enabled=False)) as client:
        response = client.get("/metrics")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_metrics_can_require_a_bearer_token(database: Database, clock: FakeClock) -> None:
    access = MetricsAccess(bearer_tokens=("new-token", "old-token"))
    with _app_with(database, clock, access) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "new-token"}):
            response = client.get("/metrics", headers=headers)
            assert response.status_code == 401, headers
            assert response.json()["error"]["code"] == "unauthorized"
            assert response.headers["www-authenticate"] == "Bearer"
        for token in access.bearer_tokens:
            assert scrape(client, Authorization=f"Bearer {token}")


def test_the_config_keys_reach_the_metrics() -> None:
    config = load_config(
        None,
        environ={
            "OPENSLOTS_METRICS__ENABLED": "false",
            "OPENSLOTS_METRICS__BEARER_TOKENS": "a, b",
        },
    )
    assert build_metrics(config).access == MetricsAccess(enabled=False, bearer_tokens=("a", "b"))
    assert build_metrics(load_config(None, environ={})).access == MetricsAccess()


def test_openmetrics_is_offered_to_who_asks(client: Any) -> None:
    response = client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")


# -- the worker's own /metrics ----------------------------------------------------------------


def _get(url: str, **headers: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_worker_exporter_serves_the_same_metrics() -> None:
    metrics = Metrics(MetricsAccess(bearer_tokens=("scrape-me",)))
    metrics.count_lease_claims("worker", 2)
    exporter = MetricsServer(metrics, "127.0.0.1", 0)
    exporter.start()
    try:
        base = f"http://127.0.0.1:{exporter.port}"
        status, body = _get(f"{base}/metrics", Authorization="Bearer scrape-me")
        assert status == 200
        assert value(parse(body), "openslots_lease_claims_total", by="worker") == 2
        status, body = _get(f"{base}/metrics")
        assert (status, json.loads(body)["error"]["code"]) == (401, "unauthorized")
        status, body = _get(f"{base}/other", Authorization="Bearer scrape-me")
        assert (status, json.loads(body)["error"]["code"]) == (404, "not_found")
    finally:
        exporter.stop()


def test_the_worker_exporter_follows_the_config() -> None:
    config = load_config(None, environ={})
    assert serve_worker_metrics(config, build_metrics(config)) is None  # worker_port = 0
    port = _free_port()
    config = load_config(None, environ={"OPENSLOTS_METRICS__WORKER_PORT": str(port)})
    exporter = serve_worker_metrics(config, build_metrics(config))
    assert exporter is not None
    try:
        assert _get(f"http://127.0.0.1:{port}/metrics")[0] == 200
    finally:
        exporter.stop()
    off = load_config(
        None,
        environ={"OPENSLOTS_METRICS__WORKER_PORT": str(port), "OPENSLOTS_METRICS__ENABLED": "0"},
    )
    assert serve_worker_metrics(off, build_metrics(off)) is None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- logs -----------------------------------------------------------------------------------


@pytest.fixture
def log_output() -> Iterator[Callable[[str, str], io.StringIO]]:
    """Configures logging into a buffer (format, level); the logging tree is restored after."""
    root = logging.getLogger()
    saved_root = (list(root.handlers), root.level)
    saved = {
        name: (list(logging.getLogger(name).handlers), logging.getLogger(name).level)
        for name in OUR_LOGGERS
    }
    saved_propagate = {name: logging.getLogger(name).propagate for name in OUR_LOGGERS}

    def configure(format: str = "json", level: str = "info") -> io.StringIO:
        buffer = io.StringIO()
        config = load_config(
            None,
            environ={"OPENSLOTS_LOGGING__FORMAT": format, "OPENSLOTS_LOGGING__LEVEL": level},
        )
        configure_logging(config, buffer)
        return buffer

    yield configure
    root.handlers[:] = saved_root[0]
    root.setLevel(saved_root[1])
    for name, (handlers, level) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = saved_propagate[name]


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_json_lines_parse_and_carry_the_fields(log_output: Any) -> None:
    buffer = log_output("json")
    logging.getLogger("openslots.worker").info(
        "sync of %s: %s", "c1", "error", extra={"connection_id": "c1", "attempt": 3}
    )
    logging.getLogger("openslots.api").debug("not at info")
    try:
        raise ValueError("broken")
    except ValueError:
        logging.getLogger("openslots.api").exception("request failed")
    first, second = lines(buffer)
    assert first["message"] == "sync of c1: error"
    assert (first["level"], first["logger"]) == ("INFO", "openslots.worker")
    assert (first["connection_id"], first["attempt"]) == ("c1", 3)
    assert first["timestamp"].endswith("Z")
    assert second["level"] == "ERROR"
    assert "ValueError: broken" in second["exception"]


def test_text_is_the_default_and_keeps_extras(log_output: Any) -> None:
    buffer = log_output("text")
    logging.getLogger("openslots.worker").warning("tick failed", extra={"claimed": 2})
    [line] = buffer.getvalue().splitlines()
    assert line.endswith("WARNING openslots.worker: tick failed claimed=2")
    assert log_settings(None) == LogSettings("text", "info")


def test_libraries_log_warnings_only_unless_debug(log_output: Any) -> None:
    buffer = log_output("json", "info")
    logging.getLogger("httpx").info("HTTP Request: GET https://x.example/feed.ics")
    logging.getLogger("httpx").warning("slow")
    assert [line["message"] for line in lines(buffer)] == ["slow"]
    buffer = log_output("json", "debug")
    logging.getLogger("httpx").info("HTTP Request: GET https://x.example/feed.ics")
    assert [line["message"] for line in lines(buffer)] == [
        "HTTP Request: GET https://x.example/[redacted]"
    ]


def test_configuring_twice_keeps_one_handler(log_output: Any) -> None:
    log_output("text")
    buffer = log_output("json")
    logging.getLogger("openslots").warning("once")
    assert len(lines(buffer)) == 1


@pytest.mark.parametrize(
    ("environ", "field"),
    [
        ({"OPENSLOTS_LOGGING__FORMAT": "xml"}, "logging.format"),
        ({"OPENSLOTS_LOGGING__LEVEL": "verbose"}, "logging.level"),
    ],
)
def test_bad_logging_keys_are_refused(environ: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        load_config(None, environ=environ)
    assert caught.value.field == field


def test_logging_keys_ignore_case() -> None:
    environ = {"OPENSLOTS_LOGGING__FORMAT": "JSON", "OPENSLOTS_LOGGING__LEVEL": "WARNING"}
    assert log_settings(load_config(None, environ=environ)) == LogSettings("json", "warning")


def test_uvicorn_logs_through_the_same_formatter(
    log_output: Any, database: Database, clock: FakeClock
) -> None:
    buffer = log_output("json")
    app = create_app(ApiSettings(database=database, clock=clock))
    port = _free_port()
    server = uvicorn.Server(uvicorn_config(app, "127.0.0.1", port))
    thread = threading.Thread(target=server.run)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline
            assert thread.is_alive()
            time.sleep(0.02)
        response = httpx.get(f"http://127.0.0.1:{port}/feeds/{FEED_TOKEN}/busy.ics?code=x")
        assert response.status_code == 404
    finally:
        server.should_exit = True
        thread.join(10)
    records = lines(buffer)  # every line is JSON
    loggers = {record["logger"] for record in records}
    assert {"uvicorn.error", "uvicorn.access"} <= loggers
    [access] = [r for r in records if r["logger"] == "uvicorn.access"]
    assert (access["method"], access["status"]) == ("GET", 404)
    assert access["path"] == f"/feeds/{REDACTED}/busy.ics?code={REDACTED}"
    assert FEED_TOKEN not in buffer.getvalue()


# -- redaction ------------------------------------------------------------------------------


def _secrets() -> list[str]:
    return [API_KEY, PASSWORD, FEED_TOKEN, "private-7f3a9c0b1d", "Zx81Qw", "S3cretPass", BEARER]


def _log_every_way(fernet: str) -> None:
    log = logging.getLogger("openslots.sync")
    log.info("key %s used", API_KEY)
    log.info("connecting to %s and %s", FEED_URL, CALDAV_URL)
    log.info("credentials %s", {"username": "alice", "password": PASSWORD})
    log.info("stored %r", fernet.encode())
    log.info("GET /feeds/%s/freebusy.ics", FEED_TOKEN)
    log.info("callback ?code=%s&state=abc", OAUTH_CODE)
    log.warning(
        "extras",
        extra={
            "url": FEED_URL,
            "password": PASSWORD,
            "headers": {"Authorization": f"Bearer {BEARER}", "Accept": "text/calendar"},
            "tokens": [FEED_TOKEN, fernet],
            "blob": fernet.encode(),
        },
    )
    try:
        raise RuntimeError(f"fetch {FEED_URL} with password={PASSWORD} failed ({API_KEY})")
    except RuntimeError:
        log.exception("sync crashed")
    log.info("plain %s", "Authorization: Bearer " + BEARER, stack_info=True)
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d',
        "10.0.0.1:5000",
        "GET",
        f"/feeds/{FEED_TOKEN}/busy.ics",
        "1.1",
        200,
    )


@pytest.mark.parametrize("format", ["json", "text"])
def test_no_secret_reaches_the_log(log_output: Any, format: str) -> None:
    buffer = log_output(format, "debug")
    fernet = _fernet_token()
    _log_every_way(fernet)
    text = buffer.getvalue()
    assert text.count("\n") >= 10
    for secret in [*_secrets(), fernet, OAUTH_CODE]:
        assert secret not in text, secret
    # What is not secret stays readable.
    assert "calendar.example.com" in text
    assert "dav.example.com" in text
    assert "osk_0a1b2c3d4e5f_" in text  # the key's prefix names it
    assert "RuntimeError" in text
    if format == "json":
        records = lines(buffer)
        extras = next(r for r in records if r["message"] == "extras")
        assert extras["password"] == REDACTED
        assert extras["headers"]["Accept"] == "text/calendar"
        assert extras["headers"]["Authorization"] == REDACTED


def test_the_worker_logs_no_secret_from_a_failing_sync(log_output: Any, world: Setup) -> None:
    buffer = log_output("json", "debug")
    connection_id = world.connect("leaky", soon(world.clock))
    # A connector that quotes its URL in an error message: stored as the connection's
    # last_error and logged by the worker.
    world.calendars.failures["leaky"] = TransientError(f"{FEED_URL} answered 503")
    worker = worker_of(world, Metrics())
    try:
        worker.tick()
        worker.drain()
    finally:
        worker.stop()
    records = lines(buffer)
    assert any(connection_id in r["message"] for r in records), records
    assert "Zx81Qw" not in buffer.getvalue()
    assert "private-7f3a9c0b1d" not in buffer.getvalue()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://u:p@h.example:8443/a/b?c=d#e", f"https://{REDACTED}@h.example:8443/{REDACTED}"),
        ("webcal://h.example/private/basic.ics", f"webcal://h.example/{REDACTED}"),
        ("http://127.0.0.1:8080 ready", "http://127.0.0.1:8080 ready"),
        ("postgresql://postgres:pw@db:5432/x", f"postgresql://{REDACTED}@db:5432/{REDACTED}"),
        ("token=abc; other=1", f"token={REDACTED}; other=1"),
        ("{'refresh_token': 'r1'}", f"{{'refresh_token': '{REDACTED}'}}"),
        ('"client_secret": "s"', f'"client_secret": "{REDACTED}"'),
        ("Authorization: Basic dXNlcjpwYXNz", f"Authorization: {REDACTED} {REDACTED}"),
        ("/v1/x?state=s1&start=2026-03-02", f"/v1/x?state={REDACTED}&start=2026-03-02"),
        ("osk_abc_def", f"osk_abc_{REDACTED}"),
        ("osk_justgarbage", f"osk_{REDACTED}"),
        # Ids, names and hashes are not secrets and stay.
        ("1b4e28ba-2fa1-41d2-883f-0016d3cca427", "1b4e28ba-2fa1-41d2-883f-0016d3cca427"),
        ("sync_once_with_a_long_function_name", "sync_once_with_a_long_function_name"),
        ("a AbCdEfGh1234567890XyZwQ b", f"a {REDACTED} b"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected
    assert redact(expected) == expected  # idempotent
