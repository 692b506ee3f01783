"""The ``google`` connector: busy time from Google Calendar through google-api-python-client,
registered under the entry-point group ``openslots.connectors`` as ``google``.

A connection's body is described in :mod:`openslots_google.settings`, the sync in
:mod:`openslots_google.connector`, the client and its error translation in
:mod:`openslots_google.session`.
"""

from __future__ import annotations

from .connector import GoogleConnector

__all__ = ["GoogleConnector"]
