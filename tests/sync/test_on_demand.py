"""On-demand sync (DESIGN §5): concurrent within a budget, joining syncs in flight in this
process and waiting for other processes' leases, never cancelling a sync that missed the budget."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from openslots.store import leases
from openslots.store.database import Database
from openslots.sync.on_demand import OnDemandSync
from tests.conftest import FakeClock
from tests.sync.test_worker import Setup, soon


@pytest.fixture
def setup(database: Database, clock: FakeClock) -> Setup:
    return Setup(database, clock)


def on_demand(setup: Setup) -> OnDemandSync:
    return OnDemandSync(setup.database, setup.services, clock=setup.clock, name="api-1")


def test_connections_sync_concurrently_within_the_budget(setup: Setup) -> None:
    ids = [setup.connect(f"c{i}", soon(setup.clock)) for i in range(10)]
    setup.calendars.delay = 0.2
    outcome = asyncio.run(on_demand(setup).run(setup.org_id, ids, budget=5))
    assert outcome.results == dict.fromkeys(ids, "ok")
    assert setup.calendars.peak == 10  # all at once, not one after another
    assert all(setup.blocks(cid) == [soon(setup.clock)] for cid in ids)


def test_a_sync_that_misses_the_budget_is_stale_and_finishes_later(setup: Setup) -> None:
    cid = setup.connect("slow", soon(setup.clock))
    setup.calendars.delay = 0.5
    syncer = on_demand(setup)

    async def scenario() -> tuple[str, str]:
        first = await syncer.run(setup.org_id, [cid], budget=0.05)
        # The sync was not cancelled: asking again joins it and sees it through.
        second = await syncer.run(setup.org_id, [cid], budget=5)
        return first.results[cid], second.results[cid]

    assert asyncio.run(scenario()) == ("stale", "ok")
    assert setup.calendars.calls["slow"] == 1
    assert setup.blocks(cid) == [soon(setup.clock)]


def test_concurrent_callers_share_one_sync(setup: Setup) -> None:
    ids = [setup.connect(name, soon(setup.clock)) for name in ("a", "b")]
    setup.calendars.delay = 0.2
    syncer = on_demand(setup)

    async def scenario() -> list[dict[str, str]]:
        outcomes = await asyncio.gather(
            *(syncer.run(setup.org_id, ids, budget=5) for _ in range(5))
        )
        return [o.results for o in outcomes]

    assert asyncio.run(scenario()) == [dict.fromkeys(ids, "ok")] * 5
    assert setup.calendars.calls == {"a": 1, "b": 1}
    assert syncer.started == 2


def test_a_sync_leased_by_another_process_is_waited_for_not_repeated(setup: Setup) -> None:
    cid = setup.connect("a", soon(setup.clock))
    with setup.database.write() as connection:
        assert leases.claim(connection, "worker-7", cid, setup.clock(), 120)

    def the_worker_finishes() -> None:
        time.sleep(0.3)
        asyncio.run(setup.services.sync(setup.database, cid, setup.clock(), "worker-7"))

    thread = threading.Thread(target=the_worker_finishes)
    thread.start()
    outcome = asyncio.run(on_demand(setup).run(setup.org_id, [cid], budget=5))
    thread.join()
    assert outcome.results == {cid: "ok"}
    assert setup.calendars.calls["a"] == 1  # the worker's sync only
    assert setup.blocks(cid) == [soon(setup.clock)]


def test_failures_are_reported_per_connection(setup: Setup) -> None:
    good = setup.connect("good", soon(setup.clock))
    revoked = setup.connect("revoked", soon(setup.clock))
    setup.calendars.tokens["revoked"] = "changed"
    outcome = asyncio.run(on_demand(setup).run(setup.org_id, [good, revoked], budget=5))
    assert outcome.results == {good: "ok", revoked: "needs_reauth"}
    # Waiting for a reconnect: a second on-demand sync does not call upstream again.
    again = asyncio.run(on_demand(setup).run(setup.org_id, [revoked], budget=5))
    assert again.results == {revoked: "skipped"}
    assert setup.calendars.calls["revoked"] == 1
