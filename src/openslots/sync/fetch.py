"""The one HTTP client for user-supplied URLs (ICS feeds, CalDAV servers): SSRF-safe and capped.

The guard sits where the socket is opened (RELIABILITY-NOTES §1). :class:`GuardedBackend` is an
httpcore network backend whose ``connect_tcp`` refuses a forbidden host name, resolves the name
*once*, checks *every* answer against :class:`~openslots.sync.addresses.AddressPolicy`, and then
connects to one of those checked addresses: a resolver that answers differently the second time
(DNS rebinding) is never asked again for that connection. Address spellings that only a resolver
understands (``2130706433``, ``0x7f000001``, ``127.1``) are caught because the resolved address
is what gets checked. Every new connection, including each redirect hop, goes through it.

:class:`Fetcher` adds the limits of §1.4 on top:

- schemes: ``http`` and ``https`` only, on the first URL and on every redirect target
  (:func:`feed_url` maps ``webcal://`` to ``https://`` first);
- redirects: followed by hand, at most ``max_redirects`` (3), credentials only to the first
  origin; redirect bodies are never read;
- size: ``max_bytes`` (10 MiB) counted after content decoding, so a gzip bomb stops at the cap;
  a larger ``Content-Length`` is refused before the body is read;
- time: ``total_seconds`` (30 s) for the whole fetch, redirects included: every connect, TLS
  handshake, read and write gets at most the time that is left, so a server that drips one byte
  a second is cut off at the deadline;
- no proxies and no ``.netrc`` from the environment (``trust_env=False``).

Errors: :class:`~openslots.errors.UnsafeUrl` when the policy refuses (nothing was sent to that
address), :class:`~openslots.errors.FetchFailed` for everything else that goes wrong (``kind``
says what), :class:`~openslots.errors.FeedTooLarge` for the size cap. Messages name the host,
never the URL: feed URLs carry secrets in their path and query.

Conditional GET: pass the :class:`Validators` of the last good fetch to :meth:`Fetcher.get`; a
``304 Not Modified`` comes back as a :class:`Fetched` with ``not_modified`` set and no body.

Connectors are asynchronous (:mod:`openslots.sync.contract`) and get an ``httpx.AsyncClient``
from :meth:`Fetcher.async_client`. Its transport, :class:`AsyncGuardedTransport`, sends each
hop through :meth:`Fetcher.send_once` on a thread of the fetcher's own pool, so async requests
get exactly the guard and caps above; httpx follows redirects itself (at most
``max_redirects``), and each hop goes through the guard again.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import httpcore
import httpx

from openslots.errors import FeedTooLarge, FetchFailed, UnsafeUrl
from openslots.sync.addresses import AddressPolicy, IPAddress
from openslots.sync.contract import retry_after_seconds

__all__ = [
    "AsyncGuardedTransport",
    "FetchLimits",
    "Fetched",
    "Fetcher",
    "GuardedBackend",
    "GuardedTransport",
    "Resolver",
    "Validators",
    "feed_url",
    "system_resolver",
]

Resolver = Callable[[str, int], Sequence[str]]
"""Looks a host name up: ``(host, port) -> addresses`` as text. Raises on failure."""

SCHEMES = frozenset({"http", "https"})
_USER_AGENT = "openslots (calendar sync)"
_POOL_LIMITS = httpx.Limits(max_connections=64, max_keepalive_connections=16)
# Threads of one fetcher that run async clients' requests: enough for an on-demand sync of
# dozens of connections at once (each waits on the network, not the CPU).
_ASYNC_THREADS = 64
# Request headers the guarded client sets itself: framing, and only the encodings _Decoder
# can inflate with a bound.
_HOP_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "accept-encoding"})
# Response headers that describe the wire form, not the decoded body handed back.
_WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})
# The deadline of the fetch running in this thread/task, as a time.monotonic() value. Streams
# outlive a fetch in the connection pool, so they look it up at each operation.
_DEADLINE: ContextVar[float | None] = ContextVar("openslots_fetch_deadline", default=None)


def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's resolver (``getaddrinfo``), every answer, in its order."""
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(answer[4][0]) for answer in answers))


