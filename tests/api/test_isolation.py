"""Cross-tenant isolation (RELIABILITY-NOTES §3.3 T1, T2, T4, T6): with A's key and B's ids,
every route answers 404, exactly as for ids that do not exist, shows none of B's data, and
changes none of B's rows.

Tenants A and B each get one object of every type: a location, a team, resources, a service,
schedules (organization, team, location, resource), manual blocks (one-off and recurring), a
synced block, an extra API key, and a hold and a booking made with the store's functions.

The matrix below has one or more entries per route. The route list comes from ``app.routes``:
``test_every_route_with_an_id_is_in_the_matrix`` fails when a route takes an id (a path
parameter, or a query parameter or body field named ``id``/``*_id``/``*_ids``) and has no entry,
so a route added later cannot escape the matrix. An entry whose route does not exist (yet) is
skipped with a message naming it, so the entries for routes still being written are ready.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import insert, select

from openslots.api.app import create_app
from openslots.api.settings import ApiSettings
from openslots.credentials import CredentialCipher, generate_key
from openslots.store import catalog, reservations
from openslots.store.connections import create_connection
from openslots.store.database import Database
from openslots.store.keys import mint_key
from openslots.store.migrate import upgrade
from openslots.store.schema import busy_blocks, metadata
from openslots.sync.fetch import Fetcher
from openslots.sync.registry import ConnectorRegistry
from openslots.sync.services import SyncServices
from tests.conftest import BACKENDS
from tests.databases import fresh_postgres_database

NOW = 1_772_366_400  # 2026-03-01T12:00:00Z, a Sunday
SLOT = "2026-03-03T15:00:00Z"  # a Tuesday afternoon, inside both tenants' hours
WEEKDAYS = {
    "timezone": "UTC",
    "rules": [{"day": d, "start": "09:00", "end": "17:00"} for d in ("mon", "tue", "wed", "thu")],
}
LINK_TABLES = ("resource_locations", "service_resources", "booking_resources", "hold_resources")


# -- the two tenants ------------------------------------------------------------------------


@dataclass
class Tenant:
    """One organization's seeded objects; ``markers`` are every id and name that is its own."""

    org_id: str
    admin: str
    ids: dict[str, str] = field(default_factory=dict)
    markers: set[str] = field(default_factory=set)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin}"}

    def __getitem__(self, name: str) -> str:
        return self.ids[name]


@dataclass
class World:
    app: FastAPI
    client: TestClient
    database: Database
    a: Tenant
    b: Tenant


