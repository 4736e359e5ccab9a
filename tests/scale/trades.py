"""Ingest for the scale-out tests: a store holding an instrument made for live trades, and posting trades to a
process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp

from tests.live_server import ROOT, LiveServer

TOKEN = "scale-test-ingest-token-0123456789"
INGEST_PATH = "/api/v1/ingest/trades"


def store_with_coin(directory: Path) -> str:
    """The STORE_URL of an SQLite store in `directory` holding COIN, a crypto instrument with no bars (cents, volumes
    with 8 decimals), made with `python -m app instruments add` as the README says."""
    url = f"sqlite:///{directory / 'store.db'}"
    subprocess.run(
        [sys.executable, "-m", "app", "instruments", "add", "COIN", "--type", "crypto"],
        cwd=ROOT,
        env=os.environ | {"STORE_URL": url},
        check=True,
        capture_output=True,
        timeout=60,
    )
    return url


async def post(session: aiohttp.ClientSession, server: LiveServer, trades: list[dict[str, Any]]) -> tuple[int, Any]:
    """POST `trades` to `server` with the token; the status and the JSON answer."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with session.post(server.url(INGEST_PATH), json={"trades": trades}, headers=headers) as answer:
        return answer.status, await answer.json()
