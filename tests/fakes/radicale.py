"""A real Radicale CalDAV server on 127.0.0.1 for tests: accounts, digest auth, request log.

Use it as a context manager; it listens on free ports and stops on exit::

    with RadicaleServer(tmp_path) as radicale:
        alice = radicale.new_account()
        url = radicale.url("/")                   # http://127.0.0.1:PORT/ (Basic auth)
        radicale.url("/", front="digest")          # the same server behind Digest auth
        radicale.requests                          # every request that reached Radicale

Why in-process rather than ``python -m radicale`` in a subprocess: the tests need to put
things *in front of* Radicale's WSGI application: a Digest authentication layer (Radicale only
does Basic), a layer that hides RFC 6578 sync-collection (a server without it), and a log of
every request and TCP connection that reached the server, which is how the SSRF tests prove
that nothing got through. In a subprocess those would need a second server and a channel back
to the test. What runs is still Radicale as it serves itself: its own
:class:`radicale.app.Application` with an htpasswd file and filesystem storage, behind its own
request handler (:class:`radicale.server.RequestHandler`) on a threading ``wsgiref`` server,
the same pair ``python -m radicale`` uses; clients reach it over real TCP on 127.0.0.1.

The *fronts* (one port each, all one Radicale and one storage):

``basic``
    Radicale unchanged: its own htpasswd authentication (Basic), plain passwords.
``digest``
    RFC 7616 Digest (MD5, ``qop=auth``) checked here, then handed to Radicale as the Basic
    credentials of the same account, so Radicale's own authentication still decides. A
    Basic ``Authorization`` is refused with a Digest challenge.
``legacy``
    Like ``basic``, but the server has no sync-collection: ``DAV:sync-token`` is never
    reported by PROPFIND, and a sync-collection REPORT answers ``501 Not Implemented``.
``refusing``
    Like ``basic`` and reporting ``DAV:sync-token``, but refusing the sync-collection REPORT
    itself with ``403`` and the ``DAV:supported-report`` precondition, as some servers
    (Zimbra) do.
``precondition``
    Like ``basic``, but a sync token the server no longer knows is refused the way Xandikos
    does it, ``412 Precondition Failed``, instead of Radicale's ``403 Forbidden`` (both with
    the ``DAV:valid-sync-token`` precondition in the body).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import itertools
import secrets
import shutil
import socket
import socketserver
import threading
import wsgiref.simple_server
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self
from urllib.request import parse_http_list, parse_keqv_list
from xml.etree import ElementTree

import radicale.app
import radicale.config
import radicale.server

__all__ = ["Account", "Front", "RadicaleServer", "Request"]

Front = Literal["basic", "digest", "legacy", "refusing", "precondition"]
FRONTS: tuple[Front, ...] = ("basic", "digest", "legacy", "refusing", "precondition")

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]

_REALM = "openslots-test"
_SYNC_TOKEN = "{DAV:}sync-token"
_SYNC_COLLECTION = "{DAV:}sync-collection"
_SUPPORTED_REPORT_ERROR = (
    b'<?xml version="1.0" encoding="utf-8"?>\n'
    b'<D:error xmlns:D="DAV:"><D:supported-report/></D:error>'
)


@dataclass(frozen=True, slots=True)
class Account:
    """A Radicale user; its principal is ``/<username>/``."""

    username: str
    password: str

    @property
    def principal(self) -> str:
        return f"/{self.username}/"


@dataclass(frozen=True, slots=True)
class Request:
    """One request that reached a front: the front, method, path, the scheme of the
    ``Authorization`` header it carried (``basic``, ``digest``) or ``None``, and the status
    it was answered with."""

    front: Front
    method: str
    path: str
    auth: str | None
    status: int


class _Server(socketserver.ThreadingMixIn, wsgiref.simple_server.WSGIServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, on_connection: Callable[[], None]) -> None:
        self._on_connection = on_connection
        super().__init__(("127.0.0.1", 0), radicale.server.RequestHandler)

    def get_request(self) -> tuple[socket.socket, Any]:
        accepted = super().get_request()
        self._on_connection()
        return accepted


class RadicaleServer:
    """Radicale with its storage and htpasswd file under ``root`` (see the module docs)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.storage = root / "collections"
        self._htpasswd = root / "users"
        self._lock = threading.Lock()
        self._requests: list[Request] = []
        self._connections: dict[Front, int] = dict.fromkeys(FRONTS, 0)
        self._passwords: dict[str, str] = {}
        self._nonces: set[str] = set()
        self._names = itertools.count(1)
        self._servers: dict[Front, _Server] = {}
        self._threads: list[threading.Thread] = []

    # -- lifecycle

    def __enter__(self) -> Self:
        self.storage.mkdir(parents=True, exist_ok=True)
        self._htpasswd.write_text("", encoding="utf-8")
        configuration = radicale.config.load([])
        configuration.update(
            {
                "auth": {
                    "type": "htpasswd",
                    "htpasswd_filename": str(self._htpasswd),
                    "htpasswd_encryption": "plain",
                    # Radicale waits after a failed login; the wrong-password test need not.
                    "delay": "0",
                },
                "storage": {"filesystem_folder": str(self.storage)},
            },
            "tests",
            privileged=True,
        )
        application: WsgiApp = radicale.app.Application(configuration)
        fronts: dict[Front, WsgiApp] = {
            "basic": application,
            "digest": self._digest(application),
            "legacy": _without_sync_collection(application, hide_token=True),
            "refusing": _without_sync_collection(application, hide_token=False),
            "precondition": _expired_token_as_412(application),
        }
        for front, app in fronts.items():
            server = _Server(self._counter(front))
            server.set_app(self._recorded(front, app))
            self._servers[front] = server
            thread = threading.Thread(
                target=server.serve_forever,
                # A short poll keeps shutdown quick; the sockets wake the loop on requests.
                kwargs={"poll_interval": 0.05},
                name=f"radicale-{front}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    # -- what tests use

    def url(self, path: str = "/", front: Front = "basic") -> str:
        """The absolute URL of ``path`` on ``front``."""
        port = self._servers[front].server_address[1]
        return f"http://127.0.0.1:{port}{path}"

    def new_account(self) -> Account:
        """A fresh user with an empty principal (Radicale creates it on first login)."""
        with self._lock:
            account = Account(f"user{next(self._names)}", secrets.token_urlsafe(12))
            self._passwords[account.username] = account.password
            lines = "".join(f"{u}:{p}\n" for u, p in self._passwords.items())
            self._htpasswd.write_text(lines, encoding="utf-8")
        return account

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    def connections(self, front: Front = "basic") -> int:
        """TCP connections accepted on ``front`` so far."""
        with self._lock:
            return self._connections[front]

    def forget_sync_tokens(self, collection: str) -> None:
        """Drop the sync-token history of ``collection`` (a path such as ``/user1/work/``):
        every token handed out for it so far becomes invalid, as after a server's cleanup
        of old tokens (Radicale answers 403 ``DAV:valid-sync-token``)."""
        folder = self.storage / "collection-root" / collection.strip("/")
        shutil.rmtree(folder / ".Radicale.cache" / "sync-token")

    # -- middleware

    def _counter(self, front: Front) -> Callable[[], None]:
        def count() -> None:
            with self._lock:
                self._connections[front] += 1

        return count

    def _recorded(self, front: Front, app: WsgiApp) -> WsgiApp:
        def recorded(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
            scheme = environ.get("HTTP_AUTHORIZATION", "").partition(" ")[0].lower() or None
            method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]

            def record(status: str, headers: list[tuple[str, str]], *info: Any) -> Any:
                with self._lock:
                    self._requests.append(Request(front, method, path, scheme, int(status[:3])))
                return start_response(status, headers, *info)

            return app(environ, record)

        return recorded

    def _digest(self, app: WsgiApp) -> WsgiApp:
        """RFC 7616 Digest in front of ``app``; a verified user goes on as Basic."""

        def challenge(start_response: StartResponse, stale: bool = False) -> Iterable[bytes]:
            nonce = secrets.token_hex(16)
            with self._lock:
                self._nonces.add(nonce)
            value = f'Digest realm="{_REALM}", qop="auth", algorithm=MD5, nonce="{nonce}"'
            if stale:
                value += ", stale=true"
            start_response(
                "401 Unauthorized",
                [("WWW-Authenticate", value), ("Content-Type", "text/plain")],
            )
            return [b"digest authentication required"]

        def digest(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
            scheme, _, rest = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
            if scheme.lower() != "digest":
                return challenge(start_response)
            fields = parse_keqv_list(parse_http_list(rest))
            with self._lock:
                known_nonce = fields.get("nonce") in self._nonces
                password = self._passwords.get(fields.get("username", ""))
            if not known_nonce:
                return challenge(start_response, stale=True)
            if password is None or not _digest_matches(fields, environ, password):
                return challenge(start_response)
            user = fields["username"]
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            environ["HTTP_AUTHORIZATION"] = f"Basic {token}"
            return app(environ, start_response)

        return digest


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _digest_matches(fields: dict[str, str], environ: Environ, password: str) -> bool:
    """Whether ``fields`` (a parsed Digest ``Authorization``) prove ``password``."""
    try:
        ha1 = _md5(f"{fields['username']}:{fields['realm']}:{password}")
        ha2 = _md5(f"{environ['REQUEST_METHOD']}:{fields['uri']}")
        expected = _md5(
            f"{ha1}:{fields['nonce']}:{fields['nc']}:{fields['cnonce']}:{fields['qop']}:{ha2}"
        )
    except KeyError:
        return False
    return fields.get("realm") == _REALM and secrets.compare_digest(
        expected, fields.get("response", "")
    )


def _without_sync_collection(app: WsgiApp, *, hide_token: bool) -> WsgiApp:
    """``app`` as a server without RFC 6578 would be, or (``hide_token`` false) one that
    claims it in PROPFIND but refuses the REPORT (see the module docs)."""

    def legacy(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        if method not in ("PROPFIND", "REPORT"):
            return app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        root = _parsed_xml(body)
        if method == "REPORT" and root is not None and root.tag == _SYNC_COLLECTION:
            if hide_token:
                start_response("501 Not Implemented", [("Content-Type", "text/plain")])
                return [b"sync-collection is not supported"]
            start_response("403 Forbidden", [("Content-Type", "application/xml")])
            return [_SUPPORTED_REPORT_ERROR]
        if method == "PROPFIND" and root is not None and hide_token:
            for parent in list(root.iter()):
                for child in [c for c in parent if c.tag == _SYNC_TOKEN]:
                    parent.remove(child)
            body = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return app(environ, start_response)

    return legacy


def _expired_token_as_412(app: WsgiApp) -> WsgiApp:
    """``app``, refusing an unknown sync token with 412 rather than 403 (see the module docs)."""

    def precondition(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        answered: list[tuple[str, list[tuple[str, str]]]] = []

        def hold(
            status: str, headers: list[tuple[str, str]], *info: Any
        ) -> Callable[[bytes], None]:
            answered.append((status, headers))
            return lambda data: None  # Radicale returns its body; it never calls write()

        # Radicale compresses its answers when asked to; this layer must read them.
        environ.pop("HTTP_ACCEPT_ENCODING", None)
        result = app(environ, hold)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = answered[-1]
        if status.startswith("403") and b"valid-sync-token" in body:
            status = "412 Precondition Failed"
        start_response(status, headers)
        return [body]

    return precondition


def _parsed_xml(body: bytes) -> ElementTree.Element | None:
    if not body.strip():
        return None
    with contextlib.suppress(ElementTree.ParseError):
        return ElementTree.fromstring(body)
    return None
