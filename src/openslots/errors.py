"""The one exception tree of openslots.

    OpenslotsError                 base; ``code`` is the API error code, ``status`` the HTTP status
    ├── ValidationError            an input value is invalid; ``field`` is its dotted path (422)
    │   └── BadParameter           a query or path parameter is invalid (400)
    ├── Unauthorized               no key, an unknown key or a revoked one (401)
    ├── Forbidden                  the key lacks the scope (403)
    ├── NotFound                   no such object for this organization (404)
    ├── Conflict                   the request contradicts the state (409)
    │   ├── SlotTaken              the slot is no longer bookable; carries the reasons
    │   ├── HoldExpired            a hold's time ran out before it was confirmed
    │   └── HoldReleased           a hold was released, or already confirmed
    ├── PayloadTooLarge            a body over the size limit (413)
    └── ConfigurationError         the configuration or the environment is unusable

Later layers add their leaves here (a slot taken, an expired cursor, revoked credentials), each
named for the fact and carrying its API code, so the API maps errors in one table and the CLI to
one exit code. Unavailability of a slot is a result with reasons, never an exception.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BadParameter",
    "ConfigurationError",
    "Conflict",
    "Forbidden",
    "HoldExpired",
    "HoldReleased",
    "NotFound",
    "OpenslotsError",
    "PayloadTooLarge",
    "SlotTaken",
    "Unauthorized",
    "ValidationError",
]


class OpenslotsError(Exception):
    """Base of every error openslots raises on purpose."""

    code: str = "error"
    status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, Any]:
        """The documented error shape: ``{"error": {"code", "message", ...}}``."""
        return {"error": {"code": self.code, "message": self.message}}


class ValidationError(OpenslotsError):
    """An input value is invalid.

    ``field`` is the dotted path of the offending value in the input document, with list
    indexes (``resources.0.schedule.rules.1.end``), so a user can find it without guessing.
    """

    code = "validation_error"
    status = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class BadParameter(ValidationError):
    """A query or path parameter is invalid; ``field`` names the parameter."""

    status = 400


class Unauthorized(OpenslotsError):
    code = "unauthorized"
    status = 401


class Forbidden(OpenslotsError):
    code = "forbidden"
    status = 403


class NotFound(OpenslotsError, LookupError):
    """No such object, or one of another organization: the two are never told apart."""

    code = "not_found"
    status = 404


class Conflict(OpenslotsError):
    code = "conflict"
    status = 409


class SlotTaken(Conflict):
    """The slot cannot be booked (any more); ``reasons`` are the engine's reason codes."""

    code = "slot_taken"

    def __init__(self, message: str, reasons: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.reasons = reasons

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        body["error"]["reasons"] = self.reasons
        return body


class HoldExpired(Conflict):
    """The hold expired: its seats were given back, so it can no longer be confirmed."""

    code = "hold_expired"


class HoldReleased(Conflict):
    """The hold was released or already confirmed as a booking."""

    code = "hold_released"


class PayloadTooLarge(OpenslotsError):
    code = "payload_too_large"
    status = 413


class ConfigurationError(OpenslotsError):
    code = "configuration_error"
    status = 500
