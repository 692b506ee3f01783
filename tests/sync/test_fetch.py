"""The SSRF-safe fetch client against local servers only (RELIABILITY-NOTES §1.6 S1–S8, S12).

A *canary* server on 127.0.0.1 counts the TCP connections it accepts. In the URL-form matrix
every connection the guard lets through is routed to the canary whatever address it was meant
for (``Routing``), so "refused" means the canary saw zero connections, not merely that the
target address happened to be closed. Names are answered by a fake resolver (no DNS); it falls
back to the system's *numeric* parsing so ``2130706433`` and ``127.1`` resolve as they would.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpcore
import pytest

from openslots.errors import FeedTooLarge, FetchFailed, TransientError, UnsafeUrl
from openslots.sync.fetch import Fetcher, FetchLimits, Validators, feed_url

PUBLIC = "93.184.215.14"  # what "public.test" resolves to in these tests
MiB = 1024 * 1024
ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"


# -- local servers ----------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query).items()}
        self.server.requests.append((url.path, dict(self.headers.items())))
        route = getattr(self, "route_" + url.path.strip("/").split("/")[0], None)
        if route is None:
            self._send(200, ICS, {"Content-Type": "text/calendar"})
        else:
            route(url.path, query)

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, chunks: Iterator[bytes]) -> None:
        # HTTP/1.0 without Content-Length: the body ends when the connection closes.
        self.send_response(200)
        self.end_headers()
        try:
            for chunk in chunks:
                self.wfile.write(chunk)
                self.wfile.flush()
                self.server.sent += len(chunk)
        except OSError:
            pass
        finally:
            self.server.done.set()

    def route_redirect(self, path: str, query: dict[str, str]) -> None:
        self._send(int(query.get("status", "302")), b"", {"Location": query["to"]})

    def route_hop(self, path: str, query: dict[str, str]) -> None:
        left = int(path.rsplit("/", 1)[1])
        if left:
            self._send(302, b"", {"Location": f"/hop/{left - 1}"})
        else:
            self._send(200, ICS)

    def route_loop(self, path: str, query: dict[str, str]) -> None:
        self._send(302, b"", {"Location": "/loop"})

    def route_big(self, path: str, query: dict[str, str]) -> None:
        size = int(query["size"])
        self._stream(b"x" * min(65536, size - at) for at in range(0, size, 65536))

    def route_endless(self, path: str, query: dict[str, str]) -> None:
        self._stream(b"x" * 65536 for _ in iter(int, 1))

    def route_drip(self, path: str, query: dict[str, str]) -> None:
        def drip() -> Iterator[bytes]:
            while not self.server.stop.wait(0.05):
                yield b"x"

        self._stream(drip())

    def route_hang(self, path: str, query: dict[str, str]) -> None:
        self.server.stop.wait(10)

    def route_announce(self, path: str, query: dict[str, str]) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(20 * MiB))
        self.end_headers()
        self.wfile.flush()
        self.server.stop.wait(10)

    def route_gzip(self, path: str, query: dict[str, str]) -> None:
        body = gzip.compress(b"\0" * int(query["size"]))
        self._send(200, body, {"Content-Encoding": "gzip"})

    def route_etag(self, path: str, query: dict[str, str]) -> None:
        if self.headers.get("If-None-Match") == '"v1"':
            self._send(304, b"")
        else:
            headers = {"ETag": '"v1"', "Last-Modified": "Sat, 21 Nov 2026 10:00:00 GMT"}
            self._send(200, ICS, headers)

    def route_status(self, path: str, query: dict[str, str]) -> None:
        self._send(int(path.rsplit("/", 1)[1]), b"no", {"Retry-After": "120"})


class Server(ThreadingHTTPServer):
    """A local HTTP server that counts the connections it accepts."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections = 0
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.sent = 0
        self.done = threading.Event()
        self.stop = threading.Event()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.connections += 1
        return True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up mid-body is what several tests do on purpose


@pytest.fixture
def start_server() -> Iterator[Callable[[], Server]]:
    servers: list[Server] = []

    def start() -> Server:
        server = Server()
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def canary(start_server: Callable[[], Server]) -> Server:
    return start_server()


@pytest.fixture
def origin(start_server: Callable[[], Server]) -> Server:
    return start_server()


