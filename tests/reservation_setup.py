"""Catalog set-up for the hold and booking tests, written through the store.

Resources open 09:00-17:00 UTC every day by default and services last 30 minutes on a 15-minute
grid, so ``10:00`` and ``10:15`` are both bookable starts and overlap.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from openslots.store import catalog
from openslots.store.database import Database
from openslots.store.keys import mint_key

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
OPEN_9_TO_5 = {
    "timezone": "UTC",
    "rules": [{"day": day, "start": "09:00", "end": "17:00"} for day in DAYS],
}


@dataclass(frozen=True)
class Org:
    """An organization with a write key."""

    org_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def add_org(database: Database, now: int, name: str = "org") -> Org:
    with database.write() as connection:
        org = catalog.create_org(connection, name, f"{name}-{uuid.uuid4().hex[:8]}", now)
        token = mint_key(connection, org["id"], ("write",), "tests", now)[1]
    return Org(org["id"], token)


def add_resource(
    database: Database, org_id: str, *, capacity: int = 1, timezone: str = "UTC"
) -> str:
    body = {"name": "r", "timezone": timezone, "capacity": capacity, "schedule": OPEN_9_TO_5}
    with database.write() as connection:
        resource: str = catalog.create(connection, org_id, "resources", body)["id"]
    return resource


def add_service(database: Database, org_id: str, resource_ids: list[str], **fields: Any) -> str:
    body = {"name": "s", "duration": 30, "interval": 15, "resource_ids": resource_ids, **fields}
    with database.write() as connection:
        service: str = catalog.create(connection, org_id, "services", body)["id"]
    return service
