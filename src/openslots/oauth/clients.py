"""An OAuth client as configured (``[google]`` / ``[outlook]``), and what a connect flow yields."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from openslots.oauth.errors import OAuthNotConfigured

__all__ = ["ClientConfig", "Grant", "client_config", "id_token_claims"]

# Seconds a token endpoint may take before the connect attempt fails.
TOKEN_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True)
class ClientConfig:
    provider: str
    client_id: str
    client_secret: str
    redirect_uri: str
    # The provider's other keys (auth_uri, token_uri, authority, ...).
    values: Mapping[str, Any] = field(default_factory=dict)


def client_config(provider: str, configs: Mapping[str, Mapping[str, Any]]) -> ClientConfig:
    """The configured client of ``provider``; OAuthNotConfigured names the first key missing."""
    values = configs.get(provider, {})
    for key in ("client_id", "client_secret", "redirect_uri"):
        if not str(values.get(key) or "").strip():
            raise OAuthNotConfigured(f"{provider}.{key}")
    return ClientConfig(
        provider,
        str(values["client_id"]).strip(),
        str(values["client_secret"]).strip(),
        str(values["redirect_uri"]).strip(),
        dict(values),
    )


@dataclass(frozen=True)
class Grant:
    """Tokens of a completed flow: ``credentials`` in the stored format of the provider's
    connector, ``email`` the account's address when the provider told it."""

    credentials: dict[str, Any]
    email: str | None


def id_token_claims(id_token: object) -> dict[str, Any]:
    """The claims of an OpenID id_token, unverified; {} when it is missing or not a JWT.

    Not checking the signature is sound here: the token came straight from the token endpoint
    over TLS in answer to our own authenticated request (OpenID Connect Core §3.1.3.7), and only
    the account's email is read from it, to show which account was connected.
    """
    if not isinstance(id_token, str) or id_token.count(".") != 2:
        return {}
    payload = id_token.split(".")[1]
    try:
        value = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
