"""The CalDAV connector plugin (entry point ``caldav``): busy time from a CalDAV account.

Calendars are discovered from a principal or server URL, or named in the settings; each is
read with a time-range query, expanded client-side by openslots' shared normalization (the
same busy rules as ICS feeds), and kept up to date with RFC 6578 sync tokens, or ctag and data
digests where the server has no sync-collection. The caldav library does the protocol; its
HTTP goes through the sync request's guarded client (:mod:`.session`).

Modules: :mod:`.settings` (the connection body), :mod:`.connector` (the contract),
:mod:`.account` (one sync, errors translated), :mod:`.discovery` (which calendars),
:mod:`.reading` (snapshot or delta of one calendar), :mod:`.events` (one object's busy
occurrences), :mod:`.cursor`, :mod:`.session` (caldav's HTTP over httpx).
"""

from openslots_caldav.connector import CalDavConnector

__all__ = ["CalDavConnector"]
