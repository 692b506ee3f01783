"""The connector contract: its types' rules, the meaning of applying a snapshot or a delta, the
public surface, and the contract suite run against the example third-party connector."""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import openslots.errors
from openslots.sync import contract
from openslots.sync.contract import (
    BusyEvent,
    CalendarDelta,
    CalendarSnapshot,
    SyncRequest,
    SyncResult,
    SyncWindow,
)
from tests.plugins.install import EXAMPLE, install_example, on_sys_path
from tests.sync.contract_suite import DAY, HOUR, WINDOW, ConnectorContract

T0 = WINDOW.start


@pytest.fixture
def example(tmp_path: Path) -> Iterator[None]:
    install_example(tmp_path)
    with on_sys_path(tmp_path, "openslots_example"):
        yield


class ExampleUpstream:
    """The contract suite's harness over the example's in-memory service."""

    calendar = "work"

    def __init__(self) -> None:
        from openslots_example.upstream import FakeUpstream

        self.service = FakeUpstream()
        self.service.add_calendar("work")

    def request(self, window: SyncWindow, cursors: dict[str, str]) -> SyncRequest:
        return SyncRequest(
            settings={"url": "https://calendar.example/api", "calendars": ["work"]},
            credentials={"token": "secret"},
            window=window,
            http_client=lambda: httpx.AsyncClient(transport=self.service.transport()),
            cursors=cursors,
        )

    def put_event(self, ref: str, start: int, end: int) -> None:
        self.service.put("work", ref, start, end)

    def delete_event(self, ref: str) -> None:
        self.service.delete("work", ref)

    def expire(self, cursor: str) -> str:
        self.service.compact()
        return cursor


@pytest.mark.usefixtures("example")
class TestExampleConnector(ConnectorContract):
    @pytest.fixture
    def connector(self) -> contract.Connector:
        from openslots_example import ExampleConnector

        return ExampleConnector()

    @pytest.fixture
    def upstream(self) -> ExampleUpstream:
        return ExampleUpstream()


def _sync(upstream: ExampleUpstream, cursors: dict[str, str] | None = None) -> SyncResult:
    from openslots_example import ExampleConnector

    request = upstream.request(WINDOW, cursors or {})
    return asyncio.run(ExampleConnector().sync(request))


@pytest.mark.usefixtures("example")
@pytest.mark.parametrize(
    ("status", "headers", "body", "error", "retry_after"),
    [
        (401, {}, "", contract.AuthRevoked, None),
        (429, {"retry-after": "7"}, "", contract.RateLimited, 7.0),
        (503, {}, "", contract.TransientError, None),
        (200, {}, "<html>", contract.FeedInvalid, None),
    ],
)
def test_the_example_translates_upstream_failures_to_contract_errors(
    status: int,
    headers: dict[str, str],
    body: str,
    error: type[Exception],
    retry_after: float | None,
) -> None:
    upstream = ExampleUpstream()
    upstream.service.fail_next(status, headers, body)
    with pytest.raises(error) as caught:
        _sync(upstream)
    assert getattr(caught.value, "retry_after", None) == retry_after


@pytest.mark.usefixtures("example")
def test_the_example_reports_a_missing_calendar_and_removes_a_vanished_one() -> None:
    upstream = ExampleUpstream()
    request = upstream.request(WINDOW, {"old": "1:0:1"})
    request = SyncRequest(
        **{
            **{f: getattr(request, f) for f in request.__dataclass_fields__},
            "settings": {"url": "https://calendar.example/api", "calendars": ["work", "gone"]},
        }
    )
    from openslots_example import ExampleConnector

    result = asyncio.run(ExampleConnector().sync(request))
    assert [c.calendar for c in result.calendars] == ["work"]
    assert [(p.calendar, p.message) for p in result.problems] == [("gone", "calendar not found")]
    assert result.removed_calendars == ("old",)


@pytest.mark.usefixtures("example")
@pytest.mark.parametrize(
    ("settings", "credentials", "field"),
    [
        ({}, {"token": "t"}, "settings.url"),
        ({"url": "ftp://x"}, {"token": "t"}, "settings.url"),
        ({"url": "https://x", "calendars": ["a", ""]}, {"token": "t"}, "settings.calendars.1"),
        ({"url": "https://x"}, {}, "credentials.token"),
    ],
)
def test_validate_settings_points_at_the_offending_field(
    settings: dict[str, object], credentials: dict[str, object], field: str
) -> None:
    from openslots_example import ExampleConnector

    with pytest.raises(contract.ValidationError) as caught:
        ExampleConnector().validate_settings(settings, credentials)
    assert caught.value.field == field


