"""The one exception tree of openslots.

    OpenslotsError                 base; ``code`` is the API error code, ``status`` the HTTP status
    └── ValidationError            an input value is invalid; ``field`` is its dotted path

Later layers add their leaves here (a slot taken, an expired cursor, revoked credentials), each
named for the fact and carrying its API code, so the API maps errors in one table and the CLI to
one exit code. Unavailability of a slot is a result with reasons, never an exception.
"""

from __future__ import annotations

from typing import Any

__all__ = ["OpenslotsError", "ValidationError"]


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
