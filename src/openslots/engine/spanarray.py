"""Normalized spans as two sorted numpy arrays, for asking one question of many instants at once.

This is the batch counterpart of :class:`~openslots.engine.intervals.IntervalSet`: the same
half-open, sorted, disjoint, non-touching spans, but queried with a whole array of candidate
starts in one ``searchsorted``. It is what lets the slot engine do its per-resource work once and
then answer every candidate by arithmetic instead of scanning blocks per candidate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from openslots.engine.intervals import IntervalSet

__all__ = ["Instants", "Mask", "SpanArray"]

Instants = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class SpanArray:
    """Sorted, disjoint, non-touching half-open spans ``[starts[i], ends[i])``."""

    starts: Instants
    ends: Instants

    @classmethod
    def empty(cls) -> SpanArray:
        return cls(np.empty(0, np.int64), np.empty(0, np.int64))

    @classmethod
    def of(cls, spans: IntervalSet) -> SpanArray:
        return cls(np.array(spans.starts, np.int64), np.array(spans.ends, np.int64))

    @classmethod
    def merge(cls, starts: Instants, ends: Instants) -> SpanArray:
        """Normalize arbitrary spans (any order, overlapping, empty ones dropped)."""
        keep = starts < ends
        if not keep.all():
            starts, ends = starts[keep], ends[keep]
        if starts.size == 0:
            return cls.empty()
        order = np.argsort(starts, kind="stable")
        starts, ends = starts[order], ends[order]
        reach = np.maximum.accumulate(ends)
        # A span opens a new group when it starts after everything before it has ended;
        # touching spans (start == reach) join the group, as IntervalSet does.
        opens = np.empty(starts.size, np.bool_)
        opens[0] = True
        np.greater(starts[1:], reach[:-1], out=opens[1:])
        first = np.flatnonzero(opens)
        last = np.append(first[1:] - 1, starts.size - 1)
        return cls(starts[first], reach[last])

    def __len__(self) -> int:
        return int(self.starts.size)

    def to_intervals(self) -> IntervalSet:
        return IntervalSet(zip(self.starts.tolist(), self.ends.tolist(), strict=True))

    def overlapping(self, lo: Instants, hi: Instants) -> Mask:
        """For each ``[lo[k], hi[k])``: does it share an instant with the spans?"""
        if self.starts.size == 0:
            return np.zeros(lo.shape, np.bool_)
        # The last span starting before hi is the only one that can reach past lo: ends are
        # sorted too, because the spans are disjoint.
        j = np.searchsorted(self.starts, hi, side="left") - 1
        return (j >= 0) & (self.ends[np.maximum(j, 0)] > lo) & (lo < hi)

    def covering(self, lo: Instants, hi: Instants) -> Mask:
        """For each ``[lo[k], hi[k])``: does one span hold all of it?"""
        if self.starts.size == 0:
            return np.zeros(lo.shape, np.bool_)
        i = np.searchsorted(self.starts, lo, side="right") - 1
        return (i >= 0) & (self.ends[np.maximum(i, 0)] >= hi)

    def containing(self, points: Instants) -> Mask:
        """For each instant: does it lie in a span?"""
        if self.starts.size == 0:
            return np.zeros(points.shape, np.bool_)
        i = np.searchsorted(self.starts, points, side="right") - 1
        return (i >= 0) & (self.ends[np.maximum(i, 0)] > points)
