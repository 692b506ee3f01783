"""Request latency by route template, as a plain ASGI middleware.

The route is read after the app answered: Starlette's router leaves the route it matched in the
request's scope, whose ``path`` is the template (``/v1/resources/{resource_id}``), so ids never
become label values. A request no route matched (404s, bodies refused before routing) counts as
``unmatched``, and a method outside HTTP's usual set as ``other``: a client cannot grow the
number of series. A plain middleware rather than Starlette's ``BaseHTTPMiddleware``: the
availability hot path pays two clock reads and one histogram update, not another task.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openslots.observability.metrics import Metrics

__all__ = ["RequestTiming"]

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestTiming:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        # Unless a response starts, the server answers the exception with a 500.
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            self.metrics.observe_request(
                template,
                method if method in _METHODS else "other",
                status,
                time.perf_counter() - began,
            )
