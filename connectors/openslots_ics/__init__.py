"""The ``ics`` connector: busy time from an iCalendar feed at a URL (``http``, ``https``,
``webcal``), registered under the entry-point group ``openslots.connectors`` as ``ics``.

A connection's body is described in :mod:`openslots_ics.settings`, the sync in
:mod:`openslots_ics.connector`. Like every connector it imports from openslots only the
plugin contract and the shared iCalendar normalization.
"""

from __future__ import annotations

from .connector import CALENDAR, IcsConnector

__all__ = ["CALENDAR", "IcsConnector"]