def _seed(client: TestClient, database: Database, name: str) -> Tenant:
    with database.write() as connection:
        org = catalog.create_org(connection, f"{name}-org", f"{name}-{uuid.uuid4().hex[:6]}", NOW)
        _, admin = mint_key(connection, org["id"], ("admin",), f"{name}-admin-key", NOW)
    tenant = Tenant(org["id"], admin)
    tenant.markers |= {org["id"], org["slug"], admin.split("_")[1]}

    def post(path: str, body: dict[str, Any], label: str) -> str:
        response = client.post(path, json=body, headers=tenant.headers())
        assert response.status_code == 201, response.text
        created = response.json()
        tenant.ids[label] = created["id"]
        tenant.markers.add(created["id"])
        return str(created["id"])

    def put(path: str, body: dict[str, Any]) -> None:
        response = client.put(path, json=body, headers=tenant.headers())
        assert response.status_code == 200, response.text

    put("/v1/organization/schedule", WEEKDAYS)
    location = post(
        "/v1/locations",
        {"name": f"{name}-location", "timezone": "UTC", "schedule": WEEKDAYS},
        "location",
    )
    team = post("/v1/teams", {"name": f"{name}-team"}, "team")
    put(f"/v1/teams/{team}/schedule", WEEKDAYS)
    put(f"/v1/locations/{location}/schedule", WEEKDAYS)
    first = post(
        "/v1/resources",
        {
            "name": f"{name}-resource-1",
            "timezone": "UTC",
            "capacity": 2,
            "team_id": team,
            "location_ids": [location],
        },
        "resource",
    )
    put(f"/v1/resources/{first}/schedule", WEEKDAYS)
    second = post("/v1/resources", {"name": f"{name}-resource-2", "timezone": "UTC"}, "resource2")
    service = post(
        "/v1/services",
        {
            "name": f"{name}-service",
            "duration": 30,
            "resource_ids": [first, second],
            "location_id": location,
        },
        "service",
    )
    post(
        f"/v1/resources/{first}/blocks",
        {"start": "2026-03-02T10:00:00Z", "end": "2026-03-02T11:00:00Z", "note": f"{name}-note"},
        "block",
    )
    post(
        f"/v1/resources/{first}/blocks",
        {"start": "2026-03-02T12:00:00Z", "end": "2026-03-02T12:30:00Z", "rrule": "FREQ=DAILY"},
        "series",
    )
    post("/v1/api-keys", {"name": f"{name}-extra-key", "scopes": ["read"]}, "key")
    _seed_feeds(client, tenant, post, first, team)
    synced = str(uuid.uuid4())
    start = int(NOW + 2 * 86_400)
    with database.write() as connection:
        connection.execute(
            insert(busy_blocks).values(
                id=synced,
                org_id=tenant.org_id,
                resource_id=first,
                source=f"{name}-calendar",
                start_at=start,
                end_at=start + 3600,
                kind="busy",
            )
        )
        reservation = {
            "service_id": service,
            "resource_ids": [first],
            "party_size": 1,
            "buffer_before": 0,
            "buffer_after": 0,
        }
        hold = reservations.create_hold(
            connection,
            tenant.org_id,
            {**reservation, "start": start + 7200, "end": start + 9000, "expires_at": NOW + 3600},
            NOW,
        )
        booking = reservations.create_booking(
            connection,
            tenant.org_id,
            {**reservation, "start": start + 3600, "end": start + 5400},
            NOW,
        )
        calendar = create_connection(
            connection,
            tenant.org_id,
            resource_id=first,
            provider="ics",
            settings={"url": f"https://{name}.example/…"},
            credentials=None,
            sync_interval=900,
            now=NOW,
        )
    tenant.ids |= {
        "synced": synced,
        "hold": hold["id"],
        "booking": booking["id"],
        "connection": calendar["id"],
    }
    tenant.markers |= {synced, hold["id"], booking["id"], calendar["id"], f"{name}-"}
    return tenant


def _seed_feeds(
    client: TestClient,
    tenant: Tenant,
    post: Callable[[str, dict[str, Any], str], str],
    resource: str,
    team: str,
) -> None:
    """A live feed of the resource (``feed``, its token ``feedtoken``) and of the team
    (``teamfeed``), the token of a revoked feed (``revokedtoken``) and a well-formed token that
    opens nothing (``wrongtoken``)."""

    def mint(path: str) -> dict[str, Any]:
        response = client.post(path, json={}, headers=tenant.headers())
        assert response.status_code == 201, response.text
        minted: dict[str, Any] = response.json()
        return minted

    feed = mint(f"/v1/resources/{resource}/feeds")
    post(f"/v1/teams/{team}/feeds", {}, "teamfeed")
    revoked = mint(f"/v1/resources/{resource}/feeds")
    gone = client.delete(f"/v1/feeds/{revoked['id']}", headers=tenant.headers())
    assert gone.status_code == 204, gone.text
    assert client.get(f"/feeds/{feed['token']}/busy.ics").status_code == 200
    tenant.ids |= {
        "feed": feed["id"],
        "feedtoken": feed["token"],
        "revokedtoken": revoked["token"],
        "wrongtoken": secrets.token_urlsafe(32),
    }
    tenant.markers |= {feed["id"], feed["token"], revoked["token"]}


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """Both tenants, seeded once per backend for the whole matrix (every call must be a 404
    that changes nothing, which each test checks, so the cases cannot disturb one another)."""
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('isolation') / 'openslots.db'}"
        else:
            url = stack.enter_context(fresh_postgres_database("openslots_isolation"))
        yield from _world(url)


