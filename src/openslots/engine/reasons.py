"""Why a candidate is not bookable: reason codes from the same verdicts the listing uses.

The listing decides with :meth:`ResourceView.judge`; this module only names what those verdicts
mean, so a candidate is unavailable on a resource exactly when it gets at least one reason here.
The finer split (``busy`` versus ``buffer``, ``full`` versus ``buffer``) asks whether the slot
itself, or only its padding, meets the block or the crowd.
"""

from __future__ import annotations

from bisect import bisect_left

from openslots.engine.plan import Plan
from openslots.engine.result import Reason, ReasonCode
from openslots.engine.views import ResourceView

__all__ = ["Explainer", "pool_reasons"]


def pool_reasons(start: int, plan: Plan) -> list[Reason]:
    """Reasons that hold for every resource: the notice and horizon of the service."""
    out: list[Reason] = []
    if start < plan.earliest:
        out.append(Reason("min_notice"))
    if plan.latest is not None and start > plan.latest:
        out.append(Reason("horizon"))
    return out


class Explainer:
    """Names the reasons for one resource's verdicts (built only when explanations are asked)."""

    def __init__(self, view: ResourceView, plan: Plan) -> None:
        self._view = view
        self._plan = plan
        self._blocks = sorted(view.blocks, key=lambda b: (b.start, b.end))
        self._block_starts = [b.start for b in self._blocks]
        self._longest = max((b.end - b.start for b in self._blocks), default=0)
        self._busy = view.busy.to_intervals()
        self._crowded = view.crowded.to_intervals()

    def _sources(self, lo: int, hi: int) -> list[str]:
        sources: list[str] = []
        first = bisect_left(self._block_starts, lo - self._longest)
        last = bisect_left(self._block_starts, hi)
        for block in self._blocks[first:last]:
            if block.end > lo and block.start < hi and block.source not in sources:
                sources.append(block.source)
        return sources

    def reasons(
        self, start: int, *, fits: bool, busy: bool, crowded: bool, capped: bool
    ) -> list[Reason]:
        """Reasons for the candidate starting at ``start``, from its verdicts on this resource."""
        plan, rid = self._plan, self._view.resource.id
        end = start + plan.length
        out: list[Reason] = []
        if not fits:
            out.append(Reason("outside_hours", rid))
        if busy:
            code: ReasonCode = "busy" if self._busy.overlaps(start, end) else "buffer"
            lo, hi = (start, end) if code == "busy" else (start - plan.before, end + plan.after)
            out.extend(Reason(code, rid, source) for source in self._sources(lo, hi))
        if crowded:
            if self._crowded.overlaps(start, end):
                out.append(Reason("full", rid))
            elif not any(r.code == "buffer" and r.source is None for r in out):
                out.append(Reason("buffer", rid))
        if capped:
            out.append(Reason("capped", rid))
        return out