class Routing(httpcore.NetworkBackend):
    """The inner backend: records the (checked) address asked for and connects to ``routes``
    for it, else to ``default``."""

    def __init__(self, default: Server, routes: dict[str, Server] | None = None) -> None:
        self.default = default
        self.routes = routes or {}
        self.asked: list[tuple[str, int]] = []
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        self.asked.append((host, port))
        target = self.routes.get(host, self.default)
        return self._sockets.connect_tcp("127.0.0.1", target.port, timeout, None, socket_options)


class Resolver:
    """Answers from ``names`` (a list of answers is used up one call at a time when ``names``
    maps to a list of lists); other hosts are parsed as numbers only, never looked up."""

    def __init__(self, names: dict[str, Any] | None = None) -> None:
        self.names = {
            "public.test": [PUBLIC],
            "public2.test": [PUBLIC],
            "loopy.test": ["127.0.0.1"],
            "meta.test": ["169.254.169.254"],
            "mixed.test": ["8.8.8.8", "10.0.0.5"],
            "mapped.test": ["::ffff:127.0.0.1"],
            "v6loop.test": ["::1"],
            "nat64.test": ["64:ff9b::a00:1"],
            **(names or {}),
        }
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> Sequence[str]:
        self.calls.append(host)
        if host in self.names:
            answer = self.names[host]
            if answer and isinstance(answer[0], list):
                return list(answer.pop(0))
            return list(answer)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
        return [str(info[4][0]) for info in infos]


def _fetcher(routing: Routing, resolver: Resolver | None = None, **kwargs: Any) -> Fetcher:
    return Fetcher(resolver=resolver or Resolver(), network_backend=routing, **kwargs)


# -- S1/S2: the URL-form matrix ---------------------------------------------------------------

# {port} is the canary's port, so even a direct connection would reach it.
REFUSED = [
    "http://127.0.0.1/",
    "http://127.0.0.1:{port}/",
    "http://2130706433:{port}/",
    "http://0x7f000001:{port}/",
    "http://0177.0.0.1:{port}/",
    "http://127.1:{port}/",
    "http://0x7f.1:{port}/",
    "http://0/",
    "http://0.0.0.0:{port}/",
    "http://localhost:{port}/",
    "http://LOCALHOST:{port}/",
    "http://localhost.:{port}/",
    "http://api.localhost/",
    "http://[::1]:{port}/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://[0:0:0:0:0:ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::127.0.0.1]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[2002:7f00:1::1]/",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[fec0::1]/",
    "http://[fc00::1]/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://[ff02::1]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://2852039166/",
    "http://0xa9fea9fe/",
    "http://169.254.170.2/v2/credentials",
    "http://100.100.100.200/latest/meta-data/",
    "http://168.63.129.16/",
    "http://100.64.0.1/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://192.0.0.170/",
    "http://198.18.0.1/",
    "http://192.0.2.1/",
    "http://255.255.255.255/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://127。0。0。1:{port}/",
    "http://①②⑦.⓪.⓪.①/",
    "http://example.com@127.0.0.1:{port}/",
    "http://user:pass@127.0.0.1:{port}/",
    "http://127.0.0.1:{port}#@example.com/",
    "http://127.0.0.1:22/",
    "http://127.0.0.1:6379/",
    "HTTP://127.0.0.1:{port}/",
    "HTTPS://LOCALHOST/",
    "https://[::1]/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://intranet/",
    "http://printer.local/",
    "http://db.internal/",
    "http://nas.home.arpa/",
    "http://loopy.test:{port}/",
    "http://meta.test/",
    "http://mixed.test/",
    "http://mapped.test:{port}/",
    "http://v6loop.test/",
    "http://nat64.test/",
    # S2: schemes
    "file:///etc/passwd",
    "FILE:///etc/passwd",
    "gopher://127.0.0.1:{port}/_GET%20/",
    "gopher://public.test/",
    "ftp://public.test/feed.ics",
    "dict://127.0.0.1:{port}/info",
    "ldap://127.0.0.1/",
    "data:text/calendar,BEGIN:VCALENDAR",
    "jar:http://public.test/x.jar!/",
    "webcal://public.test/feed.ics",  # callers map it first (feed_url); unmapped it is refused
    "//public.test/feed.ics",
    "public.test/feed.ics",
]


def test_the_matrix_has_at_least_forty_forms() -> None:
    assert len(REFUSED) >= 40


@pytest.mark.parametrize("form", REFUSED)
def test_url_form_is_refused_before_any_connection(form: str, canary: Server) -> None:
    routing = Routing(default=canary)
    with _fetcher(routing) as fetcher, pytest.raises(UnsafeUrl):
        fetcher.get(form.format(port=canary.port))
    assert routing.asked == []
    assert canary.connections == 0


