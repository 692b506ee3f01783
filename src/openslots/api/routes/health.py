"""Liveness, readiness and metrics, for load balancers, orchestrators and Prometheus (no API
key: these are the operator's, not an organization's).

``/healthz``: the process answers. ``/readyz``: it can serve requests, meaning the database
answers and its schema is at the revision this openslots needs; otherwise 503 in the error shape,
saying why in words for an operator (never a driver's message, which may name hosts).
``/metrics``: the process's Prometheus metrics (:mod:`openslots.observability.metrics`), across
all organizations; 404 when ``metrics.enabled`` is off, 401 without one of
``metrics.bearer_tokens`` when some are set.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from openslots.api.errors import error_body
from openslots.observability.metrics import Metrics
from openslots.store.startup import head_revision, readiness

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz(request: Request) -> dict[str, str] | JSONResponse:
    problem = readiness(request.app.state.settings.database)
    if problem is not None:
        return JSONResponse(error_body("not_ready", problem), status_code=503)
    return {"status": "ready", "revision": head_revision()}


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
    summary="Prometheus metrics of this process",
)
def metrics(request: Request) -> Response:
    # A plain def: the connections gauge reads the database, in the thread pool.
    instruments: Metrics = request.app.state.metrics
    if not instruments.access.enabled:
        raise HTTPException(404, "Not Found")
    if not instruments.access.allows(request.headers.get("authorization")):
        raise HTTPException(
            401, "a metrics token is required", headers={"WWW-Authenticate": "Bearer"}
        )
    body, content_type = instruments.exposition(request.headers.get("accept"))
    return Response(body, media_type=content_type)
