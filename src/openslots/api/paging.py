"""Keyset paging of lists: ``?limit=&after=`` in, ``{"items", "next_after"}`` out.

Items are ordered by id; ``after`` is the last id of the previous page and ``next_after`` is the
id to pass for the next one, or null on the last page (so an empty extra page is never needed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from openslots.errors import BadParameter

__all__ = ["DEFAULT_LIMIT", "check_limit", "page"]

DEFAULT_LIMIT = 100


def check_limit(limit: int, maximum: int) -> int:
    """``limit`` when it is within ``1..maximum``; BadParameter naming ``limit`` otherwise."""
    if not 1 <= limit <= maximum:
        raise BadParameter("limit", f"must be from 1 to {maximum}")
    return limit


def page(
    fetch: Callable[[int, str | None], Sequence[Any]],
    limit: int,
    after: str | None,
    render: Callable[[Any], dict[str, Any]],
) -> dict[str, Any]:
    """One page: ``fetch(n, after)`` returns up to ``n`` items by id; one more than ``limit``
    is asked for to learn whether another page follows."""
    rows = list(fetch(limit + 1, after))
    items = [render(row) for row in rows[:limit]]
    next_after = items[-1]["id"] if len(rows) > limit else None
    return {"items": items, "next_after": next_after}
