"""Helpers of the REST and UDF datafeed tests."""

from __future__ import annotations

import pytest

from tests.conftest import FROZEN_NOW, Client, Frame, fetch_bars


async def assert_quote_agrees_with_bars(client: Client, quote: Frame, exchange: str) -> None:
    """A quote entry `{"s", "n", "v"}` states the trading day that `/bars` serves, at FROZEN_NOW.

    `lp` is the last close of the newest 1-minute bar; open, high, low and volume are the forming daily
    bar's; `prev_close_price` is the previous daily bar's close; `ch`, `chp`, bid, ask and spread follow.
    """
    symbol = quote["n"]
    values = quote["v"]
    assert quote["s"] == "ok"
    [minute] = await fetch_bars(client, symbol, "1", FROZEN_NOW + 1, FROZEN_NOW + 1, count_back=1)
    previous_day, today = await fetch_bars(client, symbol, "1D", FROZEN_NOW + 1, FROZEN_NOW + 1, count_back=2)
    assert values["lp"] == minute["close"] == today["close"]
    assert values["open_price"] == today["open"]
    assert values["high_price"] == today["high"]
    assert values["low_price"] == today["low"]
    assert values["volume"] == pytest.approx(today["volume"])
    assert values["prev_close_price"] == previous_day["close"]
    assert values["ch"] == pytest.approx(values["lp"] - values["prev_close_price"])
    assert values["chp"] == pytest.approx(100 * values["ch"] / values["prev_close_price"], abs=0.005)
    assert values["bid"] <= values["lp"] <= values["ask"]
    assert values["spread"] == pytest.approx(values["ask"] - values["bid"])
    assert values["spread"] > 0
    assert values["short_name"] == symbol
    assert values["exchange"] == exchange
    assert values["original_name"] == f"{exchange}:{symbol}"
    assert "(simulated)" in values["description"]