def _world(url: str) -> Iterator[World]:
    database = Database(url)
    upgrade(database)
    sync = SyncServices(
        registry=ConnectorRegistry(),
        http_client=Fetcher().async_client,
        cipher=CredentialCipher([generate_key()]),
        on_demand_budget_seconds=1.0,
    )
    app = create_app(ApiSettings(database=database, clock=lambda: NOW, sync=sync))
    with TestClient(app) as client:
        a = _seed(client, database, "alpha")
        b = _seed(client, database, "bravo")
        yield World(app, client, database, a, b)
    database.dispose()


def _rows(database: Database, org_id: str) -> dict[str, list[tuple[str, ...]]]:
    """Every row that belongs to the organization, table by table, in a stable order."""
    dump: dict[str, list[tuple[str, ...]]] = {}
    owned: set[str] = {org_id}
    with database.read() as connection:
        for table in metadata.sorted_tables:
            if table.name in LINK_TABLES:
                continue
            if table.name == "organizations":
                query = select(table).where(table.c.id == org_id)
            elif "org_id" in table.c:
                query = select(table).where(table.c.org_id == org_id)
            else:
                raise AssertionError(f"table {table.name} has no owner: teach _rows about it")
            # last_used_at moves when the tenant's own keys are used, which is not a change.
            columns = [c for c in table.c if c.name != "last_used_at"]
            rows = connection.execute(query.with_only_columns(*columns)).all()
            dump[table.name] = sorted(tuple(map(str, row)) for row in rows)
            if "id" in table.c:
                owned |= {str(row._mapping["id"]) for row in rows}
        for name in LINK_TABLES:
            table = metadata.tables[name]
            rows = connection.execute(select(table)).all()
            dump[name] = sorted(
                tuple(map(str, row)) for row in rows if owned & {str(v) for v in row}
            )
    return dump


# -- the matrix -----------------------------------------------------------------------------
# Placeholders ``<b:resource>`` / ``<a:service>`` stand for the seeded ids of tenant B or A.

_PLACEHOLDER = re.compile(r"<([ab]):([a-z0-9]+)>")


@dataclass(frozen=True)
class Entry:
    """One call with A's key naming B's objects (in the path, the query or the body)."""

    name: str
    method: str
    url: str
    params: dict[str, Any] | None = None
    body: Any = None

    @property
    def route(self) -> str:
        """The route it exercises, path parameters written ``{}``."""
        return _PLACEHOLDER.sub("{}", self.url)

    def build(self, world: World) -> tuple[str, Any, Any]:
        return _fill(self.url, world), _fill(self.params, world), _fill(self.body, world)


def _fill(value: Any, world: World) -> Any:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: getattr(world, m.group(1))[m.group(2)], value)
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    return value


WINDOW = {"start": "2026-03-02", "end": "2026-03-04"}
KINDS = {"locations": "location", "teams": "team", "resources": "resource", "services": "service"}
BLOCK = {"start": "2026-03-02T09:00:00Z", "end": "2026-03-02T09:30:00Z"}


def _catalog_entries() -> list[Entry]:
    entries: list[Entry] = []
    for kind, label in KINDS.items():
        url = f"/v1/{kind}/<b:{label}>"
        entries += [
            Entry(f"get B's {label}", "GET", url),
            Entry(f"patch B's {label}", "PATCH", url, body={"name": "taken by A"}),
            Entry(f"delete B's {label}", "DELETE", url),
        ]
    for kind, label in (("resources", "resource"), ("teams", "team"), ("locations", "location")):
        url = f"/v1/{kind}/<b:{label}>/schedule"
        entries += [
            Entry(f"get B's {label} schedule", "GET", url),
            Entry(f"put B's {label} schedule", "PUT", url, body={"timezone": "UTC"}),
            Entry(f"delete B's {label} schedule", "DELETE", url),
        ]
    resource = {"name": "r", "timezone": "UTC"}
    service = {"name": "s", "duration": 30}
    return [
        *entries,
        # Ids in bodies: a new object, or A's own, pointing at B's.
        Entry("create a resource in B's team", "POST", "/v1/resources",
              body={**resource, "team_id": "<b:team>"}),
        Entry("create a resource at B's location", "POST", "/v1/resources",
              body={**resource, "location_ids": ["<a:location>", "<b:location>"]}),
        Entry("create a service over B's resource", "POST", "/v1/services",
              body={**service, "resource_ids": ["<a:resource>", "<b:resource>"]}),
        Entry("create a service at B's location", "POST", "/v1/services",
              body={**service, "location_id": "<b:location>"}),
        Entry("move A's resource into B's team", "PATCH", "/v1/resources/<a:resource>",
              body={"team_id": "<b:team>"}),
        Entry("put A's resource at B's location", "PATCH", "/v1/resources/<a:resource>",
              body={"location_ids": ["<b:location>"]}),
        Entry("pool B's resource into A's service", "PATCH", "/v1/services/<a:service>",
              body={"resource_ids": ["<b:resource>"]}),
        Entry("move A's service to B's location", "PATCH", "/v1/services/<a:service>",
              body={"location_id": "<b:location>"}),
    ]  # fmt: skip


