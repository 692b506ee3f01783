"""API keys over HTTP (RELIABILITY-NOTES §2.3 K6, K7): 401 for every bad key, 403 for a missing
scope, tokens shown once and never stored, revocation effective on the very next request."""

from __future__ import annotations

import random
import secrets
import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from openslots.store.database import Database
from tests.conftest import Tenant


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]


def test_a_new_key_is_shown_once_and_works(
    client: TestClient, make_tenant: Callable[[str], Tenant]
) -> None:
    acme = make_tenant("acme")
    created = client.post(
        "/v1/api-keys", json={"name": "ci", "scopes": ["write"]}, headers=acme.headers()
    )
    assert created.status_code == 201, created.text
    key = created.json()
    token = key.pop("token")
    assert token.startswith(f"osk_{key['prefix']}_")
    assert key["scopes"] == ["write"]
    assert key["name"] == "ci"
    assert key["revoked_at"] is None
    # The token works for its scope...
    assert client.post("/v1/teams", json={"name": "t"}, headers=_bearer(token)).status_code == 201
    # ...and is never shown again, in the list or on its own.
    listed = client.get("/v1/api-keys", headers=acme.headers())
    one = client.get(f"/v1/api-keys/{key['id']}", headers=acme.headers())
    assert listed.status_code == 200
    assert one.status_code == 200
    for response in (listed, one):
        assert token not in response.text
        assert token.rsplit("_", 1)[-1] not in response.text
        assert "token" not in response.text
        assert "secret" not in response.text
    assert key["id"] in {k["id"] for k in listed.json()["items"]}
    assert one.json()["prefix"] == key["prefix"]


def test_many_keys_minted_through_the_api_all_authenticate(
    client: TestClient, make_tenant: Callable[[str], Tenant]
) -> None:
    # Secrets often contain "_" (URL-safe base64); every one of them must still parse.
    acme = make_tenant("acme")
    for i in range(25):
        token = client.post(
            "/v1/api-keys", json={"name": f"k{i}", "scopes": ["read"]}, headers=acme.headers()
        ).json()["token"]
        assert client.get("/v1/teams", headers=_bearer(token)).status_code == 200


def test_a_revoked_key_fails_on_its_very_next_request(
    client: TestClient, make_tenant: Callable[[str], Tenant]
) -> None:
    acme = make_tenant("acme")
    created = client.post(
        "/v1/api-keys", json={"name": "temp", "scopes": ["read"]}, headers=acme.headers()
    ).json()
    assert client.get("/v1/teams", headers=_bearer(created["token"])).status_code == 200
    revoked = client.delete(f"/v1/api-keys/{created['id']}", headers=acme.headers())
    assert revoked.status_code == 204
    assert revoked.content == b""
    _assert_error(client.get("/v1/teams", headers=_bearer(created["token"])), 401, "unauthorized")
    shown = client.get(f"/v1/api-keys/{created['id']}", headers=acme.headers()).json()
    assert shown["revoked_at"] is not None
    # Revoking again is harmless; the admin key itself is unaffected.
    assert client.delete(f"/v1/api-keys/{created['id']}", headers=acme.headers()).status_code == 204
    assert client.get("/v1/teams", headers=acme.headers()).status_code == 200


def test_a_key_can_revoke_itself(client: TestClient, make_tenant: Callable[[str], Tenant]) -> None:
    acme = make_tenant("acme")
    me = client.get("/v1/api-keys", headers=acme.headers()).json()["items"]
    admin_id = next(k["id"] for k in me if k["scopes"] == ["admin"])
    assert client.delete(f"/v1/api-keys/{admin_id}", headers=acme.headers()).status_code == 204
    _assert_error(client.get("/v1/api-keys", headers=acme.headers()), 401, "unauthorized")


BAD_HEADERS = [
    {},
    {"Authorization": ""},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer    "},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "Token osk_abc_def"},
    {"Authorization": "Bearer osk_"},
    {"Authorization": "Bearer osk__"},
    {"Authorization": "Bearer not-a-key"},
    {"Authorization": "Bearer osk_000000000000_" + "A" * 43},
    {"X-Api-Key": "osk_000000000000_xyz"},
]


def test_missing_garbled_and_unknown_keys_get_401(
    client: TestClient, make_tenant: Callable[[str], Tenant]
) -> None:
    make_tenant("acme")
    for headers in BAD_HEADERS:
        for method, path in (("GET", "/v1/teams"), ("POST", "/v1/teams"), ("GET", "/v1/api-keys")):
            _assert_error(
                client.request(method, path, headers=headers, json={"name": "x"}),
                401,
                "unauthorized",
            )


def test_a_known_prefix_with_a_wrong_secret_gets_401(
    client: TestClient, make_tenant: Callable[[str], Tenant]
) -> None:
    acme = make_tenant("acme")
    prefix = acme.admin.split("_")[1]
    for token in (
        f"osk_{prefix}_{secrets.token_urlsafe(32)}",
        acme.admin[:-1],
        acme.admin + "A",
        acme.admin.upper(),
        f"osk_{prefix}_",
    ):
        _assert_error(client.get("/v1/api-keys", headers=_bearer(token)), 401, "unauthorized")


