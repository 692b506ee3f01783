"""Connecting Google and Outlook calendars with OAuth (DESIGN §6).

The API sends the user to the provider's consent page (:mod:`openslots.oauth.google`,
:mod:`openslots.oauth.outlook`) with a PKCE challenge and a sealed ``state``
(:mod:`openslots.oauth.state`) that carries the organization, the resource and the PKCE
verifier; the provider sends the browser back to the callback, which opens the state, exchanges
the code for tokens and stores them encrypted in the formats the connectors read.
"""

from openslots.oauth.errors import InvalidState, OAuthDenied, OAuthNotConfigured

__all__ = ["PROVIDERS", "InvalidState", "OAuthDenied", "OAuthNotConfigured"]

# Providers with an OAuth connect flow.
PROVIDERS = ("google", "outlook")
