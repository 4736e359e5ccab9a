"""Start-up with a store: BAR_BROADCASTER_SYMBOLS may name stored instruments, and a STORE_URL that names no
database file stops start-up with a configuration error."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from app.main import create_app
from app.paths import WS_PATH
from app.settings import Settings, SettingsError
from tests.conftest import ClientFactory, receive, send


async def test_the_broadcaster_may_stream_stored_symbols_only(
    aiohttp_client: ClientFactory, settings: Settings, filled_url: str
) -> None:
    configured = dataclasses.replace(settings, store_url=filled_url, bar_broadcaster_symbols=("ACME",))
    client = await aiohttp_client(create_app(configured))
    async with client.ws_connect(WS_PATH) as ws:
        await send(ws, "bars.subscribe", symbol="ACME", resolution="1D")
        assert (await receive(ws))["payload"]["status"] == "ok"
        assert (await receive(ws))["type"] == "bars.update"
        await send(ws, "bars.subscribe", symbol="BTCUSD", resolution="1")
        refused = await receive(ws)
        while refused["type"] == "bars.update":
            refused = await receive(ws)
        assert refused["payload"] == {
            "status": "error",
            "symbol": "BTCUSD",
            "message": "bars:BTCUSD:1 is not broadcast by this server",
            "topic": "bars:BTCUSD:1",
        }


def test_a_store_url_naming_a_directory_is_a_configuration_error(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="is a directory"):
        create_app(dataclasses.replace(settings, store_url=f"sqlite:///{tmp_path}"))