def feed_url(url: str) -> str:
    """``url`` with a ``webcal://`` or ``webcals://`` scheme (any case) replaced by ``https://``;
    other URLs unchanged. The result still goes through every check of :class:`Fetcher`."""
    scheme, sep, rest = url.strip().partition("://")
    if sep and scheme.lower() in {"webcal", "webcals"}:
        return f"https://{rest}"
    return url


def _time_left(timeout: float | None, timed_out: type[Exception]) -> float | None:
    """``timeout`` shortened to what is left of the fetch's deadline; raise once it passed."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise timed_out("the fetch ran out of time")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every operation ends by the fetch's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """An httpcore network backend that only connects to addresses ``policy`` permits.

    ``resolver`` is asked once per new connection (at most ``dns_seconds``; a failure or a
    timeout is FetchFailed ``dns``, so the guard fails closed); the connection goes to the
    checked answers, in order, through ``inner`` (the plain socket backend by default; tests pass
    one that records or reroutes). One refused answer refuses the name.
    """

    def __init__(
        self,
        policy: AddressPolicy,
        resolver: Resolver = system_resolver,
        inner: httpcore.NetworkBackend | None = None,
        dns_seconds: float = 5.0,
    ) -> None:
        self.policy = policy
        self._resolver = resolver
        self._inner = inner if inner is not None else httpcore.SyncBackend()
        self._dns_seconds = dns_seconds

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        literal = self.policy.check_host(host)
        addresses = [literal] if literal is not None else self._resolve(host, port)
        for address in addresses:
            self.policy.check_address(address, host)
        failure: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                stream = self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=_time_left(timeout, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                failure = exc
                continue
            return _DeadlineStream(stream)
        assert failure is not None
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise UnsafeUrl("refused: a fetch never connects to a unix socket")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def _resolve(self, host: str, port: int) -> list[IPAddress]:
        # getaddrinfo cannot be interrupted, so a lookup that hangs is left behind in its
        # (daemon) thread; the fetch fails closed on time.
        limit = _time_left(self._dns_seconds, httpcore.ConnectTimeout)
        outcome: list[Sequence[str] | BaseException] = []

        def lookup() -> None:
            try:
                outcome.append(self._resolver(host, port))
            except BaseException as exc:  # handed to the caller below
                outcome.append(exc)

        thread = threading.Thread(target=lookup, name="openslots-resolve", daemon=True)
        thread.start()
        thread.join(limit)
        if not outcome:
            raise FetchFailed(f"looking up {host!r} took longer than {limit:g} s", "dns")
        answer = outcome[0]
        if isinstance(answer, BaseException):
            raise FetchFailed(f"could not look up {host!r}: {answer}", "dns") from answer
        try:
            addresses = [ipaddress.ip_address(text) for text in answer]
        except ValueError as exc:
            raise FetchFailed(f"looking up {host!r} gave a bad answer: {exc}", "dns") from exc
        if not addresses:
            raise FetchFailed(f"{host!r} has no address", "dns")
        return addresses


class GuardedTransport(httpx.HTTPTransport):
    """httpx's own transport (same pooling, same error mapping) with every connection made
    through ``backend``. ``verify`` as for httpx (True, False or an ``ssl.SSLContext``)."""

    def __init__(
        self,
        backend: GuardedBackend,
        *,
        verify: Any = True,
        limits: httpx.Limits = _POOL_LIMITS,
    ) -> None:
        super().__init__(verify=verify, trust_env=False, limits=limits)
        # httpx has no public way to hand its transport a network backend, so its pool is
        # replaced by one built with the same settings plus ours (checked by the canary tests).
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """Caps on one fetch. Sizes in bytes (after content decoding), times in seconds."""

    max_bytes: int = 10 * 1024 * 1024
    total_seconds: float = 30.0
    connect_seconds: float = 5.0
    read_seconds: float = 15.0
    dns_seconds: float = 5.0
    max_redirects: int = 3


@dataclass(frozen=True, slots=True)
class Validators:
    """What a server said identifies a version of a resource, for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None

    @classmethod
    def of(cls, headers: Mapping[str, str], previous: Validators | None = None) -> Validators:
        """The validators in response ``headers``; a 304 may omit them, so those of
        ``previous`` (the ones sent) stand in for missing ones."""
        before = previous or cls()
        return cls(
            etag=headers.get("etag") or before.etag,
            last_modified=headers.get("last-modified") or before.last_modified,
        )

    def request_headers(self) -> dict[str, str]:
        """``If-None-Match`` / ``If-Modified-Since`` for the validators that are known."""
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


