"""API keys: ``osk_<prefix>_<secret>``, stored as the prefix in clear and a hash of the secret.

The prefix (12 hex characters) is the lookup id, safe to show in lists; the secret (256 random
bits, URL-safe base64, which may itself contain ``_``) is shown once, at creation, and only its
SHA-256 is stored: a plain hash suffices for a high-entropy secret, and lookups stay one indexed
read. Comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from openslots.store.catalog import NotFound
from openslots.store.schema import api_keys

__all__ = [
    "SCOPES",
    "ApiKey",
    "get_key",
    "list_keys",
    "mint_key",
    "parse_token",
    "revoke_key",
    "verify_key",
]

SCOPES = ("read", "write", "admin")
_TOKEN_PREFIX = "osk"
_RANK = {name: i for i, name in enumerate(SCOPES)}


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A key as stored, without its secret. Instants are UTC epoch seconds."""

    id: str
    org_id: str
    prefix: str
    name: str
    scopes: tuple[str, ...]
    created_at: int
    revoked_at: int | None
    last_used_at: int | None

    def allows(self, scope: str) -> bool:
        """``admin`` implies ``write``, which implies ``read``."""
        return any(_RANK[s] >= _RANK[scope] for s in self.scopes if s in _RANK)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_token(token: str) -> tuple[str, str] | None:
    """``(prefix, secret)`` of a well-formed token, else None (the secret may contain ``_``)."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != _TOKEN_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def _row_to_key(row: Any) -> ApiKey:
    m = row._mapping
    return ApiKey(
        id=m["id"],
        org_id=m["org_id"],
        prefix=m["prefix"],
        name=m["name"],
        scopes=tuple(m["scopes"].split(",")),
        created_at=m["created_at"],
        revoked_at=m["revoked_at"],
        last_used_at=m["last_used_at"],
    )


def mint_key(
    connection: Connection, org_id: str, scopes: Sequence[str], name: str, now: int
) -> tuple[ApiKey, str]:
    """Create a key; returns it and the token, which is never available again.

    Raises ValueError for an unknown or missing scope (callers validate input first)."""
    if not scopes or any(s not in _RANK for s in scopes):
        raise ValueError(f"scopes must be a non-empty subset of {', '.join(SCOPES)}")
    ordered = tuple(sorted(set(scopes), key=_RANK.__getitem__))
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key_id = str(uuid.uuid4())
    connection.execute(
        api_keys.insert().values(
            id=key_id,
            org_id=org_id,
            prefix=prefix,
            secret_hash=_digest(secret),
            name=name,
            scopes=",".join(ordered),
            created_at=now,
        )
    )
    key = ApiKey(key_id, org_id, prefix, name, ordered, now, None, None)
    return key, f"{_TOKEN_PREFIX}_{prefix}_{secret}"


def verify_key(connection: Connection, token: str) -> ApiKey | None:
    """The live key a token stands for, or None (malformed, unknown, wrong secret or revoked)."""
    parsed = parse_token(token)
    if parsed is None:
        return None
    prefix, secret = parsed
    row = connection.execute(select(api_keys).where(api_keys.c.prefix == prefix)).first()
    if row is None or not hmac.compare_digest(row.secret_hash, _digest(secret)):
        return None
    if row.revoked_at is not None:
        return None
    return _row_to_key(row)


def get_key(connection: Connection, org_id: str, key_id: str) -> ApiKey:
    """One of the organization's keys (revoked ones included); NotFound otherwise."""
    row = connection.execute(
        select(api_keys).where(api_keys.c.org_id == org_id, api_keys.c.id == key_id)
    ).first()
    if row is None:
        raise NotFound("API key")
    return _row_to_key(row)


def list_keys(
    connection: Connection, org_id: str, limit: int | None = None, after: str | None = None
) -> list[ApiKey]:
    """The organization's keys, revoked ones included, by id (keyset paging after ``after``)."""
    query = select(api_keys).where(api_keys.c.org_id == org_id).order_by(api_keys.c.id)
    if after is not None:
        query = query.where(api_keys.c.id > after)
    if limit is not None:
        query = query.limit(limit)
    return [_row_to_key(row) for row in connection.execute(query)]


def revoke_key(connection: Connection, org_id: str, key_id: str, now: int) -> ApiKey:
    """Revoke one of the organization's keys (NotFound otherwise). Revoking twice keeps the
    first revocation time."""
    get_key(connection, org_id, key_id)
    connection.execute(
        update(api_keys)
        .where(
            api_keys.c.org_id == org_id,
            api_keys.c.id == key_id,
            api_keys.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return get_key(connection, org_id, key_id)
