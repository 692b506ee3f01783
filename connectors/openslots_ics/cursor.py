"""The feed's cursor: what the last good fetch said about the feed, and what it was read for.

An ICS feed has no change log, so the cursor cannot name changes; it only lets the next sync
prove that nothing changed. It holds the response's validators (``ETag``, ``Last-Modified``),
the SHA-256 of the body, and the *reading*: the window and the normalization parameters
(resource zone, owner addresses, instance cap, and a short hash of the feed URL) the events
were computed for. Unchanged bytes read the same way give the same events, so the connector
may answer "no change" (an empty delta); a different reading needs the body again, so the
validators are then not sent and the body is parsed afresh into a snapshot.

Openslots stores cursors as they are, not encrypted: nothing here may reveal the feed URL,
hence only 64 bits of its hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["FeedCursor", "reading_of"]

_VERSION = 1


def reading_of(
    url: str,
    window: tuple[int, int],
    default_zone: str,
    owner_emails: Iterable[str],
    max_instances_per_series: int,
) -> str:
    """A digest of everything besides the body that decides a feed's events: a cursor is only
    reused for the same reading."""
    parts = [
        hashlib.sha256(url.encode()).hexdigest()[:16],
        f"{window[0]}:{window[1]}",
        default_zone,
        ",".join(sorted(set(owner_emails))),
        str(max_instances_per_series),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class FeedCursor:
    """``window`` is ``[start, end)`` in UTC seconds; ``reading`` is :func:`reading_of`'s
    digest (window included); ``sha256`` the hex digest of the body the events came from."""

    window: tuple[int, int]
    reading: str
    sha256: str
    etag: str | None = None
    last_modified: str | None = None

    def dump(self) -> str:
        return json.dumps(
            {
                "v": _VERSION,
                "window": list(self.window),
                "reading": self.reading,
                "sha256": self.sha256,
                "etag": self.etag,
                "last_modified": self.last_modified,
            },
            separators=(",", ":"),
            sort_keys=True,
        )

    @classmethod
    def load(cls, text: str | None) -> FeedCursor | None:
        """The cursor ``text`` holds, or ``None`` when there is none or it cannot be read (an
        older format, a damaged value): the connector then fetches and parses from scratch,
        which is always correct."""
        if not text:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("v") != _VERSION:
            return None
        window = data.get("window")
        reading, sha256 = data.get("reading"), data.get("sha256")
        etag, modified = data.get("etag"), data.get("last_modified")
        if (
            not isinstance(window, list)
            or len(window) != 2
            or not all(type(value) is int for value in window)
            or not isinstance(reading, str)
            or not isinstance(sha256, str)
            or not isinstance(etag, str | None)
            or not isinstance(modified, str | None)
        ):
            return None
        return cls((window[0], window[1]), reading, sha256, etag, modified)

    def request_headers(self) -> dict[str, str]:
        """``If-None-Match`` / ``If-Modified-Since`` for the validators that are known."""
        headers: dict[str, str] = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers
