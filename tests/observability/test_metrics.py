"""`GET /metrics` of the real app: names, HTTP requests by route template, WebSocket figures, closes by reason."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from aiohttp import WSMsgType

from app.paths import DATAFEED_PREFIX, WS_PATH
from app.ws.hub import CLOSE_TIMEOUT
from tests.conftest import Client, Connect, closed_with, reply, send, stalled_subscriber, updates
from tests.observability import Scrape, moving_feed, scrape, scrape_until

RESOLVE = f"{DATAFEED_PREFIX}/resolve/{{symbol}}"


async def test_every_metric_is_ours_and_process_figures_are_there(client: Client) -> None:
    scraped = await scrape(client)
    assert scraped.families, "the scrape has metrics"
    assert [name for name in scraped.families if not name.startswith("tradingpro_")] == []
    assert scraped.value("tradingpro_process_resident_memory_bytes") > 10_000_000
    assert scraped.value("tradingpro_process_cpu_seconds_total") > 0
    # Every close reason exists from the start, at 0, so a rate over it is defined.
    reasons = {labels["reason"] for labels in scraped.labels("tradingpro_ws_connections_closed_total")}
    assert reasons == {
        "client",
        "heartbeat",
        "lifespan",
        "ping_timeout",
        "slow_consumer",
        "bad_frame",
        "origin",
        "shutdown",
    }


async def test_requests_are_counted_by_route_template_never_by_url(client: Client) -> None:
    for path, status in [
        (f"{DATAFEED_PREFIX}/resolve/AAPL", 200),
        (f"{DATAFEED_PREFIX}/resolve/msft", 200),
        (f"{DATAFEED_PREFIX}/resolve/NOPE", 404),
        ("/no/such/page-123", 404),
        ("/no/such/page-456", 404),
    ]:
        assert (await client.get(path)).status == status
    scraped = await scrape(client)
    requests = "tradingpro_http_requests_total"
    assert scraped.value(requests, method="GET", route=RESOLVE, status="200") == 2
    assert scraped.value(requests, method="GET", route=RESOLVE, status="404") == 1
    assert scraped.value(requests, method="GET", route="unmatched", status="404") == 2
    assert scraped.value("tradingpro_http_request_duration_seconds_count", method="GET", route=RESOLVE) == 3
    assert 0 < scraped.value("tradingpro_http_request_duration_seconds_sum", method="GET", route=RESOLVE) < 30
    for raw in ("AAPL", "msft", "NOPE", "page-123"):
        assert raw not in scraped.text, f"a label holds the raw URL part {raw!r}"


async def test_a_method_nobody_routes_is_labelled_other(client: Client) -> None:
    # aiohttp's parser refuses methods it does not know; WebDAV's it knows, and no route of ours takes them.
    response = await client.request("PROPFIND", f"{DATAFEED_PREFIX}/config")
    assert response.status == 405
    scraped = await scrape(client)
    assert scraped.value("tradingpro_http_requests_total", method="other", status="405") == 1
    assert "PROPFIND" not in scraped.text


async def test_connections_subscriptions_and_updates(make_client: Connect) -> None:
    client = await make_client(moving_feed())
    async with client.ws_connect(WS_PATH) as first, client.ws_connect(WS_PATH) as second:
        for ws, symbol, resolution in [(first, "AAPL", "1"), (first, "AAPL", "5"), (second, "BTCUSD", "1")]:
            await send(ws, "bars.subscribe", symbol=symbol, resolution=resolution)
            await reply(ws, "bars.subscribe.response")
        await updates(second, 3)
        scraped = await scrape(client)
        assert scraped.value("tradingpro_ws_connections") == 2
        assert scraped.value("tradingpro_ws_topics") == 3
        assert scraped.value("tradingpro_ws_subscriptions", resolution="1") == 2
        assert scraped.value("tradingpro_ws_subscriptions", resolution="5") == 1
        assert scraped.value("tradingpro_ws_subscriptions", resolution="1D") == 0
        assert scraped.value("tradingpro_ws_updates_sent_total") >= 2
        assert scraped.value("tradingpro_ws_updates_dropped_total") == 0
        assert scraped.value("tradingpro_broadcaster_ticks_total") >= 2
        lag_count = scraped.value("tradingpro_broadcaster_tick_lag_seconds_count")
        assert lag_count >= 2
        assert 0 <= scraped.value("tradingpro_broadcaster_tick_lag_seconds_sum") < lag_count * 5
        # The WebSocket upgrades are answers too, counted when the 101 is sent.
        assert scraped.value("tradingpro_http_requests_total", method="GET", route=WS_PATH, status="101") == 2
        await first.close()
        after = await scrape_until(
            lambda: scrape(client),
            lambda s: s.value("tradingpro_ws_connections") == 1,
            "the closed connection",
        )
    assert after.value("tradingpro_ws_subscriptions", resolution="1") == 1
    assert after.value("tradingpro_ws_subscriptions", resolution="5") == 0
    assert after.value("tradingpro_ws_connections_closed_total", reason="client") == 1
    assert after.value("tradingpro_ws_updates_sent_total") >= scraped.value("tradingpro_ws_updates_sent_total")
    # Their time is the whole connection's, not a latency.
    final = await scrape(client)
    assert final.value("tradingpro_http_requests_total", route=WS_PATH, status="101") == 2
    assert final.value("tradingpro_http_request_duration_seconds_count", route=WS_PATH) == 0


def closed(reason: str) -> Callable[[Scrape], bool]:
    """Whether a scrape counts exactly one connection closed for `reason`."""
    return lambda s: s.value("tradingpro_ws_connections_closed_total", reason=reason) == 1


@pytest.mark.parametrize(
    ("reason", "overrides", "frame"),
    [
        ("bad_frame", {}, "not json"),
        ("bad_frame", {}, '{"type": "orders.create", "payload": {}}'),
        ("bad_frame", {"ws_max_message_size": 64}, "x" * 100),
        ("heartbeat", {"ws_heartbeat_interval": 0.3}, None),
        ("lifespan", {"ws_max_connection_lifespan": 0.3}, None),
    ],
)
async def test_connections_closed_by_the_server_are_counted_by_reason(
    make_client: Connect, reason: str, overrides: dict[str, float], frame: str | None
) -> None:
    client = await make_client(**overrides)
    async with client.ws_connect(WS_PATH) as ws:
        if frame is not None:
            await ws.send_str(frame)
        code, _ = await closed_with(ws)
    assert code in (1003, 1009)
    scraped = await scrape_until(lambda: scrape(client), closed(reason), f"a close for {reason}")
    others = [
        labels for labels in scraped.labels("tradingpro_ws_connections_closed_total") if labels["reason"] != reason
    ]
    assert all(scraped.value("tradingpro_ws_connections_closed_total", **labels) == 0 for labels in others)


async def test_a_foreign_origin_is_counted(make_client: Connect) -> None:
    client = await make_client()
    response = await client.get(WS_PATH, headers={"Origin": "https://evil.example", "Upgrade": "websocket"})
    assert response.status == 403
    scraped = await scrape(client)
    assert scraped.value("tradingpro_ws_connections_closed_total", reason="origin") == 1


async def test_a_slow_consumer_is_counted_with_its_dropped_updates(make_client: Connect) -> None:
    client = await make_client(
        moving_feed(), bar_broadcaster_interval=0.001, ws_send_buffer_limit=4096, ws_slow_client_timeout=0.5
    )
    stalled = await stalled_subscriber(client, [("BTCUSD", r) for r in ("1", "5", "15", "60", "240", "1D")])
    try:
        scraped: Scrape = await scrape_until(lambda: scrape(client), closed("slow_consumer"), "the evicted consumer")
    finally:
        stalled.close()
    assert scraped.value("tradingpro_ws_updates_dropped_total") > 0


async def test_metrics_enabled_false_removes_the_endpoint(make_client: Connect) -> None:
    client = await make_client(metrics_enabled=False)
    response = await client.get("/metrics")
    assert response.status == 404
    assert (await response.json())["detail"].startswith("Not Found")
    async with client.ws_connect(WS_PATH) as ws:
        await send(ws, "bars.subscribe", symbol="AAPL")
        await reply(ws, "bars.subscribe.response")
        message = await ws.receive()
        assert message.type is WSMsgType.TEXT, "the feed works without metrics"


async def test_answers_are_counted_with_the_status_sent(client: Client) -> None:
    # A static file's status is decided when it is sent (a revalidation, a range), after the handler returned.
    path = "/static/js/datafeed.js"
    full = await client.get(path)
    assert full.status == 200
    etag = full.headers["ETag"]
    assert (await client.get(path, headers={"If-None-Match": etag})).status == 304
    part = await client.get(path, headers={"Range": "bytes=0-9"})
    assert part.status == 206
    assert len(await part.read()) == 10
    assert (await client.get(path, headers={"Range": "bytes=99999999-"})).status == 416
    scraped = await scrape(client)
    counted = {
        labels["status"]: scraped.value("tradingpro_http_requests_total", **labels)
        for labels in scraped.labels("tradingpro_http_requests_total")
        if labels["route"].startswith("/static")
    }
    assert counted == {"200": 1, "304": 1, "206": 1, "416": 1}


async def test_a_method_a_route_does_not_take_is_counted_under_that_route(client: Client) -> None:
    response = await client.delete(f"{DATAFEED_PREFIX}/config")
    assert response.status == 405
    scraped = await scrape(client)
    requests = "tradingpro_http_requests_total"
    assert scraped.value(requests, method="DELETE", route=f"{DATAFEED_PREFIX}/config", status="405") == 1
    assert scraped.value(requests, method="DELETE", route="unmatched", status="405") == 0


@pytest.mark.parametrize("ping_interval", [1.0, 300.0])
async def test_a_server_close_keeps_its_reason_and_ends_within_the_close_timeout(
    make_client: Connect, ping_interval: float
) -> None:
    # The client never reads, so it never answers the close (nor, with pings on, a ping that follows it).
    client = await make_client(ws_max_connection_lifespan=0.3, ws_ping_interval=ping_interval)
    async with client.ws_connect(WS_PATH, autoclose=False):
        started = time.monotonic()
        # Bound: the hub's close timeout, with room for a loaded machine, well short of aiohttp's own 10 s.
        deadline = started + 0.3 + CLOSE_TIMEOUT + 4.0
        while (scraped := await scrape(client)).value("tradingpro_ws_connections_closed_total", reason="lifespan") < 1:
            assert time.monotonic() < deadline, f"not closed after {time.monotonic() - started:.1f} s:\n{scraped.text}"
            await asyncio.sleep(0.05)
    assert scraped.value("tradingpro_ws_connections_closed_total", reason="ping_timeout") == 0
    assert scraped.value("tradingpro_ws_connections") == 0
