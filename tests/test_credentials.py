"""Credentials at rest: Fernet tokens, rotation over MultiFernet, the SQLite key file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from openslots.credentials import CredentialCipher, cipher_for, generate_key, key_file_for
from openslots.errors import ConfigurationError, ValidationError

SECRET = {"password": "hunter2-very-secret", "url": "https://x.example/private-abc123/basic.ics"}


def test_round_trip_and_no_plaintext_in_the_token() -> None:
    cipher = CredentialCipher([generate_key()])
    token = cipher.encrypt(SECRET)
    assert cipher.decrypt(token) == SECRET
    for value in SECRET.values():
        assert value.encode() not in token
    # Fernet is randomized: the same credentials never give the same token twice.
    assert cipher.encrypt(SECRET) != token


def test_another_key_cannot_read_or_forge() -> None:
    token = CredentialCipher([generate_key()]).encrypt(SECRET)
    with pytest.raises(ConfigurationError, match="cannot be decrypted"):
        CredentialCipher([generate_key()]).decrypt(token)
    tampered = token[:-5] + (b"A" if token[-5:-4] != b"A" else b"B") + token[-4:]
    with pytest.raises(ConfigurationError):
        CredentialCipher([generate_key()]).decrypt(tampered)


def test_rotation_re_encrypts_with_the_newest_key() -> None:
    old, new = generate_key(), generate_key()
    token = CredentialCipher([old]).encrypt(SECRET)
    both = CredentialCipher([new, old])
    assert both.decrypt(token) == SECRET  # old tokens still read during the rotation
    rotated = both.rotate(token)
    assert CredentialCipher([new]).decrypt(rotated) == SECRET
    with pytest.raises(ConfigurationError):
        CredentialCipher([old]).decrypt(rotated)


@pytest.mark.parametrize("key", ["", "short", "x" * 44, "not base64 at all!!"])
def test_a_bad_key_names_its_place_in_the_list(key: str) -> None:
    with pytest.raises((ValidationError, ConfigurationError)) as caught:
        CredentialCipher([generate_key(), key] if key else [])
    if isinstance(caught.value, ValidationError):
        assert caught.value.field == "security.encryption_keys[1]"


def test_sqlite_gets_a_key_file_made_once_owner_only(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'openslots.db'}"
    path = key_file_for(url)
    assert path == tmp_path / "openslots.db.key"
    token = cipher_for([], url).encrypt(SECRET)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    # A second process (a restart) reads the same key.
    assert cipher_for([], url).decrypt(token) == SECRET


def test_configured_keys_win_and_postgres_needs_them(tmp_path: Path) -> None:
    key = generate_key()
    token = cipher_for([key], f"sqlite:///{tmp_path / 'a.db'}").encrypt(SECRET)
    assert not (tmp_path / "a.db.key").exists()
    assert CredentialCipher([key]).decrypt(token) == SECRET
    with pytest.raises(ConfigurationError, match=r"security\.encryption_keys"):
        cipher_for([], "postgresql://postgres@127.0.0.1/test")
    with pytest.raises(ConfigurationError):
        cipher_for([], "sqlite://")
