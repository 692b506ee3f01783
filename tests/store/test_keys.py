"""API keys in the store, on SQLite and PostgreSQL: minting, verifying, revoking, scoping."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from openslots.store import catalog
from openslots.store.database import Database
from openslots.store.keys import (
    get_key,
    list_keys,
    mint_key,
    parse_token,
    revoke_key,
    verify_key,
)
from openslots.store.schema import api_keys

NOW = 1_772_366_400


def _org(database: Database, name: str) -> str:
    with database.write() as connection:
        org_id: str = catalog.create_org(connection, name, name, NOW)["id"]
    return org_id


def test_every_minted_token_verifies(database: Database) -> None:
    # Secrets are URL-safe base64 and often contain "_", the separator of the token's parts:
    # a regression once made about half of all new keys unusable.
    org = _org(database, "acme")
    with database.write() as connection:
        minted = [mint_key(connection, org, ("read",), f"k{i}", NOW) for i in range(60)]
    assert any("_" in token.split("_", 2)[2] for _, token in minted)
    with database.read() as connection:
        for key, token in minted:
            found = verify_key(connection, token)
            assert found is not None
            assert found.id == key.id
            assert found.org_id == org


def test_token_shape_and_what_is_stored(database: Database) -> None:
    org = _org(database, "acme")
    with database.write() as connection:
        key, token = mint_key(connection, org, ("write",), "ci", NOW)
    parsed = parse_token(token)
    assert parsed is not None
    prefix, secret = parsed
    assert token.startswith("osk_")
    assert prefix == key.prefix
    assert len(secret) >= 43  # 256 bits in URL-safe base64
    with database.read() as connection:
        row = connection.execute(select(api_keys).where(api_keys.c.id == key.id)).one()
    stored = " ".join(str(v) for v in row)
    assert secret not in stored
    assert token not in stored
    assert row.secret_hash != secret


BAD_TOKENS = [
    "",
    "osk",
    "osk__",
    "osk_abc_",
    "osk__secret",
    "xyz_abcdef012345_secret",
    "Bearer osk_a_b",
    "osk_000000000000_" + "A" * 43,
]


def test_malformed_or_unknown_tokens_verify_to_nothing(database: Database) -> None:
    org = _org(database, "acme")
    with database.write() as connection:
        mint_key(connection, org, ("admin",), "k", NOW)
    with database.read() as connection:
        assert [t for t in BAD_TOKENS if verify_key(connection, t) is not None] == []


def test_right_prefix_wrong_secret_is_refused(database: Database) -> None:
    org = _org(database, "acme")
    with database.write() as connection:
        key, token = mint_key(connection, org, ("admin",), "k", NOW)
    with database.read() as connection:
        assert verify_key(connection, f"osk_{key.prefix}_{'x' * 43}") is None
        assert verify_key(connection, token[:-1]) is None
        assert verify_key(connection, token + "x") is None


def test_revoked_keys_stop_verifying_and_keep_the_first_revocation(database: Database) -> None:
    org = _org(database, "acme")
    with database.write() as connection:
        key, token = mint_key(connection, org, ("admin",), "k", NOW)
        revoked = revoke_key(connection, org, key.id, NOW + 10)
        again = revoke_key(connection, org, key.id, NOW + 99)
    assert revoked.revoked_at == NOW + 10
    assert again.revoked_at == NOW + 10
    with database.read() as connection:
        assert verify_key(connection, token) is None
        assert get_key(connection, org, key.id).revoked_at == NOW + 10


def test_keys_are_scoped_to_their_organization(database: Database) -> None:
    a, b = _org(database, "a"), _org(database, "b")
    with database.write() as connection:
        key_a, _ = mint_key(connection, a, ("admin",), "a1", NOW)
        key_b, token_b = mint_key(connection, b, ("admin",), "b1", NOW)
    with database.write() as connection:
        with pytest.raises(catalog.NotFound) as raised:
            revoke_key(connection, a, key_b.id, NOW)
        assert key_b.id not in str(raised.value)
        with pytest.raises(catalog.NotFound):
            get_key(connection, a, key_b.id)
    with database.read() as connection:
        assert [k.id for k in list_keys(connection, a)] == [key_a.id]
        assert verify_key(connection, token_b) is not None  # untouched


def test_list_keys_pages_by_id(database: Database) -> None:
    org = _org(database, "acme")
    with database.write() as connection:
        ids = sorted(mint_key(connection, org, ("read",), f"k{i}", NOW)[0].id for i in range(5))
    with database.read() as connection:
        first = list_keys(connection, org, limit=2)
        rest = list_keys(connection, org, limit=10, after=first[-1].id)
    assert [k.id for k in first] == ids[:2]
    assert [k.id for k in rest] == ids[2:]


def test_scopes_are_ranked_and_checked() -> None:
    from openslots.store.keys import ApiKey

    def key(*scopes: str) -> ApiKey:
        return ApiKey("i", "o", "p", "n", scopes, 0, None, None)

    assert key("admin").allows("write")
    assert key("admin").allows("read")
    assert key("write").allows("read")
    assert not key("write").allows("admin")
    assert not key("read").allows("write")


BAD_SCOPES = [(), ("owner",), ("read", "root")]


def test_unknown_scopes_are_refused(database: Database) -> None:
    org = _org(database, "acme")
    for scopes in BAD_SCOPES:
        with database.write() as connection, pytest.raises(ValueError, match="scopes"):
            mint_key(connection, org, scopes, "k", NOW)
    with database.read() as connection:
        assert list_keys(connection, org) == []
