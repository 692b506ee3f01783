"""A local ICS feed server for tests and benchmarks: many feeds by path on 127.0.0.1.

Start it as a context manager; it listens on a free port and stops (releasing every hung
request and closing every open connection) on exit::

    with IcsServer() as server:
        server.set_feed("/a.ics", ICS_BYTES)
        url = server.url("/a.ics")           # http://127.0.0.1:PORT/a.ics
        ...
        assert server.requests_for("/a.ics")[-1].status == 304

As a pytest fixture::

    @pytest.fixture
    def ics_server() -> Iterator[IcsServer]:
        with IcsServer() as server:
            yield server

What a path answers:

* a **feed** (:meth:`IcsServer.set_feed`): ``200`` with the body, and by default an ``ETag``
  (a hash of the body) and a ``Last-Modified`` that advances one second with every body set on
  the server (a deterministic clock, so two changes within one wall-clock second still differ).
  ``If-None-Match`` (strong or weak comparison, ``*``) takes precedence over
  ``If-Modified-Since`` as in RFC 9110 §13.2.2; a match gives ``304`` without a body. Both
  validators can be switched off per server (constructor) or per feed (``set_feed``), for
  feeds that send neither;
* a **canned response** (:meth:`IcsServer.set_response`): any status, body and headers, e.g.
  ``429`` with ``Retry-After``, or a redirect (:meth:`IcsServer.set_redirect`);
* anything else: ``404``.

Faults and timing: :meth:`IcsServer.set_delay` sleeps before answering (one path or all);
:meth:`IcsServer.hang` makes a path's requests block until :meth:`IcsServer.release` (or the
server stops). Observations: :attr:`IcsServer.requests` logs every request, once answered,
as a :class:`Request` (path, ``time.monotonic()`` on arrival, headers with lower-case names, the
status answered); :meth:`IcsServer.max_in_flight` is the highest number of requests for one
path that were being answered at the same moment (for "never synced twice at once");
:meth:`IcsServer.in_flight` counts those being answered now. The server's clock for ``at`` is
``time.monotonic()``, which is system-wide on Linux, so times logged here compare with those
taken in other processes on the same machine (worker processes).

It is a :class:`~http.server.ThreadingHTTPServer` with daemon threads, one per connection,
HTTP/1.1 keep-alive, and a listen backlog of 1,024, so hundreds of concurrent connections (a
worker pool, an on-demand burst) are accepted without the kernel dropping SYNs. Everything is
thread-safe.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

__all__ = ["IcsServer", "Request"]

# The fake's Last-Modified clock starts here and advances one second per body set.
_EPOCH = datetime(2026, 11, 1, tzinfo=UTC)
_ICS_TYPE = "text/calendar; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Request:
    """One request the server received: ``at`` is ``time.monotonic()`` on arrival, ``headers``
    have lower-case names, ``status`` is what was answered (``None`` if the client went away
    first or the server stopped)."""

    method: str
    path: str
    at: float
    headers: dict[str, str]
    status: int | None


@dataclass(slots=True)
class _Feed:
    body: bytes
    content_type: str
    etag: str | None
    last_modified: datetime | None
    headers: dict[str, str]


@dataclass(slots=True)
class _Canned:
    status: int
    body: bytes
    headers: dict[str, str]


@dataclass(slots=True)
class _State:
    """Everything handlers read and write, under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    routes: dict[str, _Feed | _Canned] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)
    delay: float = 0.0
    hung: dict[str, threading.Event] = field(default_factory=dict)
    log: list[Request] = field(default_factory=list)
    in_flight: Counter[str] = field(default_factory=Counter)
    max_in_flight: Counter[str] = field(default_factory=Counter)
    stopping: threading.Event = field(default_factory=threading.Event)
    errors: list[BaseException] = field(default_factory=list)
    clock: int = 0
    salt: int = 0


