"""Microsoft's show-as (X-MICROSOFT-CDO-BUSYSTATUS / -INTENDEDSTATUS) against TRANSP and
STATUS: busy_status.py's precedence, through normalization (issue 4 item 3).

Every normalization also runs with the components reversed (``run``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from openslots.engine.model import BlockKind
from openslots.sync.normalize import normalize
from tests.sync import ics, run, window

AUGUST = window("2026-08-01T00:00", "2026-09-01T00:00")
OUTLOOK = "PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN"
GOOGLE = "PRODID:-//Google Inc//Google Calendar 70.9054//EN"


def kind_of(lines: str, prodid: str = OUTLOOK) -> BlockKind | None:
    """The kind of the one event ``lines`` describe, or ``None`` when it is not busy."""
    event = f"UID:e\nDTSTART:20260827T100000Z\nDTEND:20260827T110000Z\n{lines}"
    other = "UID:other\nDTSTART:20260828T100000Z\nDTEND:20260828T110000Z"
    data = ics(event, other, header=prodid).replace(b"PRODID:-//openslots//tests//EN\r\n", b"")
    events = {e.external_id: e.kind for e in run(data, AUGUST).events}
    assert events.pop("other") == "busy"
    return events.get("e")


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        ("FREE", None),
        ("WORKINGELSEWHERE", None),
        ("TENTATIVE", "tentative"),
        ("OOF", "oof"),
        ("BUSY", "busy"),
        ("oof", "oof"),  # any case
    ],
)
def test_busystatus_decides_the_kind(status: str, kind: BlockKind | None) -> None:
    assert kind_of(f"X-MICROSOFT-CDO-BUSYSTATUS:{status}") == kind


def test_intendedstatus_counts_only_without_busystatus() -> None:
    assert kind_of("X-MICROSOFT-CDO-INTENDEDSTATUS:OOF") == "oof"
    both = "X-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE\nX-MICROSOFT-CDO-INTENDEDSTATUS:BUSY"
    assert kind_of(both) == "tentative"


def test_an_unknown_busystatus_leaves_transp_and_status_to_decide() -> None:
    assert kind_of("X-MICROSOFT-CDO-BUSYSTATUS:ELSEWHERE") == "busy"
    assert kind_of("X-MICROSOFT-CDO-BUSYSTATUS:SOMETHING\nTRANSP:TRANSPARENT") is None
    assert kind_of("X-MICROSOFT-CDO-BUSYSTATUS:?\nSTATUS:TENTATIVE") == "tentative"


@pytest.mark.parametrize(
    ("lines", "outlook", "elsewhere"),
    [
        # Exchange reads TRANSP only without BUSYSTATUS; a Microsoft feed is taken at its word.
        ("TRANSP:TRANSPARENT\nX-MICROSOFT-CDO-BUSYSTATUS:BUSY", "busy", None),
        ("TRANSP:OPAQUE\nX-MICROSOFT-CDO-BUSYSTATUS:FREE", None, "busy"),
        # Elsewhere an explicit TRANSP wins on free versus busy, the show-as refines the kind.
        ("TRANSP:OPAQUE\nX-MICROSOFT-CDO-BUSYSTATUS:OOF", "oof", "oof"),
        ("TRANSP:OPAQUE\nX-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE", "tentative", "tentative"),
        ("TRANSP:TRANSPARENT\nX-MICROSOFT-CDO-BUSYSTATUS:OOF", "oof", None),
        # Without TRANSP the show-as decides everywhere.
        ("X-MICROSOFT-CDO-BUSYSTATUS:FREE", None, None),
        # STATUS:TENTATIVE gives way to an explicit show-as in Microsoft feeds only.
        ("STATUS:TENTATIVE\nTRANSP:OPAQUE\nX-MICROSOFT-CDO-BUSYSTATUS:BUSY", "busy", "tentative"),
    ],
)
def test_busystatus_against_transp_depends_on_who_produced_the_feed(
    lines: str, outlook: BlockKind | None, elsewhere: BlockKind | None
) -> None:
    assert kind_of(lines, OUTLOOK) == outlook
    assert kind_of(lines, GOOGLE) == elsewhere


def test_cancelled_and_declined_stay_free_whatever_the_show_as() -> None:
    assert kind_of("STATUS:CANCELLED\nX-MICROSOFT-CDO-BUSYSTATUS:OOF") is None
    event = (
        "UID:e\nDTSTART:20260827T100000Z\nDTEND:20260827T110000Z\n"
        "X-MICROSOFT-CDO-BUSYSTATUS:BUSY\nATTENDEE;PARTSTAT=DECLINED:mailto:me@example.com"
    )
    result = run(ics(event, header=OUTLOOK), AUGUST, owner_emails=frozenset({"me@example.com"}))
    assert result.events == ()


def test_an_overridden_instance_takes_its_own_show_as() -> None:
    data = ics(
        "UID:s\nDTSTART:20260810T090000Z\nDTEND:20260810T100000Z\nRRULE:FREQ=DAILY;COUNT=3\n"
        "X-MICROSOFT-CDO-BUSYSTATUS:BUSY",
        "UID:s\nRECURRENCE-ID:20260811T090000Z\nDTSTART:20260811T090000Z\n"
        "DTEND:20260811T100000Z\nX-MICROSOFT-CDO-BUSYSTATUS:OOF",
        "UID:s\nRECURRENCE-ID:20260812T090000Z\nDTSTART:20260812T090000Z\n"
        "DTEND:20260812T100000Z\nX-MICROSOFT-CDO-BUSYSTATUS:FREE",
        header=OUTLOOK,
    )
    assert {(e.external_id, e.kind) for e in run(data, AUGUST).events} == {
        ("s#20260810T090000", "busy"),
        ("s#20260811T090000", "oof"),
    }


CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "ics"


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared ICS corpus is missing")
def test_outlook_invitations_in_a_google_feed_keep_their_tentative_show_as() -> None:
    # S issue42.ics: Google export holding Outlook invitations nobody answered yet
    # (PARTSTAT=NEEDS-ACTION), TRANSP:OPAQUE with BUSYSTATUS:TENTATIVE: Outlook shows them
    # tentative, and so do we. One of them on 2016-11-25 16:30-20:30Z.
    data = (CORPUS / "issue42.ics").read_bytes()
    # Not ``run``: reversing 1.6 MB through icalendar costs seconds; the corpus tests do it.
    result = normalize(
        data, window("2016-11-25T00:00", "2016-11-26T00:00"), default_zone="UTC", source="x"
    )
    kinds = {(e.start, e.end): e.kind for e in result.events}
    start = window("2016-11-25T16:30", "2016-11-25T20:30")
    assert kinds[start] == "tentative"
