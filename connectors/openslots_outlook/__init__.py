"""The ``outlook`` connector: busy time from Outlook / Microsoft 365 calendars through
Microsoft Graph, with msal tokens; registered under the entry-point group
``openslots.connectors`` as ``outlook``. See :mod:`openslots_outlook.connector`."""

from __future__ import annotations

from .connector import OutlookConnector

__all__ = ["OutlookConnector"]