def test_a_hundred_random_wrong_tokens_all_get_401(
    client: TestClient, make_tenant: Callable[[str], Tenant]
) -> None:
    acme = make_tenant("acme")
    prefix = acme.read.split("_")[1]
    rng = random.Random(20260301)
    alphabet = string.ascii_letters + string.digits + "-_.~+/="
    tokens = []
    for i in range(100):
        secret = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 80)))
        shape = i % 4
        if shape == 0:
            tokens.append(secret)  # anything at all
        elif shape == 1:
            tokens.append(f"osk_{secrets.token_hex(6)}_{secret}")  # well formed, unknown prefix
        elif shape == 2:
            tokens.append(f"osk_{prefix}_{secret}")  # a real prefix, a wrong secret
        else:
            tokens.append(f"osk_{secret}")
    statuses = [client.get("/v1/teams", headers=_bearer(token)).status_code for token in tokens]
    assert statuses == [401] * 100
    assert client.get("/v1/teams", headers=acme.headers("read")).status_code == 200


SCOPE_CASES = [
    ("read", "POST", "/v1/teams", {"name": "x"}),
    ("read", "PUT", "/v1/organization/schedule", {"timezone": "UTC"}),
    ("read", "GET", "/v1/api-keys", None),
    ("write", "GET", "/v1/api-keys", None),
    ("write", "POST", "/v1/api-keys", {"name": "x", "scopes": ["admin"]}),
]


def test_insufficient_scope_gets_403_and_changes_nothing(
    client: TestClient, make_tenant: Callable[[str], Tenant]
) -> None:
    acme = make_tenant("acme")
    for scope, method, path, body in SCOPE_CASES:
        before = client.get("/v1/api-keys", headers=acme.headers()).json()
        teams = client.get("/v1/teams", headers=acme.headers()).json()
        _assert_error(
            client.request(method, path, json=body, headers=acme.headers(scope)), 403, "forbidden"
        )
        after = client.get("/v1/api-keys", headers=acme.headers()).json()
        assert [k["id"] for k in after["items"]] == [k["id"] for k in before["items"]]
        assert client.get("/v1/teams", headers=acme.headers()).json() == teams


def test_write_and_read_keys_can_do_what_their_scope_allows(
    client: TestClient, make_tenant: Callable[[str], Tenant]
) -> None:
    acme = make_tenant("acme")
    assert (
        client.post("/v1/teams", json={"name": "t"}, headers=acme.headers("write")).status_code
        == 201
    )
    assert client.get("/v1/teams", headers=acme.headers("read")).status_code == 200


INVALID_KEY_BODIES = [
    ({"name": "x", "scopes": []}, "scopes"),
    ({"name": "x", "scopes": ["root"]}, "scopes.0"),
    ({"name": "x"}, "scopes"),
    ({"name": "x", "scopes": "admin"}, "scopes"),
    ({"name": "x", "scopes": ["read"], "org_id": "other"}, "org_id"),
    ({"name": "x" * 201, "scopes": ["read"]}, "name"),
]


def test_invalid_key_requests_get_422_naming_the_field(
    client: TestClient, make_tenant: Callable[[str], Tenant]
) -> None:
    acme = make_tenant("acme")
    for body, field in INVALID_KEY_BODIES:
        response = client.post("/v1/api-keys", json=body, headers=acme.headers())
        _assert_error(response, 422, "validation_error")
        assert response.json()["error"]["field"] == field, body
    assert len(client.get("/v1/api-keys", headers=acme.headers()).json()["items"]) == 3


def test_keys_are_never_stored_in_clear(
    client: TestClient, make_tenant: Callable[[str], Tenant], database: Database
) -> None:
    acme = make_tenant("acme")
    tokens = [
        client.post(
            "/v1/api-keys", json={"name": f"k{i}", "scopes": ["read"]}, headers=acme.headers()
        ).json()["token"]
        for i in range(5)
    ]
    tokens += [acme.admin, acme.write, acme.read]
    needles = [t for token in tokens for t in (token, token.split("_", 2)[2])]
    if database.is_sqlite:
        # Read the raw files: the database and its write-ahead log, where recent writes live.
        path = Path(database.engine.url.database or "")
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert len(raw) > 0
        hits = [n for n in needles if n.encode() in raw]
    else:
        with database.read() as connection:
            dump = "\n".join(
                str(row[0])
                for table in ("api_keys", "organizations")
                for row in connection.execute(text(f"SELECT t::text FROM {table} t"))
            )
        assert acme.admin.split("_")[1] in dump  # the scan does see the keys' rows
        hits = [n for n in needles if n in dump]
    assert hits == []
