"""An ICS connection's body: what it may hold, how it is checked, where the secret goes.

``settings``
    ``url``: the feed's address as the user gave it (``http``, ``https``, ``webcal`` or
    ``webcals``); once stored, only its display form (``https://host/…``).
    ``emails`` (optional): the calendar owner's addresses, for invitations the owner declined.
``credentials``
    ``url``: the feed's address, moved here from ``settings`` by :func:`separate_secrets`.
    ``username`` and ``password`` (optional): HTTP basic authentication for the feed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openslots.sync.contract import ValidationError, validate_owner_emails

from .urls import INVALID, display_url, url_problem

__all__ = ["owner_emails", "separate_secrets", "validate_settings"]

SETTINGS = ("url", "emails")
CREDENTIALS = ("url", "username", "password")
_REDACTED = "/…"


def separate_secrets(
    settings: Mapping[str, Any], credentials: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``settings.url`` moves to ``credentials.url``; ``settings.url`` becomes its display form.

    Settings that already hold the display form of ``credentials.url`` (a stored connection
    sent back unchanged) keep the stored URL, so applying this twice changes nothing. A
    ``settings.url`` that is not text is left for :func:`validate_settings` to refuse, and so
    is an invalid ``credentials.url`` given without ``settings.url`` (no display form is made
    for it, so the error names ``credentials.url``).
    """
    settings, credentials = dict(settings), dict(credentials)
    given, stored = settings.get("url"), credentials.get("url")
    if isinstance(given, str):
        if not (isinstance(stored, str) and given == display_url(stored)):
            credentials["url"] = given
            settings["url"] = display_url(given)
    elif given is None and isinstance(stored, str) and display_url(stored) != INVALID:
        # Given as a credential directly: show it like one given in the settings.
        settings["url"] = display_url(stored)
    return settings, credentials


def validate_settings(settings: Mapping[str, Any], credentials: Mapping[str, Any]) -> None:
    """Check a connection body after :func:`separate_secrets`, without network access.

    The feed URL is checked where it is stored (``credentials.url``) but reported under
    ``settings.url``, where users give it, whenever the settings hold that key. Unknown keys are
    refused so that a misspelt setting (``email``) does not silently do nothing.
    """
    for key in settings:
        if key not in SETTINGS:
            raise ValidationError(f"settings.{key}", _unknown("settings", SETTINGS))
    for key in credentials:
        if key not in CREDENTIALS:
            raise ValidationError(f"credentials.{key}", _unknown("credentials", CREDENTIALS))
    _validate_url(settings, credentials)
    validate_owner_emails(settings.get("emails"))
    username, password = credentials.get("username"), credentials.get("password")
    if username is not None and (not isinstance(username, str) or not username):
        raise ValidationError("credentials.username", "must be a non-empty string")
    if password is not None and not isinstance(password, str):
        raise ValidationError("credentials.password", "must be a string")
    if password is not None and username is None:
        raise ValidationError("credentials.username", "is required when a password is given")


def owner_emails(settings: Mapping[str, Any]) -> frozenset[str]:
    """``settings.emails``, trimmed, lower-cased and without a ``mailto:`` (already validated)."""
    emails = settings.get("emails") or []
    return frozenset(str(email).strip().lower().removeprefix("mailto:") for email in emails)


def _unknown(part: str, known: tuple[str, ...]) -> str:
    return f"is not one of the {part} of an ics connection ({', '.join(known)})"


def _validate_url(settings: Mapping[str, Any], credentials: Mapping[str, Any]) -> None:
    field = "credentials.url" if "url" in credentials and "url" not in settings else "settings.url"
    url = credentials.get("url")
    if url is None and isinstance(settings.get("url"), str):
        raise ValidationError(
            "credentials.url", "is missing: separate_secrets moves settings.url there first"
        )
    problem = url_problem(url)
    if problem is not None:
        raise ValidationError(field, problem)
    assert isinstance(url, str)
    if url.strip().endswith(_REDACTED):
        raise ValidationError(
            field, "is the shortened form openslots shows, not the feed's full address"
        )
