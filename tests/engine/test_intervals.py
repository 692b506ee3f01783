"""IntervalSet and SpanArray: unit tests, and algebraic laws checked with Hypothesis against a
brute-force model (the set of integer instants a union of spans covers)."""

from __future__ import annotations

import random
from functools import reduce
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openslots.engine.intervals import IntervalSet, Span, merge_spans
from openslots.engine.spanarray import SpanArray

LIMIT = 40  # instants of the small time line the brute-force model enumerates

instants = st.integers(-5, LIMIT)
# Raw spans, empty and reversed ones included: the constructor must drop them.
raw_spans = st.lists(st.tuples(instants, instants), max_size=8)
interval_sets = raw_spans.map(IntervalSet)
LAWS = settings(deadline=None, max_examples=300)


def points(spans: list[Span] | IntervalSet) -> set[int]:
    """The brute-force model: every integer instant the spans cover."""
    return {x for start, end in spans for x in range(start, end)}


def from_points(xs: set[int]) -> IntervalSet:
    return IntervalSet((x, x + 1) for x in xs)


def is_normalized(spans: list[Span]) -> bool:
    if any(start >= end for start, end in spans):
        return False
    return all(a[1] < b[0] for a, b in pairwise(spans))


# -- unit tests --------------------------------------------------------------------------------


def test_touching_spans_merge() -> None:
    assert IntervalSet([(1, 3), (3, 5)]).spans == [(1, 5)]
    assert IntervalSet([(3, 5), (1, 3), (7, 9)]).spans == [(1, 5), (7, 9)]


def test_empty_and_reversed_spans_are_dropped() -> None:
    assert IntervalSet([(3, 3), (5, 2)]).spans == []
    assert not IntervalSet([(3, 3)])
    assert IntervalSet() == IntervalSet([])


def test_overlapping_and_nested_spans_merge() -> None:
    assert IntervalSet([(1, 10), (2, 3), (9, 12)]).spans == [(1, 12)]
    assert merge_spans([(5, 6), (1, 2), (2, 2), (1, 4)]) == [(1, 4), (5, 6)]


def test_inspection() -> None:
    s = IntervalSet([(10, 20), (0, 5)])
    assert s.spans == [(0, 5), (10, 20)]
    assert s.starts == (0, 10)
    assert s.ends == (5, 20)
    assert list(s) == [(0, 5), (10, 20)]
    assert len(s) == 2
    assert s.duration() == 15
    assert repr(s) == "IntervalSet([(0, 5), (10, 20)])"
    assert hash(s) == hash(IntervalSet([(0, 5), (10, 15), (15, 20)]))
    assert s != [(0, 5), (10, 20)]


def test_half_open_membership() -> None:
    s = IntervalSet([(10, 20)])
    assert s.contains(10)
    assert not s.contains(20)
    assert not s.contains(9)
    assert s.covers(10, 20)
    assert not s.covers(10, 21)
    assert not s.covers(9, 12)
    assert s.overlaps(19, 25)
    assert not s.overlaps(20, 25)
    assert not s.overlaps(5, 10)
    assert not s.overlaps(15, 15)
    assert s.span_containing(15) == (10, 20)
    assert s.span_containing(20) is None


def test_covers_needs_one_span_of_a_normalized_set() -> None:
    s = IntervalSet([(0, 5), (6, 10)])
    assert not s.covers(4, 7)
    assert IntervalSet([(0, 5), (5, 10)]).covers(4, 7)


def test_algebra_examples() -> None:
    a = IntervalSet([(0, 10), (20, 30)])
    b = IntervalSet([(5, 25)])
    assert (a | b).spans == [(0, 30)]
    assert (a & b).spans == [(5, 10), (20, 25)]
    assert (a - b).spans == [(0, 5), (25, 30)]
    assert (b - a).spans == [(10, 20)]
    assert a.clip(8, 22).spans == [(8, 10), (20, 22)]
    assert a.shift(-5).spans == [(-5, 5), (15, 25)]


def test_union_all_and_intersect_all_of_nothing_are_empty() -> None:
    assert IntervalSet.union_all([]) == IntervalSet()
    assert IntervalSet.intersect_all([]) == IntervalSet()
    one = IntervalSet([(1, 2)])
    assert IntervalSet.intersect_all([one]) == one


def test_span_array_examples() -> None:
    merged = SpanArray.merge(np.array([5, 1, 3, 9], np.int64), np.array([7, 3, 4, 9], np.int64))
    assert merged.starts.tolist() == [1, 5]
    assert merged.ends.tolist() == [4, 7]
    assert len(merged) == 2
    assert len(SpanArray.empty()) == 0
    lo = np.array([0, 4, 6, 7], np.int64)
    hi = np.array([1, 5, 7, 10], np.int64)
    assert merged.overlapping(lo, hi).tolist() == [False, False, True, False]
    assert merged.covering(lo, hi).tolist() == [False, False, True, False]
    assert merged.containing(np.array([1, 4, 6, 7], np.int64)).tolist() == [
        True,
        False,
        True,
        False,
    ]


# -- laws -------------------------------------------------------------------------------------


@LAWS
@given(raw_spans)
def test_normalization_is_idempotent_and_exact(spans: list[Span]) -> None:
    s = IntervalSet(spans)
    assert is_normalized(s.spans)
    assert IntervalSet(s.spans) == s
    assert IntervalSet(s) == s
    assert points(s) == points([x for x in spans if x[0] < x[1]])
    assert merge_spans(spans) == s.spans
    assert merge_spans(merge_spans(spans)) == merge_spans(spans)
    # Normalized sets are equal exactly when they cover the same instants.
    assert from_points(points(s)) == s
    assert s.duration() == len(points(s))
    assert bool(s) == bool(points(s))


