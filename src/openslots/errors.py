"""The one exception tree of openslots.

    OpenslotsError                 base; ``code`` is the API error code, ``status`` the HTTP status
    ├── ValidationError            an input value is invalid; ``field`` is its dotted path (422)
    │   ├── BadParameter           a query or path parameter is invalid (400)
    │   └── UnknownProvider        no connector is installed under that provider name
    ├── Unauthorized               no key, an unknown key or a revoked one (401)
    ├── Forbidden                  the key lacks the scope (403)
    ├── NotFound                   no such object for this organization (404)
    ├── Conflict                   the request contradicts the state (409)
    │   ├── SlotTaken              the slot is no longer bookable; carries the reasons
    │   ├── HoldExpired            a hold's time ran out before it was confirmed
    │   └── HoldReleased           a hold was released, or already confirmed
    ├── PayloadTooLarge            a body over the size limit (413)
    ├── CursorExpired              a connector's sync cursor is no longer valid upstream (502)
    ├── AuthRevoked                upstream refused a connection's credentials for good (502)
    ├── TransientError             upstream failed in a way worth retrying later (503)
    │   ├── RateLimited            upstream asked us to slow down; carries ``retry_after``
    │   └── FetchFailed            fetching a URL failed (DNS, connect, timeout, status) (502)
    │       └── FeedTooLarge       the body exceeded the size cap
    ├── UnsafeUrl                  a URL openslots must not fetch (scheme, address: SSRF) (422)
    ├── FeedInvalid                a calendar feed that does not parse at all (422)
    └── ConfigurationError         the configuration or the environment is unusable
        └── InvalidConnector       a connector plugin that cannot be loaded or breaks the contract

Later layers add their leaves here (a slot taken, an expired cursor, revoked credentials), each
named for the fact and carrying its API code, so the API maps errors in one table and the CLI to
one exit code. Unavailability of a slot is a result with reasons, never an exception.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthRevoked",
    "BadParameter",
    "ConfigurationError",
    "Conflict",
    "CursorExpired",
    "FeedInvalid",
    "FeedTooLarge",
    "FetchFailed",
    "Forbidden",
    "HoldExpired",
    "HoldReleased",
    "InvalidConnector",
    "NotFound",
    "OpenslotsError",
    "PayloadTooLarge",
    "RateLimited",
    "SlotTaken",
    "TransientError",
    "Unauthorized",
    "UnknownProvider",
    "UnsafeUrl",
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


class FeedInvalid(OpenslotsError):
    """A calendar feed (ICS body, CalDAV object) that cannot be parsed at all.

    Raised for the whole body only; a single broken event or series inside a readable feed is
    skipped and reported by normalization instead (:mod:`openslots.sync.normalize`).
    """

    code = "feed_invalid"
    status = 422


class UnknownProvider(ValidationError, LookupError):
    """No connector is installed under the provider name ``provider``; ``known`` lists the names
    that are, so the message says what would have worked."""

    code = "unknown_provider"

    def __init__(self, provider: str, known: list[str]) -> None:
        listed = ", ".join(repr(name) for name in sorted(known)) or "none"
        message = f"no connector for provider {provider!r} (installed: {listed})"
        super().__init__("provider", message)
        self.provider = provider
        self.known = sorted(known)


class InvalidConnector(ConfigurationError):
    """A connector plugin could not be loaded (its import failed) or the loaded object is not a
    :class:`openslots.sync.contract.Connector` for its name; the cause is chained."""

    code = "invalid_connector"


class CursorExpired(OpenslotsError):
    """The cursor of a calendar is no longer accepted upstream (Google 410, Graph
    ``syncStateNotFound``, CalDAV ``valid-sync-token``); the remedy is a full snapshot.

    ``calendar`` names the calendar when the connector knows it, else ``None`` (all of them).
    """

    code = "cursor_expired"
    status = 502

    def __init__(self, message: str, calendar: str | None = None) -> None:
        super().__init__(message)
        self.calendar = calendar


class AuthRevoked(OpenslotsError):
    """Upstream refused the connection's credentials and retrying will not help (revoked grant,
    changed password); the connection needs to be authorized again."""

    code = "auth_revoked"
    status = 502


class TransientError(OpenslotsError):
    """Upstream failed in a way that may pass (timeout, connection refused, 5xx).

    ``retry_after`` is the delay in seconds upstream asked for, or ``None`` to let the caller's
    backoff decide.
    """

    code = "upstream_unavailable"
    status = 503

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(TransientError):
    """Upstream throttled us (HTTP 429, Google ``rateLimitExceeded``); ``retry_after`` in seconds
    when upstream said how long to wait (``Retry-After``)."""

    code = "rate_limited"


class FetchFailed(TransientError):
    """Fetching a user-supplied URL failed: ``kind`` says how (``dns``, ``connect``,
    ``timeout``, ``protocol``, ``redirects``, ``status``, ``too_large``); ``status_code`` is the
    final HTTP status for ``status``, else ``None``. Messages name the host, never the URL (feed
    URLs carry secrets in their path and query)."""

    code = "fetch_failed"
    status = 502

    def __init__(
        self,
        message: str,
        kind: str,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, retry_after)
        self.kind = kind
        self.status_code = status_code


class FeedTooLarge(FetchFailed):
    """The response body exceeded ``limit`` bytes (counted after content decoding); reading
    stopped there."""

    code = "feed_too_large"

    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message, "too_large")
        self.limit = limit


class UnsafeUrl(OpenslotsError):
    """A URL openslots refuses to fetch: not http(s), or its host is or resolves to an address
    the SSRF policy forbids (loopback, private, link-local, metadata, ...; see
    :mod:`openslots.sync.addresses`). Nothing was sent to that address."""

    code = "unsafe_url"
    status = 422
