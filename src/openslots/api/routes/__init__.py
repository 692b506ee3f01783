"""Routers, one module per group of routes; the app includes every router listed here."""

from openslots.api.routes import (
    availability,
    blocks,
    catalog,
    connections,
    feeds,
    health,
    keys,
    oauth,
    reservations,
)

ROUTERS = [
    health.router,
    keys.router,
    catalog.router,
    blocks.router,
    connections.router,
    oauth.router,
    availability.router,
    reservations.router,
    feeds.router,
]
