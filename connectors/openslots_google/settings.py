"""A Google connection's body: what it may hold and how it is checked (no network access).

``settings``
    ``calendars``: ``"primary"`` (the default), ``"owned"`` (every calendar the account owns,
    read from its calendar list at each sync) or a list of Google calendar ids.
    ``emails`` (optional): the owner's addresses, also used to find the owner among attendees
    when Google does not mark the ``self`` attendee (shared calendars).
    ``use_freebusy`` (optional, default false): read busy periods with ``freeBusy.query``
    instead of events (one request per 90 days for all calendars; no cursor, no kinds).
``credentials``
    What the OAuth flow stores: ``refresh_token`` (required), ``access_token`` and
    ``expires_at`` (UTC epoch seconds, both optional) and ``scopes``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openslots.sync.contract import ValidationError

__all__ = ["MAX_CALENDARS", "calendar_choice", "owner_emails", "validate_settings"]

SETTINGS = ("calendars", "emails", "use_freebusy")
CREDENTIALS = ("refresh_token", "access_token", "expires_at", "scopes")
MAX_CALENDARS = 100
MAX_EMAILS = 50
_MAX_ID_LENGTH = 1024  # Google calendar ids are addresses; group calendars run long
_MAX_EMAIL_LENGTH = 320  # RFC 5321


def validate_settings(settings: Mapping[str, Any], credentials: Mapping[str, Any]) -> None:
    """Refuse unknown keys (a misspelt ``calendar`` would silently read only the primary
    calendar) and values of the wrong shape, naming the offending field."""
    for key in settings:
        if key not in SETTINGS:
            raise ValidationError(f"settings.{key}", f"unknown setting; known: {SETTINGS}")
    _check_calendars(settings.get("calendars", "primary"))
    emails = settings.get("emails", [])
    if not isinstance(emails, list) or len(emails) > MAX_EMAILS:
        raise ValidationError("settings.emails", f"must be a list of at most {MAX_EMAILS}")
    for i, email in enumerate(emails):
        if not (isinstance(email, str) and 3 <= len(email) <= _MAX_EMAIL_LENGTH and "@" in email):
            raise ValidationError(f"settings.emails.{i}", "must be an email address")
    if not isinstance(settings.get("use_freebusy", False), bool):
        raise ValidationError("settings.use_freebusy", "must be true or false")
    for key in credentials:
        if key not in CREDENTIALS:
            raise ValidationError(f"credentials.{key}", f"unknown credential; known: {CREDENTIALS}")
    refresh = credentials.get("refresh_token")
    if not isinstance(refresh, str) or not refresh:
        raise ValidationError("credentials.refresh_token", "required: the OAuth refresh token")
    if not isinstance(credentials.get("access_token") or "", str):
        raise ValidationError("credentials.access_token", "must be text or null")
    expires = credentials.get("expires_at")
    if expires is not None and (isinstance(expires, bool) or not isinstance(expires, int)):
        raise ValidationError("credentials.expires_at", "must be UTC epoch seconds or null")
    scopes = credentials.get("scopes", [])
    if not (isinstance(scopes, list) and all(isinstance(s, str) for s in scopes)):
        raise ValidationError("credentials.scopes", "must be a list of scope strings")


def _check_calendars(value: object) -> None:
    if value in ("primary", "owned"):
        return
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_CALENDARS:
        raise ValidationError(
            "settings.calendars",
            f'must be "primary", "owned" or a list of 1 to {MAX_CALENDARS} calendar ids',
        )
    for i, item in enumerate(value):
        if not (isinstance(item, str) and 0 < len(item) <= _MAX_ID_LENGTH):
            raise ValidationError(f"settings.calendars.{i}", "must be a Google calendar id")
    if len(set(value)) != len(value):
        raise ValidationError("settings.calendars", "lists a calendar twice")


def calendar_choice(settings: Mapping[str, Any]) -> str | list[str]:
    """``"primary"``, ``"owned"`` or the explicit ids, from validated settings."""
    value = settings.get("calendars", "primary")
    return list(value) if isinstance(value, list) else str(value)


def owner_emails(settings: Mapping[str, Any], given: frozenset[str]) -> frozenset[str]:
    """The owner's addresses, lower-cased: the request's and the connection's own."""
    return given | {str(e).lower() for e in settings.get("emails", [])}