@LAWS
@given(raw_spans, st.randoms(use_true_random=False))
def test_normalization_ignores_order_and_splitting(spans: list[Span], rnd: random.Random) -> None:
    shuffled = list(spans)
    rnd.shuffle(shuffled)
    assert IntervalSet(shuffled) == IntervalSet(spans)
    # Cutting every span into unit pieces, which all touch, gives the same set back.
    pieces = [(x, x + 1) for start, end in spans for x in range(start, end)]
    assert IntervalSet(pieces) == IntervalSet(spans)


@LAWS
@given(interval_sets, interval_sets)
def test_operations_match_the_model(a: IntervalSet, b: IntervalSet) -> None:
    pa, pb = points(a), points(b)
    for result, expected in ((a | b, pa | pb), (a & b, pa & pb), (a - b, pa - pb)):
        assert is_normalized(result.spans)
        assert points(result) == expected


@LAWS
@given(interval_sets, interval_sets)
def test_operands_are_not_mutated(a: IntervalSet, b: IntervalSet) -> None:
    before = (a.spans, b.spans)
    _ = (a | b, a & b, a - b, a.clip(0, 10), a.shift(3))
    assert (a.spans, b.spans) == before


@LAWS
@given(interval_sets, interval_sets, interval_sets)
def test_union_and_intersection_laws(a: IntervalSet, b: IntervalSet, c: IntervalSet) -> None:
    assert a | b == b | a
    assert (a | b) | c == a | (b | c)
    assert a & b == b & a
    assert (a & b) & c == a & (b & c)
    assert a & (b | c) == (a & b) | (a & c)
    assert a | (b & c) == (a | b) & (a | c)
    assert a | a == a
    assert a & a == a
    assert a | IntervalSet() == a
    assert a & IntervalSet() == IntervalSet()


@LAWS
@given(interval_sets, interval_sets)
def test_difference_laws(a: IntervalSet, b: IntervalSet) -> None:
    assert not (a - b) & b
    assert (a - b) | (a & b) == a
    assert a - a == IntervalSet()
    assert a - IntervalSet() == a
    assert (a - b).duration() + (a & b).duration() == a.duration()


@LAWS
@given(interval_sets, instants, instants)
def test_queries_match_the_model(s: IntervalSet, x: int, y: int) -> None:
    covered = points(s)
    assert s.contains(x) == (x in covered)
    start, end = min(x, y), max(x, y)
    window = set(range(start, end))
    assert s.overlaps(start, end) == bool(window & covered)
    assert not s.overlaps(end, start)  # reversed or empty: nothing to share
    if start < end:
        assert s.covers(start, end) == (window <= covered)
    span = s.span_containing(x)
    if x in covered:
        assert span is not None
        assert span in s.spans
        assert span[0] <= x < span[1]
    else:
        assert span is None


@LAWS
@given(interval_sets, st.integers(-100, 100), instants, instants)
def test_shift_and_clip(s: IntervalSet, k: int, x: int, y: int) -> None:
    assert points(s.shift(k)) == {p + k for p in points(s)}
    assert s.shift(k).shift(-k) == s
    assert points(s.clip(x, y)) == points(s) & set(range(x, y))
    assert s.clip(x, y) == s & IntervalSet([(x, y)])


@LAWS
@given(st.lists(interval_sets, max_size=5))
def test_union_all_and_intersect_all(sets: list[IntervalSet]) -> None:
    assert IntervalSet.union_all(sets) == reduce(lambda a, b: a | b, sets, IntervalSet())
    expected = reduce(lambda a, b: a & b, sets) if sets else IntervalSet()
    assert IntervalSet.intersect_all(sets) == expected
    assert IntervalSet.intersect_all(iter(sets)) == expected
    assert IntervalSet.union_all(iter(sets)) == IntervalSet.union_all(sets)


# -- SpanArray against IntervalSet --------------------------------------------------------------


def _arrays(spans: list[Span]) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.array([s for s, _ in spans], np.int64).reshape(-1),
        np.array([e for _, e in spans], np.int64).reshape(-1),
    )


@LAWS
@given(raw_spans)
def test_span_array_merge_equals_normalization(spans: list[Span]) -> None:
    merged = SpanArray.merge(*_arrays(spans))
    s = IntervalSet(spans)
    assert merged.to_intervals() == s
    assert merged.starts.tolist() == list(s.starts)
    assert merged.ends.tolist() == list(s.ends)
    assert SpanArray.of(s).to_intervals() == s


@LAWS
@given(interval_sets, st.lists(st.tuples(instants, instants), min_size=1, max_size=12))
def test_span_array_questions_agree_with_interval_set(
    s: IntervalSet, queries: list[tuple[int, int]]
) -> None:
    arr = SpanArray.of(s)
    pairs = [(min(x, y), max(x, y) + 1) for x, y in queries]  # non-empty intervals
    lo = np.array([a for a, _ in pairs], np.int64)
    hi = np.array([b for _, b in pairs], np.int64)
    assert arr.overlapping(lo, hi).tolist() == [s.overlaps(a, b) for a, b in pairs]
    assert arr.covering(lo, hi).tolist() == [s.covers(a, b) for a, b in pairs]
    assert arr.containing(lo).tolist() == [s.contains(a) for a, _ in pairs]


@pytest.mark.parametrize("method", ["overlapping", "covering"])
def test_span_array_on_no_spans_answers_false(method: str) -> None:
    lo = np.array([0, 5], np.int64)
    hi = np.array([3, 9], np.int64)
    assert getattr(SpanArray.empty(), method)(lo, hi).tolist() == [False, False]
    assert SpanArray.empty().containing(lo).tolist() == [False, False]
