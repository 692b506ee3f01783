"""The app factory: explicit settings in, a FastAPI app out; nothing is read from globals."""

from __future__ import annotations

import json

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openslots import __version__
from openslots.api.auth import KeyCache
from openslots.api.errors import error_body, install_error_handlers
from openslots.api.routes import ROUTERS
from openslots.api.settings import ApiSettings
from openslots.observability.connection_gauge import connection_counter
from openslots.observability.http_timing import RequestTiming
from openslots.observability.metrics import Metrics
from openslots.sync.on_demand import OnDemandSync

__all__ = ["create_app"]


class _BodyLimit:
    """Refuses request bodies over ``max_bytes`` with a 413, whether the size is declared
    (Content-Length) or the body arrives chunked. A plain ASGI middleware: the availability hot
    path pays one header look-up, not a second request/response wrapper."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            error_body("payload_too_large", f"bodies are limited to {self.max_bytes} bytes")
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None:
            if declared.isdigit() and int(declared) > self.max_bytes:
                await self._refuse(send)
                return
            await self.app(scope, receive, send)
            return
        if scope["method"] not in {"POST", "PUT", "PATCH"}:
            await self.app(scope, receive, send)
            return
        # Chunked: read it all (stopping past the limit) and hand the app what was read.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._refuse(send)
                return
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def create_app(settings: ApiSettings, *, metrics: Metrics | None = None) -> FastAPI:
    """The API over ``settings``, recording into ``metrics`` (the process's, when ``openslots
    serve`` shares them with its worker; else the app's own), served at ``/metrics``."""
    metrics = metrics if metrics is not None else Metrics()
    metrics.watch_connections(connection_counter(settings.database))
    app = FastAPI(
        title="openslots",
        version=__version__,
        description="Availability, holds and bookings over synced calendars.",
    )
    app.state.settings = settings
    app.state.key_cache = KeyCache()
    app.state.metrics = metrics
    app.state.on_demand = (
        None
        if settings.sync is None
        else OnDemandSync(settings.database, settings.sync, clock=settings.clock, metrics=metrics)
    )
    install_error_handlers(app)
    app.add_middleware(_BodyLimit, max_bytes=settings.max_body_bytes)
    # Added last, so outermost: refused bodies and unmatched paths are timed too.
    app.add_middleware(RequestTiming, metrics=metrics)
    for router in ROUTERS:
        app.include_router(router)
    return app
