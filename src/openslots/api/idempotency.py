"""``Idempotency-Key``: a retried request gets the first answer again instead of a second booking.

As Stripe does: the status and body of the first answer a key received (a 201, or a 409 once the
slot check ran) are saved in the transaction that produced them, per organization, and replayed
for a request with the same key and the same parameters, marked ``Idempotent-Replayed: true``.
The same key with different parameters is refused (422); an answer is kept for
:data:`KEY_TTL_SECONDS`, after which the key is free again. Requests refused before the slot
check (401-404, 422) save nothing, so a corrected retry with the same key goes through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from openslots.errors import BadParameter, ValidationError
from openslots.store import reservations

__all__ = [
    "HEADER",
    "KEY_TTL_SECONDS",
    "REPLAYED_HEADER",
    "Answer",
    "check_key",
    "fingerprint",
    "replay",
]

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# How long a key's answer is replayed (seconds); Stripe prunes keys after 24 hours too.
KEY_TTL_SECONDS = 86_400
_MAX_KEY_LENGTH = 200  # the column's width


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer: status, JSON body, and whether it is a replay of a saved one."""

    status: int
    body: dict[str, Any]
    replayed: bool = False

    def headers(self) -> dict[str, str]:
        return {REPLAYED_HEADER: "true"} if self.replayed else {}


def check_key(key: str | None) -> str | None:
    """The key of the header (None without one); 400 for an empty or overlong key."""
    if key is None:
        return None
    if not key.strip() or len(key) > _MAX_KEY_LENGTH:
        raise BadParameter(HEADER, f"must be 1 to {_MAX_KEY_LENGTH} characters")
    return key


def fingerprint(route: str, parameters: Mapping[str, Any]) -> str:
    """What makes two requests "the same": the route and the parsed parameters (so ``start``
    written with another offset for the same instant is the same request)."""
    return reservations.request_hash({"route": route, **parameters})


def replay(
    connection: Connection, org_id: str, key: str, hashed: str, now: int, *, writing: bool
) -> Answer | None:
    """The saved answer for this key, or None when there is none or it expired (inside a write
    transaction, ``writing``, an expired answer is dropped so that the new one can be saved).
    422 when the key was used for another request."""
    saved = reservations.saved_response(connection, org_id, key)
    if saved is None:
        return None
    if saved.created_at <= now - KEY_TTL_SECONDS:
        if writing:
            reservations.forget_response(connection, org_id, key)
        return None
    if saved.request_hash != hashed:
        raise ValidationError(HEADER, "this key was already used for a different request")
    return Answer(saved.status, saved.body, replayed=True)
