"""PKCE (RFC 7636): the verifier stays with us (inside the sealed state), the S256 challenge goes
to the consent page, so a code intercepted on its way back is useless without the verifier."""

from __future__ import annotations

import base64
import hashlib
import secrets

__all__ = ["challenge_of", "new_verifier"]


def new_verifier() -> str:
    """A fresh code verifier: 43 characters of url-safe base64 (32 random bytes, 256 bits)."""
    return secrets.token_urlsafe(32)


def challenge_of(verifier: str) -> str:
    """The S256 challenge: BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