@dataclass(frozen=True, slots=True)
class Fetched:
    """The final response of a fetch: ``url`` after redirects, the status, headers and the
    decoded body (empty for 304 and HEAD), and its validators for the next conditional GET."""

    url: str
    status_code: int
    headers: httpx.Headers
    body: bytes
    validators: Validators = field(default_factory=Validators)

    @property
    def not_modified(self) -> bool:
        """The server answered 304: the resource is unchanged since ``validators`` were sent."""
        return self.status_code == 304

    @property
    def content_type(self) -> str | None:
        """The media type without parameters, lower case (``text/calendar``), if given."""
        value = self.headers.get("content-type")
        return value.partition(";")[0].strip().lower() or None if value else None

    @property
    def digest(self) -> str:
        """SHA-256 of the body, hex: an identical body needs no parse and no write."""
        return hashlib.sha256(self.body).hexdigest()


class _Decoder:
    """Content decoding that never produces more than the caller has room for."""

    def __init__(self, encoding: str, host: str) -> None:
        encoding = encoding.strip().lower()
        self._zlib: Any = None
        if encoding in {"gzip", "x-gzip"}:
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj()
        elif encoding not in {"", "identity"}:
            raise FetchFailed(f"{host} sent an unsupported content encoding", "protocol")

    def decode(self, data: bytes, room: int) -> bytes:
        """Up to ``room`` bytes decoded from ``data``; more than ``room`` means "too large"."""
        if self._zlib is None:
            return data
        # max_length stops inflation early: at most room + 1 bytes exist at any time.
        return bytes(self._zlib.decompress(data, room + 1))

    def flush(self, room: int) -> bytes:
        return b"" if self._zlib is None else bytes(self._zlib.flush())[: room + 1]


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def _check_scheme(url: httpx.URL) -> None:
    if url.scheme not in SCHEMES:
        raise UnsafeUrl(f"refused a {url.scheme or 'scheme-less'} URL: only http(s) is fetched")
    if not url.host:
        raise UnsafeUrl("refused a URL without a host")


def _translated(exc: httpx.HTTPError, host: str) -> FetchFailed:
    if isinstance(exc, httpx.TimeoutException):
        return FetchFailed(f"{host} did not answer in time", "timeout")
    if isinstance(exc, httpx.ConnectError):
        return FetchFailed(f"could not connect to {host}: {exc}", "connect")
    return FetchFailed(f"fetching from {host} failed: {exc}", "protocol")