@pytest.mark.parametrize(
    ("form", "address"),
    [
        ("http://public.test/", PUBLIC),
        ("http://8.8.8.8/", "8.8.8.8"),
        ("http://[::ffff:8.8.8.8]/", "::ffff:808:808"),
        ("http://[2001:4860:4860::8888]/", "2001:4860:4860::8888"),
        ("http://[64:ff9b::808:808]/", "64:ff9b::808:808"),
        ("http://PUBLIC.TEST./", PUBLIC),
    ],
)
def test_public_controls_reach_the_canary(form: str, address: str, canary: Server) -> None:
    """The matrix is not vacuous: allowed forms do get through to the routed canary."""
    routing = Routing(default=canary)
    resolver = Resolver({"public.test.": [PUBLIC]})
    with _fetcher(routing, resolver) as fetcher:
        fetched = fetcher.get(form)
    assert fetched.status_code == 200
    assert fetched.body == ICS
    assert routing.asked == [(address, 80)]
    assert canary.connections == 1


@pytest.mark.parametrize("form", ["http://127.1:{port}/", "http://0x7f.1:{port}/"])
def test_numeric_spellings_are_judged_by_the_resolved_address(form: str, canary: Server) -> None:
    routing = Routing(default=canary)
    resolver = Resolver()
    with _fetcher(routing, resolver) as fetcher, pytest.raises(UnsafeUrl, match="loopback"):
        fetcher.get(form.format(port=canary.port))
    assert resolver.calls == [form.split("//")[1].split(":", maxsplit=1)[0]]
    assert canary.connections == 0


def test_the_default_backend_refuses_the_canary(canary: Server) -> None:
    """Without the test routing: the real socket backend behind the guard."""
    with Fetcher() as fetcher:
        for form in ("http://127.0.0.1:{port}/", "http://[::ffff:127.0.0.1]:{port}/"):
            with pytest.raises(UnsafeUrl):
                fetcher.get(form.format(port=canary.port))
    assert canary.connections == 0


def test_environment_proxies_are_ignored(
    canary: Server, origin: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{canary.port}")
    with Fetcher(allow_private_networks=True) as fetcher:
        assert fetcher.get(f"http://127.0.0.1:{origin.port}/").body == ICS
    assert (canary.connections, origin.connections) == (0, 1)


# -- allow_private_networks -------------------------------------------------------------------


@pytest.mark.parametrize(
    "form", ["http://127.0.0.1:{port}/", "http://localhost:{port}/", "http://LOCALHOST:{port}/"]
)
def test_private_networks_switch_reaches_the_local_server(form: str, canary: Server) -> None:
    with Fetcher(allow_private_networks=True) as fetcher:
        fetched = fetcher.get(form.format(port=canary.port))
    assert fetched.body == ICS
    assert canary.connections == 1


@pytest.mark.parametrize(
    "form",
    [
        "http://169.254.169.254/",
        "http://[fd00:ec2::254]/",
        "http://100.100.100.200/",
        "http://metadata.google.internal/",
        "http://meta.test/",
        "http://[fe80::1]/",
        "http://0.0.0.0:{port}/",
        "http://[2002:7f00:1::1]/",
        "file:///etc/passwd",
    ],
)
def test_private_networks_switch_keeps_metadata_and_the_rest_refused(
    form: str, canary: Server
) -> None:
    routing = Routing(default=canary)
    with (
        _fetcher(routing, allow_private_networks=True) as fetcher,
        pytest.raises(UnsafeUrl),
    ):
        fetcher.get(form.format(port=canary.port))
    assert canary.connections == 0


# -- S6: redirects ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/secret",
        "http://[::1]:{port}/",
        "http://2130706433:{port}/",
        "http://localhost:{port}/",
        "http://loopy.test:{port}/",
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:{port}/",
    ],
)
def test_redirect_to_a_forbidden_target_is_refused(
    status: int, target: str, canary: Server, origin: Server
) -> None:
    routing = Routing(default=canary, routes={PUBLIC: origin})
    location = target.format(port=canary.port)
    with _fetcher(routing) as fetcher, pytest.raises(UnsafeUrl):
        fetcher.get(f"http://public.test/redirect?status={status}&to={location}")
    assert origin.connections == 1
    assert canary.connections == 0


