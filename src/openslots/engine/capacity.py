"""Seats taken over time by bookings, as a step function.

A booking takes ``party_size`` seats over its occupied time ``[start - buffer_before,
end + buffer_after)`` (buffers in minutes, recorded on the booking when it was made). The profile
is the sum of those steps; a candidate for party ``p`` fits on a resource of capacity ``c`` when
the most seats taken anywhere in its padded interval, plus ``p``, is at most ``c``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

from openslots.engine.intervals import IntervalSet, Span
from openslots.engine.model import Booking

__all__ = ["ALL_TIME", "SeatProfile", "occupied_span", "seat_profile"]

# Bounds of "always": far outside any instant the engine accepts (years 1..9999).
ALL_TIME: Span = (-(2**62), 2**62)


def occupied_span(booking: Booking) -> Span:
    """The time a booking holds its seats, buffers included."""
    return (booking.start - booking.buffer_before * 60, booking.end + booking.buffer_after * 60)


@dataclass(frozen=True, slots=True)
class SeatProfile:
    """``seats[i]`` seats are taken on ``[times[i], times[i + 1])``; none before ``times[0]``;
    the last entry is always 0."""

    times: tuple[int, ...] = ()
    seats: tuple[int, ...] = ()

    def max_seats(self, start: int, end: int) -> int:
        """The most seats taken at any instant of ``[start, end)``."""
        if not self.times or start >= end:
            return 0
        # Step i spans [times[i], times[i + 1]); the first step that can overlap holds ``start``.
        i = max(bisect_right(self.times, start) - 1, 0)
        most = 0
        while i < len(self.times) and self.times[i] < end:
            most = max(most, self.seats[i])
            i += 1
        return most

    def above(self, threshold: int) -> IntervalSet:
        """The instants where more than ``threshold`` seats are taken."""
        if threshold < 0:
            return IntervalSet([ALL_TIME])
        spans: list[Span] = []
        for i in range(len(self.times) - 1):
            if self.seats[i] > threshold:
                spans.append((self.times[i], self.times[i + 1]))
        return IntervalSet(spans)


def seat_profile(bookings: Iterable[Booking]) -> SeatProfile:
    """The step function of seats taken by ``bookings``."""
    deltas: dict[int, int] = {}
    for booking in bookings:
        start, end = occupied_span(booking)
        if start >= end:
            continue
        deltas[start] = deltas.get(start, 0) + booking.party_size
        deltas[end] = deltas.get(end, 0) - booking.party_size
    times: list[int] = []
    seats: list[int] = []
    level = 0
    for instant in sorted(deltas):
        level += deltas[instant]
        if seats and seats[-1] == level:
            continue  # no change of level: keep the step function minimal
        times.append(instant)
        seats.append(level)
    return SeatProfile(tuple(times), tuple(seats))
