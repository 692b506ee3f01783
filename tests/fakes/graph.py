"""In-memory fakes of Microsoft Graph (calendarView delta) and the Microsoft identity platform.

:class:`FakeGraph` answers ``httpx`` requests (mount it with respx:
``router.route(host=...).mock(side_effect=graph.handle)``). It keeps calendars of Graph-shaped
events and a change log, and implements calendarView delta rounds like Graph does: a first
request with ``startDateTime``/``endDateTime``, pages of ``odata.maxpagesize`` linked by
``@odata.nextLink`` (``$skiptoken``) and a final ``@odata.deltaLink`` (``$deltatoken``) that
fixes the window; a later round from that link lists what changed since, with ``@removed`` for
events deleted or moved out of the window. Tokens can be expired (410 or ``syncStateNotFound``),
faults queued (429, 503, garbled bodies), access tokens checked.

:class:`FakeIdentity` is an msal ``http_client``: it serves the authority's OpenID
configuration and a token endpoint for the authorization-code and refresh-token grants.
"""

from __future__ import annotations

import base64
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import httpx

__all__ = ["AUTHORITY", "GRAPH_URL", "FakeGraph", "FakeIdentity", "graph_event", "utc"]

GRAPH_URL = "https://graph.microsoft.com/v1.0"
AUTHORITY = "https://login.microsoftonline.com/common"
DEFAULT_CALENDAR = "AAMkAD-default"


def utc(instant: int) -> dict[str, str]:
    """A Graph dateTimeTimeZone in UTC, with Graph's seven fractional digits."""
    text = datetime.fromtimestamp(instant, UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000")
    return {"dateTime": text, "timeZone": "UTC"}


def graph_event(ident: str, start: int, end: int, **fields: Any) -> dict[str, Any]:
    """A busy single-instance event as calendarView returns it (fields override)."""
    return {
        "id": ident,
        "type": "singleInstance",
        "subject": "Busy",
        "showAs": "busy",
        "isAllDay": False,
        "isCancelled": False,
        "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
        "start": utc(start),
        "end": utc(end),
        "originalStartTimeZone": "UTC",
        **fields,
    }


def _instant(value: dict[str, str]) -> int:
    return int(
        datetime.strptime(value["dateTime"][:19], "%Y-%m-%dT%H:%M:%S")
        .replace(tzinfo=UTC)
        .timestamp()
    )


@dataclass
class _State:
    """What a skip or delta token stands for."""

    calendar: str
    start: int
    end: int
    since: int | None  # change-log position of a delta round; None for a first round
    upto: int  # change-log position when the round began
    offset: int = 0


@dataclass
class FakeGraph:
    """A mailbox on Graph. ``events[calendar][id]`` holds Graph-shaped events."""

    events: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {DEFAULT_CALENDAR: {}}
    )
    access_tokens: set[str] = field(default_factory=set)
    mailbox_zone: str | None = "UTC"
    faults: deque[httpx.Response] = field(default_factory=deque)
    log: list[httpx.Request] = field(default_factory=list)
    # Answers for the n-th request (counted from 1 over ``log``), e.g. a 429 mid-round.
    faults_at: dict[int, httpx.Response] = field(default_factory=dict)
    _changes: list[tuple[str, str]] = field(default_factory=list)
    _tokens: dict[str, _State] = field(default_factory=dict)
    _expired: dict[str, httpx.Response] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    # -- changing the mailbox ------------------------------------------------------------------

    def put(self, event: dict[str, Any], calendar: str = DEFAULT_CALENDAR) -> None:
        # An event without an id (a broken one, for tests) is kept under a made-up key.
        key = event.get("id") or f"no-id-{next(self._ids)}"
        self.events.setdefault(calendar, {})[key] = event
        self._changes.append((calendar, key))

    def delete(self, ident: str, calendar: str = DEFAULT_CALENDAR) -> None:
        del self.events[calendar][ident]
        self._changes.append((calendar, ident))

    def expire(self, link: str, *, status: int = 410, code: str = "syncStateNotFound") -> None:
        """Make the state token in ``link`` answer ``status`` with error ``code``."""
        body = {"error": {"code": code, "message": "The sync state is not found."}}
        self._expired[self._token_of(link)] = httpx.Response(status, json=body)

    # -- answering requests --------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.log.append(request)
        if len(self.log) in self.faults_at:
            return self.faults_at.pop(len(self.log))
        if self.faults:
            return self.faults.popleft()
        auth = request.headers.get("Authorization", "")
        if auth.removeprefix("Bearer ") not in self.access_tokens:
            return _error(401, "InvalidAuthenticationToken")
        path = urlsplit(str(request.url)).path.removeprefix("/v1.0")
        query = {k: v[0] for k, v in parse_qs(urlsplit(str(request.url)).query).items()}
        if path == "/me/mailboxSettings":
            if self.mailbox_zone is None:
                return _error(403, "ErrorAccessDenied")
            return httpx.Response(200, json={"timeZone": self.mailbox_zone})
        if path == "/me/calendarView/delta":
            calendar = DEFAULT_CALENDAR
        elif path.startswith("/me/calendars/") and path.endswith("/calendarView/delta"):
            calendar = unquote(path.split("/")[3])
            if calendar not in self.events:
                return _error(404, "ErrorItemNotFound")
        else:
            return _error(400, "BadRequest")
        prefer = ",".join(request.headers.get_list("Prefer"))
        size = 10
        for part in prefer.split(","):
            if part.strip().startswith("odata.maxpagesize="):
                size = min(size, int(part.strip().split("=")[1]))
        token = query.get("$skiptoken") or query.get("$deltatoken")
        if token is not None:
            if token in self._expired:
                return self._expired[token]
            state = self._tokens.get(token)
            if state is None or state.calendar != calendar:
                return _error(400, "BadRequest")
            if "$deltatoken" in query:
                state = _State(calendar, state.start, state.end, state.upto, len(self._changes))
        else:
            start, end = _parse_time(query["startDateTime"]), _parse_time(query["endDateTime"])
            state = _State(calendar, start, end, None, len(self._changes))
        items = self._items(state)
        page = items[state.offset : state.offset + size]
        body: dict[str, Any] = {"value": page}
        if state.offset + size < len(items):
            following = _State(**{**state.__dict__, "offset": state.offset + size})
            body["@odata.nextLink"] = self._link(path, "$skiptoken", following)
        else:
            done = _State(calendar, state.start, state.end, None, state.upto)
            body["@odata.deltaLink"] = self._link(path, "$deltatoken", done)
        return httpx.Response(200, json=body)

    def _items(self, state: _State) -> list[dict[str, Any]]:
        events = self.events.get(state.calendar, {})
        if state.since is None:
            return [e for e in events.values() if self._inside(e, state)]
        changed = dict.fromkeys(
            ident for cal, ident in self._changes[state.since : state.upto] if cal == state.calendar
        )
        items: list[dict[str, Any]] = []
        for ident in changed:
            event = events.get(ident)
            if event is not None and self._inside(event, state):
                items.append(event)
            else:
                items.append({"id": ident, "@removed": {"reason": "deleted"}})
        return items

    @staticmethod
    def _inside(event: dict[str, Any], state: _State) -> bool:
        try:
            start, end = _instant(event["start"]), _instant(event["end"])
        except (KeyError, TypeError, ValueError):
            return True  # broken events are served as they are, for the connector to judge
        return start < state.end and (end > state.start or (start == end == state.start))

    def _link(self, path: str, name: str, state: _State) -> str:
        token = f"tok{next(self._ids)}"
        self._tokens[token] = state
        return f"{GRAPH_URL}{path}?{urlencode({name: token})}"

    @staticmethod
    def _token_of(link: str) -> str:
        query = parse_qs(urlsplit(link).query)
        return (query.get("$deltatoken") or query["$skiptoken"])[0]