def test_redirect_to_metadata_is_refused_even_on_private_networks(
    canary: Server, origin: Server
) -> None:
    routing = Routing(default=canary, routes={"127.0.0.1": origin})
    url = f"http://127.0.0.1:{origin.port}/redirect?to=http://169.254.169.254/latest/meta-data/"
    with (
        _fetcher(routing, allow_private_networks=True) as fetcher,
        pytest.raises(UnsafeUrl, match="metadata"),
    ):
        fetcher.get(url)
    assert (origin.connections, canary.connections) == (1, 0)


def test_allowed_redirect_is_followed_and_checked_again(origin: Server, canary: Server) -> None:
    routing = Routing(default=canary, routes={PUBLIC: origin})
    resolver = Resolver()
    with _fetcher(routing, resolver) as fetcher:
        fetched = fetcher.get("http://public.test/redirect?to=http://public2.test/feed.ics")
    assert fetched.body == ICS
    assert fetched.url == "http://public2.test/feed.ics"
    assert resolver.calls == ["public.test", "public2.test"]
    assert canary.connections == 0


def test_credentials_go_to_the_first_origin_only(origin: Server, canary: Server) -> None:
    routing = Routing(default=canary, routes={PUBLIC: origin})
    with _fetcher(routing) as fetcher:
        fetcher.get("http://public.test/redirect?to=http://public2.test/", auth=("u", "p"))
    (_, first), (_, second) = origin.requests
    assert first["Authorization"].startswith("Basic ")
    assert "Authorization" not in second


@pytest.mark.parametrize("hops", [0, 1, 3])
def test_up_to_three_redirects_are_followed(hops: int, origin: Server, canary: Server) -> None:
    routing = Routing(default=canary, routes={PUBLIC: origin})
    with _fetcher(routing) as fetcher:
        assert fetcher.get(f"http://public.test/hop/{hops}").body == ICS
    assert len(origin.requests) == hops + 1


@pytest.mark.parametrize("path", ["/hop/4", "/hop/9", "/loop"])
def test_more_than_three_redirects_are_refused(path: str, origin: Server, canary: Server) -> None:
    routing = Routing(default=canary, routes={PUBLIC: origin})
    with _fetcher(routing) as fetcher, pytest.raises(FetchFailed) as caught:
        fetcher.get(f"http://public.test{path}")
    assert caught.value.kind == "redirects"
    assert len(origin.requests) == 4


def test_the_redirect_cap_is_configurable(origin: Server, canary: Server) -> None:
    routing = Routing(default=canary, routes={PUBLIC: origin})
    with (
        _fetcher(routing, limits=FetchLimits(max_redirects=0)) as fetcher,
        pytest.raises(FetchFailed, match="more than 0 redirects"),
    ):
        fetcher.get("http://public.test/hop/1")


# -- S3/S4/S5: resolution ---------------------------------------------------------------------


def test_dns_rebinding_connects_only_to_the_checked_answer(origin: Server, canary: Server) -> None:
    """Public on the first lookup, loopback on the second: the first connection goes to the
    public answer it checked (the resolver is asked once for it), the second is refused."""
    routing = Routing(default=canary, routes={PUBLIC: origin})
    resolver = Resolver({"rebind.test": [[PUBLIC], ["127.0.0.1"], ["127.0.0.1"]]})
    with _fetcher(routing, resolver) as fetcher:
        assert fetcher.get("http://rebind.test/").body == ICS
        assert resolver.calls == ["rebind.test"]
        # The server speaks HTTP/1.0, so the next fetch opens a new connection.
        with pytest.raises(UnsafeUrl, match="loopback"):
            fetcher.get("http://rebind.test/")
    assert resolver.calls == ["rebind.test", "rebind.test"]
    assert routing.asked == [(PUBLIC, 80)]
    assert (origin.connections, canary.connections) == (1, 0)


def test_one_forbidden_answer_refuses_the_name(canary: Server) -> None:
    routing = Routing(default=canary)
    resolver = Resolver({"both.test": ["8.8.8.8", "192.168.0.1"]})
    with _fetcher(routing, resolver) as fetcher, pytest.raises(UnsafeUrl, match=r"192\.168\.0\.1"):
        fetcher.get("http://both.test/")
    assert routing.asked == []


