"""The catalog: the organization, its locations, teams, resources and services, and schedules.

CRUD per kind: ``POST /v1/<kind>`` (201), ``GET /v1/<kind>`` (a page), ``GET|PATCH|DELETE
/v1/<kind>/{id}`` (PATCH changes only the fields sent; DELETE answers 204). Schedules:
``GET|PUT|DELETE /v1/<kind>/{id}/schedule`` for resources, teams and locations, and
``/v1/organization/schedule`` for the business hours everything inherits. PUT replaces the
whole schedule with the body, a SCENARIO.md schedule document; GET returns it, or ``null`` when
there is none (a resource then inherits its team's, else the organization's); DELETE removes it.

Ids in paths and bodies must be the caller's organization's: anything else is 404, exactly as
for an id that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response

from openslots.api.auth import require
from openslots.api.paging import DEFAULT_LIMIT, check_limit, page
from openslots.api.schemas_catalog import (
    LocationIn,
    LocationPatch,
    ResourceIn,
    ResourcePatch,
    ServiceIn,
    ServicePatch,
    TeamIn,
    TeamPatch,
    catalog_values,
    schedule_document,
)
from openslots.api.settings import app_settings
from openslots.store import catalog
from openslots.store.keys import ApiKey

router = APIRouter(prefix="/v1")

Reader = Annotated[ApiKey, Depends(require("read"))]
Writer = Annotated[ApiKey, Depends(require("write"))]
ScheduleBody = Annotated[
    dict[str, Any],
    Body(description="A SCENARIO.md schedule: timezone, rules, overrides"),
]
Obj = dict[str, Any]


# -- shared handlers ------------------------------------------------------------------------


def _list(request: Request, key: ApiKey, kind: str, limit: int, after: str | None) -> Obj:
    settings = app_settings(request)
    check_limit(limit, settings.max_page_size)
    with settings.database.read() as connection:
        return page(
            lambda n, cursor: catalog.list_objects(connection, key.org_id, kind, n, cursor),
            limit,
            after,
            lambda obj: obj,
        )


def _create(request: Request, key: ApiKey, kind: str, body: Any) -> Obj:
    values = catalog_values(kind, body)
    with app_settings(request).database.write() as connection:
        return catalog.create(connection, key.org_id, kind, values)


def _get(request: Request, key: ApiKey, kind: str, object_id: str) -> Obj:
    with app_settings(request).database.read() as connection:
        return catalog.get(connection, key.org_id, kind, object_id)


def _patch(request: Request, key: ApiKey, kind: str, object_id: str, body: Any) -> Obj:
    with app_settings(request).database.write() as connection:
        current = catalog.get(connection, key.org_id, kind, object_id)
        values = catalog_values(kind, body, current)
        return catalog.update_object(connection, key.org_id, kind, object_id, values)


def _delete(request: Request, key: ApiKey, kind: str, object_id: str) -> Response:
    with app_settings(request).database.write() as connection:
        catalog.delete_object(connection, key.org_id, kind, object_id)
    return Response(status_code=204)


def _put_schedule(request: Request, key: ApiKey, kind: str, object_id: str, document: Any) -> Obj:
    schedule = schedule_document(document, "")
    with app_settings(request).database.write() as connection:
        catalog.update_object(connection, key.org_id, kind, object_id, {"schedule": schedule})
    return schedule


def _delete_schedule(request: Request, key: ApiKey, kind: str, object_id: str) -> Response:
    with app_settings(request).database.write() as connection:
        catalog.update_object(connection, key.org_id, kind, object_id, {"schedule": None})
    return Response(status_code=204)


def _get_schedule(request: Request, key: ApiKey, kind: str, object_id: str) -> Obj | None:
    schedule: Obj | None = _get(request, key, kind, object_id)["schedule"]
    return schedule


# -- the organization -----------------------------------------------------------------------


@router.get("/organization", tags=["organization"])
def get_organization(request: Request, key: Reader) -> Obj:
    """The caller's organization: id, slug, name and default schedule (business hours)."""
    with app_settings(request).database.read() as connection:
        return catalog.get_org(connection, key.org_id)


@router.get("/organization/schedule", tags=["organization"])
def get_organization_schedule(request: Request, key: Reader) -> Obj | None:
    with app_settings(request).database.read() as connection:
        schedule: Obj | None = catalog.get_org(connection, key.org_id)["schedule"]
        return schedule


@router.put("/organization/schedule", tags=["organization"])
def put_organization_schedule(request: Request, key: Writer, document: ScheduleBody) -> Obj:
    """Replace the business hours every resource without a schedule (or team schedule) uses."""
    schedule = schedule_document(document, "")
    with app_settings(request).database.write() as connection:
        catalog.set_org_schedule(connection, key.org_id, schedule)
    return schedule


@router.delete("/organization/schedule", status_code=204, tags=["organization"])
def delete_organization_schedule(request: Request, key: Writer) -> Response:
    with app_settings(request).database.write() as connection:
        catalog.set_org_schedule(connection, key.org_id, None)
    return Response(status_code=204)


# -- locations ------------------------------------------------------------------------------


@router.post("/locations", status_code=201, tags=["locations"])
def create_location(request: Request, key: Writer, body: LocationIn) -> Obj:
    return _create(request, key, "locations", body)


@router.get("/locations", tags=["locations"])
def list_locations(
    request: Request, key: Reader, limit: int = DEFAULT_LIMIT, after: str | None = None
) -> Obj:
    return _list(request, key, "locations", limit, after)


@router.get("/locations/{location_id}", tags=["locations"])
def get_location(request: Request, key: Reader, location_id: str) -> Obj:
    return _get(request, key, "locations", location_id)


