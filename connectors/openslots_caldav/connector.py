"""The CalDAV connector: the contract's asynchronous face over the blocking caldav library.

A sync parses the connection, opens the sync request's HTTP client and runs
:func:`~openslots_caldav.account.read_account` in a worker thread (``asyncio.to_thread``):
caldav's requests come back to this event loop through a
:class:`~openslots_caldav.session.LoopSession` and are sent by that client, while caldav's
parsing and the normalization of events stay off the loop. When the sync ends, or is
cancelled (an on-demand budget ran out), the session is shut: the abandoned thread's next
request fails at once, and its request in flight is cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from openslots.sync.contract import Connector, SyncRequest, SyncResult
from openslots_caldav.account import read_account
from openslots_caldav.session import LoopSession, ServerAuth
from openslots_caldav.settings import Connection, separate_secrets

__all__ = ["CalDavConnector"]


class CalDavConnector(Connector):
    """Busy time from the calendars of one CalDAV account (settings: :mod:`.settings`)."""

    provider = "caldav"

    def validate_settings(
        self, settings: Mapping[str, Any], credentials: Mapping[str, Any]
    ) -> None:
        Connection.parse(settings, credentials)

    def separate_secrets(
        self, settings: Mapping[str, Any], credentials: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        return separate_secrets(settings, credentials)

    async def sync(self, request: SyncRequest) -> SyncResult:
        connection = Connection.parse(request.settings, request.credentials)
        auth = ServerAuth(
            connection.origin, connection.username, connection.password, connection.auth
        )
        loop = asyncio.get_running_loop()
        async with request.http_client() as http:
            session = LoopSession(http, loop, auth)
            try:
                return await asyncio.to_thread(read_account, connection, request, session)
            finally:
                session.shut()
