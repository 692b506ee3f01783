"""Liveness and readiness, for load balancers and orchestrators (no key needed).

``/healthz``: the process answers. ``/readyz``: it can serve requests, meaning the database
answers and its schema is at the revision this openslots needs; otherwise 503 in the error shape,
saying why in words for an operator (never a driver's message, which may name hosts).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from openslots.api.errors import error_body
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