@router.patch("/locations/{location_id}", tags=["locations"])
def patch_location(request: Request, key: Writer, location_id: str, body: LocationPatch) -> Obj:
    return _patch(request, key, "locations", location_id, body)


@router.delete("/locations/{location_id}", status_code=204, tags=["locations"])
def delete_location(request: Request, key: Writer, location_id: str) -> Response:
    return _delete(request, key, "locations", location_id)


@router.get("/locations/{location_id}/schedule", tags=["locations"])
def get_location_schedule(request: Request, key: Reader, location_id: str) -> Obj | None:
    return _get_schedule(request, key, "locations", location_id)


@router.put("/locations/{location_id}/schedule", tags=["locations"])
def put_location_schedule(
    request: Request, key: Writer, location_id: str, document: ScheduleBody
) -> Obj:
    return _put_schedule(request, key, "locations", location_id, document)


@router.delete("/locations/{location_id}/schedule", status_code=204, tags=["locations"])
def delete_location_schedule(request: Request, key: Writer, location_id: str) -> Response:
    return _delete_schedule(request, key, "locations", location_id)


# -- teams ----------------------------------------------------------------------------------


@router.post("/teams", status_code=201, tags=["teams"])
def create_team(request: Request, key: Writer, body: TeamIn) -> Obj:
    return _create(request, key, "teams", body)


@router.get("/teams", tags=["teams"])
def list_teams(
    request: Request, key: Reader, limit: int = DEFAULT_LIMIT, after: str | None = None
) -> Obj:
    return _list(request, key, "teams", limit, after)


@router.get("/teams/{team_id}", tags=["teams"])
def get_team(request: Request, key: Reader, team_id: str) -> Obj:
    return _get(request, key, "teams", team_id)


@router.patch("/teams/{team_id}", tags=["teams"])
def patch_team(request: Request, key: Writer, team_id: str, body: TeamPatch) -> Obj:
    return _patch(request, key, "teams", team_id, body)


@router.delete("/teams/{team_id}", status_code=204, tags=["teams"])
def delete_team(request: Request, key: Writer, team_id: str) -> Response:
    return _delete(request, key, "teams", team_id)


@router.get("/teams/{team_id}/schedule", tags=["teams"])
def get_team_schedule(request: Request, key: Reader, team_id: str) -> Obj | None:
    return _get_schedule(request, key, "teams", team_id)


@router.put("/teams/{team_id}/schedule", tags=["teams"])
def put_team_schedule(request: Request, key: Writer, team_id: str, document: ScheduleBody) -> Obj:
    return _put_schedule(request, key, "teams", team_id, document)


@router.delete("/teams/{team_id}/schedule", status_code=204, tags=["teams"])
def delete_team_schedule(request: Request, key: Writer, team_id: str) -> Response:
    return _delete_schedule(request, key, "teams", team_id)


# -- resources ------------------------------------------------------------------------------


@router.post("/resources", status_code=201, tags=["resources"])
def create_resource(request: Request, key: Writer, body: ResourceIn) -> Obj:
    return _create(request, key, "resources", body)


@router.get("/resources", tags=["resources"])
def list_resources(
    request: Request, key: Reader, limit: int = DEFAULT_LIMIT, after: str | None = None
) -> Obj:
    return _list(request, key, "resources", limit, after)


@router.get("/resources/{resource_id}", tags=["resources"])
def get_resource(request: Request, key: Reader, resource_id: str) -> Obj:
    return _get(request, key, "resources", resource_id)


@router.patch("/resources/{resource_id}", tags=["resources"])
def patch_resource(request: Request, key: Writer, resource_id: str, body: ResourcePatch) -> Obj:
    return _patch(request, key, "resources", resource_id, body)


@router.delete("/resources/{resource_id}", status_code=204, tags=["resources"])
def delete_resource(request: Request, key: Writer, resource_id: str) -> Response:
    return _delete(request, key, "resources", resource_id)


@router.get("/resources/{resource_id}/schedule", tags=["resources"])
def get_resource_schedule(request: Request, key: Reader, resource_id: str) -> Obj | None:
    return _get_schedule(request, key, "resources", resource_id)


@router.put("/resources/{resource_id}/schedule", tags=["resources"])
def put_resource_schedule(
    request: Request, key: Writer, resource_id: str, document: ScheduleBody
) -> Obj:
    return _put_schedule(request, key, "resources", resource_id, document)


@router.delete("/resources/{resource_id}/schedule", status_code=204, tags=["resources"])
def delete_resource_schedule(request: Request, key: Writer, resource_id: str) -> Response:
    return _delete_schedule(request, key, "resources", resource_id)


# -- services -------------------------------------------------------------------------------


@router.post("/services", status_code=201, tags=["services"])
def create_service(request: Request, key: Writer, body: ServiceIn) -> Obj:
    return _create(request, key, "services", body)


@router.get("/services", tags=["services"])
def list_services(
    request: Request, key: Reader, limit: int = DEFAULT_LIMIT, after: str | None = None
) -> Obj:
    return _list(request, key, "services", limit, after)


@router.get("/services/{service_id}", tags=["services"])
def get_service(request: Request, key: Reader, service_id: str) -> Obj:
    return _get(request, key, "services", service_id)


@router.patch("/services/{service_id}", tags=["services"])
def patch_service(request: Request, key: Writer, service_id: str, body: ServicePatch) -> Obj:
    return _patch(request, key, "services", service_id, body)


@router.delete("/services/{service_id}", status_code=204, tags=["services"])
def delete_service(request: Request, key: Writer, service_id: str) -> Response:
    return _delete(request, key, "services", service_id)
