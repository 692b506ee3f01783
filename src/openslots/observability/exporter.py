"""``/metrics`` for a process that has no HTTP API (``openslots worker``): a small threaded HTTP
server beside the worker, answering the same exposition and access rules as the API's route.

The worker's own families (syncs, lease claims by worker ticks) exist only in the worker's
process, so a deployment that splits API and workers scrapes each worker here
(``metrics.worker_port``).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client.exposition import ThreadingWSGIServer

from openslots.observability.metrics import Metrics

__all__ = ["MetricsServer"]

StartResponse = Callable[..., Any]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds would drown the worker's own lines."""


class _Server(ThreadingWSGIServer):
    pass


class _Server6(ThreadingWSGIServer):
    address_family = socket.AF_INET6


def _error(start_response: StartResponse, status: str, code: str, message: str) -> list[bytes]:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    if code == "unauthorized":
        headers.append(("WWW-Authenticate", "Bearer"))
    start_response(status, headers)
    return [body]


class MetricsServer:
    """Serves ``metrics`` at ``http://host:port/metrics`` from :meth:`start` to :meth:`stop`;
    port 0 picks a free one (see :attr:`port`)."""

    def __init__(self, metrics: Metrics, host: str, port: int) -> None:
        self.metrics = metrics
        server_class = _Server6 if ":" in host else _Server
        self._server = make_server(
            host, port, self._app, server_class=server_class, handler_class=_QuietHandler
        )
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="openslots-metrics", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def _app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        access = self.metrics.access
        if environ.get("PATH_INFO") != "/metrics" or not access.enabled:
            return _error(start_response, "404 Not Found", "not_found", "Not Found")
        if environ.get("REQUEST_METHOD") not in {"GET", "HEAD"}:
            return _error(start_response, "405 Method Not Allowed", "method_not_allowed", "use GET")
        if not access.allows(environ.get("HTTP_AUTHORIZATION")):
            return _error(
                start_response, "401 Unauthorized", "unauthorized", "a metrics token is required"
            )
        body, content_type = self.metrics.exposition(environ.get("HTTP_ACCEPT"))
        start_response(
            "200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        )
        return [body]
