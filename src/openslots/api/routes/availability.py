"""``GET /v1/availability`` and ``GET /v1/availability/scenario`` (DESIGN §4).

The answer is the engine's (SCENARIO.md "The answer": ``timezone``, ``duration``, ``slots``,
``days`` with every local date of the window) plus ``sources``: each calendar connection of the
consulted resources with ``synced_at``, ``status`` and ``stale``. The scenario route returns the
scenario document behind the same request, so ``openslots slots`` on it gives the same slots.

Answers are cached per process (:mod:`openslots.api.cache`); a hit costs the key check and one
query for the versions and the connections. The response header ``X-Cache`` says ``hit`` or
``miss``.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from openslots.api.answer_json import encode_answer
from openslots.api.auth import Caller
from openslots.api.cache import AvailabilityCache, CachedAnswer, cacheable, time_class
from openslots.api.query_params import AvailabilityParams, api_field, availability_params
from openslots.api.settings import ApiSettings
from openslots.engine import compute_availability, render_availability, scenario_to_dict
from openslots.engine.plan import resolve
from openslots.engine.scenario import format_instant
from openslots.errors import BadParameter, ValidationError
from openslots.observability.metrics import Metrics
from openslots.store.catalog import NotFound
from openslots.store.scenarios import LoadedScenario, load_query_scenario
from openslots.store.versions import ServiceState, service_state
from openslots.sync.on_demand import OnDemandOutcome, OnDemandSync

__all__ = ["router"]

router = APIRouter(tags=["availability"])

Params = Annotated[AvailabilityParams, Depends(availability_params)]
_CACHE_LOCK = threading.Lock()


# -- documented shapes (the bodies are rendered by the engine, these only describe them) ------


class ReasonOut(BaseModel):
    code: str
    resource_id: str | None
    source: str | None = None


class SlotOut(BaseModel):
    start: str
    end: str
    resource_ids: list[str]
    available: bool
    capacity: int
    available_capacity: int
    reasons: list[ReasonOut] | None = None


class SourceOut(BaseModel):
    connection_id: str
    resource_id: str
    provider: str
    status: str
    synced_at: str | None
    stale: bool
    sync: str | None = None


class AvailabilityOut(BaseModel):
    timezone: str
    duration: int
    slots: list[SlotOut] | None = None
    days: dict[str, list[SlotOut]]
    sources: list[SourceOut]


# -- the work -------------------------------------------------------------------------------


def _cache_of(request: Request) -> AvailabilityCache:
    """The app's cache, made on first use (one per app, so two apps in a process share none)."""
    state = request.app.state
    cache: AvailabilityCache | None = getattr(state, "availability_cache", None)
    if cache is None:
        with _CACHE_LOCK:
            cache = getattr(state, "availability_cache", None)
            if cache is None:
                cache = AvailabilityCache(state.settings.cache_entries)
                state.availability_cache = cache
    return cache


def _as_parameter(error: ValidationError) -> BadParameter:
    """An engine or store ValidationError (fields like ``query.duration``) as a 400 naming the
    request parameter."""
    if isinstance(error, BadParameter):
        return error
    field = api_field(error.field)
    message = error.message
    if not error.field.startswith("query."):
        message = f"the service's {error.field.removeprefix('service.')}: {message}"
    return BadParameter(field, message)


def _load(connection: Any, org_id: str, params: AvailabilityParams, now: int) -> LoadedScenario:
    try:
        return load_query_scenario(
            connection,
            org_id,
            params.service_id,
            params.query,
            now,
            location_id=params.location_id,
        )
    except ValidationError as error:
        raise _as_parameter(error) from None


def _sources(
    connections: tuple[dict[str, Any], ...],
    consulted: tuple[str, ...],
    now: int,
    synced: OnDemandOutcome | None = None,
) -> bytes:
    """The ``sources`` of an answer as JSON: each connection of the consulted resources, with
    ``synced_at`` (its last successful sync) and ``stale`` (failing, never synced, not synced
    for two of its sync intervals, or, with ``sync=true``, still syncing when the budget ran
    out). With ``sync=true`` each also has ``sync``: how its on-demand sync went."""
    out = []
    for c in connections:
        if c["resource_id"] not in consulted:
            continue
        synced_at = c["last_success_at"]
        result = None if synced is None else synced.results.get(c["id"])
        stale = (
            c["status"] != "ok"
            or synced_at is None
            or now - synced_at > 2 * max(c["sync_interval"] or 0, 60)
            or result == "stale"
        )
        source = {
            "connection_id": c["id"],
            "resource_id": c["resource_id"],
            "provider": c["provider"],
            "status": c["status"],
            "synced_at": None if synced_at is None else format_instant(synced_at),
            "stale": stale,
        }
        if synced is not None:
            source["sync"] = result or "skipped"
        out.append(source)
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False).encode()


async def _sync_consulted(
    request: Request, org_id: str, params: AvailabilityParams
) -> OnDemandOutcome | None:
    """With ``sync=true``: sync the connections of the consulted resources within the budget."""
    on_demand: OnDemandSync | None = request.app.state.on_demand
    if not params.sync or on_demand is None:
        return None
    settings: ApiSettings = request.app.state.settings
    with settings.database.read() as connection:
        state = _state(connection, org_id, params.service_id)
    wanted = set(params.query.resource_ids or ())
    ids = [
        c["id"]
        for c in state.connections
        if (not wanted or c["resource_id"] in wanted) and c["status"] in {"pending", "ok", "error"}
    ]
    return await on_demand.run(org_id, ids)


