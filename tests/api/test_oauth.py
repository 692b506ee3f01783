"""The OAuth connect flows (issue 5): consent URLs with PKCE and a sealed state, callbacks that
redeem the code at a fake token endpoint (respx) and create, or reconnect, an encrypted
connection; forged, expired, replayed and foreign states, refused codes, declined consent and a
missing client id are clear errors."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msal
import pytest
import respx
from fastapi.testclient import TestClient
from sqlalchemy import update

from openslots.api.app import create_app
from openslots.api.settings import ApiSettings
from openslots.credentials import CredentialCipher, generate_key
from openslots.oauth.cli_flow import connect_from_shell, parse_answer
from openslots.oauth.errors import InvalidState
from openslots.store.connections import stored_credentials
from openslots.store.database import Database
from openslots.store.schema import connections
from openslots.sync.registry import ConnectorRegistry
from openslots.sync.services import SyncServices
from tests.api.test_availability import Shop
from tests.api.test_connections import dump, error_of
from tests.conftest import FakeClock
from tests.fakes.oauth_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    GOOGLE_AUTH,
    GOOGLE_TOKEN,
    MS_AUTHORITY,
    FakeOAuth,
)

REDIRECT = "https://slots.example.com/v1/oauth/{}/callback"


def provider_configs(**overrides: Any) -> dict[str, dict[str, Any]]:
    common = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    configs = {
        "google": {
            **common,
            "redirect_uri": REDIRECT.format("google"),
            "auth_uri": GOOGLE_AUTH,
            "token_uri": GOOGLE_TOKEN,
        },
        "outlook": {
            **common,
            "redirect_uri": REDIRECT.format("outlook"),
            "authority": MS_AUTHORITY,
        },
    }
    for dotted, value in overrides.items():
        section, key = dotted.split("__")
        configs[section][key] = value
    return configs


class Flow:
    """One organization connecting calendars through the API and the fake providers."""

    def __init__(
        self, client: Any, shop: Shop, write: dict[str, str], fake: FakeOAuth, org_id: str
    ) -> None:
        self.org_id = org_id
        self.client = client
        self.shop = shop
        self.write = write
        self.fake = fake

    def authorize(self, provider: str, resource_id: str, status: int = 200) -> Any:
        response = self.client.get(
            f"/v1/oauth/{provider}/authorize",
            params={"resource_id": resource_id},
            headers=self.write,
        )
        assert response.status_code == status, response.text
        return response

    def url(self, provider: str, resource_id: str) -> str:
        url: str = self.authorize(provider, resource_id).json()["authorization_url"]
        return url

    def callback(self, provider: str, **params: str) -> Any:
        # The browser arrives without an API key.
        return self.client.get(f"/v1/oauth/{provider}/callback", params=params)

    def connect(self, provider: str, resource_id: str, email: str = "ada@example.com") -> Any:
        url = self.url(provider, resource_id)
        code = self.fake.consent(url, email)
        return self.callback(provider, code=code, state=query_of(url)["state"])


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def fake() -> Iterator[FakeOAuth]:
    servers = FakeOAuth()
    with respx.mock(assert_all_called=False) as router:
        servers.install(router)
        yield servers


@pytest.fixture
def cipher() -> CredentialCipher:
    return CredentialCipher([generate_key()])


def make_client(
    database: Database, clock: FakeClock, cipher: CredentialCipher, configs: dict[str, Any]
) -> TestClient:
    services = SyncServices(
        registry=ConnectorRegistry(discover=False),
        http_client=lambda: pytest.fail("the OAuth flow uses no connector HTTP client"),
        cipher=cipher,
        provider_configs=configs,
    )
    return TestClient(create_app(ApiSettings(database=database, clock=clock, sync=services)))


@pytest.fixture
def flow(
    database: Database,
    clock: FakeClock,
    cipher: CredentialCipher,
    fake: FakeOAuth,
    make_tenant: Any,
) -> Iterator[Flow]:
    with make_client(database, clock, cipher, provider_configs()) as client:
        tenant = make_tenant("acme")
        yield Flow(
            client,
            Shop(client, tenant.headers("admin")),
            tenant.headers("write"),
            fake,
            tenant.org_id,
        )


def test_google_authorization_url_asks_for_offline_calendar_access_with_pkce(flow: Flow) -> None:
    resource = flow.shop.resource("alice")
    url = flow.url("google", resource)
    assert url.startswith(GOOGLE_AUTH + "?")
    query = query_of(url)
    assert query["response_type"] == "code"
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == REDIRECT.format("google")
    assert query["scope"].split() == [
        "https://www.googleapis.com/auth/calendar.readonly",
        "openid",
        "email",
    ]
    assert (query["access_type"], query["prompt"], query["include_granted_scopes"]) == (
        "offline",
        "consent",
        "true",
    )
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43  # base64url of a SHA-256, no padding
    assert len(query["state"]) > 100
    assert CLIENT_SECRET not in url
    # A new verifier and a new state every time.
    again = query_of(flow.url("google", resource))
    assert (again["code_challenge"], again["state"]) != (query["code_challenge"], query["state"])


def test_outlook_authorization_url(flow: Flow) -> None:
    url = flow.url("outlook", flow.shop.resource("alice"))
    assert url.startswith(f"{MS_AUTHORITY}/oauth2/v2.0/authorize?")
    query = query_of(url)
    assert {"Calendars.Read", "offline_access", "openid", "email"} <= set(query["scope"].split())
    assert query["redirect_uri"] == REDIRECT.format("outlook")
    assert (query["response_type"], query["code_challenge_method"]) == ("code", "S256")
    assert query["client_id"] == CLIENT_ID
    assert len(query["nonce"]) == 64  # the SHA-256 msal checks the id_token's nonce against


def test_authorize_can_redirect(flow: Flow) -> None:
    response = flow.client.get(
        "/v1/oauth/google/authorize",
        params={"resource_id": flow.shop.resource("alice"), "redirect": "true"},
        headers=flow.write,
        follow_redirects=False,
    )
    assert response.status_code == 302
    assert response.headers["location"].startswith(GOOGLE_AUTH + "?")


def test_authorize_needs_a_write_key_and_an_own_resource(flow: Flow, make_tenant: Any) -> None:
    resource = flow.shop.resource("alice")
    other = make_tenant("globex")
    foreign = Shop(flow.client, other.headers("admin")).resource("bob")
    response = flow.client.get(
        "/v1/oauth/google/authorize",
        params={"resource_id": resource},
        headers=other.headers("read"),
    )
    assert error_of(response, 403)["code"] == "forbidden"
    assert error_of(flow.authorize("google", foreign, 404), 404)["code"] == "not_found"
    assert error_of(flow.authorize("yahoo", resource, 404), 404)["code"] == "not_found"
    response = flow.client.get("/v1/oauth/google/authorize", params={"resource_id": resource})
    assert error_of(response, 401)["code"] == "unauthorized"


def test_google_callback_creates_an_encrypted_connection(
    flow: Flow, database: Database, cipher: CredentialCipher, clock: FakeClock
) -> None:
    resource = flow.shop.resource("alice")
    url = flow.url("google", resource)
    response = flow.callback("google", code=flow.fake.consent(url), state=query_of(url)["state"])
    assert response.status_code == 201, response.text
    connection = response.json()["connection"]
    assert response.json()["reconnected"] is False
    assert (connection["provider"], connection["resource_id"], connection["status"]) == (
        "google",
        resource,
        "pending",
    )
    assert connection["settings"] == {"calendars": "primary", "emails": ["ada@example.com"]}
    assert connection["has_credentials"] is True
    # PKCE: the token endpoint got the verifier of the URL's challenge, and our client.
    form = flow.fake.requests[-1]
    digest = hashlib.sha256(form["code_verifier"].encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == query_of(url)["code_challenge"]
    assert (form["client_id"], form["redirect_uri"]) == (CLIENT_ID, REDIRECT.format("google"))
    # Stored encrypted, in the Google connector's format.
    refresh_token = flow.fake.refresh_tokens[-1]
    assert refresh_token not in dump(database)
    assert refresh_token not in response.text
    with database.read() as db:
        token = stored_credentials(db, flow.org_id, connection["id"])
    assert token is not None
    credentials = cipher.decrypt(token)
    assert credentials["refresh_token"] == refresh_token
    assert credentials["access_token"].startswith("access-")
    assert credentials["expires_at"] == clock() + 3599
    assert "https://www.googleapis.com/auth/calendar.readonly" in credentials["scopes"]
    listed = flow.client.get("/v1/connections", headers=flow.write).json()["items"]
    assert [c["id"] for c in listed] == [connection["id"]]


def test_outlook_callback_stores_an_msal_cache(
    flow: Flow, database: Database, cipher: CredentialCipher
) -> None:
    resource = flow.shop.resource("alice")
    response = flow.connect("outlook", resource, email="grace@contoso.test")
    assert response.status_code == 201, response.text
    connection = response.json()["connection"]
    assert connection["provider"] == "outlook"
    assert connection["settings"] == {"calendars": "default", "emails": ["grace@contoso.test"]}
    form = flow.fake.requests[-1]
    assert form["grant_type"] == "authorization_code"
    assert "Calendars.Read" in form["scope"].split()
    refresh_token = flow.fake.refresh_tokens[-1]
    assert refresh_token not in dump(database)
    with database.read() as db:
        token = stored_credentials(db, flow.org_id, connection["id"])
    assert token is not None
    credentials = cipher.decrypt(token)
    # What the Outlook connector does with it: a cache msal finds the account and its token in.
    cache = msal.SerializableTokenCache()
    cache.deserialize(credentials["token_cache"])
    accounts = list(cache.search(msal.TokenCache.CredentialType.ACCOUNT))
    assert [a["home_account_id"] for a in accounts] == [credentials["home_account_id"]]
    tokens = list(cache.search(msal.TokenCache.CredentialType.REFRESH_TOKEN))
    assert [t["secret"] for t in tokens] == [refresh_token]


@pytest.mark.parametrize("provider", ["google", "outlook"])
def test_a_forged_state_is_refused(flow: Flow, provider: str) -> None:
    resource = flow.shop.resource("alice")
    url = flow.url(provider, resource)
    code = flow.fake.consent(url)
    state = query_of(url)["state"]
    forged = state[:-8] + ("A" * 8 if not state.endswith("A" * 8) else "B" * 8)
    for bad in (forged, "not-a-state", CredentialCipher([generate_key()]).encrypt({}).decode()):
        error = error_of(flow.callback(provider, code=code, state=bad), 400)
        assert error["code"] == "invalid_state"
    # A state made for the other provider.
    other = "outlook" if provider == "google" else "google"
    error = error_of(flow.callback(other, code=code, state=state), 400)
    assert (error["code"], "made for" in error["message"]) == ("invalid_state", True)
    assert flow.fake.requests == []  # nothing reached the token endpoint
    assert flow.client.get("/v1/connections", headers=flow.write).json()["items"] == []


def test_credentials_cannot_pass_as_a_state(flow: Flow, cipher: CredentialCipher) -> None:
    # Made with the same keys, but not a state.
    token = cipher.encrypt({"refresh_token": "x", "provider": "google"}).decode()
    assert error_of(flow.callback("google", code="c", state=token), 400)["code"] == (
        "invalid_state"
    )


def test_an_expired_state_is_refused(flow: Flow, clock: FakeClock) -> None:
    url = flow.url("google", flow.shop.resource("alice"))
    code = flow.fake.consent(url)
    clock.advance(601)
    error = error_of(flow.callback("google", code=code, state=query_of(url)["state"]), 400)
    assert error["code"] == "invalid_state"
    assert "expired" in error["message"]
    assert flow.fake.requests == []


def test_a_state_works_until_ten_minutes(flow: Flow, clock: FakeClock) -> None:
    url = flow.url("google", flow.shop.resource("alice"))
    clock.advance(600)
    response = flow.callback("google", code=flow.fake.consent(url), state=query_of(url)["state"])
    assert response.status_code == 201, response.text


def test_a_state_is_used_once(flow: Flow) -> None:
    url = flow.url("google", flow.shop.resource("alice"))
    state = query_of(url)["state"]
    assert flow.callback("google", code=flow.fake.consent(url), state=state).status_code == 201
    # Even with a fresh code for it, the state does not work twice.
    error = error_of(flow.callback("google", code=flow.fake.consent(url), state=state), 400)
    assert (error["code"], "already used" in error["message"]) == ("invalid_state", True)
    assert len(flow.client.get("/v1/connections", headers=flow.write).json()["items"]) == 1


@pytest.mark.parametrize("provider", ["google", "outlook"])
def test_a_code_already_used_is_a_clear_error(flow: Flow, provider: str) -> None:
    resource = flow.shop.resource("alice")
    first = flow.url(provider, resource)
    code = flow.fake.consent(first)
    assert flow.callback(provider, code=code, state=query_of(first)["state"]).status_code == 201
    # The same code with a fresh state (as a double-submitted callback would be).
    second = flow.url(provider, resource)
    error = error_of(flow.callback(provider, code=code, state=query_of(second)["state"]), 400)
    assert error["code"] == "oauth_denied"
    assert "invalid_grant" in error["message"]
    assert "already used" in error["message"]
    assert len(flow.client.get("/v1/connections", headers=flow.write).json()["items"]) == 1


@pytest.mark.parametrize("provider", ["google", "outlook"])
def test_declined_consent_is_a_clear_error(flow: Flow, provider: str) -> None:
    url = flow.url(provider, flow.shop.resource("alice"))
    response = flow.callback(
        provider,
        error="access_denied",
        error_description="The user denied access",
        state=query_of(url)["state"],
    )
    error = error_of(response, 400)
    assert error["code"] == "oauth_denied"
    assert "declined" in error["message"]
    assert "access_denied" in error["message"]
    assert flow.fake.requests == []


def test_a_callback_without_state_or_code(flow: Flow) -> None:
    assert error_of(flow.callback("google", code="c"), 400)["code"] == "invalid_state"
    url = flow.url("google", flow.shop.resource("alice"))
    error = error_of(flow.callback("google", state=query_of(url)["state"]), 400)
    assert error["code"] == "oauth_denied"


def test_google_without_the_calendar_permission_is_refused(flow: Flow) -> None:
    flow.fake.granted_scope = "openid email"  # the user unticked the calendar box
    response = flow.connect("google", flow.shop.resource("alice"))
    error = error_of(response, 400)
    assert error["code"] == "oauth_denied"
    assert "calendar permission" in error["message"]


def test_google_freebusy_scopes_are_enough(flow: Flow) -> None:
    flow.fake.granted_scope = (
        "https://www.googleapis.com/auth/calendar.events.freebusy "
        "https://www.googleapis.com/auth/calendar.calendarlist.readonly openid email"
    )
    assert flow.connect("google", flow.shop.resource("alice")).status_code == 201


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ({"google__client_id": ""}, "google.client_id"),
        ({"google__redirect_uri": ""}, "google.redirect_uri"),
        ({"outlook__client_secret": ""}, "outlook.client_secret"),
    ],
)
def test_a_missing_client_setting_is_named(
    *,
    database: Database,
    clock: FakeClock,
    cipher: CredentialCipher,
    make_tenant: Any,
    override: dict[str, str],
    key: str,
) -> None:
    provider = key.split(".", maxsplit=1)[0]
    with make_client(database, clock, cipher, provider_configs(**override)) as client:
        tenant = make_tenant("acme")
        resource = Shop(client, tenant.headers("admin")).resource("alice")
        response = client.get(
            f"/v1/oauth/{provider}/authorize",
            params={"resource_id": resource},
            headers=tenant.headers("write"),
        )
        error = error_of(response, 503)
        assert error["code"] == "oauth_not_configured"
        assert error["message"].startswith(f"{key} is not set")


def test_reconnecting_a_needs_reauth_connection_replaces_its_tokens(
    flow: Flow, database: Database, cipher: CredentialCipher
) -> None:
    resource = flow.shop.resource("alice")
    first = flow.connect("google", resource).json()["connection"]
    # The user chose calendars meanwhile; then Google revoked the grant.
    with database.write() as db:
        db.execute(
            update(connections)
            .where(connections.c.id == first["id"])
            .values(
                status="needs_reauth",
                last_error="invalid_grant",
                settings={"calendars": ["work@example.com"], "emails": ["old@example.com"]},
            )
        )
    response = flow.connect("google", resource, email="ada@example.com")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["reconnected"] is True
    again = body["connection"]
    assert again["id"] == first["id"]
    assert (again["status"], again["last_error"]) == ("pending", None)
    assert again["settings"] == {"calendars": ["work@example.com"], "emails": ["ada@example.com"]}
    with database.read() as db:
        token = stored_credentials(db, flow.org_id, first["id"])
    assert token is not None
    assert cipher.decrypt(token)["refresh_token"] == flow.fake.refresh_tokens[-1]
    assert len(flow.client.get("/v1/connections", headers=flow.write).json()["items"]) == 1


def test_the_same_account_again_updates_and_another_account_adds(flow: Flow) -> None:
    resource = flow.shop.resource("alice")
    first = flow.connect("outlook", resource, email="grace@contoso.test").json()["connection"]
    same = flow.connect("outlook", resource, email="Grace@contoso.test")
    assert same.status_code == 200
    assert same.json()["connection"]["id"] == first["id"]
    other = flow.connect("outlook", resource, email="alan@contoso.test")
    assert other.status_code == 201
    assert other.json()["connection"]["id"] != first["id"]


def test_the_state_carries_no_readable_secret(flow: Flow) -> None:
    url = flow.url("google", flow.shop.resource("alice"))
    state = query_of(url)["state"]
    padded = state + "=" * (-len(state) % 4)
    raw = base64.urlsafe_b64decode(padded)
    assert b"verifier" not in raw
    assert b"org_id" not in raw


@pytest.mark.parametrize("provider", ["google", "outlook"])
def test_the_shell_flow_takes_the_pasted_address(
    *,
    database: Database,
    clock: FakeClock,
    cipher: CredentialCipher,
    fake: FakeOAuth,
    make_tenant: Any,
    provider: str,
) -> None:
    services = SyncServices(
        registry=ConnectorRegistry(discover=False),
        http_client=lambda: pytest.fail("no connector HTTP client"),
        cipher=cipher,
        provider_configs=provider_configs(),
    )
    tenant = make_tenant("acme")
    with make_client(database, clock, cipher, provider_configs()) as client:
        resource = Shop(client, tenant.headers("admin")).resource("alice")
    printed: list[str] = []

    def browser(prompt: str) -> str:
        # The user opens the printed URL, consents, and pastes where the browser landed.
        url = next(line.strip() for line in printed if line.strip().startswith("https://"))
        code = fake.consent(url, "ada@example.com")
        return f"{REDIRECT.format(provider)}?code={code}&state={query_of(url)['state']}"

    row, reconnected = connect_from_shell(
        services,
        database,
        clock=clock,
        provider=provider,
        org_id=tenant.org_id,
        resource_id=resource,
        read_line=browser,
        write=printed.append,
    )
    assert (row["provider"], row["resource_id"], reconnected) == (provider, resource, False)
    assert row["settings"]["emails"] == ["ada@example.com"]
    assert parse_answer("error=access_denied")["error"] == "access_denied"
    with pytest.raises(InvalidState):
        parse_answer("https://slots.example.com/v1/oauth/google/callback?code=abc")
