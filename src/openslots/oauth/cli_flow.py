"""Connecting a calendar from a headless server's shell (``openslots connect google|outlook
--resource ID``): print the consent URL, let the user open it on any machine, and take back the
address the browser was sent to after consent.

No device-code flow: Google's device flow (for "TVs and limited input" clients) does not allow
calendar scopes, and Microsoft's needs a public client whose refresh tokens the confidential
client the Outlook connector refreshes with cannot redeem. So both providers use the same
authorization-code flow as the API, with the same client registration. When the redirect URI
points at this server and it is reachable, the callback completes the flow by itself; when it is
not (``http://localhost:8000/...`` on a box without a browser), the browser shows an error page
whose address still carries ``code`` and ``state``: pasting that address here completes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from openslots.oauth.connect import begin, complete
from openslots.oauth.errors import InvalidState
from openslots.oauth.state import STATE_TTL_SECONDS, NonceLedger
from openslots.store.database import Database
from openslots.sync.services import SyncServices

__all__ = ["connect_from_shell", "parse_answer"]


def parse_answer(pasted: str) -> dict[str, str | None]:
    """The provider's answer in a pasted redirect address (or just its query string)."""
    text = pasted.strip()
    query = urlsplit(text).query if "?" in text else text
    values = parse_qs(query, keep_blank_values=False)
    answer = {key: values[key][0] if key in values else None for key in ("code", "state")}
    answer["error"] = values["error"][0] if "error" in values else None
    answer["error_description"] = (
        values["error_description"][0] if "error_description" in values else None
    )
    if answer["state"] is None and answer["error"] is None:
        raise InvalidState(
            "the pasted address has no state: paste the whole address the browser shows after "
            "consent"
        )
    return answer


def connect_from_shell(
    services: SyncServices,
    database: Database,
    *,
    clock: Callable[[], int],
    provider: str,
    org_id: str,
    resource_id: str,
    read_line: Callable[[str], str] = input,
    write: Callable[[str], Any] = print,
) -> tuple[dict[str, Any], bool]:
    """Run the flow in a terminal; the stored connection and whether it was a reconnect."""
    url = begin(
        services,
        database,
        now=clock(),
        provider=provider,
        org_id=org_id,
        resource_id=resource_id,
    )
    write(f"Open this address in a browser and allow access ({STATE_TTL_SECONDS // 60} minutes):")
    write("")
    write(f"  {url}")
    write("")
    write(
        "After consent the browser is sent to the redirect URI. If that page did not say the "
        "calendar is connected, copy the whole address from the browser's address bar."
    )
    pasted = read_line("Address: ")
    return complete(
        services,
        database,
        clock=clock,
        ledger=NonceLedger(),
        provider=provider,
        answer=parse_answer(pasted),
    )