BLOCK_ENTRIES = [
    Entry("list B's blocks", "GET", "/v1/resources/<b:resource>/blocks", params=WINDOW),
    Entry("block B's resource", "POST", "/v1/resources/<b:resource>/blocks", body=BLOCK),
    Entry("delete B's block", "DELETE", "/v1/resources/<b:resource>/blocks/<b:block>"),
    Entry("delete B's series", "DELETE", "/v1/resources/<b:resource>/blocks/<b:series>"),
    Entry("delete B's synced block", "DELETE", "/v1/resources/<b:resource>/blocks/<b:synced>"),
    Entry("delete B's block via A's resource", "DELETE",
          "/v1/resources/<a:resource>/blocks/<b:block>"),
    Entry("delete A's block via B's resource", "DELETE",
          "/v1/resources/<b:resource>/blocks/<a:block>"),
]  # fmt: skip

KEY_ENTRIES = [
    Entry("get B's API key", "GET", "/v1/api-keys/<b:key>"),
    Entry("revoke B's API key", "DELETE", "/v1/api-keys/<b:key>"),
]


def _availability_entries() -> list[Entry]:
    entries: list[Entry] = []
    for url in ("/v1/availability", "/v1/availability/scenario"):
        mine = {**WINDOW, "service_id": "<a:service>"}
        entries += [
            Entry(f"{url} of B's service", "GET", url,
                  params={**WINDOW, "service_id": "<b:service>"}),
            Entry(f"{url} of A's service on B's resource", "GET", url,
                  params={**mine, "resource_id": ["<a:resource>", "<b:resource>"]}),
            Entry(f"{url} of A's service at B's location", "GET", url,
                  params={**mine, "location_id": "<b:location>"}),
            Entry(f"{url} rescheduling B's booking", "GET", url,
                  params={**mine, "reschedule_booking_id": "<b:booking>"}),
        ]  # fmt: skip
    return entries


SLOT_OF_B = {"service_id": "<b:service>", "start": SLOT, "resource_ids": ["<b:resource>"]}
B_RESOURCE_FOR_A = {"service_id": "<a:service>", "start": SLOT, "resource_ids": ["<b:resource>"]}
RESERVATION_ENTRIES = [
    Entry("hold B's service", "POST", "/v1/holds", body=SLOT_OF_B),
    Entry("hold B's resource for A's service", "POST", "/v1/holds", body=B_RESOURCE_FOR_A),
    Entry("get B's hold", "GET", "/v1/holds/<b:hold>"),
    Entry("release B's hold", "DELETE", "/v1/holds/<b:hold>"),
    Entry("book B's service", "POST", "/v1/bookings", body=SLOT_OF_B),
    Entry("book B's resource for A's service", "POST", "/v1/bookings", body=B_RESOURCE_FOR_A),
    Entry("confirm B's hold", "POST", "/v1/bookings", body={"hold_id": "<b:hold>"}),
    Entry("get B's booking", "GET", "/v1/bookings/<b:booking>"),
    Entry("cancel B's booking", "DELETE", "/v1/bookings/<b:booking>"),
    Entry("list the bookings of B's resource", "GET", "/v1/bookings",
          params={"resource_id": "<b:resource>"}),
]  # fmt: skip

