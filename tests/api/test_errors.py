"""Every error leaves the API in one shape, ``{"error": {"code", "message", "field"?}}``, with the
documented status, and nothing unexpected ever shows a traceback or an internal message."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from openslots.api.app import create_app
from openslots.api.settings import ApiSettings
from tests.conftest import Tenant

LEAKS = ("Traceback", 'File "', "sqlalchemy", "psycopg", "sqlite3", "manual_blocks", "secret sauce")


def assert_error_shape(
    response: Any, status: int, code: str, field: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert set(error) <= {"code", "message", "field"}
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    if field is not None:
        assert error["field"] == field
    for leak in LEAKS:
        assert leak not in response.text
    return error


@pytest.fixture
def acme(make_tenant: Callable[[str], Tenant]) -> Tenant:
    return make_tenant("acme")


def test_400_names_the_parameter(client: TestClient, acme: Tenant) -> None:
    assert_error_shape(
        client.get("/v1/teams?limit=many", headers=acme.headers()), 400, "validation_error", "limit"
    )
    assert_error_shape(
        client.get("/v1/teams?limit=0", headers=acme.headers()), 400, "validation_error", "limit"
    )
    resource = client.post(
        "/v1/resources", json={"name": "r", "timezone": "UTC"}, headers=acme.headers()
    ).json()["id"]
    assert_error_shape(
        client.get(f"/v1/resources/{resource}/blocks?end=2026-03-02", headers=acme.headers()),
        400,
        "validation_error",
        "start",
    )


def test_401_without_a_valid_key(client: TestClient, acme: Tenant) -> None:
    assert_error_shape(client.get("/v1/teams"), 401, "unauthorized")
    assert_error_shape(
        client.get("/v1/teams", headers={"Authorization": "Bearer osk_x_y"}), 401, "unauthorized"
    )


def test_403_for_a_missing_scope(client: TestClient, acme: Tenant) -> None:
    assert_error_shape(
        client.post("/v1/teams", json={"name": "x"}, headers=acme.headers("read")),
        403,
        "forbidden",
    )


def test_404_for_unknown_objects_and_paths(client: TestClient, acme: Tenant) -> None:
    assert_error_shape(
        client.get("/v1/teams/4b0c0e5a-8d1c-4c44-9a55-2a9d9c1f0000", headers=acme.headers()),
        404,
        "not_found",
    )
    assert_error_shape(client.get("/v1/nothing-here", headers=acme.headers()), 404, "not_found")


def test_405_for_a_method_a_path_does_not_have(client: TestClient, acme: Tenant) -> None:
    assert_error_shape(
        client.put("/v1/teams", json={"name": "x"}, headers=acme.headers()),
        405,
        "method_not_allowed",
    )


def test_413_for_a_body_over_the_limit(client: TestClient, acme: Tenant) -> None:
    big = {"name": "x" * 1_100_000}
    assert_error_shape(
        client.post("/v1/teams", json=big, headers=acme.headers()), 413, "payload_too_large"
    )

    def chunks() -> Iterator[bytes]:  # no Content-Length: the size is measured as it comes
        yield b'{"name": "'
        for _ in range(110):
            yield b"x" * 10_000
        yield b'"}'

    chunked = client.post(
        "/v1/teams",
        content=chunks(),
        headers={**acme.headers(), "Content-Type": "application/json"},
    )
    assert_error_shape(chunked, 413, "payload_too_large")
    assert client.get("/v1/teams", headers=acme.headers()).json()["items"] == []


def test_422_names_the_field_of_an_invalid_body(client: TestClient, acme: Tenant) -> None:
    assert_error_shape(
        client.post("/v1/teams", json={"name": "x", "colour": "red"}, headers=acme.headers()),
        422,
        "validation_error",
        "colour",
    )
    assert_error_shape(
        client.post("/v1/services", json={"name": "x", "duration": -5}, headers=acme.headers()),
        422,
        "validation_error",
        "duration",
    )
    assert_error_shape(
        client.post("/v1/teams", json=["not", "an", "object"], headers=acme.headers()),
        422,
        "validation_error",
    )
    malformed = client.post(
        "/v1/teams",
        content=b'{"name": ',
        headers={**acme.headers(), "Content-Type": "application/json"},
    )
    assert_error_shape(malformed, 422, "validation_error")


def test_an_unexpected_exception_is_a_bare_500(api_settings: ApiSettings) -> None:
    app = create_app(api_settings)

    @app.get("/v1/boom")
    def boom() -> None:
        raise RuntimeError("secret sauce in the message")

    with TestClient(app, raise_server_exceptions=False) as client:
        error = assert_error_shape(client.get("/v1/boom"), 500, "internal_error")
    assert error == {"code": "internal_error", "message": "internal error"}


def test_a_broken_database_is_a_bare_500(
    client: TestClient, acme: Tenant, api_settings: ApiSettings
) -> None:
    resource = client.post(
        "/v1/resources", json={"name": "r", "timezone": "UTC"}, headers=acme.headers()
    ).json()["id"]
    with api_settings.database.write() as connection:
        connection.execute(text("DROP TABLE manual_blocks"))
    app = create_app(api_settings)
    with TestClient(app, raise_server_exceptions=False) as broken:
        response = broken.get(
            f"/v1/resources/{resource}/blocks?start=2026-03-01&end=2026-03-02",
            headers=acme.headers(),
        )
    assert_error_shape(response, 500, "internal_error")