def test_later_answers_are_tried_when_the_first_does_not_connect(origin: Server) -> None:
    class Refusing(Routing):
        def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
            if host == "8.8.8.8":
                self.asked.append((host, port))
                raise httpcore.ConnectError("refused")
            return super().connect_tcp(host, port, *args, **kwargs)

    routing = Refusing(default=origin)
    resolver = Resolver({"two.test": ["8.8.8.8", "8.8.4.4"]})
    with _fetcher(routing, resolver) as fetcher:
        assert fetcher.get("http://two.test/").body == ICS
    assert routing.asked == [("8.8.8.8", 80), ("8.8.4.4", 80)]


def test_a_failed_lookup_fails_closed(canary: Server) -> None:
    def broken(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    routing = Routing(default=canary)
    with (
        Fetcher(resolver=broken, network_backend=routing) as fetcher,
        pytest.raises(FetchFailed) as caught,
    ):
        fetcher.get("http://nowhere.test/")
    assert caught.value.kind == "dns"
    assert isinstance(caught.value, TransientError)
    assert canary.connections == 0


@pytest.mark.parametrize("answer", [[], ["not-an-address"]])
def test_an_empty_or_bad_answer_fails_closed(answer: list[str], canary: Server) -> None:
    routing = Routing(default=canary)
    resolver = Resolver({"odd.test": answer})
    with _fetcher(routing, resolver) as fetcher, pytest.raises(FetchFailed) as caught:
        fetcher.get("http://odd.test/")
    assert caught.value.kind == "dns"
    assert canary.connections == 0


def test_a_hanging_lookup_times_out(canary: Server) -> None:
    release = threading.Event()

    def hanging(host: str, port: int) -> list[str]:
        release.wait(10)
        return ["127.0.0.1"]

    routing = Routing(default=canary)
    started = time.monotonic()
    try:
        with (
            Fetcher(
                resolver=hanging, network_backend=routing, limits=FetchLimits(dns_seconds=0.3)
            ) as fetcher,
            pytest.raises(FetchFailed) as caught,
        ):
            fetcher.get("http://slow.test/")
    finally:
        release.set()
    assert caught.value.kind == "dns"
    assert time.monotonic() - started < 2
    assert canary.connections == 0


# -- S7: size ---------------------------------------------------------------------------------


def _local(origin: Server, path: str) -> str:
    return f"http://127.0.0.1:{origin.port}{path}"


def test_a_body_over_ten_mib_is_refused(origin: Server) -> None:
    with Fetcher(allow_private_networks=True) as fetcher, pytest.raises(FeedTooLarge) as caught:
        fetcher.get(_local(origin, f"/big?size={11 * MiB}"))
    assert caught.value.limit == 10 * MiB
    assert caught.value.kind == "too_large"
    assert caught.value.to_dict()["error"]["code"] == "feed_too_large"


def test_an_endless_body_is_cut_off_early(origin: Server) -> None:
    with Fetcher(allow_private_networks=True) as fetcher, pytest.raises(FeedTooLarge):
        fetcher.get(_local(origin, "/endless"))
    assert origin.done.wait(5), "the server kept sending after the client gave up"
    # What the server managed to send before its writes failed: the cap plus socket buffers.
    assert origin.sent < 10 * MiB + 32 * MiB


def test_an_announced_length_over_the_cap_is_refused_before_the_body(origin: Server) -> None:
    started = time.monotonic()
    with Fetcher(allow_private_networks=True) as fetcher, pytest.raises(FeedTooLarge):
        fetcher.get(_local(origin, "/announce"))
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(("size", "fits"), [(1000, True), (1001, False)])
def test_the_cap_is_exact(size: int, fits: bool, origin: Server) -> None:
    limits = FetchLimits(max_bytes=1000)
    with Fetcher(allow_private_networks=True, limits=limits) as fetcher:
        url = _local(origin, f"/big?size={size}")
        if fits:
            assert len(fetcher.get(url).body) == size
        else:
            with pytest.raises(FeedTooLarge):
                fetcher.get(url)


def test_a_gzip_bomb_stops_at_the_cap(origin: Server) -> None:
    limits = FetchLimits(max_bytes=1 * MiB)
    with Fetcher(allow_private_networks=True, limits=limits) as fetcher:
        assert fetcher.get(_local(origin, f"/gzip?size={MiB}")).body == b"\0" * MiB
        with pytest.raises(FeedTooLarge):
            fetcher.get(_local(origin, f"/gzip?size={64 * MiB}"))


# -- S8: time ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/drip", "/hang"])
def test_the_total_deadline_cuts_off_slow_servers(path: str, origin: Server) -> None:
    limits = FetchLimits(total_seconds=0.8, read_seconds=15)
    started = time.monotonic()
    with (
        Fetcher(allow_private_networks=True, limits=limits) as fetcher,
        pytest.raises(FetchFailed) as caught,
    ):
        fetcher.get(_local(origin, path))
    elapsed = time.monotonic() - started
    assert caught.value.kind == "timeout"
    assert 0.7 < elapsed < 2.0


def test_the_deadline_covers_redirects_too(origin: Server) -> None:
    limits = FetchLimits(total_seconds=0.8)
    url = _local(origin, f"/redirect?to=http://127.0.0.1:{origin.port}/hang")
    with (
        Fetcher(allow_private_networks=True, limits=limits) as fetcher,
        pytest.raises(FetchFailed, match="in time"),
    ):
        fetcher.get(url)


# -- conditional GET, statuses, messages ------------------------------------------------------


def test_conditional_get_surfaces_not_modified(origin: Server) -> None:
    with Fetcher(allow_private_networks=True) as fetcher:
        first = fetcher.get(_local(origin, "/etag"))
        assert not first.not_modified
        assert first.validators == Validators('"v1"', "Sat, 21 Nov 2026 10:00:00 GMT")
        second = fetcher.get(_local(origin, "/etag"), validators=first.validators)
    assert second.not_modified
    assert second.body == b""
    assert second.validators == first.validators
    sent = origin.requests[1][1]
    assert sent["If-None-Match"] == '"v1"'
    assert sent["If-Modified-Since"] == "Sat, 21 Nov 2026 10:00:00 GMT"
    assert "If-None-Match" not in origin.requests[0][1]


def test_validators_request_headers() -> None:
    assert Validators().request_headers() == {}
    assert Validators(etag='W/"x"').request_headers() == {"If-None-Match": 'W/"x"'}


def test_content_type_and_digest(origin: Server) -> None:
    with Fetcher(allow_private_networks=True) as fetcher:
        fetched = fetcher.get(_local(origin, "/feed.ics"))
    assert fetched.content_type == "text/calendar"
    assert len(fetched.digest) == 64


def test_an_error_status_fails_with_retry_after(origin: Server) -> None:
    with Fetcher(allow_private_networks=True) as fetcher:
        with pytest.raises(FetchFailed) as caught:
            fetcher.get(_local(origin, "/status/503"))
        # request() hands every final status back, as CalDAV needs (403/412 mean things).
        assert fetcher.request("GET", _local(origin, "/status/412")).status_code == 412
    assert (caught.value.kind, caught.value.status_code) == ("status", 503)
    assert caught.value.retry_after == 120


def test_a_refused_connection_is_a_connect_failure(origin: Server) -> None:
    port = origin.port
    origin.shutdown()
    origin.server_close()
    with Fetcher(allow_private_networks=True) as fetcher, pytest.raises(FetchFailed) as caught:
        fetcher.get(f"http://127.0.0.1:{port}/")
    assert caught.value.kind == "connect"


def test_messages_never_carry_the_url_secrets(canary: Server) -> None:
    routing = Routing(default=canary)
    urls = [
        "http://user:SECRET@127.0.0.1/private-SECRET/basic.ics?token=SECRET",
        "http://loopy.test/private-SECRET/basic.ics?token=SECRET",
        "file:///SECRET",
    ]
    with _fetcher(routing) as fetcher:
        for url in urls:
            with pytest.raises(UnsafeUrl) as caught:
                fetcher.get(url)
            assert "SECRET" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("webcal://example.com/feed.ics", "https://example.com/feed.ics"),
        ("WEBCAL://example.com/a", "https://example.com/a"),
        ("webcals://example.com/a", "https://example.com/a"),
        (" webcal://example.com/a ", "https://example.com/a"),
        ("https://example.com/a", "https://example.com/a"),
        ("http://example.com/a", "http://example.com/a"),
        ("file:///etc/passwd", "file:///etc/passwd"),
    ],
)
def test_feed_url_maps_webcal_to_https(url: str, expected: str) -> None:
    assert feed_url(url) == expected


def test_webcal_is_checked_like_https(canary: Server) -> None:
    routing = Routing(default=canary)
    with _fetcher(routing) as fetcher, pytest.raises(UnsafeUrl, match="loopback"):
        fetcher.get(feed_url(f"webcal://127.0.0.1:{canary.port}/feed.ics"))
    assert canary.connections == 0
