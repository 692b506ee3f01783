"""A calendar's cursor: the Graph ``@odata.deltaLink`` of the last round and the window it was
made for (Graph bakes the window into its state tokens, so a link is only good for a delta of
the same window)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from openslots.sync.contract import SyncWindow

__all__ = ["DeltaCursor"]

_VERSION = 1


@dataclass(frozen=True, slots=True)
class DeltaCursor:
    start: int
    end: int
    delta_link: str

    def dump(self) -> str:
        return json.dumps(
            {"v": _VERSION, "start": self.start, "end": self.end, "delta": self.delta_link},
            separators=(",", ":"),
        )

    @classmethod
    def load(cls, text: str | None) -> DeltaCursor | None:
        """The cursor in ``text``; ``None`` when absent or unreadable (then a snapshot is
        sent, which is always correct)."""
        if not text:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("v") != _VERSION:
            return None
        start, end, link = data.get("start"), data.get("end"), data.get("delta")
        if not (isinstance(start, int) and isinstance(end, int) and isinstance(link, str)):
            return None
        return cls(start, end, link)

    def covers(self, window: SyncWindow) -> bool:
        return (self.start, self.end) == (window.start, window.end)