def _render(loaded: LoadedScenario, settings: ApiSettings, fmt: str) -> CachedAnswer:
    try:
        result = compute_availability(loaded.scenario, settings.limits)
    except ValidationError as error:
        raise _as_parameter(error) from None
    head = encode_answer(render_availability(result), with_slots=fmt != "days")
    scenario = loaded.scenario
    consulted = scenario.query.resource_ids or tuple(r.id for r in scenario.resources)
    return CachedAnswer(head, consulted)


def _respond(answer: CachedAnswer, sources: bytes, cache_status: str) -> Response:
    return Response(
        answer.body(sources), media_type="application/json", headers={"X-Cache": cache_status}
    )


@router.get(
    "/v1/availability",
    response_class=Response,
    responses={200: {"model": AvailabilityOut, "description": "The slots of the window."}},
    summary="Bookable slots of a service in a window",
)
async def get_availability(request: Request, key: Caller, params: Params) -> Response:
    """Slots of the service that start in ``[start, end)`` (at most 93 days), in ``timezone``.

    The answer: ``timezone``, ``duration`` (minutes), ``slots`` (chronological; each ``start``,
    ``end``, ``resource_ids``, ``available``, ``capacity``, ``available_capacity``, and
    ``reasons`` with ``explain``), ``days`` (every local date of the window, empty ones as
    ``[]``; with ``format=days`` only these, without the ``slots`` list) and ``sources`` (each
    calendar connection of the consulted resources: ``connection_id``, ``resource_id``,
    ``provider``, ``status``, ``synced_at``, ``stale``).

    ``location_id`` places the service at one of the organization's locations for this query:
    that location's hours (instead of the service's location's) intersect each resource's, and
    only resources linked to that location, or to none, are offered. ``sync=true`` first syncs
    the consulted resources' connections, waiting at most ``sync.on_demand_budget_seconds``;
    a connection still syncing then is answered from its stored blocks and marked ``stale``,
    and every source has ``sync`` (``ok``, ``error``, ``needs_reauth``, ``skipped``, ``stale``).

    A bad parameter is a 400 naming it; a service, resource, location or booking of another
    organization (or none) is a 404.
    """
    settings: ApiSettings = request.app.state.settings
    cache = _cache_of(request)
    synced = await _sync_consulted(request, key.org_id, params)
    now = settings.clock()
    if cache.enabled and cacheable(params.query.start):
        # A hit costs one indexed read, made here on the event loop: handing it to the thread
        # pool would cost more than the read. A miss computes in the thread pool.
        with settings.database.read() as connection:
            state = _state(connection, key.org_id, params.service_id)
        hit = cache.get(_cache_key(key.org_id, params, state, now), now)
        if hit is not None:
            request.app.state.metrics.count_availability_answer("hit")
            return _respond(hit, _sources(state.connections, hit.consulted, now, synced), "hit")
    return await run_in_threadpool(
        _compute,
        settings,
        cache,
        key.org_id,
        params,
        now,
        synced=synced,
        metrics=request.app.state.metrics,
    )


def _state(connection: Any, org_id: str, service_id: str) -> ServiceState:
    state = service_state(connection, org_id, service_id)
    if state is None:
        raise NotFound("service")
    return state


def _cache_key(
    org_id: str, params: AvailabilityParams, state: ServiceState, now: int
) -> tuple[object, ...]:
    return (org_id, params.cache_key(), state.versions, time_class(now))


def _compute(
    settings: ApiSettings,
    cache: AvailabilityCache,
    org_id: str,
    params: AvailabilityParams,
    now: int,
    *,
    synced: OnDemandOutcome | None,
    metrics: Metrics,
) -> Response:
    cache_key: tuple[object, ...] | None = None
    with settings.database.read() as connection:
        # The versions are read before the data, in the same transaction: the data can then
        # only be newer than the versions, so an entry is never older than its key says.
        state = _state(connection, org_id, params.service_id)
        if cache.enabled and cacheable(params.query.start):
            cache_key = _cache_key(org_id, params, state, now)
        loaded = _load(connection, org_id, params, now)
    began = time.perf_counter()
    answer = _render(loaded, settings, params.format)
    metrics.observe_availability_compute(time.perf_counter() - began)
    metrics.count_availability_answer("miss")
    if cache_key is not None:
        cache.put(cache_key, answer, now, loaded.hold_expires_at)
    return _respond(answer, _sources(state.connections, answer.consulted, now, synced), "miss")


@router.get(
    "/v1/availability/scenario",
    summary="The scenario (SCENARIO.md) behind an availability request",
    response_model=dict[str, Any],
)
def get_availability_scenario(request: Request, key: Caller, params: Params) -> dict[str, Any]:
    """The same parameters as ``/v1/availability``; the document holds exactly what that answer
    is computed from (the clock included), so ``openslots slots`` on it gives the same slots."""
    settings: ApiSettings = request.app.state.settings
    now = settings.clock()
    with settings.database.read() as connection:
        loaded = _load(connection, key.org_id, params, now)
    try:
        resolve(loaded.scenario, settings.limits)  # the same 400s as the listing
    except ValidationError as error:
        raise _as_parameter(error) from None
    return scenario_to_dict(loaded.scenario)
