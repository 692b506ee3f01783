"""Whether a VEVENT's time counts as busy, and as which kind (DESIGN §5 "What counts as busy").

In order, first match wins:

1. ``STATUS:CANCELLED`` (any case) → not busy.
2. An ``ATTENDEE`` whose address is one of the owner's with ``PARTSTAT=DECLINED`` → not busy.
3. Microsoft's show-as, ``X-MICROSOFT-CDO-BUSYSTATUS`` (else ``-INTENDEDSTATUS``, the status
   the organizer meant the attendee's copy to have, used only when the event's own status is
   absent): ``FREE`` and ``WORKINGELSEWHERE`` → not busy, ``TENTATIVE`` → ``tentative``,
   ``OOF`` → ``oof``, ``BUSY`` → ``busy``; other values are ignored. It decides when the
   calendar was produced by Microsoft software (PRODID mentions Microsoft) or the event has no
   ``TRANSP``: Exchange itself reads TRANSP only when BUSYSTATUS is missing (MS-OXCICAL
   2.1.3.1.1.20.25) and always exports the two consistently. In other feeds an explicit
   ``TRANSP`` wins on free versus busy, because a non-Microsoft client that edited the event
   rewrote TRANSP but left the X- property stale (SYNC-NOTES §5.12); there the show-as still
   makes an opaque event ``tentative`` or ``oof``.
4. ``TRANSP:TRANSPARENT`` → not busy.
5. ``STATUS:TENTATIVE`` → ``tentative``; anything else → ``busy``.

Zero-length occurrences are not busy either; that is a property of the occurrence, checked by
the caller.
"""

from __future__ import annotations

from typing import Any

from icalendar import Component

from openslots.engine.model import BlockKind

__all__ = ["busy_kind", "produced_by_microsoft"]

_SHOW_AS: dict[str, BlockKind | None] = {
    "FREE": None,
    "WORKINGELSEWHERE": None,
    "TENTATIVE": "tentative",
    "BUSY": "busy",
    "OOF": "oof",
}


def produced_by_microsoft(calendar: Component) -> bool:
    """Whether the calendar's PRODID names Microsoft (Outlook, Exchange, Microsoft 365)."""
    return "MICROSOFT" in str(calendar.get("PRODID", "")).upper()


def busy_kind(event: Component, owners: frozenset[str], *, microsoft: bool) -> BlockKind | None:
    """The kind of block ``event``'s occurrences make, or ``None`` when they are not busy.

    ``owners`` are the calendar owner's addresses in lower case; ``microsoft`` says the
    calendar came from Microsoft software (:func:`produced_by_microsoft`).
    """
    status = _word(event.get("STATUS"))
    if status == "CANCELLED" or _declined(event, owners):
        return None
    show_as = _show_as(event)
    transp = _word(event.get("TRANSP"))
    if show_as is not None and (microsoft or transp is None):
        return _SHOW_AS[show_as]
    if transp == "TRANSPARENT":
        return None
    if show_as in ("TENTATIVE", "OOF"):
        return _SHOW_AS[show_as]
    return "tentative" if status == "TENTATIVE" else "busy"


def _show_as(event: Component) -> str | None:
    for name in ("X-MICROSOFT-CDO-BUSYSTATUS", "X-MICROSOFT-CDO-INTENDEDSTATUS"):
        value = _word(event.get(name))
        if value in _SHOW_AS:
            return value
    return None


def _word(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip().upper()
    return text or None


def _declined(event: Component, owners: frozenset[str]) -> bool:
    if not owners:
        return False
    attendees = event.get("ATTENDEE")
    if attendees is None:
        return False
    for attendee in attendees if isinstance(attendees, list) else [attendees]:
        address = str(attendee).strip().lower().removeprefix("mailto:")
        partstat = str(getattr(attendee, "params", {}).get("PARTSTAT", "")).upper()
        if address in owners and partstat == "DECLINED":
            return True
    return False
