"""Connection credentials encrypted at rest (DESIGN §2, RELIABILITY-NOTES §2).

Credentials (passwords, tokens, secret feed URLs) are JSON objects stored as Fernet tokens:
AES-128-CBC with an HMAC-SHA256, so a token that was changed or made with another key is refused
instead of decrypting to garbage. ``security.encryption_keys`` lists keys newest first; a
:class:`CredentialCipher` encrypts with the first and decrypts with any (``MultiFernet``), which
is how keys rotate: put a new key first, run ``openslots rotate-key`` (every stored token is
re-encrypted with it), then drop the old key.

With no key configured and a SQLite database (the one-process default), a key is generated
once and kept in a file beside the database, readable by its owner only, so ``make run`` works
out of the box; PostgreSQL deployments (many processes, many machines) must configure keys.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.engine import make_url

from openslots.errors import ConfigurationError, ValidationError

__all__ = ["CredentialCipher", "cipher_for", "generate_key", "key_file_for"]


def generate_key() -> str:
    """A new random Fernet key (32 bytes, url-safe base64) as text."""
    return Fernet.generate_key().decode("ascii")


class CredentialCipher:
    """Encrypts credential objects with the first of ``keys`` and decrypts with any of them."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ConfigurationError(
                "security.encryption_keys is empty: connection credentials cannot be encrypted"
            )
        fernets = []
        for index, key in enumerate(keys):
            try:
                fernets.append(Fernet(key.strip().encode("ascii")))
            except (ValueError, UnicodeEncodeError):
                raise ValidationError(
                    f"security.encryption_keys[{index}]",
                    "not a Fernet key (32 bytes, url-safe base64; `openslots rotate-key "
                    "--generate` prints one)",
                ) from None
        self._fernet = MultiFernet(fernets)

    def encrypt(self, credentials: Mapping[str, Any]) -> bytes:
        return self._fernet.encrypt(json.dumps(dict(credentials), sort_keys=True).encode())

    def decrypt(self, token: bytes) -> dict[str, Any]:
        """The credential object in ``token``; ConfigurationError when no configured key opens
        it (keys were dropped too early, or the data was changed)."""
        try:
            plain = self._fernet.decrypt(bytes(token))
        except InvalidToken:
            raise ConfigurationError(
                "stored credentials cannot be decrypted with security.encryption_keys"
            ) from None
        value = json.loads(plain)
        if not isinstance(value, dict):
            raise ConfigurationError("stored credentials are not an object")
        return value

    def rotate(self, token: bytes) -> bytes:
        """``token`` re-encrypted with the newest key (unchanged content)."""
        try:
            return self._fernet.rotate(bytes(token))
        except InvalidToken:
            raise ConfigurationError(
                "stored credentials cannot be decrypted with security.encryption_keys"
            ) from None


def key_file_for(database_url: str) -> Path | None:
    """Where the generated key of a SQLite file database lives, else None."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database + ".key")


def cipher_for(keys: Sequence[str], database_url: str) -> CredentialCipher:
    """The cipher for a process: the configured keys, else (SQLite only) the key kept beside
    the database file, made on first use."""
    if keys:
        return CredentialCipher(keys)
    path = key_file_for(database_url)
    if path is None:
        raise ConfigurationError(
            "security.encryption_keys is not set; it is required with this database "
            "(`openslots rotate-key --generate` prints a new key)"
        )
    if not path.exists():
        # O_EXCL: two processes starting together must not each write a different key.
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w", encoding="ascii") as handle:
                handle.write(generate_key() + "\n")
    text = path.read_text(encoding="ascii").strip()
    for _ in range(50):  # the process that made the file may still be writing it
        if text:
            break
        time.sleep(0.02)
        text = path.read_text(encoding="ascii").strip()
    if not text:
        raise ConfigurationError(f"the key file {path} is empty")
    return CredentialCipher([text])