def _parse_time(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())


def _error(status: int, code: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": code}})


# -- the identity platform ---------------------------------------------------------------------


@dataclass
class _Answer:
    """What msal reads from its ``http_client`` (requests' Response shape)."""

    status_code: int
    text: str
    headers: dict[str, str] = field(default_factory=dict)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise OSError(f"HTTP {self.status_code}")


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@dataclass
class FakeIdentity:
    """The Microsoft identity platform for one tenant and user, as msal's ``http_client``.

    Issues access tokens that ``graph`` accepts; ``lifetime`` is what tokens get (msal treats
    tokens expiring within 5 minutes as expired). ``revoked`` makes refreshes answer
    ``invalid_grant``.
    """

    graph: FakeGraph
    client_id: str = "client-1"
    lifetime: int = 3600
    revoked: bool = False
    tenant: str = "tenant-1"
    user: str = "user-1"
    posts: list[dict[str, Any]] = field(default_factory=list)
    gets: list[str] = field(default_factory=list)
    refresh_tokens: set[str] = field(default_factory=set)
    nonce: str | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def home_account_id(self) -> str:
        return f"{self.user}.{self.tenant}"

    def get(self, url: str, params: Any = None, headers: Any = None, **kwargs: Any) -> _Answer:
        self.gets.append(url)
        if url == f"{AUTHORITY}/v2.0/.well-known/openid-configuration":
            return _Answer(200, json.dumps(self._openid_configuration()))
        return _Answer(404, json.dumps({"error": "not_found"}))

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kwargs: Any
    ) -> _Answer:
        form = dict(data or {})
        self.posts.append(form)
        if url != f"{AUTHORITY}/oauth2/v2.0/token":
            return _Answer(404, json.dumps({"error": "not_found"}))
        grant = form.get("grant_type")
        if grant == "authorization_code" and form.get("code") == "the-code":
            return self._tokens()
        if (
            grant == "refresh_token"
            and not self.revoked
            and form.get("refresh_token") in (self.refresh_tokens)
        ):
            self.refresh_tokens.discard(form["refresh_token"])  # rotated
            return self._tokens()
        body = {"error": "invalid_grant", "error_description": "AADSTS70000: revoked"}
        return _Answer(400, json.dumps(body))

    def _tokens(self) -> _Answer:
        n = next(self._ids)
        access, refresh = f"access-{n}", f"refresh-{n}"
        self.graph.access_tokens.add(access)
        self.refresh_tokens.add(refresh)
        now = int(time.time())
        claims = {
            "iss": f"https://login.microsoftonline.com/{self.tenant}/v2.0",
            "aud": self.client_id,
            "tid": self.tenant,
            "oid": self.user,
            "preferred_username": "ada@example.org",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
        }
        if self.nonce is not None:
            claims["nonce"] = self.nonce
        body = {
            "token_type": "Bearer",
            "scope": "Calendars.Read openid profile offline_access",
            "expires_in": self.lifetime,
            "access_token": access,
            "refresh_token": refresh,
            "id_token": f"{_b64({'alg': 'none'})}.{_b64(claims)}.",
            "client_info": _b64({"uid": self.user, "utid": self.tenant}),
        }
        return _Answer(200, json.dumps(body))

    @staticmethod
    def _openid_configuration() -> dict[str, Any]:
        return {
            "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0",
            "authorization_endpoint": f"{AUTHORITY}/oauth2/v2.0/authorize",
            "token_endpoint": f"{AUTHORITY}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{AUTHORITY}/oauth2/v2.0/devicecode",
        }
