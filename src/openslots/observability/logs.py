"""Log lines on standard error: text for people, JSON lines for log collectors, never a secret.

:func:`configure_logging` puts one handler on the root logger, so openslots' own loggers,
uvicorn's (``uvicorn.error`` and the access log ``uvicorn.access``) and any library's warnings
come out in one format. The handler's :class:`RedactingFilter` rewrites each record before any
formatter sees it: the message rendered with its arguments, the extra fields and the exception
text all pass :func:`openslots.observability.redaction.redact`. A JSON line has ``timestamp``
(UTC, ISO 8601), ``level``, ``logger``, ``message``, the record's extra fields, and
``exception`` when there is one; uvicorn's access lines also carry ``client``, ``method``,
``path`` and ``status``.

Levels: openslots and uvicorn log at ``logging.level``; other libraries only warnings and worse,
except at ``debug``, which shows everything (still redacted).
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from openslots.errors import ValidationError
from openslots.observability.redaction import redact, redact_value

__all__ = [
    "FORMATS",
    "LEVELS",
    "JsonFormatter",
    "LogSettings",
    "RedactingFilter",
    "TextFormatter",
    "configure_logging",
]

FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error")
# Loggers that log at the configured level; the rest of the tree only from WARNING up.
OUR_LOGGERS = ("openslots", "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")

# The attributes every LogRecord has; anything else on a record came as ``extra``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "_openslots_redacted",
    # uvicorn's copy of the message with terminal colours.
    "color_message",
}
_TRACEBACKS = logging.Formatter()
_ACCESS_FIELDS = frozenset({"client", "method", "path", "status"})


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD}


class RedactingFilter(logging.Filter):
    """Makes a record safe to write anywhere: its message, extras, exception and stack text
    redacted in place (so every handler after it sees the safe record). Passes every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_openslots_redacted", False):
            return True
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            # uvicorn's access line: (client, method, path with query, HTTP version, status).
            record.client, record.method, record.path, _, record.status = args
        try:
            message = record.getMessage()
        except Exception:
            # A call with arguments its message does not take: show both rather than nothing.
            message = f"{record.msg!s} {args!r}"
        record.msg, record.args = redact(message), None
        for name, value in _extras(record).items():
            setattr(record, name, redact_value(value, name))
        if record.exc_info and not record.exc_text:
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        # The exception object itself could still be rendered by another handler: drop it, its
        # redacted text stays.
        record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        record._openslots_redacted = True
        return True


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in _extras(record).items():
            entry.setdefault(name, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``2026-03-01 12:00:00,000 INFO openslots.worker: message key=value ...``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        extras = _extras(record)
        if record.name == "uvicorn.access":
            # The message already says all of it.
            extras = {k: v for k, v in extras.items() if k not in _ACCESS_FIELDS}
        fields = " ".join(f"{k}={json.dumps(v, default=str)}" for k, v in extras.items())
        return f"{line} {fields}" if fields else line


@dataclass(frozen=True, slots=True)
class LogSettings:
    """``logging.format`` (``text`` or ``json``) and ``logging.level``."""

    format: str = "text"
    level: str = "info"

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValidationError("logging.format", f"must be one of {', '.join(FORMATS)}")
        if self.level not in LEVELS:
            raise ValidationError("logging.level", f"must be one of {', '.join(LEVELS)}")


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Ours, so configuring again replaces it instead of adding a second."""


def configure_logging(
    settings: LogSettings = LogSettings(), stream: TextIO | None = None
) -> logging.Handler:
    """Send the process's log records to ``stream`` (standard error) in ``settings.format``,
    redacted; returns the handler. Calling it again replaces the previous configuration."""
    handler = _Handler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.format == "json" else TextFormatter())
    handler.addFilter(RedactingFilter())
    level = getattr(logging, settings.level.upper())
    root = logging.getLogger()
    for ours in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(ours)
    root.addHandler(handler)
    # Libraries (httpx, apscheduler, caldav) are chatty at INFO: only their warnings, unless
    # an operator asks for everything.
    root.setLevel(logging.DEBUG if level == logging.DEBUG else max(level, logging.WARNING))
    for name in OUR_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        # uvicorn's own configuration gives its loggers handlers of their own, which would
        # write unredacted lines beside ours.
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.propagate = True
    return handler
