"""caldav's HTTP, sent by the connector's httpx client: the SSRF guard, caps and credentials.

The caldav library is blocking and does its own HTTP: ``DAVClient`` calls
``self.session.request(method, url, data=..., headers=..., proxies=..., auth=..., ...)`` on a
niquests session, and reads ``status_code``, ``reason``, ``headers``, ``content``, ``text`` and
``url`` of the answer. :class:`LoopSession` takes that session's place. caldav runs in a
worker thread; each request is handed to the event loop the sync started on and sent there by
the ``httpx.AsyncClient`` of the sync request (``request.http_client()``), so it passes the
same guard as every other fetch, and niquests never opens a socket. Replacing the session
object rather than mounting a niquests adapter fails closed: niquests re-mounts its own
adapters in some situations (a recycled resolver), while an unexpected call on this object is
an error, never a direct connection.

Credentials never reach caldav (it is built without them, so it never negotiates or guesses):
:class:`ServerAuth`, an ``httpx.Auth``, answers the server's challenge, and only for the
connection's own origin, so a redirect elsewhere never carries them.

Failures end the sync: the guard's refusals and transport failures pass unchanged (the
guarded client raises the contract's errors) or become :class:`TransientError`; 429 becomes
:class:`RateLimited` and 502/503/504 :class:`TransientError`, with ``Retry-After``. The first
failure is remembered (:attr:`LoopSession.failure`) and every later request raises it again,
so no fallback inside caldav can build a result on top of a failed request.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Generator, Mapping
from dataclasses import dataclass

import httpx

from openslots.sync.contract import (
    FeedInvalid,
    RateLimited,
    TransientError,
    retry_after_seconds,
)
from openslots_caldav.settings import AuthScheme, Origin, origin_of

__all__ = ["LoopSession", "Reply", "ServerAuth"]

# Headers the httpx client sets itself (framing, encodings it can decode, its User-Agent), and
# Authorization, which only ServerAuth decides.
_DROPPED = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "accept-encoding",
        "user-agent",
        "authorization",
    }
)
_GATEWAY_FAILURES = frozenset({502, 503, 504})


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer in the shape caldav reads from a niquests response."""

    status_code: int
    reason: str
    headers: httpx.Headers
    content: bytes
    url: str

    @property
    def text(self) -> str:
        charset = self.headers.get("content-type", "").partition("charset=")[2].strip('" ;')
        try:
            return self.content.decode(charset or "utf-8", errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")

    @classmethod
    def of(cls, response: httpx.Response) -> Reply:
        return cls(
            response.status_code,
            response.reason_phrase,
            response.headers,
            response.content,
            str(response.url),
        )


class ServerAuth(httpx.Auth):
    """The account's credentials for requests to ``origin`` only, by ``scheme``; without one,
    by the first challenge the server sends: digest when offered, else basic. The choice is
    kept for the rest of the sync. Requests to another origin go out without credentials."""

    def __init__(
        self, origin: Origin, username: str, password: str, scheme: AuthScheme | None
    ) -> None:
        self._origin = origin
        self._scheme = scheme
        self._basic = httpx.BasicAuth(username, password)
        self._digest = httpx.DigestAuth(username, password)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if origin_of(str(request.url)) != self._origin:
            yield request
            return
        challenge: httpx.Response | None = None
        if self._scheme is None:
            challenge = yield request
            if challenge.status_code != 401:
                return
            offered = _challenges(challenge)
            if "digest" in offered:
                self._scheme = "digest"
            elif "basic" in offered:
                self._scheme = "basic"
            else:
                return
        flow = (self._digest if self._scheme == "digest" else self._basic).auth_flow(request)
        outgoing = next(flow)
        try:
            if challenge is not None and "authorization" not in outgoing.headers:
                # Digest sends first and reads the challenge from the answer: hand it the one
                # this request already got instead of asking the server again.
                outgoing = flow.send(challenge)
            while True:
                response = yield outgoing
                outgoing = flow.send(response)
        except StopIteration:
            return


def _challenges(response: httpx.Response) -> set[str]:
    """The auth schemes of every ``WWW-Authenticate`` header, lower case."""
    schemes = set()
    for value in response.headers.get_list("www-authenticate"):
        for part in value.split(","):
            words = part.strip().split()
            # Parameters (realm="x") follow a scheme after a space; a bare token is a scheme.
            if words and "=" not in words[0]:
                schemes.add(words[0].lower())
    return schemes


class LoopSession:
    """Stands in for a caldav ``DAVClient``'s niquests session from a worker thread: each
    request is sent by ``http`` on ``loop`` (which must keep running meanwhile) with ``auth``.

    ``wait_seconds`` bounds the wait for one request, redirects included, in case the client
    has no deadline of its own. After :meth:`shut` every request fails at once, and requests
    in flight are cancelled: the sync is over (or was cancelled) and its client is closing.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        loop: asyncio.AbstractEventLoop,
        auth: httpx.Auth | None,
        *,
        wait_seconds: float = 300.0,
    ) -> None:
        self._http = http
        self._loop = loop
        self._auth = auth
        self._wait = wait_seconds
        self._lock = threading.Lock()
        self._pending: set[concurrent.futures.Future[httpx.Response]] = set()
        self._shut = False
        self._failure: Exception | None = None

    @property
    def failure(self) -> Exception | None:
        """The error of the first failed request, if one failed."""
        return self._failure

    def request(
        self,
        method: str,
        url: str,
        *,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        **_transport: object,
    ) -> Reply:
        """Send one request and return its answer, whatever its status but 429 and 502-504.

        caldav's transport options (``proxies``, ``verify``, ``cert``, ``timeout``, ``auth``)
        are ignored on purpose: the httpx client decides all of them.
        """
        if self._failure is not None:
            raise self._failure
        content = data.encode() if isinstance(data, str) else data
        sent = {k: v for k, v in (headers or {}).items() if k.lower() not in _DROPPED}
        with self._lock:
            if self._shut:
                raise self._fail(TransientError("the sync ended before this request was sent"))
            future = asyncio.run_coroutine_threadsafe(
                self._send(method, url, content or None, sent), self._loop
            )
            self._pending.add(future)
        try:
            response = future.result(timeout=self._wait)
        except concurrent.futures.TimeoutError:
            future.cancel()
            host = httpx.URL(url).host
            raise self._fail(TransientError(f"{host} did not answer in time")) from None
        except concurrent.futures.CancelledError:
            raise self._fail(TransientError("the sync ended during this request")) from None
        except httpx.InvalidURL as exc:
            raise self._fail(FeedInvalid(f"the server gave an unusable URL: {exc}")) from exc
        except httpx.HTTPError as exc:
            host = exc.request.url.host if _has_request(exc) else httpx.URL(url).host
            message = f"could not talk to {host}: {type(exc).__name__}: {exc}"
            raise self._fail(TransientError(message)) from exc
        except Exception as exc:
            # The guarded client's own errors (UnsafeUrl, FetchFailed, ...) pass unchanged.
            raise self._fail(exc) from None
        finally:
            with self._lock:
                self._pending.discard(future)
        return self._checked(response)

    def close(self) -> None:
        """caldav closes its session when done; the httpx client belongs to the sync."""

    def shut(self) -> None:
        """Refuse every later request and cancel the ones in flight."""
        with self._lock:
            self._shut = True
            pending = list(self._pending)
        for future in pending:
            future.cancel()

    async def _send(
        self, method: str, url: str, content: bytes | None, headers: dict[str, str]
    ) -> httpx.Response:
        return await self._http.request(
            method,
            url,
            content=content,
            headers=headers,
            auth=self._auth if self._auth is not None else httpx.USE_CLIENT_DEFAULT,
            follow_redirects=True,
        )

    def _checked(self, response: httpx.Response) -> Reply:
        status = response.status_code
        host = response.url.host
        delay = retry_after_seconds(response.headers.get("retry-after"))
        if status == 429:
            raise self._fail(RateLimited(f"{host} is throttling requests (429)", delay))
        if status in _GATEWAY_FAILURES:
            raise self._fail(TransientError(f"{host} is unavailable ({status})", delay))
        return Reply.of(response)

    def _fail(self, error: Exception) -> Exception:
        if self._failure is None:
            self._failure = error
        return self._failure


def _has_request(exc: httpx.HTTPError) -> bool:
    try:
        exc.request  # noqa: B018 - httpx raises RuntimeError when no request is attached
    except RuntimeError:
        return False
    return True
