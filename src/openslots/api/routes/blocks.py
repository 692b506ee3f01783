"""A resource's busy blocks: every source listed together, manual ones managed here.

``GET /v1/resources/{id}/blocks?start&end[&timezone]`` lists every block overlapping the window
(at most ``limits.max_window_days``), whatever its source: one-off manual blocks, each
occurrence of a recurring one (with the series' id), and blocks synced from calendars. It is the
first thing to look at when a slot is missing. ``POST`` creates a manual block (201);
``DELETE .../blocks/{block_id}`` deletes a manual block, a whole series for a recurring one (204);
a synced block's id answers 409, since only its calendar can remove it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from openslots.api.auth import require
from openslots.api.schemas_blocks import BlockIn, block_out, parse_window
from openslots.api.settings import app_settings
from openslots.store import catalog
from openslots.store.blocks import blocks_in_window, create_manual_block, delete_manual_block
from openslots.store.keys import ApiKey

router = APIRouter(prefix="/v1", tags=["blocks"])

Reader = Annotated[ApiKey, Depends(require("read"))]
Writer = Annotated[ApiKey, Depends(require("write"))]


@router.get("/resources/{resource_id}/blocks")
def list_blocks(
    request: Request,
    key: Reader,
    resource_id: str,
    *,
    start: str | None = None,
    end: str | None = None,
    timezone: str | None = None,
) -> dict[str, Any]:
    """Blocks overlapping ``[start, end)``, by start; instants in UTC with ``Z``."""
    settings = app_settings(request)
    window_start, window_end = parse_window(start, end, timezone, settings.limits.max_window_days)
    with settings.database.read() as connection:
        catalog.get(connection, key.org_id, "resources", resource_id)
        blocks = blocks_in_window(connection, [resource_id], window_start, window_end)
    return {"items": [block_out(block.to_dict()) for block in blocks]}


@router.post("/resources/{resource_id}/blocks", status_code=201)
def create_block(request: Request, key: Writer, resource_id: str, body: BlockIn) -> dict[str, Any]:
    with app_settings(request).database.write() as connection:
        resource = catalog.get(connection, key.org_id, "resources", resource_id)
        block = create_manual_block(
            connection, key.org_id, resource_id, body.values(resource["timezone"])
        )
    return block_out(block)


@router.delete("/resources/{resource_id}/blocks/{block_id}", status_code=204)
def delete_block(request: Request, key: Writer, resource_id: str, block_id: str) -> Response:
    with app_settings(request).database.write() as connection:
        delete_manual_block(connection, key.org_id, resource_id, block_id)
    return Response(status_code=204)
