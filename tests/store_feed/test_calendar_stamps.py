"""Weeks and months made of stored days are stamped at 00:00 UTC of their period's first trading day by the
instrument's calendar, as CONTRACT.md says and as the importer stamps stored weeks and months: not at the first
day that has data, so that a bar's time never changes when earlier rows are imported later."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.main import create_app
from app.settings import Settings
from tests.conftest import ClientFactory, fetch_bars
from tests.store_feed.goog import goog_csv, import_goog

# GOOG's first row is Thursday 2004-08-19; its week began on Monday 16 August, its month on Monday 2 August (the 1st
# was a Sunday).
FIRST_ROW = "2004-08-19,100,104.06,95.96,100.34,22351900\n"
MONDAY_AUGUST_16 = int(datetime(2004, 8, 16, tzinfo=UTC).timestamp())
MONDAY_AUGUST_2 = int(datetime(2004, 8, 2, tzinfo=UTC).timestamp())
LATER = int(datetime(2005, 1, 1, tzinfo=UTC).timestamp())


async def test_goog_weeks_and_months_keep_their_stamps_when_earlier_rows_arrive(
    aiohttp_client: ClientFactory, settings: Settings, store_url: str, tmp_path: Path
) -> None:
    # First without its first row (data from Friday 20 August), then the whole file.
    import_goog(store_url, goog_csv(tmp_path, lambda text: text.replace(FIRST_ROW, "")))
    client = await aiohttp_client(create_app(dataclasses.replace(settings, store_url=store_url)))
    weeks = await fetch_bars(client, "GOOG", "1W", 0, LATER)
    months = await fetch_bars(client, "GOOG", "1M", 0, LATER)
    assert (weeks[0]["time"], weeks[0]["open"]) == (MONDAY_AUGUST_16 * 1000, 101.01)
    assert (months[0]["time"], months[0]["open"]) == (MONDAY_AUGUST_2 * 1000, 101.01)

    import_goog(store_url, goog_csv(tmp_path))
    again = await aiohttp_client(create_app(dataclasses.replace(settings, store_url=store_url)))
    weeks = await fetch_bars(again, "GOOG", "1W", 0, LATER)
    months = await fetch_bars(again, "GOOG", "1M", 0, LATER)
    assert (weeks[0]["time"], weeks[0]["open"], weeks[0]["low"]) == (MONDAY_AUGUST_16 * 1000, 100.0, 95.96)
    assert (months[0]["time"], months[0]["open"]) == (MONDAY_AUGUST_2 * 1000, 100.0)


async def test_imported_weeks_are_stamped_as_weeks_made_of_days(
    aiohttp_client: ClientFactory, settings: Settings, sqlite_url: str, tmp_path: Path
) -> None:
    """GOOG's weeks made of its days, exported with each week's Friday (as pandas labels them) and imported as
    GOOGW, are stored at the times they were served at: holiday Mondays (2005-01-17, Martin Luther King Day)
    included."""
    import_goog(sqlite_url, goog_csv(tmp_path))
    client = await aiohttp_client(create_app(dataclasses.replace(settings, store_url=sqlite_url)))
    weeks = await fetch_bars(client, "GOOG", "1W", 0, LATER + 365 * 86_400)
    assert int(datetime(2005, 1, 18, tzinfo=UTC).timestamp()) * 1000 in {week["time"] for week in weeks}
    lines = ["Date,Open,High,Low,Close,Volume"]
    for week in weeks:
        stamped = datetime.fromtimestamp(week["time"] // 1000, UTC)
        friday = stamped + timedelta(days=4 - stamped.weekday())
        prices = ",".join(str(week[field]) for field in ("open", "high", "low", "close", "volume"))
        lines.append(f"{friday:%Y-%m-%d},{prices}")
    exported = tmp_path / "weeks"
    exported.mkdir()
    (exported / "GOOGW.csv").write_text("\n".join(lines) + "\n")
    import_goog(sqlite_url, exported / "GOOGW.csv", symbol="GOOGW")
    stored = await aiohttp_client(create_app(dataclasses.replace(settings, store_url=sqlite_url)))
    assert await fetch_bars(stored, "GOOGW", "1W", 0, LATER + 365 * 86_400) == weeks
