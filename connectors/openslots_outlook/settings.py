"""An Outlook connection's body: what it may hold and how it is checked (no network access).

``settings``
    ``calendars``: ``"default"`` (the mailbox's default calendar, the default) or a list of
    Graph calendar ids. ``emails`` (optional): the mailbox owner's addresses, kept for the
    runner's "declined by the owner" rule; Graph already reports the owner's own response.
``credentials``
    ``token_cache``: msal's ``SerializableTokenCache.serialize()`` text, written by the OAuth
    connect flow and replaced by :class:`~openslots.sync.contract.SyncResult.credentials`
    when msal refreshed a token. ``home_account_id``: the msal account in that cache.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openslots.sync.contract import ValidationError, validate_owner_emails

__all__ = ["DEFAULT", "calendar_choice", "validate_settings"]

DEFAULT = "default"
"""The calendar name of the mailbox's default calendar (``/me/calendarView``)."""

SETTINGS = ("calendars", "emails")
CREDENTIALS = ("token_cache", "home_account_id")
MAX_CALENDARS = 50
# Graph calendar ids are base64 of ~100 bytes; anything far longer is not one.
_MAX_ID_LENGTH = 512


def validate_settings(settings: Mapping[str, Any], credentials: Mapping[str, Any]) -> None:
    """Refuse unknown keys (a misspelt ``calendar`` must not silently do nothing), a calendar
    choice that is neither ``"default"`` nor a list of ids, and credentials without msal's
    cache and account."""
    for key in settings:
        if key not in SETTINGS:
            raise ValidationError(f"settings.{key}", _unknown("settings", SETTINGS))
    for key in credentials:
        if key not in CREDENTIALS:
            raise ValidationError(f"credentials.{key}", _unknown("credentials", CREDENTIALS))
    _validate_calendars(settings.get("calendars", DEFAULT))
    validate_owner_emails(settings.get("emails"))
    for key in CREDENTIALS:
        value = credentials.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(
                f"credentials.{key}", "is required (a non-empty string from the connect flow)"
            )


def calendar_choice(settings: Mapping[str, Any]) -> tuple[str, ...]:
    """The calendars to read, in order, without repeats (settings already validated)."""
    chosen = settings.get("calendars", DEFAULT)
    if chosen == DEFAULT:
        return (DEFAULT,)
    return tuple(dict.fromkeys(str(c) for c in chosen))


def _unknown(part: str, known: tuple[str, ...]) -> str:
    return f"is not one of the {part} of an outlook connection ({', '.join(known)})"


def _validate_calendars(calendars: object) -> None:
    if calendars == DEFAULT:
        return
    if not isinstance(calendars, list) or not calendars:
        raise ValidationError(
            "settings.calendars", 'must be "default" or a non-empty list of calendar ids'
        )
    if len(calendars) > MAX_CALENDARS:
        raise ValidationError("settings.calendars", f"may hold at most {MAX_CALENDARS} ids")
    for index, calendar in enumerate(calendars):
        field = f"settings.calendars.{index}"
        if not isinstance(calendar, str) or not calendar.strip():
            raise ValidationError(field, "must be a calendar id (a non-empty string)")
        if len(calendar) > _MAX_ID_LENGTH or any(c.isspace() for c in calendar):
            raise ValidationError(field, "is not a Graph calendar id")
