"""Sets of half-open intervals on an integer time line.

An instant in the engine is an ``int``: seconds since the Unix epoch, UTC. An interval is the
half-open ``[start, end)`` with ``start < end``; an :class:`IntervalSet` is a finite union of them,
always kept normalized: sorted, disjoint and non-touching (``[1, 3)`` and ``[3, 5)`` are stored
as ``[1, 5)``), so two sets are equal exactly when they cover the same instants.

The algebra (``|``, ``&``, ``-``) is linear in the number of spans and never mutates its operands.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator

__all__ = ["IntervalSet", "Span", "merge_spans"]

Span = tuple[int, int]


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Normalize arbitrary spans: drop empty ones, sort, merge overlapping and touching ones."""
    ordered = sorted(s for s in spans if s[0] < s[1])
    merged: list[Span] = []
    for start, end in ordered:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


class IntervalSet:
    """An immutable, normalized union of half-open intervals of integer instants."""

    __slots__ = ("_ends", "_starts")

    _starts: tuple[int, ...]
    _ends: tuple[int, ...]

    def __init__(self, spans: Iterable[Span] = ()) -> None:
        merged = merge_spans(spans)
        self._starts = tuple(s for s, _ in merged)
        self._ends = tuple(e for _, e in merged)

    @classmethod
    def _from_normalized(cls, spans: list[Span]) -> IntervalSet:
        result = cls.__new__(cls)
        result._starts = tuple(s for s, _ in spans)
        result._ends = tuple(e for _, e in spans)
        return result

    # -- inspection -------------------------------------------------------------------------

    @property
    def spans(self) -> list[Span]:
        """The normalized spans, in order."""
        return list(zip(self._starts, self._ends, strict=True))

    @property
    def starts(self) -> tuple[int, ...]:
        return self._starts

    @property
    def ends(self) -> tuple[int, ...]:
        return self._ends

    def __iter__(self) -> Iterator[Span]:
        return zip(self._starts, self._ends, strict=True)

    def __len__(self) -> int:
        return len(self._starts)

    def __bool__(self) -> bool:
        return bool(self._starts)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IntervalSet):
            return NotImplemented
        return self._starts == other._starts and self._ends == other._ends

    def __hash__(self) -> int:
        return hash((self._starts, self._ends))

    def __repr__(self) -> str:
        return f"IntervalSet({self.spans!r})"

    def duration(self) -> int:
        """Total covered length in seconds."""
        return sum(e - s for s, e in self)

    def contains(self, instant: int) -> bool:
        """Whether ``instant`` lies in the set (start included, end excluded)."""
        i = bisect_right(self._starts, instant) - 1
        return i >= 0 and instant < self._ends[i]

    def covers(self, start: int, end: int) -> bool:
        """Whether the whole of ``[start, end)`` lies inside one span of the set."""
        i = bisect_right(self._starts, start) - 1
        return i >= 0 and end <= self._ends[i]

    def overlaps(self, start: int, end: int) -> bool:
        """Whether ``[start, end)`` shares at least one instant with the set."""
        if start >= end:
            return False
        i = bisect_right(self._starts, end - 1) - 1
        return i >= 0 and self._ends[i] > start

    def span_containing(self, instant: int) -> Span | None:
        """The span that contains ``instant``, if any."""
        i = bisect_right(self._starts, instant) - 1
        if i >= 0 and instant < self._ends[i]:
            return (self._starts[i], self._ends[i])
        return None

    # -- algebra ----------------------------------------------------------------------------

    def __or__(self, other: IntervalSet) -> IntervalSet:
        return IntervalSet._from_normalized(merge_spans([*self, *other]))

    def __and__(self, other: IntervalSet) -> IntervalSet:
        out: list[Span] = []
        a, b = self.spans, other.spans
        i = j = 0
        while i < len(a) and j < len(b):
            start = max(a[i][0], b[j][0])
            end = min(a[i][1], b[j][1])
            if start < end:
                out.append((start, end))
            if a[i][1] < b[j][1]:
                i += 1
            else:
                j += 1
        return IntervalSet._from_normalized(out)

    def __sub__(self, other: IntervalSet) -> IntervalSet:
        out: list[Span] = []
        cut = other.spans
        j = 0
        for start, end in self:
            cursor = start
            while j < len(cut) and cut[j][1] <= cursor:
                j += 1
            k = j
            while k < len(cut) and cut[k][0] < end:
                if cut[k][0] > cursor:
                    out.append((cursor, cut[k][0]))
                cursor = max(cursor, cut[k][1])
                if cursor >= end:
                    break
                k += 1
            if cursor < end:
                out.append((cursor, end))
        return IntervalSet._from_normalized(out)

    def clip(self, start: int, end: int) -> IntervalSet:
        """The part of the set inside ``[start, end)``."""
        return self & IntervalSet([(start, end)])

    def shift(self, seconds: int) -> IntervalSet:
        """The set moved by ``seconds`` along the time line."""
        return IntervalSet._from_normalized([(s + seconds, e + seconds) for s, e in self])

    @staticmethod
    def union_all(sets: Iterable[IntervalSet]) -> IntervalSet:
        """The union of many sets, in one merge."""
        return IntervalSet._from_normalized(merge_spans(span for s in sets for span in s))

    @staticmethod
    def intersect_all(sets: Iterable[IntervalSet]) -> IntervalSet:
        """The intersection of many sets; empty when there are none."""
        result: IntervalSet | None = None
        for s in sets:
            result = s if result is None else result & s
        return result if result is not None else IntervalSet()