CONNECTION = "/v1/connections/<b:connection>"
ICS_BODY = {"provider": "ics", "credentials": {"url": "https://calendar.example/a.ics"}}
CONNECTION_ENTRIES = [
    Entry("get B's connection", "GET", CONNECTION),
    Entry("patch B's connection", "PATCH", CONNECTION, body={"sync_interval": 5}),
    Entry("disable B's connection", "PATCH", CONNECTION, body={"enabled": False}),
    Entry("delete B's connection", "DELETE", CONNECTION),
    Entry("sync B's connection", "POST", f"{CONNECTION}/sync"),
    Entry("connect B's resource", "POST", "/v1/connections",
          body={**ICS_BODY, "resource_id": "<b:resource>"}),
    Entry("list the connections of B's resource", "GET", "/v1/connections",
          params={"resource_id": "<b:resource>"}),
    Entry("authorize Google for B's resource", "GET", "/v1/oauth/google/authorize",
          params={"resource_id": "<b:resource>"}),
    Entry("authorize Outlook for B's resource", "GET", "/v1/oauth/outlook/authorize",
          params={"resource_id": "<b:resource>"}),
    Entry("availability of B's service with sync", "GET", "/v1/availability",
          params={**WINDOW, "service_id": "<b:service>", "sync": "true"}),
]  # fmt: skip

FEED_ENTRIES = [
    Entry("mint a feed of B's resource", "POST", "/v1/resources/<b:resource>/feeds", body={}),
    Entry("mint a feed of B's team", "POST", "/v1/teams/<b:team>/feeds", body={}),
    Entry("list the feeds of B's resource", "GET", "/v1/resources/<b:resource>/feeds"),
    Entry("list the feeds of B's team", "GET", "/v1/teams/<b:team>/feeds"),
    Entry("get B's feed", "GET", "/v1/feeds/<b:feed>"),
    Entry("get B's team feed", "GET", "/v1/feeds/<b:teamfeed>"),
    Entry("revoke B's feed", "DELETE", "/v1/feeds/<b:feed>"),
    Entry("revoke B's team feed", "DELETE", "/v1/feeds/<b:teamfeed>"),
    # The token is the credential of these two, whoever asks: a wrong or revoked one opens
    # nothing, and reads the same as a token that never existed.
    Entry("free/busy of B's revoked feed", "GET", "/feeds/<b:revokedtoken>/freebusy.ics"),
    Entry("busy events of B's revoked feed", "GET", "/feeds/<b:revokedtoken>/busy.ics"),
    Entry("free/busy under a wrong token", "GET", "/feeds/<b:wrongtoken>/freebusy.ics"),
    Entry("busy events under a wrong token", "GET", "/feeds/<b:wrongtoken>/busy.ics"),
]  # fmt: skip

MATRIX = (
    _catalog_entries()
    + BLOCK_ENTRIES
    + KEY_ENTRIES
    + _availability_entries()
    + RESERVATION_ENTRIES
    + CONNECTION_ENTRIES
    + FEED_ENTRIES
)


# -- the routes of the app ------------------------------------------------------------------


def _is_id(name: str) -> bool:
    return name == "id" or name.endswith(("_id", "_ids"))


def _model_id_fields(annotation: Any, depth: int = 0) -> set[str]:
    """Names of id fields in a body model, nested models included."""
    found: set[str] = set()
    candidates = getattr(annotation, "__args__", None) or (annotation,)
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel) and depth < 5:
            for name, info in candidate.model_fields.items():
                if _is_id(name):
                    found.add(name)
                found |= _model_id_fields(info.annotation, depth + 1)
    return found


def _params(dependant: Any) -> tuple[list[Any], list[Any], list[Any]]:
    path, query, body = (
        list(dependant.path_params),
        list(dependant.query_params),
        list(dependant.body_params),
    )
    for sub in dependant.dependencies:
        p, q, b = _params(sub)
        path, query, body = path + p, query + q, body + b
    return path, query, body


def _shape(path: str) -> str:
    """A route path with its parameters written ``{}``, whatever they are named."""
    out, depth = [], 0
    for char in path:
        if char == "{":
            depth += 1
            out.append("{}")
        elif char == "}":
            depth -= 1
        elif depth == 0:
            out.append(char)
    return "".join(out)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    ids: tuple[str, ...]  # what makes it need matrix entries (empty: it takes no id)
    query: tuple[str, ...]


