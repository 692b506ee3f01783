"""The production shape, exercised outside Docker (no Docker engine here): the Dockerfile
installs with deploy/install.sh, and this test runs that same script into a fresh virtual
environment, then runs the `migrate`, `api` and `worker` services of docker-compose.yml with
their own commands and environment against this machine's PostgreSQL. What differs from the
containers, and only that: the database URL points at the test database instead of the
`postgres` service, the API listens on a free port instead of 8080, and the worker polls every
half second so the test need not wait ten.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from openslots.credentials import generate_key
from tests.databases import fresh_postgres_database
from tests.fakes.ics_server import IcsServer

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
_VARIABLE = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")


def _substitute(text: str, variables: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}``."""

    def one(match: re.Match[str]) -> str:
        name, kind, rest = match.groups()
        if variables.get(name):
            return variables[name]
        if kind == "-":
            return rest
        raise AssertionError(f"compose needs {name}: {rest}")

    return _VARIABLE.sub(one, text)


def _service(name: str, variables: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    service = document["services"][name]
    environment = {k: _substitute(str(v), variables) for k, v in service["environment"].items()}
    return [str(part) for part in service["command"]], environment


def test_the_dockerfile_installs_with_the_tested_script() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    runs = [line for line in dockerfile.splitlines() if line.startswith("RUN ")]
    assert runs == ["RUN sh deploy/install.sh . \\"]
    assert "pip install" not in dockerfile
    assert 'CMD ["serve", "--host", "0.0.0.0"]' in dockerfile


def test_compose_describes_postgres_one_api_and_one_worker() -> None:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    services = document["services"]
    assert set(services) == {"postgres", "migrate", "api", "worker"}
    assert services["api"]["command"][0] == "api"
    assert services["worker"]["command"] == ["worker"]
    with pytest.raises(AssertionError, match="OPENSLOTS_ENCRYPTION_KEYS"):
        _service("api", {})  # no key: compose refuses to start rather than make one up


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _get(url: str, token: str | None = None, body: Any = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            kind = response.headers.get("content-type", "")
            return response.status, json.loads(raw) if "json" in kind else raw.decode()
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with openslots installed by deploy/install.sh."""
    venv = tmp_path_factory.mktemp("deploy") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    result = subprocess.run(
        ["sh", str(ROOT / "deploy" / "install.sh"), str(ROOT)],
        env={**os.environ, "PYTHON": str(venv / "bin" / "python")},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return venv / "bin"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with fresh_postgres_database("openslots_deploy") as url:
        yield url


def _feed() -> bytes:
    day = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y%m%d")
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tests//EN\r\nBEGIN:VEVENT\r\nUID:d@tests\r\n"
        f"DTSTAMP:{day}T090000Z\r\nDTSTART:{day}T090000Z\r\nDTEND:{day}T100000Z\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def test_the_compose_services_run_outside_docker(
    installed: Path, postgres_url: str, tmp_path: Path
) -> None:
    variables = {"OPENSLOTS_ENCRYPTION_KEYS": generate_key()}
    port, worker_metrics = _free_port(), _free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith("OPENSLOTS_")}

    def environment(service: str) -> tuple[list[str], dict[str, str]]:
        command, env = _service(service, variables)
        env["OPENSLOTS_DATABASE_URL"] = postgres_url
        env["OPENSLOTS_SYNC__POLL_SECONDS"] = "0.5"
        env["OPENSLOTS_SYNC__ALLOW_PRIVATE_NETWORKS"] = "true"  # the feed server is local
        if "--port" in command:
            command[command.index("--port") + 1] = str(port)
        if "OPENSLOTS_METRICS__WORKER_PORT" in env:
            env["OPENSLOTS_METRICS__WORKER_PORT"] = str(worker_metrics)
            env["OPENSLOTS_SERVER__HOST"] = "127.0.0.1"
        return [str(installed / "openslots"), *command], {**base, **env}

    command, env = environment("migrate")
    migrated = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert migrated.returncode == 0, migrated.stderr
    processes = []
    try:
        for service in ("api", "worker"):
            command, env = environment(service)
            with (tmp_path / f"{service}.log").open("wb") as log:
                processes.append(
                    subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
                )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(f"{url}/readyz")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert time.monotonic() < deadline, (tmp_path / "api.log").read_text()
            time.sleep(0.2)
        command, env = environment("api")
        created = subprocess.run(
            [command[0], "orgs", "create", "Deploy Co", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        token = json.loads(created.stdout)["api_key"]
        with IcsServer() as feeds:
            feeds.set_feed("/team.ics", _feed())
            status, resource = _get(
                f"{url}/v1/resources", token, {"name": "room", "timezone": "UTC"}
            )
            assert status == 201, resource
            body = {
                "resource_id": resource["id"],
                "provider": "ics",
                "settings": {"url": feeds.url("/team.ics")},
            }
            status, connection = _get(f"{url}/v1/connections", token, body)
            assert status == 201, connection
            # The API process has no worker: the worker process syncs it.
            deadline = time.monotonic() + 30
            while _get(f"{url}/v1/connections/{connection['id']}", token)[1]["status"] != "ok":
                assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
                time.sleep(0.2)
        assert _get(f"{url}/healthz")[0] == 200
        # The worker's own metrics count the sync it made.
        status, text = _get(f"http://127.0.0.1:{worker_metrics}/metrics")
        assert status == 200
        assert 'openslots_syncs_total{outcome="ok",provider="ics"}' in text
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    logs = "".join((tmp_path / f"{s}.log").read_text() for s in ("api", "worker"))
    assert "Traceback" not in logs, logs
