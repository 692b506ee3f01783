"""A calendar's cursor: Google's ``nextSyncToken`` and what the full sync behind it covered.

A sync token only lists changes; it says nothing about the window. The events of the last full
sync were limited to its window (``timeMin``/``timeMax``, which Google refuses next to a sync
token), so a token is only used for the very window (and default zone, which decides all-day
events when the calendar names no zone) it was made for; anything else is a snapshot.
Cursors are stored unencrypted: a sync token is useless without the account's access token.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

__all__ = ["TokenCursor"]

_VERSION = 1


@dataclass(frozen=True, slots=True)
class TokenCursor:
    """``window`` is ``[start, end)`` in UTC seconds; ``token`` Google's ``nextSyncToken``."""

    window: tuple[int, int]
    zone: str
    token: str

    def dump(self) -> str:
        return json.dumps(
            {"v": _VERSION, "window": list(self.window), "zone": self.zone, "token": self.token},
            separators=(",", ":"),
        )

    @classmethod
    def load(cls, text: str | None) -> TokenCursor | None:
        """The cursor in ``text``, or ``None`` for no cursor or one this version cannot read
        (which then costs one snapshot, never an error)."""
        if not text:
            return None
        try:
            data = json.loads(text)
            window = data["window"]
            cursor = cls((int(window[0]), int(window[1])), str(data["zone"]), str(data["token"]))
        except (ValueError, TypeError, KeyError, IndexError):
            return None
        return cursor if data.get("v") == _VERSION and cursor.token else None
