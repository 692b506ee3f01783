"""The async client connectors get (``Fetcher.async_client``): the same guard and caps as the
sync fetcher, one hop at a time, with httpx following redirects through the guard again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from openslots.errors import FeedTooLarge, UnsafeUrl
from openslots.sync.fetch import Fetcher, FetchLimits
from tests.sync.test_fetch import ICS, MiB, Resolver, Routing, Server

pytest_plugins = ["tests.sync.test_fetch"]


def _get(fetcher: Fetcher, url: str, **kwargs: object) -> httpx.Response:
    async def go() -> httpx.Response:
        async with fetcher.async_client() as client:
            return await client.get(url, **kwargs)  # type: ignore[arg-type]

    return asyncio.run(go())


def test_loopback_is_refused_before_any_connection(canary: Server) -> None:
    with Fetcher() as fetcher, pytest.raises(UnsafeUrl):
        _get(fetcher, f"http://127.0.0.1:{canary.port}/")
    assert canary.connections == 0


def test_the_private_networks_switch_reaches_a_local_server(origin: Server) -> None:
    with Fetcher(allow_private_networks=True) as fetcher:
        response = _get(fetcher, f"http://127.0.0.1:{origin.port}/feed.ics")
    assert response.status_code == 200
    assert response.content == ICS
    assert response.headers["content-type"] == "text/calendar"


def test_a_redirect_to_a_forbidden_target_is_refused(origin: Server, canary: Server) -> None:
    routing = Routing(origin)
    fetcher = Fetcher(resolver=Resolver(), network_backend=routing)
    url = f"http://public.test/redirect?to=http://127.0.0.1:{canary.port}/"
    with fetcher, pytest.raises(UnsafeUrl):
        _get(fetcher, url, follow_redirects=True)
    assert canary.connections == 0
    assert len(origin.requests) == 1


def test_redirects_are_capped(origin: Server) -> None:
    with Fetcher(allow_private_networks=True) as fetcher:
        ok = _get(fetcher, f"http://127.0.0.1:{origin.port}/hop/3", follow_redirects=True)
        assert ok.content == ICS
        with pytest.raises(httpx.TooManyRedirects):
            _get(fetcher, f"http://127.0.0.1:{origin.port}/hop/4", follow_redirects=True)


def test_the_size_cap_counts_decoded_bytes(origin: Server) -> None:
    limits = FetchLimits(max_bytes=MiB)
    with Fetcher(allow_private_networks=True, limits=limits) as fetcher:
        small = _get(fetcher, f"http://127.0.0.1:{origin.port}/gzip?size={MiB // 2}")
        assert small.content == b"\0" * (MiB // 2)
        assert "content-encoding" not in small.headers
        with pytest.raises(FeedTooLarge):
            _get(fetcher, f"http://127.0.0.1:{origin.port}/gzip?size={2 * MiB}")


def test_a_conditional_get_answers_304(origin: Server) -> None:
    with Fetcher(allow_private_networks=True) as fetcher:
        first = _get(fetcher, f"http://127.0.0.1:{origin.port}/etag")
        second = _get(
            fetcher,
            f"http://127.0.0.1:{origin.port}/etag",
            headers={"If-None-Match": first.headers["etag"]},
        )
    assert (first.status_code, second.status_code) == (200, 304)


def test_many_requests_share_one_client(start_server: Callable[[], Server]) -> None:
    """Twenty requests in flight at once all come back."""
    server = start_server()

    async def go(fetcher: Fetcher) -> list[int]:
        async with fetcher.async_client() as client:
            url = f"http://127.0.0.1:{server.port}/status/200"
            answers = await asyncio.gather(*(client.get(url) for _ in range(20)))
        return [a.status_code for a in answers]

    with Fetcher(allow_private_networks=True) as fetcher:
        assert asyncio.run(go(fetcher)) == [200] * 20
    assert len(server.requests) == 20
