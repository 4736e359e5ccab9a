"""The AsyncAPI document: valid AsyncAPI 2.6, generated from the schemas the socket validates with."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from app.paths import ASYNCAPI_JSON_PATH, WS_PATH
from app.ws import protocol
from tests.conftest import Client, Connect, reply, send, updates
from tests.live_server import ROOT

SPECS = ROOT / "node_modules" / "@asyncapi" / "specs" / "schemas"


@pytest.fixture
async def document(client: Client) -> dict[str, Any]:
    response = await client.get("/api/v1/ws/asyncapi.json")
    assert response.status == 200
    assert response.headers["X-API-Version"] == "v1"
    body: dict[str, Any] = await response.json()
    return body


def test_the_official_json_schema_is_installed() -> None:
    assert (SPECS / "2.6.0.json").is_file(), "run `npm ci` (the make targets do)"


async def test_document_validates_against_the_asyncapi_schema(document: dict[str, Any]) -> None:
    schema = json.loads((SPECS / "2.6.0-without-$id.json").read_text())
    jsonschema.Draft7Validator(schema).validate(document)
    assert document["asyncapi"] == "2.6.0"


async def test_server_and_channel(document: dict[str, Any], client: Client) -> None:
    [server] = document["servers"].values()
    assert server == {"url": f"{client.host}:{client.port}", "protocol": "ws", "description": "This server"}
    assert list(document["channels"]) == ["/api/v1/ws"]


async def test_every_message_has_a_payload_schema_and_a_valid_example(document: dict[str, Any]) -> None:
    messages = document["components"]["messages"]
    names = {m["name"] for m in messages.values()}
    assert names == {
        protocol.SUBSCRIBE,
        protocol.UNSUBSCRIBE,
        protocol.PING,
        protocol.SUBSCRIBE_RESPONSE,
        protocol.UNSUBSCRIBE_RESPONSE,
        protocol.UPDATE,
        protocol.PONG,
    }
    for message in messages.values():
        [example] = message["examples"]
        # The payload's $refs point into the document's components: validate with them alongside.
        schema = message["payload"] | {"components": document["components"]}
        jsonschema.Draft7Validator(schema).validate(example["payload"])


def server_messages(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What the document says the server sends: each message of the channel's subscribe operation, by name."""
    [channel] = document["channels"].values()
    names = [ref["$ref"].rsplit("/", 1)[-1] for ref in channel["subscribe"]["message"]["oneOf"]]
    return {
        document["components"]["messages"][name]["name"]: document["components"]["messages"][name] for name in names
    }


def matches(frame: dict[str, Any], message: dict[str, Any], document: dict[str, Any]) -> bool:
    """Whether `frame` is valid under the message's payload schema (its $refs resolved in the document)."""
    schema = message["payload"] | {"components": document["components"]}
    return jsonschema.Draft7Validator(schema).is_valid(frame)


async def test_frames_the_server_sends_match_the_document(make_client: Connect) -> None:
    """Real frames, each valid under the message named by its type and under no other the server may send."""
    client = await make_client()
    document = await (await client.get(ASYNCAPI_JSON_PATH)).json()
    frames: list[dict[str, Any]] = []
    async with client.ws_connect(WS_PATH) as ws:
        await send(ws, "bars.subscribe", symbol="aapl", resolution="5")
        frames.append(await reply(ws, "bars.subscribe.response"))
        frames += await updates(ws, 2)
        await send(ws, "bars.subscribe", symbol="NOPE")
        frames.append(await reply(ws, "bars.subscribe.response"))
        await send(ws, "bars.unsubscribe", symbol="AAPL", resolution="5")
        frames.append(await reply(ws, "bars.unsubscribe.response"))
        await send(ws, "bars.unsubscribe", symbol="AAPL", resolution="7")
        frames.append(await reply(ws, "bars.unsubscribe.response"))
        await send(ws, "ping", anything=True)
        frames.append(await reply(ws, "pong"))
    assert [(f["type"], f["payload"].get("status")) for f in frames] == [
        ("bars.subscribe.response", "ok"),
        ("bars.update", None),
        ("bars.update", None),
        ("bars.subscribe.response", "error"),
        ("bars.unsubscribe.response", "ok"),
        ("bars.unsubscribe.response", "error"),
        ("pong", None),
    ]
    messages = server_messages(document)
    for frame in frames:
        valid_under = [name for name, message in messages.items() if matches(frame, message, document)]
        assert valid_under == [frame["type"]], frame


async def test_rules_and_close_codes_are_documented(document: dict[str, Any]) -> None:
    description = document["info"]["description"]
    for close in (protocol.INVALID_PAYLOAD, protocol.UNKNOWN_TYPE, protocol.SHUTTING_DOWN, protocol.TOO_SLOW):
        assert f"| {close.code.value} | `{close.reason}` |" in description
    assert "Connection timed out. Heartbeat interval 30.0. Max connection lifespan 3600.0" in description
    assert "| 1009 |" in description
    assert "dropped" in description


async def test_viewer_page_uses_only_our_own_assets(client: Client) -> None:
    response = await client.get("/api/v1/ws/asyncapi")
    html = await response.text()
    assert response.content_type == "text/html"
    assert 'data-spec-url="/api/v1/ws/asyncapi.json"' in html
    for asset in ("/vendor/asyncapi/browser/standalone/index.js", "/vendor/asyncapi/styles/default.min.css"):
        assert asset in html
        served = await client.get(asset)
        assert served.status == 200
        assert len(await served.read()) > 10_000
    assert "http://" not in html
    assert "https://" not in html


async def test_since_and_the_first_update_are_documented(document: dict[str, Any]) -> None:
    since = document["components"]["schemas"]["BarsSubscription"]["properties"]["since"]
    assert since["type"] == "integer"
    assert since["minimum"] == 0
    assert "time >= since" in since["description"]
    assert "since" not in document["components"]["schemas"]["BarsSubscription"].get("required", [])
    [example] = document["components"]["messages"]["BarsSubscribe"]["examples"]
    assert example["payload"]["payload"]["since"] > 0
    description = document["info"]["description"]
    assert "**Gap-free resume.**" in description
    assert "more than 1000 bars" in description
    assert "whether or not the market is\nopen" in description
