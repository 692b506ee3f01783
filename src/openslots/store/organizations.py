"""Finding organizations by slug or id, and picking a free slug, for the command line.

The API never needs these: a request's organization comes from its key. The CLI does, to
create an organization (``openslots orgs create``) or mint a key for one (``openslots keys
create``) by the name an operator knows.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from sqlalchemy import Connection, func, or_, select

from openslots.store import catalog
from openslots.store.schema import organizations

__all__ = ["count_orgs", "find_org", "free_slug", "ids_by_name", "slugify"]

SLUG_LENGTH = 64  # the column's length


def slugify(name: str) -> str:
    """Lower-case ASCII letters and digits joined by ``-`` (``"Acme Dental"`` → ``acme-dental``);
    ``org`` when nothing is left. Shorter than the column so a suffix still fits."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[: SLUG_LENGTH - 8].strip("-")
    return slug or "org"


def count_orgs(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(organizations)).scalar_one())


def find_org(connection: Connection, ref: str) -> dict[str, Any] | None:
    """The organization whose slug or id is ``ref``, or None."""
    row = connection.execute(
        select(organizations).where(or_(organizations.c.slug == ref, organizations.c.id == ref))
    ).first()
    if row is None:
        return None
    return {"id": row.id, "slug": row.slug, "name": row.name}


def free_slug(connection: Connection, base: str) -> str:
    """``base`` if no organization uses it, else ``base-<4 random hex digits>``."""
    slug = base
    while find_org(connection, slug) is not None:
        slug = f"{base}-{secrets.token_hex(2)}"
    return slug


def ids_by_name(connection: Connection, org_id: str, kind: str, names: set[str]) -> dict[str, str]:
    """The id of the organization's first object of ``kind`` (by id) with each of ``names``;
    names without an object are left out."""
    found: dict[str, str] = {}
    for obj in catalog.list_objects(connection, org_id, kind, limit=10_000):
        if obj["name"] in names:
            found.setdefault(obj["name"], obj["id"])
    return found