class IcsServer:
    """Feeds by path on ``127.0.0.1`` (see the module docstring).

    ``etag`` and ``last_modified`` are the defaults for feeds that do not say; ``delay`` is
    the artificial delay of every path without its own, in seconds.
    """

    def __init__(
        self, *, etag: bool = True, last_modified: bool = True, delay: float = 0.0
    ) -> None:
        self._etag = etag
        self._last_modified = last_modified
        self._state = _State(delay=delay)
        self._httpd: _Httpd | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Listen on a free port of 127.0.0.1 and serve in a daemon thread."""
        if self._httpd is not None:
            raise RuntimeError("the server is already running")
        self._state.stopping.clear()
        self._httpd = _Httpd(self._state)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="ics-server", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, release hung requests, close open connections, free the port."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._state.stopping.set()
        with self._state.lock:
            for event in self._state.hung.values():
                event.set()
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """The full URL of ``path`` (which starts with ``/``)."""
        return self.base_url + _path(path)

    # -- what paths answer ----------------------------------------------------------------------

    def set_feed(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str = _ICS_TYPE,
        etag: bool | None = None,
        last_modified: bool | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Serve ``body`` at ``path`` from now on, replacing what was there. ``etag`` and
        ``last_modified`` override the server's defaults for this feed; ``headers`` are added
        to every answer."""
        state = self._state
        with state.lock:
            state.clock += 1
            use_etag = self._etag if etag is None else etag
            use_modified = self._last_modified if last_modified is None else last_modified
            state.routes[_path(path)] = _Feed(
                body=body,
                content_type=content_type,
                etag=_etag_of(body, state.salt) if use_etag else None,
                last_modified=_EPOCH + timedelta(seconds=state.clock) if use_modified else None,
                headers=dict(headers or {}),
            )

    def set_response(
        self,
        path: str,
        status: int,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer every request for ``path`` with this status, body and headers."""
        with self._state.lock:
            self._state.routes[_path(path)] = _Canned(status, body, dict(headers or {}))

    def set_redirect(self, path: str, location: str, status: int = 302) -> None:
        """Redirect ``path`` to ``location`` (a path or a full URL)."""
        self.set_response(path, status, headers={"Location": location})

    def remove(self, path: str) -> None:
        """``path`` answers 404 from now on."""
        with self._state.lock:
            self._state.routes.pop(_path(path), None)

    def forget_validators(self) -> None:
        """Give every feed a new ETag, as a server does after a restart or a software update,
        so that no ETag a client holds matches any more (``Last-Modified`` is kept)."""
        state = self._state
        with state.lock:
            state.salt += 1
            for route in state.routes.values():
                if isinstance(route, _Feed) and route.etag is not None:
                    route.etag = _etag_of(route.body, state.salt)

    # -- timing and faults ----------------------------------------------------------------------

    def set_delay(self, seconds: float, path: str | None = None) -> None:
        """Wait ``seconds`` before answering requests for ``path``, or for every path without
        a delay of its own when ``path`` is ``None``."""
        with self._state.lock:
            if path is None:
                self._state.delay = seconds
            else:
                self._state.delays[_path(path)] = seconds

    def hang(self, path: str) -> None:
        """Requests for ``path`` block (the client sees no answer) until :meth:`release`."""
        with self._state.lock:
            self._state.hung.setdefault(_path(path), threading.Event()).clear()

    def release(self, path: str) -> None:
        """Let hung and future requests for ``path`` be answered."""
        with self._state.lock:
            event = self._state.hung.pop(_path(path), None)
        if event is not None:
            event.set()

    # -- observations ---------------------------------------------------------------------------

    @property
    def requests(self) -> list[Request]:
        """Every request answered so far (or given up when the client left or the server
        stopped), in order of arrival. A request still delayed or hung is not in it yet: see
        :meth:`in_flight`."""
        with self._state.lock:
            return sorted(self._state.log, key=lambda r: r.at)

    def requests_for(self, path: str) -> list[Request]:
        wanted = _path(path)
        return [r for r in self.requests if r.path == wanted]

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions raised while answering, other than clients hanging up: a test that
        sees one found a bug in this fake."""
        with self._state.lock:
            return list(self._state.errors)

    def clear_log(self) -> None:
        """Forget the request log and the in-flight maxima (not the feeds)."""
        with self._state.lock:
            self._state.log.clear()
            self._state.max_in_flight.clear()

    def in_flight(self, path: str) -> int:
        """Requests for ``path`` being answered right now (delayed or hung ones included)."""
        with self._state.lock:
            return self._state.in_flight[_path(path)]

    def max_in_flight(self, path: str | None = None) -> int:
        """The most requests for ``path`` answered at the same moment since the start (or the
        last :meth:`clear_log`); with no ``path``, that maximum over all paths."""
        with self._state.lock:
            if path is None:
                return max(self._state.max_in_flight.values(), default=0)
            return self._state.max_in_flight[_path(path)]


def _path(path: str) -> str:
    return path if path.startswith("/") else "/" + path


def _etag_of(body: bytes, salt: int) -> str:
    return '"' + hashlib.sha256(salt.to_bytes(8, "big") + body).hexdigest()[:20] + '"'


def _etag_matches(header: str, etag: str) -> bool:
    """RFC 9110 §13.1.2: weak comparison, a list of tags, or ``*``."""
    if header.strip() == "*":
        return True
    mine = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == mine for tag in header.split(","))


