"""A CalDAV connection body: what the settings and credentials may hold, checked without network.

Settings (shown back to users)::

    url        the server, a principal or a calendar collection (http or https); calendars
               are discovered from it unless ``calendars`` names them
    username   the account
    calendars  optional: calendar collections to sync, as URLs on the same server as ``url`` or
               as paths on it; default every calendar of the principal that holds events
    emails     optional: the owner's addresses, so invitations they declined are not busy
    auth       optional: ``basic`` or ``digest``; default (or ``auto``) whatever the server's
               challenge offers, digest before basic

Credentials (encrypted): ``password``.

Credentials are only ever sent to the origin (scheme, host, port) of ``url``, which is why
calendars must live on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import SplitResult, unquote, urljoin, urlsplit, urlunsplit

from openslots.sync.contract import ValidationError

__all__ = ["AuthScheme", "Connection", "Origin", "origin_of", "separate_secrets"]

AuthScheme = Literal["basic", "digest"]
Origin = tuple[str, str, int]

_SETTINGS = frozenset({"url", "username", "calendars", "emails", "auth"})
_CREDENTIALS = frozenset({"password"})
_SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Connection:
    """A checked connection body. ``url`` and every calendar URL are absolute, on one origin,
    and carry no user information."""

    url: str
    username: str
    password: str
    calendars: tuple[str, ...]
    emails: frozenset[str]
    auth: AuthScheme | None

    @property
    def origin(self) -> Origin:
        return origin_of(self.url)

    @classmethod
    def parse(cls, settings: Mapping[str, Any], credentials: Mapping[str, Any]) -> Connection:
        """The connection, or :class:`ValidationError` naming the first offending field."""
        _refuse_unknown("settings", settings, _SETTINGS)
        _refuse_unknown("credentials", credentials, _CREDENTIALS)
        url = _server_url(settings.get("url"))
        username = settings.get("username")
        if not isinstance(username, str) or not username.strip():
            raise ValidationError("settings.username", "is required: the CalDAV account name")
        password = credentials.get("password")
        if not isinstance(password, str):
            raise ValidationError("credentials.password", "is required: the account's password")
        return cls(
            url=url,
            username=username.strip(),
            password=password,
            calendars=_calendars(settings.get("calendars"), url),
            emails=_emails(settings.get("emails")),
            auth=_auth(settings.get("auth")),
        )


def origin_of(url: str) -> Origin:
    """``(scheme, host, port)`` of an absolute http(s) URL, the port made explicit."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme, 0)


def separate_secrets(
    settings: Mapping[str, Any], credentials: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Move a password found in ``settings`` (as ``settings.password`` or in the user
    information of ``url`` or of a calendar URL) to ``credentials.password``, and a user name
    found in ``url`` to ``settings.username``. Values given explicitly win over those found in
    a URL. Never raises: malformed values are left for :meth:`Connection.parse` to report."""
    public = dict(settings)
    secret = dict(credentials)
    found_password = public.pop("password", None)
    if isinstance(found_password, str) and "password" not in secret:
        secret["password"] = found_password
    url = public.get("url")
    if isinstance(url, str):
        public["url"], user, password = _without_userinfo(url)
        if user and not public.get("username"):
            public["username"] = user
        if password is not None and "password" not in secret:
            secret["password"] = password
    calendars = public.get("calendars")
    if isinstance(calendars, list):
        cleaned = []
        for item in calendars:
            if not isinstance(item, str):
                cleaned.append(item)
                continue
            bare, _, password = _without_userinfo(item)
            if password is not None and "password" not in secret:
                secret["password"] = password
            cleaned.append(bare)
        public["calendars"] = cleaned
    return public, secret


def _without_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """``url`` without ``user:password@``, and the decoded user and password it held."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url, None, None
    if "@" not in parts.netloc:
        return url, None, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    bare = urlunsplit(parts._replace(netloc=hostport))
    return bare, unquote(user) or None, unquote(password) if colon else None


def _refuse_unknown(section: str, values: Mapping[str, Any], known: frozenset[str]) -> None:
    for key in sorted(set(values) - known):
        allowed = ", ".join(sorted(known))
        raise ValidationError(f"{section}.{key}", f"unknown field (allowed: {allowed})")


def _parsed(value: object, field: str) -> SplitResult:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "must be an http(s) URL")
    try:
        parts = urlsplit(value.strip())
        _ = parts.port  # urlsplit checks the port only when it is read
    except ValueError as exc:
        raise ValidationError(field, f"is not a valid URL: {exc}") from exc
    if parts.scheme.lower() not in _SCHEMES or not parts.hostname:
        raise ValidationError(field, "must be an http(s) URL with a host")
    if "@" in parts.netloc:
        raise ValidationError(field, "must not carry a user name or password")
    if parts.fragment:
        raise ValidationError(field, "must not have a #fragment")
    return parts


def _server_url(value: object) -> str:
    parts = _parsed(value, "settings.url")
    return urlunsplit(parts._replace(path=parts.path or "/"))


def _calendars(value: object, base: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValidationError("settings.calendars", "must be a list of calendar URLs or paths")
    urls: list[str] = []
    for index, item in enumerate(value):
        field = f"settings.calendars.{index}"
        if not isinstance(item, str) or not item.strip():
            raise ValidationError(field, "must be a calendar URL or a path on the server")
        url = urlunsplit(_parsed(urljoin(base, item.strip()), field))
        if origin_of(url) != origin_of(base):
            raise ValidationError(field, "must be on the same server as settings.url")
        # A collection's URL ends with a slash; servers answer either spelling, ids must not.
        urls.append(url if url.endswith("/") else f"{url}/")
    if len(set(urls)) != len(urls):
        raise ValidationError("settings.calendars", "names a calendar more than once")
    return tuple(urls)


def _emails(value: object) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list):
        raise ValidationError("settings.emails", "must be a list of e-mail addresses")
    emails: set[str] = set()
    for index, item in enumerate(value):
        address = item.strip().lower().removeprefix("mailto:") if isinstance(item, str) else ""
        local, at, domain = address.partition("@")
        if not (local and at and domain) or any(c.isspace() for c in address):
            raise ValidationError(f"settings.emails.{index}", "must be an e-mail address")
        emails.add(address)
    return frozenset(emails)


def _auth(value: object) -> AuthScheme | None:
    if value is None or value == "auto":
        return None
    if value == "basic":
        return "basic"
    if value == "digest":
        return "digest"
    raise ValidationError("settings.auth", "must be 'basic', 'digest' or 'auto'")
