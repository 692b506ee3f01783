"""Feed URLs: which ones are accepted, where they are fetched, and how they are shown.

A feed URL is a secret: Google's "secret address in iCal format" carries its token in the path
(``/calendar/ical/<id>/private-<token>/basic.ics``), other generators put one in the query,
and some users paste ``user:password@`` into it. So the URL lives in the connection's
credentials and what users see (``settings.url``, error messages) is only
:func:`display_url`: scheme, host and port.
"""

from __future__ import annotations

import re

import httpx

__all__ = ["INVALID", "MAX_URL_LENGTH", "SCHEMES", "display_url", "fetch_url", "url_problem"]

SCHEMES = frozenset({"http", "https", "webcal", "webcals"})
"""Schemes a feed URL may have; ``webcal(s)`` is fetched over https (:func:`fetch_url`)."""

INVALID = "(invalid URL)"
"""The display form of a URL too broken to show any part of."""

MAX_URL_LENGTH = 4096
"""Longer URLs are refused: no feed needs one, and servers cut them off around 8 KiB."""

# What is left of a host after httpx has IDNA-encoded it: a name, an IPv4 literal or an IPv6
# literal (unbracketed). httpx percent-encodes anything else (spaces) instead of refusing it.
_HOST = re.compile(r"[a-z0-9._-]+|[0-9a-f:.]+", re.IGNORECASE)


def fetch_url(url: str) -> str:
    """The URL to GET for ``url``: ``webcal://`` and ``webcals://`` (any case) become
    ``https://``, other URLs are returned stripped of surrounding blanks.

    The same mapping as ``openslots.sync.fetch.feed_url``, which connectors may not import.
    """
    scheme, sep, rest = url.strip().partition("://")
    if sep and scheme.lower() in {"webcal", "webcals"}:
        return f"https://{rest}"
    return url.strip()


def url_problem(url: object) -> str | None:
    """Why ``url`` cannot be a feed URL, or ``None`` when it can. Looks at the text only (no
    DNS, no connection): the SSRF guard of the HTTP client judges the address at fetch time."""
    if not isinstance(url, str) or not url.strip():
        return "is required: the feed's http(s) or webcal URL"
    if len(url) > MAX_URL_LENGTH:
        return f"is longer than {MAX_URL_LENGTH} characters"
    scheme = url.strip().partition("://")[0].lower()
    if "://" not in url or scheme not in SCHEMES:
        return "must start with http://, https://, webcal:// or webcals://"
    try:
        parsed = httpx.URL(fetch_url(url))
    except httpx.InvalidURL:
        # httpx's reason could quote part of the URL, which is secret.
        return "is not a valid URL"
    if not parsed.host:
        return "has no host"
    if not _HOST.fullmatch(parsed.host):
        return "has a host name with characters a host name cannot have"
    if parsed.port is not None and not 0 < parsed.port < 65536:
        return f"is not a valid URL (port {parsed.port} is out of range)"
    return None


def display_url(url: str) -> str:
    """What may be shown of ``url``: ``scheme://host[:port]/…`` with the original scheme, and
    without path, query, fragment or user info; :data:`INVALID` for a URL too broken to show."""
    if url_problem(url) is not None:
        return INVALID
    scheme = url.strip().partition("://")[0].lower()
    parsed = httpx.URL(fetch_url(url))
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    port = f":{parsed.port}" if parsed.port is not None else ""
    return f"{scheme}://{host}{port}/…"