def _not_modified(feed: _Feed, headers: dict[str, str]) -> bool:
    if "if-none-match" in headers:
        return feed.etag is not None and _etag_matches(headers["if-none-match"], feed.etag)
    since = headers.get("if-modified-since")
    if since is None or feed.last_modified is None:
        return False
    try:
        when = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
    return when.tzinfo is not None and feed.last_modified <= when


class _Handler(BaseHTTPRequestHandler):
    server: _Httpd
    protocol_version = "HTTP/1.1"
    # An idle keep-alive connection is closed after this long, so its thread ends.
    timeout = 30

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, *, send_body: bool) -> None:
        state = self.server.state
        path = urlsplit(self.path).path
        headers = {name.lower(): value for name, value in self.headers.items()}
        arrived = time.monotonic()
        with state.lock:
            state.in_flight[path] += 1
            state.max_in_flight[path] = max(state.max_in_flight[path], state.in_flight[path])
            delay = state.delays.get(path, state.delay)
            hung = state.hung.get(path)
        logged = False

        def log(status: int | None) -> None:
            nonlocal logged
            with state.lock:
                state.in_flight[path] -= 1
                state.log.append(Request(self.command, path, arrived, headers, status))
            logged = True

        try:
            if hung is not None:
                hung.wait()
            if delay > 0:
                state.stopping.wait(delay)
            if state.stopping.is_set():
                self.close_connection = True
                return
            with state.lock:
                route = state.routes.get(path)
                answer = _respond(route, headers)
            # Logged before the answer leaves: a client that has its answer finds its request
            # in the log (a test may clear the log right after a request).
            log(answer.status)
            self._send(answer, send_body=send_body)
        finally:
            if not logged:
                log(None)

    def _send(self, answer: _Canned, *, send_body: bool) -> None:
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if send_body and answer.body:
            self.wfile.write(answer.body)


def _respond(route: _Feed | _Canned | None, headers: dict[str, str]) -> _Canned:
    """What to send for ``route`` given the request's ``headers``."""
    if route is None:
        return _Canned(404, b"not found\n", {"Content-Type": "text/plain"})
    if isinstance(route, _Canned):
        return route
    validators: dict[str, str] = {}
    if route.etag is not None:
        validators["ETag"] = route.etag
    if route.last_modified is not None:
        validators["Last-Modified"] = format_datetime(route.last_modified, usegmt=True)
    if _not_modified(route, headers):
        return _Canned(304, b"", {**route.headers, **validators})
    return _Canned(
        200, route.body, {"Content-Type": route.content_type, **route.headers, **validators}
    )


class _Httpd(ThreadingHTTPServer):
    daemon_threads = True
    # The listen backlog: the default of 5 makes the kernel drop bursts of connections, which
    # clients then retry only after a second.
    request_queue_size = 1024

    def __init__(self, state: _State) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Unblock every connection thread (idle keep-alive reads included)."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):  # already closed by its thread
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer (a cancelled sync, a closed pool) is expected;
        # anything else is a bug of this fake, kept for IcsServer.errors.
        error = sys.exc_info()[1]
        if error is not None and not isinstance(error, ConnectionError | TimeoutError):
            with self.state.lock:
                self.state.errors.append(error)
