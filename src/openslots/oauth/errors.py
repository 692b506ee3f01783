"""The errors of the OAuth connect flows, leaves of :class:`openslots.errors.OpenslotsError`
(each carries its API code, so the API's one error table maps them)."""

from __future__ import annotations

from openslots.errors import OpenslotsError

__all__ = ["InvalidState", "OAuthDenied", "OAuthNotConfigured"]


class InvalidState(OpenslotsError):
    """The callback's ``state`` was not made by this server, has expired (10 minutes), belongs
    to another provider, or was already used: the user starts the connection again."""

    code = "invalid_state"
    status = 400


class OAuthDenied(OpenslotsError):
    """The provider refused: the user declined consent (``access_denied``), the code was already
    used or expired (``invalid_grant``), or a needed permission was not granted."""

    code = "oauth_denied"
    status = 400


class OAuthNotConfigured(OpenslotsError):
    """The provider's OAuth client is not configured; the message names the key to set."""

    code = "oauth_not_configured"
    status = 503

    def __init__(self, key: str) -> None:
        super().__init__(
            f"{key} is not set: register an OAuth client with the provider and set {key} in "
            "the configuration (README: Connecting Google and Outlook calendars)"
        )
        self.key = key