class Fetcher:
    """The SSRF-safe HTTP client for every user-supplied URL.

    ``allow_private_networks`` is the configuration key ``sync.allow_private_networks``.
    ``resolver`` and ``network_backend`` (the backend that opens the checked connections) are
    for tests and special deployments. One fetcher is meant to be shared; close it when done.
    """

    def __init__(
        self,
        *,
        allow_private_networks: bool = False,
        limits: FetchLimits = FetchLimits(),
        resolver: Resolver = system_resolver,
        network_backend: httpcore.NetworkBackend | None = None,
        user_agent: str = _USER_AGENT,
    ) -> None:
        self.policy = AddressPolicy(allow_private_networks=allow_private_networks)
        self.limits = limits
        self._user_agent = user_agent
        self._threads: ThreadPoolExecutor | None = None
        self._threads_lock = threading.Lock()
        backend = GuardedBackend(self.policy, resolver, network_backend, limits.dns_seconds)
        self._client = httpx.Client(
            transport=GuardedTransport(backend),
            trust_env=False,
            follow_redirects=False,
            timeout=httpx.Timeout(
                connect=limits.connect_seconds,
                read=limits.read_seconds,
                write=limits.read_seconds,
                pool=limits.connect_seconds,
            ),
            # Only what _Decoder can inflate with a bound.
            headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
        self._client.close()

    def async_client(self) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` whose every request goes through this fetcher's guard and
        caps (one hop at a time). This is the connector contract's ``HttpClientFactory``.
        Closing the client leaves the fetcher open."""
        return httpx.AsyncClient(
            transport=AsyncGuardedTransport(self),
            trust_env=False,
            follow_redirects=False,
            max_redirects=self.limits.max_redirects,
            # The fetcher's deadline bounds every hop; httpx's own timeouts never apply here.
            timeout=None,
            headers={"User-Agent": self._user_agent},
        )

    def threads(self) -> ThreadPoolExecutor:
        """The pool that runs async clients' requests, made on first use."""
        with self._threads_lock:
            if self._threads is None:
                self._threads = ThreadPoolExecutor(_ASYNC_THREADS, "openslots-fetch")
            return self._threads

    def send_once(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> Fetched:
        """Send one request without following a redirect and return its response, whatever
        its status; a redirect's body is not read. The guard, the size cap and the time cap
        (``total_seconds`` for this one hop) apply as for :meth:`request`."""
        kept = {k: v for k, v in (headers or {}).items() if k.lower() not in _HOP_HEADERS}
        token = _DEADLINE.set(time.monotonic() + self.limits.total_seconds)
        try:
            try:
                request = self._client.build_request(method, url, headers=kept, content=content)
            except httpx.InvalidURL as exc:
                raise UnsafeUrl(f"refused an invalid URL: {exc}") from exc
            _check_scheme(request.url)
            response = self._send(request, None)
            if response.has_redirect_location:
                response.close()
                return Fetched(str(response.url), response.status_code, response.headers, b"")
            return self._read(response, method)
        finally:
            _DEADLINE.reset(token)

    def get(
        self,
        url: str,
        *,
        validators: Validators | None = None,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
    ) -> Fetched:
        """GET ``url``, conditionally when ``validators`` are given.

        Returns a 2xx response, or a 304 (``not_modified``; ``validators`` carried over).
        Raises FetchFailed ``status`` for any other final status (``retry_after`` from the
        header), and whatever :meth:`request` raises.
        """
        sent = {**(validators.request_headers() if validators else {}), **(headers or {})}
        fetched = self.request("GET", url, headers=sent, auth=auth)
        if fetched.not_modified:
            return Fetched(
                fetched.url,
                304,
                fetched.headers,
                b"",
                Validators.of(fetched.headers, validators),
            )
        if 200 <= fetched.status_code < 300:
            return fetched
        host = httpx.URL(fetched.url).host
        raise FetchFailed(
            f"{host} answered HTTP {fetched.status_code}",
            "status",
            status_code=fetched.status_code,
            retry_after=retry_after_seconds(fetched.headers.get("retry-after")),
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
    ) -> Fetched:
        """Send one request, following redirects, and return the final response, whatever its
        status (CalDAV needs 207, 403 and 412 as answers).

        ``auth`` is sent to the URL's own origin only, never to a redirect elsewhere. Raises
        UnsafeUrl, FetchFailed (``timeout``, ``connect``, ``dns``, ``protocol``, ``redirects``)
        or FeedTooLarge.
        """
        token = _DEADLINE.set(time.monotonic() + self.limits.total_seconds)
        try:
            return self._follow(method, url, headers, content, auth)
        finally:
            _DEADLINE.reset(token)

    def _follow(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        content: bytes | None,
        auth: httpx.Auth | tuple[str, str] | None,
    ) -> Fetched:
        try:
            request = self._client.build_request(method, url, headers=headers, content=content)
        except httpx.InvalidURL as exc:
            raise UnsafeUrl(f"refused an invalid URL: {exc}") from exc
        _check_scheme(request.url)
        first = _origin(request.url)
        for _ in range(self.limits.max_redirects + 1):
            response = self._send(request, auth if _origin(request.url) == first else None)
            if not response.has_redirect_location:
                return self._read(response, method)
            response.close()
            assert response.next_request is not None
            request = response.next_request
            _check_scheme(request.url)
        raise FetchFailed(
            f"more than {self.limits.max_redirects} redirects from {httpx.URL(url).host}",
            "redirects",
        )

    def _send(
        self, request: httpx.Request, auth: httpx.Auth | tuple[str, str] | None
    ) -> httpx.Response:
        try:
            return self._client.send(request, stream=True, auth=auth, follow_redirects=False)
        except httpx.UnsupportedProtocol as exc:
            raise UnsafeUrl(f"refused: {exc}") from exc
        except httpx.HTTPError as exc:
            raise _translated(exc, request.url.host) from exc

    def _read(self, response: httpx.Response, method: str) -> Fetched:
        host = response.request.url.host
        cap = self.limits.max_bytes
        try:
            length = response.headers.get("content-length", "").strip()
            if length.isdigit() and int(length) > cap and response.status_code != 304:
                raise FeedTooLarge(f"{host} announced more than {cap} bytes", cap)
            body = bytearray()
            if method.upper() != "HEAD" and response.status_code != 304:
                decoder = _Decoder(response.headers.get("content-encoding", ""), host)
                for chunk in response.iter_raw():
                    body += decoder.decode(chunk, cap - len(body))
                    if len(body) > cap:
                        raise FeedTooLarge(f"{host} sent more than {cap} bytes", cap)
                    _time_left(None, httpx.ReadTimeout)
                body += decoder.flush(cap - len(body))
                if len(body) > cap:
                    raise FeedTooLarge(f"{host} sent more than {cap} bytes", cap)
        except httpx.HTTPError as exc:
            raise _translated(exc, host) from exc
        except zlib.error as exc:
            raise FetchFailed(f"{host} sent a body that does not decode", "protocol") from exc
        finally:
            response.close()
        return Fetched(
            str(response.url),
            response.status_code,
            response.headers,
            bytes(body),
            Validators.of(response.headers),
        )


class AsyncGuardedTransport(httpx.AsyncBaseTransport):
    """An httpx async transport that sends every request through :meth:`Fetcher.send_once` on
    the fetcher's threads: the sync client holds the one implementation of the guard and the
    caps, and a blocking fetch costs a pool thread, never the event loop.

    The response carries the decoded body, so its wire headers (``Content-Encoding``,
    ``Content-Length``) are dropped. The fetcher's errors (UnsafeUrl, FetchFailed,
    FeedTooLarge) reach the caller unchanged. A cancelled request's thread runs on until the
    fetch's own deadline at most.
    """

    def __init__(self, fetcher: Fetcher) -> None:
        self._fetcher = fetcher

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        content = await request.aread()
        loop = asyncio.get_running_loop()
        fetched = await loop.run_in_executor(
            self._fetcher.threads(),
            lambda: self._fetcher.send_once(
                request.method,
                str(request.url),
                headers=dict(request.headers.multi_items()),
                content=content or None,
            ),
        )
        headers = [
            (name, value)
            for name, value in fetched.headers.multi_items()
            if name.lower() not in _WIRE_HEADERS
        ]
        return httpx.Response(
            fetched.status_code, headers=headers, content=fetched.body, request=request
        )