def test_the_example_imports_nothing_of_openslots_but_the_contract() -> None:
    imported = set()
    for path in (EXAMPLE / "openslots_example").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module)
    assert {m for m in imported if m.split(".")[0] == "openslots"} == {"openslots.sync.contract"}


def test_the_public_surface_is_pinned() -> None:
    assert contract.__all__ == [
        "BLOCK_KINDS",
        "AuthRevoked",
        "BlockKind",
        "BusyEvent",
        "CalendarDelta",
        "CalendarSnapshot",
        "Connector",
        "CursorExpired",
        "FeedInvalid",
        "HttpClientFactory",
        "RateLimited",
        "SyncProblem",
        "SyncRequest",
        "SyncResult",
        "SyncWindow",
        "TransientError",
        "ValidationError",
        "retry_after_seconds",
        "validate_owner_emails",
    ]
    # One error tree: the contract re-exports openslots.errors, it does not copy it.
    for name in ("AuthRevoked", "CursorExpired", "FeedInvalid", "RateLimited", "TransientError"):
        error = getattr(contract, name)
        assert error is getattr(openslots.errors, name)
        assert issubclass(error, openslots.errors.OpenslotsError)
    assert issubclass(contract.RateLimited, contract.TransientError)


def test_windows_and_events_refuse_empty_spans_and_unknown_kinds() -> None:
    with pytest.raises(ValueError, match="empty sync window"):
        SyncWindow(10, 10)
    with pytest.raises(ValueError, match="is empty"):
        BusyEvent("a", 5, 5)
    with pytest.raises(ValueError, match="unknown kind"):
        BusyEvent("a", 5, 6, "maybe")  # type: ignore[arg-type]


def test_window_overlap_is_half_open() -> None:
    window = SyncWindow(10, 20)
    assert window.overlaps(19, 30)
    assert window.overlaps(0, 11)
    assert not window.overlaps(20, 30)
    assert not window.overlaps(0, 10)


def test_a_snapshot_replaces_the_window_and_keeps_what_lies_outside() -> None:
    window = SyncWindow(T0, T0 + DAY)
    past = BusyEvent("past", T0 - 2 * HOUR, T0 - HOUR)
    old = BusyEvent("old", T0 + HOUR, T0 + 2 * HOUR)
    new = BusyEvent("new", T0 + 3 * HOUR, T0 + 4 * HOUR, "tentative")
    assert CalendarSnapshot("c", (new,)).apply((past, old), window) == (past, new)


def test_a_delta_replaces_whole_objects_by_external_id() -> None:
    # A series is one object: its occurrences share the external id and change together.
    series = [BusyEvent("series", T0 + d * DAY, T0 + d * DAY + HOUR) for d in range(3)]
    other = BusyEvent("other", T0, T0 + HOUR)
    gone = BusyEvent("gone", T0 + HOUR, T0 + 2 * HOUR)
    shortened = tuple(series[:2])
    delta = CalendarDelta("c", upserted=shortened, deleted_ids=("gone", "never-stored"))
    assert delta.apply((*series, other, gone), WINDOW) == (other, *shortened)
    empty = CalendarDelta("c", (), ())
    assert empty.apply((other,), WINDOW) == (other,)


def test_a_result_names_each_calendar_once() -> None:
    snap = CalendarSnapshot("c", (), "1")
    with pytest.raises(ValueError, match="more than once"):
        SyncResult((snap, CalendarDelta("c", (), ())))
    with pytest.raises(ValueError, match="both returned and removed"):
        SyncResult((snap,), removed_calendars=("c",))
    assert SyncResult((snap, CalendarSnapshot("d", ()))).cursors == {"c": "1", "d": None}


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date in the past: no wait
    ],
)
def test_retry_after_header(header: str | None, seconds: float | None) -> None:
    assert contract.retry_after_seconds(header) == seconds


def test_retry_after_as_a_future_date() -> None:
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    when = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    waited = contract.retry_after_seconds(when)
    assert waited is not None
    assert 80 <= waited <= 90
