"""The simulated returns show the stylized facts of real ones (Cont 2001), per instrument class.

The daily facts are measured by tests/market/stylized.py on every daily bar since the history epoch of the
deterministic feed, averaged over the class; bench/fidelity.py prints the figures, these tests assert their signs
and orderings. Then two facts of trading time: the intraday U shape of a stock session and a short day's range.
"""

from __future__ import annotations

import statistics
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from app.market.instruments import INSTRUMENTS, AssetClass
from app.market.resolutions import DAY, Resolution
from app.market.simulation import SimulatedFeed
from tests.conftest import FROZEN_NOW
from tests.market.stylized import Facts, class_facts

FEED = SimulatedFeed(clock=lambda: FROZEN_NOW)
CLASSES = list(AssetClass)
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def daily() -> dict[AssetClass, Facts]:
    return {asset_class: class_facts(FEED, asset_class, Resolution.DAY) for asset_class in CLASSES}


@pytest.mark.parametrize("asset_class", CLASSES)
def test_returns_have_no_linear_autocorrelation(daily: dict[AssetClass, Facts], asset_class: AssetClass) -> None:
    assert abs(daily[asset_class].lag1) < 0.08


@pytest.mark.parametrize("asset_class", CLASSES)
def test_daily_returns_are_heavy_tailed(daily: dict[AssetClass, Facts], asset_class: AssetClass) -> None:
    assert daily[asset_class].kurtosis_1 > 1.5


@pytest.mark.parametrize("asset_class", CLASSES)
def test_tails_thin_out_over_five_days(daily: dict[AssetClass, Facts], asset_class: AssetClass) -> None:
    """Aggregational Gaussianity: the excess kurtosis of 5-day sums is below that of days."""
    assert daily[asset_class].kurtosis_5 < daily[asset_class].kurtosis_1


def test_tails_thin_out_over_five_days_by_a_wide_margin(daily: dict[AssetClass, Facts]) -> None:
    """Over every instrument, 5-day sums keep well under the daily excess kurtosis (real equities: 1.5 vs 7.6)."""
    weights = {c: sum(i.asset_class is c for i in INSTRUMENTS) for c in CLASSES}
    one_day = statistics.fmean([daily[c].kurtosis_1 for c in CLASSES for _ in range(weights[c])])
    five_days = statistics.fmean([daily[c].kurtosis_5 for c in CLASSES for _ in range(weights[c])])
    assert five_days < 0.7 * one_day


@pytest.mark.parametrize("asset_class", CLASSES)
def test_volatility_clusters(daily: dict[AssetClass, Facts], asset_class: AssetClass) -> None:
    assert daily[asset_class].abs_autocorrelation > 0.02


@pytest.mark.parametrize("asset_class", CLASSES)
def test_volume_rises_with_the_size_of_the_move(daily: dict[AssetClass, Facts], asset_class: AssetClass) -> None:
    assert daily[asset_class].volume_abs > 0.2


def test_stocks_show_the_leverage_effect(daily: dict[AssetClass, Facts]) -> None:
    """A fall raises the volatility of the following days: r_t against the mean |r| over t+1..t+5."""
    assert daily[AssetClass.STOCK].leverage < -0.04


@pytest.mark.parametrize("asset_class", [AssetClass.CRYPTO, AssetClass.FOREX])
def test_coins_and_currencies_show_no_leverage_effect(daily: dict[AssetClass, Facts], asset_class: AssetClass) -> None:
    assert abs(daily[asset_class].leverage) < 0.04


@pytest.mark.parametrize("daylight_saving", [True, False], ids=["summer", "winter"])
def test_stock_sessions_trade_most_at_the_open_and_close(daylight_saving: bool) -> None:
    """The intraday U shape, whether New York keeps daylight saving time or not: the session's first and last
    half hours trade well above its lunch hour, and no half hour more than three times as much (mean volume over
    two years of AAPL's 30-minute bars)."""
    volumes: dict[str, list[float]] = {}
    for bar in FEED.history("AAPL", Resolution.M30, FROZEN_NOW - 700 * DAY, FROZEN_NOW - DAY, 0).bars:
        moment = datetime.fromtimestamp(bar.time / 1000, UTC).astimezone(NEW_YORK)
        if bool(moment.dst()) is daylight_saving:
            volumes.setdefault(moment.strftime("%H:%M"), []).append(bar.volume)
    lunch = statistics.fmean(volumes["12:30"])
    assert statistics.fmean(volumes["09:30"]) > 1.3 * lunch
    assert statistics.fmean(volumes["15:30"]) > 1.3 * lunch
    assert max(statistics.fmean(v) for v in volumes.values()) < 3 * lunch
