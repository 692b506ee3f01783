"""Scrubbing secrets out of log text (RELIABILITY-NOTES §1, §2: credentials never reach logs).

:func:`redact` replaces, in any text:

* URLs with a scheme (feeds, CalDAV servers, database URLs): the user info, path, query and
  fragment, keeping the scheme, host and port (``https://cal.example/[redacted]``): a feed
  URL's secret is usually in its path or query;
* our own secret paths as uvicorn's access log shows them (``/feeds/{token}/...``) and the values
  of query parameters that carry secrets (``code``, ``state``, ``key``, ``sig`` ...);
* API keys (``osk_<prefix>_<secret>``: the prefix, which names the key, stays), Fernet tokens
  (encrypted credentials), ``Bearer``/``Basic`` credentials;
* the value after a secret-sounding name (``password=...``, ``'token': '...'``,
  ``client_secret: ...``);
* any other run of 22 or more URL-safe characters mixing upper case, lower case and digits:
  random tokens of 128 bits or more (feed tokens, OAuth codes) that no rule above recognized.

:func:`redact_value` does the same to a log record's extra fields, and hides whole values whose
name sounds secret. Redaction is idempotent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["REDACTED", "is_secret_name", "redact", "redact_value"]

REDACTED = "[redacted]"

_SECRET_NAME = (
    r"[\w-]*(?:password|passwd|pwd|secret|token|api[_-]?key|authorization|credential|cookie"
    r"|session[_-]?id)s?[\w-]*"
)
_SECRET_NAME_RE = re.compile(rf"(?i)^{_SECRET_NAME}$")

_URL = re.compile(
    r"""(?ix)
    \b(?P<scheme>[a-z][a-z0-9+.\-]*)://
    (?P<userinfo>[^\s/?\#@"'<>\\]*@)?
    (?P<host>[^\s/?\#"'<>\\]*)
    (?P<rest>[^\s"'<>\\]*)
    """
)
_FEED_PATH = re.compile(r"(/feeds/)(?!\[redacted\])[^/\s?#\"'<>]+")
_SECRET_QUERY = re.compile(
    r"(?i)([?&](?:code|state|key|sig|signature|auth|access_key)=)(?!\[redacted\])[^&\s\"'#<>]+"
)
_API_KEY = re.compile(
    r"\b(osk_[0-9a-f]{1,32}_)(?!\[redacted\])[A-Za-z0-9_-]+|\bosk_(?![0-9a-f]+_)\w+"
)
_FERNET = re.compile(r"gAAAAA[A-Za-z0-9_=-]{20,}")
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic)(\s+)(?!\[redacted\])[A-Za-z0-9._~+/=-]{6,}")
_KEY_VALUE = re.compile(
    rf"""(?ix)
    \b(?P<name>{_SECRET_NAME})
    (?P<sep>["']?\s*[:=]\s*["']?)
    (?!\[redacted\])(?P<value>[^\s"',;&}}\])]+)
    """
)
_LONG_TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{22,}(?![A-Za-z0-9_-])")


def _url(match: re.Match[str]) -> str:
    userinfo = REDACTED + "@" if match["userinfo"] else ""
    rest = match["rest"]
    tail = "" if rest in {"", "/"} else "/" + REDACTED
    return f"{match['scheme']}://{userinfo}{match['host']}{tail}"


def _random_looking(match: re.Match[str]) -> str:
    text = match[0]
    mixed = (
        any(c.isupper() for c in text)
        and any(c.islower() for c in text)
        and any(c.isdigit() for c in text)
    )
    return REDACTED if mixed else text


def redact(text: str) -> str:
    """``text`` with every secret this module recognizes replaced by ``[redacted]``."""
    text = _URL.sub(_url, text)
    text = _FEED_PATH.sub(rf"\1{REDACTED}", text)
    text = _SECRET_QUERY.sub(rf"\1{REDACTED}", text)
    text = _API_KEY.sub(lambda m: (m[1] or "osk_") + REDACTED, text)
    text = _FERNET.sub(REDACTED, text)
    text = _AUTH_SCHEME.sub(rf"\1\2{REDACTED}", text)
    text = _KEY_VALUE.sub(rf"\g<name>\g<sep>{REDACTED}", text)
    return _LONG_TOKEN.sub(_random_looking, text)


def is_secret_name(name: str) -> bool:
    """Whether a field called ``name`` holds a secret (``password``, ``refresh_token`` ...)."""
    return bool(_SECRET_NAME_RE.match(name))


def redact_value(value: object, name: str | None = None) -> object:
    """A log field's value made safe: hidden whole when ``name`` sounds secret, strings
    redacted, containers walked, numbers and booleans kept, anything else redacted as text."""
    if name is not None and is_secret_name(name):
        return REDACTED
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {str(k): redact_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(v) for v in value]
    if isinstance(value, bytes):
        return redact(value.decode("utf-8", "replace"))
    return redact(str(value))