def routes_of(app: FastAPI) -> list[Route]:
    """Every API route of the app, from ``app.routes`` (included routers flattened)."""
    out: list[Route] = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or context.path is None:
            continue
        path_params, query_params, body_params = _params(route.dependant)
        ids = [f"path:{p.name}" for p in path_params]
        ids += [f"query:{q.name}" for q in query_params if _is_id(q.name)]
        for body in body_params:
            if _is_id(body.name):
                ids.append(f"body:{body.name}")
            ids += [f"body:{name}" for name in sorted(_model_id_fields(body.field_info.annotation))]
        for method in sorted(context.methods or ()):
            out.append(
                Route(method, _shape(context.path), tuple(ids), tuple(q.name for q in query_params))
            )
    return out


@pytest.fixture(scope="module")
def app_routes() -> list[Route]:
    database = Database("sqlite://")
    try:
        return routes_of(create_app(ApiSettings(database=database)))
    finally:
        database.dispose()


def uncovered(routes: list[Route]) -> list[str]:
    """Routes that take an id and have no entry in the matrix."""
    covered = {(e.method, e.route) for e in MATRIX}
    return [
        f"{r.method} {r.path} (takes {', '.join(r.ids)})"
        for r in routes
        if r.ids and (r.method, r.path) not in covered
    ]


def test_every_route_with_an_id_is_in_the_matrix(app_routes: list[Route]) -> None:
    missing = uncovered(app_routes)
    assert not missing, (
        "routes that take an id but have no entry in the isolation matrix "
        "(add entries to tests/api/test_isolation.py):\n  " + "\n  ".join(missing)
    )


class _Owner(BaseModel):
    team_id: str


class _WidgetIn(BaseModel):
    name: str
    owners: list[_Owner]  # an id nested in a list of objects


def test_a_new_route_with_an_id_would_be_caught() -> None:
    database = Database("sqlite://")
    app = create_app(ApiSettings(database=database))

    @app.get("/v1/widgets/{widget_id}")
    def get_widget(widget_id: str) -> None: ...

    @app.post("/v1/widgets")
    def create_widget(body: _WidgetIn) -> None: ...

    @app.get("/v1/gadgets")
    def list_gadgets(service_id: str) -> None: ...

    @app.get("/v1/gizmos")
    def list_gizmos(limit: int = 10) -> None: ...

    database.dispose()
    assert sorted(uncovered(routes_of(app))) == [
        "GET /v1/gadgets (takes query:service_id)",
        "GET /v1/widgets/{} (takes path:widget_id)",
        "POST /v1/widgets (takes body:team_id)",
    ]


def test_the_route_introspection_sees_ids_everywhere(app_routes: list[Route]) -> None:
    """The detector itself: path ids, body ids (also nested in lists) and query ids are seen,
    and routes without ids are not flagged, so the coverage test above can fail."""
    by_key = {(r.method, r.path): r for r in app_routes}
    assert "path:resource_id" in by_key["GET", "/v1/resources/{}"].ids
    assert "body:resource_ids" in by_key["POST", "/v1/services"].ids
    assert "body:team_id" in by_key["POST", "/v1/resources"].ids
    assert by_key["GET", "/v1/teams"].ids == ()
    assert by_key["POST", "/v1/api-keys"].ids == ()
    if ("GET", "/v1/availability") in by_key:
        assert "query:service_id" in by_key["GET", "/v1/availability"].ids


# -- the tests ------------------------------------------------------------------------------


def _leaks(text_: str, tenant: Tenant) -> list[str]:
    return sorted(m for m in tenant.markers if m in text_)


