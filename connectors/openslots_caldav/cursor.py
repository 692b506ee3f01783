"""The cursor of one CalDAV calendar: how the next sync finds out what changed.

A cursor is JSON. It always holds the ``window`` it was made for and a ``basis``: a digest of
everything else that decides which events an object yields (the calendar's zone, the owner's
addresses, the instance cap). A cursor whose window or basis differs from the request's is not
used, so the next sync sends a snapshot (the contract's rule for deltas).

Then either

* ``token``: the calendar's RFC 6578 ``DAV:sync-token`` when the snapshot was taken; the next
  sync asks ``sync-collection`` for the members changed since, or
* ``ctag`` and ``objects``: for servers without sync-collection, the collection's CalendarServer
  ``getctag`` (may be ``null``) and a digest of the data of every object the window's
  time-range query returned, by href; the next sync skips the query while the ctag is
  unchanged, else queries again and sends what differs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeGuard

from openslots.sync.contract import SyncWindow

__all__ = ["Basis", "Cursor", "digest"]

_VERSION = 1


@dataclass(frozen=True, slots=True)
class Basis:
    """What a calendar's events depend on besides its data."""

    window: SyncWindow
    zone: str
    emails: frozenset[str]
    max_instances: int

    def fingerprint(self) -> str:
        described = json.dumps([self.zone, sorted(self.emails), self.max_instances])
        return hashlib.sha256(described.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Cursor:
    """A calendar's cursor: a sync token, or (``token`` is ``None``) a ctag and the digests of
    the objects in the window."""

    window: tuple[int, int]
    basis: str
    token: str | None = None
    ctag: str | None = None
    objects: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of_token(cls, basis: Basis, token: str) -> Cursor:
        return cls(_span(basis), basis.fingerprint(), token=token)

    @classmethod
    def of_scan(cls, basis: Basis, ctag: str | None, objects: Mapping[str, str]) -> Cursor:
        return cls(_span(basis), basis.fingerprint(), ctag=ctag, objects=dict(objects))

    def fits(self, basis: Basis) -> bool:
        """Whether a delta from this cursor answers a sync on ``basis``."""
        return self.window == _span(basis) and self.basis == basis.fingerprint()

    def encode(self) -> str:
        body: dict[str, object] = {"v": _VERSION, "window": list(self.window), "basis": self.basis}
        if self.token is not None:
            body["token"] = self.token
        else:
            body["ctag"] = self.ctag
            body["objects"] = dict(sorted(self.objects.items()))
        return json.dumps(body, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        """The cursor ``text`` holds, or ``None`` when it holds none this version wrote (then
        the calendar gets a snapshot)."""
        if not text:
            return None
        try:
            body = json.loads(text)
        except ValueError:
            return None
        if not isinstance(body, dict) or body.get("v") != _VERSION:
            return None
        window, basis = body.get("window"), body.get("basis")
        if not (
            isinstance(window, list)
            and len(window) == 2
            and all(isinstance(v, int) for v in window)
            and isinstance(basis, str)
        ):
            return None
        span = (window[0], window[1])
        token = body.get("token")
        if isinstance(token, str):
            return cls(span, basis, token=token)
        ctag, objects = body.get("ctag"), body.get("objects")
        if (ctag is None or isinstance(ctag, str)) and _is_digest_map(objects):
            return cls(span, basis, ctag=ctag, objects=objects)
        return None


def digest(data: bytes) -> str:
    """A short digest of an object's data, to tell a changed object from an unchanged one."""
    return hashlib.sha256(data).hexdigest()[:24]


def _span(basis: Basis) -> tuple[int, int]:
    return basis.window.start, basis.window.end


def _is_digest_map(value: object) -> TypeGuard[dict[str, str]]:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )
