"""The OAuth ``state``: sealed, expiring, bound to an organization and a resource, used once.

The state is a Fernet token made with the credential cipher (authenticated encryption: a changed
or forged state does not open), so it can carry the PKCE verifier without a server-side session
table and any API process can finish a flow another one started. Its issue time is the app
clock's, sealed inside the token, and checked against the app clock: Fernet's own timestamp is
wall-clock time, which tests (and the rest of the API) do not use.

Used once: :class:`NonceLedger` remembers the nonces of the states this process accepted until
they expire anyway. A replay that reaches another process is still refused by the provider (a
code is redeemable once) and is useless to an attacker without the verifier sealed in the state.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import asdict, dataclass

from openslots.credentials import CredentialCipher
from openslots.errors import ConfigurationError
from openslots.oauth.errors import InvalidState

__all__ = ["STATE_TTL_SECONDS", "NonceLedger", "OAuthState", "open_state", "seal"]

STATE_TTL_SECONDS = 600
# Marks the sealed object as a state, so no other token made with the same keys (a connection's
# encrypted credentials) can be passed off as one.
_PURPOSE = "openslots-oauth-state-v1"
# Clocks of API processes may differ a little; a state from "the future" beyond this is refused.
_SKEW_SECONDS = 60


@dataclass(frozen=True)
class OAuthState:
    provider: str
    org_id: str
    resource_id: str
    verifier: str  # PKCE code verifier
    nonce: str  # random; single use, and the OpenID nonce of Microsoft's id_token
    issued_at: int  # app clock, UTC seconds

    @classmethod
    def new(
        cls, provider: str, org_id: str, resource_id: str, verifier: str, now: int
    ) -> OAuthState:
        return cls(provider, org_id, resource_id, verifier, secrets.token_urlsafe(16), now)


def seal(cipher: CredentialCipher, state: OAuthState) -> str:
    """``state`` as an opaque url-safe string for the ``state`` parameter."""
    return cipher.encrypt({"purpose": _PURPOSE, **asdict(state)}).decode("ascii")


def open_state(cipher: CredentialCipher, token: str, provider: str, now: int) -> OAuthState:
    """The state in ``token``; InvalidState when it was not sealed by us, was made for another
    provider, or is older than ``STATE_TTL_SECONDS`` at ``now``."""
    try:
        value = cipher.decrypt(token.encode("ascii"))
    except (ConfigurationError, UnicodeEncodeError, ValueError):
        raise InvalidState(
            "the state is not one this server made: start the connection again"
        ) from None
    if value.get("purpose") != _PURPOSE:
        raise InvalidState("the state is not one this server made: start the connection again")
    try:
        state = OAuthState(
            provider=str(value["provider"]),
            org_id=str(value["org_id"]),
            resource_id=str(value["resource_id"]),
            verifier=str(value["verifier"]),
            nonce=str(value["nonce"]),
            issued_at=int(value["issued_at"]),
        )
    except (KeyError, TypeError, ValueError):
        raise InvalidState("the state is incomplete: start the connection again") from None
    if state.provider != provider:
        raise InvalidState(f"the state was made for {state.provider}, not {provider}")
    if not state.issued_at - _SKEW_SECONDS <= now <= state.issued_at + STATE_TTL_SECONDS:
        raise InvalidState(
            f"the state has expired (it is valid for {STATE_TTL_SECONDS // 60} minutes): "
            "start the connection again"
        )
    return state


class NonceLedger:
    """Nonces of accepted states, each kept until its state would have expired anyway."""

    def __init__(self) -> None:
        self._until: dict[str, int] = {}
        self._lock = threading.Lock()

    def claim(self, state: OAuthState, now: int) -> None:
        """Mark ``state`` used; InvalidState when it already was."""
        with self._lock:
            for nonce, until in list(self._until.items()):
                if until < now:
                    del self._until[nonce]
            if state.nonce in self._until:
                raise InvalidState("the state was already used: start the connection again")
            self._until[state.nonce] = state.issued_at + STATE_TTL_SECONDS + _SKEW_SECONDS
