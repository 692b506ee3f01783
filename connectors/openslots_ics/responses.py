"""What a feed server's answer means: HTTP statuses and bodies translated to contract errors.

Messages name the host, never the URL (its path and query are the feed's secret).
"""

from __future__ import annotations

from openslots.sync.contract import (
    AuthRevoked,
    FeedInvalid,
    RateLimited,
    TransientError,
    retry_after_seconds,
)

__all__ = ["check_body", "raise_for_status"]

_BOM = b"\xef\xbb\xbf"
_BLANKS = b" \t\r\n"
_START = b"BEGIN:VCALENDAR"


def raise_for_status(status: int, host: str, retry_after_header: str | None) -> None:
    """Raise the contract error for a final status that is not 2xx (a 304 is the caller's).

    429 is :class:`RateLimited`, 5xx :class:`TransientError` (both with ``retry_after`` from
    the header); 401 and 403 are :class:`AuthRevoked` (the secret address was reset, or the
    feed needs a password it was not given); 404, 410 and everything else are
    :class:`FeedInvalid`: the feed is gone or the URL is not a feed, which waiting will not fix.
    """
    if 200 <= status < 300:
        return
    wait = retry_after_seconds(retry_after_header)
    if status == 429:
        raise RateLimited(f"{host} is throttling feed requests (HTTP 429)", retry_after=wait)
    if status >= 500:
        raise TransientError(f"{host} failed to serve the feed (HTTP {status})", wait)
    if status in (401, 403):
        raise AuthRevoked(
            f"{host} refused the feed (HTTP {status}): the address was revoked or reset, "
            "or the feed needs a user name and password"
        )
    if status in (404, 410):
        raise FeedInvalid(f"{host} has no feed at this address any more (HTTP {status})")
    raise FeedInvalid(f"{host} answered the feed request with HTTP {status}")


def check_body(body: bytes, host: str) -> None:
    """Raise :class:`FeedInvalid` unless ``body`` starts like iCalendar data (after an optional
    UTF-8 byte order mark and blank lines). Content types are not trusted either way: feeds are
    often served as ``text/plain`` or ``application/octet-stream``, and a ``text/calendar``
    answer can be a login page."""
    start = body.removeprefix(_BOM).lstrip(_BLANKS)
    if start[: len(_START)].upper() == _START:
        return
    raise FeedInvalid(f"{host} did not send an iCalendar feed: {_looks_like(start)}")


def _looks_like(start: bytes) -> str:
    if not start:
        return "the body is empty"
    head = start[:512].lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "it sent an HTML page (a login or error page?)"
    if head.startswith((b"{", b"[")):
        return "it sent JSON"
    if head.startswith(b"<"):
        return "it sent XML or HTML"
    return "the body does not start with BEGIN:VCALENDAR"