@pytest.mark.parametrize("entry", MATRIX, ids=lambda e: e.name)
def test_a_key_never_reaches_another_organizations_objects(world: World, entry: Entry) -> None:
    known = {(r.method, r.path) for r in routes_of(world.app)}
    if (entry.method, entry.route) not in known:
        pytest.skip(f"{entry.method} {entry.route} does not exist yet; its entry is ready for it")
    url, params, body = entry.build(world)
    before_b, before_a = (
        _rows(world.database, world.b.org_id),
        _rows(world.database, world.a.org_id),
    )
    response = world.client.request(
        entry.method, url, params=params, json=body, headers=world.a.headers()
    )
    assert response.status_code == 404, (
        f"{entry.method} {url}: {response.status_code} {response.text}"
    )
    assert response.json()["error"]["code"] == "not_found"
    assert _leaks(response.text, world.b) == [], response.text
    assert _rows(world.database, world.b.org_id) == before_b, "B's rows changed"
    assert _rows(world.database, world.a.org_id) == before_a, "A's rows changed on a 404"
    # And the same call about an id that exists nowhere reads exactly the same.
    if entry.route.count("{}") and url.count(world.b.org_id) == 0:
        ghost = url
        for value in world.b.ids.values():
            ghost = ghost.replace(value, "00000000-0000-4000-8000-000000000000")
        if ghost != url:
            twin = world.client.request(
                entry.method, ghost, params=params, json=body, headers=world.a.headers()
            )
            assert (twin.status_code, twin.json()) == (404, response.json())


def test_the_matrix_can_see_a_leak(world: World) -> None:
    """B's own key reaches B's objects with the very calls of the matrix, and those answers
    do carry B's data: the 404s above are about ownership, not about malformed calls."""
    b_client_headers = world.b.headers()
    for entry in MATRIX:
        if entry.method != "GET" or entry.route not in {
            "/v1/resources/{}",
            "/v1/services/{}",
            "/v1/resources/{}/blocks",
        }:
            continue
        url, params, body = entry.build(world)
        response = world.client.request(
            "GET", url, params=params, json=body, headers=b_client_headers
        )
        assert response.status_code == 200, response.text
        assert _leaks(response.text, world.b)


def test_lists_never_show_another_organizations_objects(world: World) -> None:
    """T2: every list (a GET without path parameters) as A, across page sizes, shows none of
    B's objects; and A's own objects do appear, so the check can fail."""
    settings: ApiSettings = world.app.state.settings
    seen_own = False
    for route in routes_of(world.app):
        if route.method != "GET" or "{}" in route.path or not route.path.startswith("/v1/"):
            continue
        sizes = [1, 2, settings.max_page_size] if "limit" in route.query else [None]
        for size in sizes:
            params: dict[str, Any] = {} if size is None else {"limit": size}
            for _ in range(50):  # every page
                response = world.client.get(route.path, params=params, headers=world.a.headers())
                assert _leaks(response.text, world.b) == [], f"{route.path}: {response.text}"
                seen_own = seen_own or bool(_leaks(response.text, world.a))
                body = response.json()
                if response.status_code != 200 or not isinstance(body, dict):
                    break
                after = body.get("next_after")
                if not after:
                    break
                params = {**params, "after": after}
            else:
                raise AssertionError(f"{route.path} pages without end")
    assert seen_own


def test_b_still_has_everything(world: World) -> None:
    """After the whole matrix, B's objects are all there and B's key still works."""
    for label in ("location", "team", "resource", "service"):
        kind = {v: k for k, v in KINDS.items()}[label]
        response = world.client.get(f"/v1/{kind}/{world.b[label]}", headers=world.b.headers())
        assert response.status_code == 200, response.text
    keys = world.client.get("/v1/api-keys", headers=world.b.headers()).json()["items"]
    assert all(k["revoked_at"] is None for k in keys)
    blocks = world.client.get(
        f"/v1/resources/{world.b['resource']}/blocks", params=WINDOW, headers=world.b.headers()
    ).json()["items"]
    assert {world.b["block"], world.b["series"], world.b["synced"]} <= {b["id"] for b in blocks}
    feeds = world.client.get(
        f"/v1/resources/{world.b['resource']}/feeds", headers=world.b.headers()
    ).json()["items"]
    assert world.b["feed"] in {f["id"] for f in feeds}
    busy = world.client.get(f"/feeds/{world.b['feedtoken']}/busy.ics")
    assert busy.status_code == 200, busy.text
    assert "BEGIN:VEVENT" in busy.text
