"""While the store does not answer, requests that need it get 503 with a JSON detail, the health check says
degraded and names the store, and simulated instruments keep working."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from app.main import create_app
from app.paths import DATAFEED_PREFIX, UDF_PREFIX, WS_PATH
from app.settings import Settings
from app.store.open import open_store
from tests.conftest import Client, ClientFactory, fetch_bars, receive, send
from tests.live_server import free_port
from tests.store_feed.conftest import stored_feed
from tests.store_feed.data import fill


async def unreachable(aiohttp_client: ClientFactory, settings: Settings) -> Client:
    """A server whose STORE_URL names a PostgreSQL port nothing listens on."""
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/tradingpro"
    return await aiohttp_client(create_app(dataclasses.replace(settings, store_url=url)))


async def test_health_is_degraded_and_names_the_store(aiohttp_client: ClientFactory, settings: Settings) -> None:
    client = await unreachable(aiohttp_client, settings)
    response = await client.get("/api/v1/health")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "degraded"
    assert "store does not answer" in body["message"]
    datafeed = await (await client.get(f"{DATAFEED_PREFIX}/health")).json()
    assert datafeed["status"] == "degraded"


def assert_public(text: str, port: int) -> None:
    """One line that says the store does not answer and why, naming no host, port, user or database."""
    assert "\n" not in text
    assert "the store does not answer: postgresql connection refused" in text.lower()
    for secret in ("127.0.0.1", str(port), "trader", "s3cret", "marketdb", "postgresql://"):
        assert secret not in text, secret


async def test_public_answers_say_only_that_the_store_does_not_answer_and_the_log_says_why(
    aiohttp_client: ClientFactory, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    url = f"postgresql://trader:s3cret@127.0.0.1:{port}/marketdb"
    client = await aiohttp_client(create_app(dataclasses.replace(settings, store_url=url)))
    health = await (await client.get("/api/v1/health")).json()
    assert_public(health["message"], port)
    query = {"symbol": "ACME", "resolution": "1D", "from_time": "1700000000", "to_time": "1710000000"}
    for path in (f"{DATAFEED_PREFIX}/bars", f"{DATAFEED_PREFIX}/resolve/ACME"):
        response = await client.get(path, params=query)
        assert response.status == 503
        assert_public((await response.json())["detail"], port)
    udf = await client.get(
        f"{UDF_PREFIX}/history", params={"symbol": "ACME", "resolution": "D", "from": "0", "to": "1"}
    )
    assert_public((await udf.json())["errmsg"], port)
    # The log has the whole reason: where the store is (the password left out) and what the driver said.
    logged = [record.getMessage() for record in caplog.records if record.name == "app.store.feed"]
    assert any(f"127.0.0.1:{port}/marketdb" in line and "Connection refused" in line for line in logged), logged
    assert not any("s3cret" in line for line in logged)


async def test_quotes_say_the_store_does_not_answer_for_a_symbol_it_may_hold(
    aiohttp_client: ClientFactory, settings: Settings
) -> None:
    """A batch is answered whole: an error entry for the symbol the store may hold, the simulated one as ever."""
    client = await unreachable(aiohttp_client, settings)
    why = "GOOG is not simulated, and the store does not answer: PostgreSQL connection refused"
    response = await client.post(f"{DATAFEED_PREFIX}/quotes", json={"symbols": ["GOOG", "AAPL"]})
    assert response.status == 200
    goog, aapl = await response.json()
    assert goog == {"s": "error", "n": "GOOG", "v": {"error": why}}
    assert (aapl["s"], aapl["n"]) == ("ok", "AAPL")
    udf = await (await client.get(f"{UDF_PREFIX}/quotes", params={"symbols": "GOOG,AAPL"})).json()
    assert udf["s"] == "ok"
    assert udf["d"][0] == {"s": "error", "n": "GOOG", "v": {"error": why}}
    assert udf["d"][1]["s"] == "ok"


async def test_requests_that_need_the_store_get_503_and_simulated_ones_200(
    aiohttp_client: ClientFactory, settings: Settings
) -> None:
    client = await unreachable(aiohttp_client, settings)
    query = {"symbol": "ACME", "resolution": "1D", "from_time": "1700000000", "to_time": "1710000000"}
    response = await client.get(f"{DATAFEED_PREFIX}/bars", params=query)
    assert response.status == 503
    assert response.headers["Retry-After"] == "5"
    body = await response.json()
    assert body.keys() == {"detail"}
    assert "ACME" in body["detail"]
    assert "store does not answer" in body["detail"]
    history = {"symbol": "ACME", "resolution": "D", "from": "0", "to": "1"}
    udf = await client.get(f"{UDF_PREFIX}/history", params=history)
    assert udf.status == 503
    assert (await udf.json())["s"] == "error"
    assert (await client.get(f"{DATAFEED_PREFIX}/resolve/ACME")).status == 503
    # The simulation does not need the store.
    assert (await client.get(f"{DATAFEED_PREFIX}/resolve/AAPL")).status == 200
    assert len(await fetch_bars(client, "AAPL", "1D", 1_700_000_000, 1_710_000_000)) > 50
    async with client.ws_connect(WS_PATH) as ws:
        await send(ws, "bars.subscribe", symbol="BTCUSD", resolution="1")
        assert (await receive(ws))["payload"]["status"] == "ok"
        assert (await receive(ws))["type"] == "bars.update"


class Forwarder:
    """A TCP relay from a local port to PostgreSQL's, which a test cuts (every connection closed, new ones
    refused) and restores: a network outage between the server and its database."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self._target_port = target_port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self._target_port)
        self._writers |= {writer, upstream_writer}
        await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()


async def test_an_outage_while_serving_gives_503_until_the_store_is_back(
    aiohttp_client: ClientFactory, settings: Settings, postgres_url: str
) -> None:
    store = open_store(postgres_url)
    store.migrate()
    fill(store)
    store.close()
    forwarder = Forwarder(5432)
    await forwarder.start()
    url = postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{forwarder.port}")
    client = await aiohttp_client(create_app(dataclasses.replace(settings, store_url=url)))
    feed = stored_feed(client)
    query = {"symbol": "ACME", "resolution": "1D", "from_time": "1700000000", "to_time": "1710000000"}
    assert (await client.get(f"{DATAFEED_PREFIX}/bars", params=query)).status == 200

    await forwarder.cut()
    await feed.refresh()
    assert (await (await client.get("/api/v1/health")).json())["status"] == "degraded"
    response = await client.get(f"{DATAFEED_PREFIX}/bars", params=query)
    assert response.status == 503
    assert "store does not answer" in (await response.json())["detail"]
    # What needs no store goes on: the stored instrument is still described, the simulation still served.
    assert (await (await client.get(f"{DATAFEED_PREFIX}/resolve/ACME")).json())["name"] == "ACME"
    assert (await client.get(f"{DATAFEED_PREFIX}/bars", params=query | {"symbol": "AAPL"})).status == 200

    await forwarder.start()
    await feed.refresh()
    assert (await (await client.get("/api/v1/health")).json())["status"] == "ok"
    assert (await client.get(f"{DATAFEED_PREFIX}/bars", params=query)).status == 200
    await forwarder.cut()
