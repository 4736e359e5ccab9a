"""Starting a replay: the flags of `python -m app`, and the replays refused before the server starts (with one line
saying why) because they would play nothing."""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime

import pytest

from app.__main__ import configure
from app.cli import parse_args
from app.keys import CLOCK
from app.main import create_app
from app.market.clock import ReplayClock
from app.paths import UDF_PREFIX
from app.settings import Settings, SettingsError
from app.store.open import open_store
from tests.conftest import ClientFactory
from tests.replay.conftest import COINB_MINUTES, DATA_START, MINUTE, REPLAY_START, coin

# How long the command-line server may take to answer (seconds).
STARTED_WITHIN = 60.0


def replay(settings: Settings, store_url: str) -> Settings:
    """`settings` of a replay from REPLAY_START of the store at `store_url`."""
    return dataclasses.replace(settings, replay_start=float(REPLAY_START), store_url=store_url)


def test_the_flags_set_the_replay_settings() -> None:
    args = parse_args(["--replay-start", "2026-11-02T10:07:30Z", "--replay-speed", "10", "--replay-symbols", "A,B"])
    assert (args.replay_start, args.replay_speed, args.replay_symbols) == ("2026-11-02T10:07:30Z", "10", "A,B")
    # The issue's own spelling of the speed.
    assert parse_args(["--speed", "10"]).replay_speed == "10"
    assert parse_args([]).replay_start is None


def test_replay_symbols_must_be_stored(replay_settings: Settings) -> None:
    with pytest.raises(SettingsError) as refused:
        create_app(dataclasses.replace(replay_settings, replay_symbols=("COINA", "NOPE")))
    assert str(refused.value).startswith("REPLAY_SYMBOLS names NOPE, which the store at sqlite:///")
    assert str(refused.value).endswith("does not hold; it holds AAPL, COINA, COINB")


def test_a_replay_needs_a_store_with_instruments(settings: Settings, sqlite_url: str) -> None:
    with pytest.raises(SettingsError, match=r"^REPLAY_START: the store at sqlite:///.* holds no instrument to replay"):
        create_app(replay(settings, sqlite_url))
    open_store(sqlite_url).migrate()
    with pytest.raises(SettingsError, match="holds no instrument to replay; import bars first"):
        create_app(replay(settings, sqlite_url))


def test_a_replay_needs_instruments_with_bars(settings: Settings, sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    store.migrate()
    store.put_instrument(coin("LIVE"))
    store.close()
    with pytest.raises(SettingsError) as refused:
        create_app(replay(settings, sqlite_url))
    assert str(refused.value) == "REPLAY_START: no instrument to replay (LIVE) has stored bars that can be served"


def free_port() -> int:
    """A port nothing listens on (just now)."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port: int = unused.getsockname()[1]
    return port


def test_a_store_that_does_not_answer_refuses_the_replay(settings: Settings) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    with pytest.raises(SettingsError, match=r"^REPLAY_START: the store at .* does not answer"):
        create_app(replay(settings, url))


def test_a_replay_starts_in_the_past(replay_settings: Settings) -> None:
    future = datetime(2100, 1, 1, tzinfo=UTC).timestamp()
    with pytest.raises(SettingsError, match=r"^REPLAY_START=2100-01-01T00:00:00Z is in the future \(now 20"):
        create_app(dataclasses.replace(replay_settings, replay_start=future))


def test_a_replay_past_the_end_of_all_its_data_is_refused(replay_settings: Settings) -> None:
    coinb_end = DATA_START + COINB_MINUTES * MINUTE
    with pytest.raises(SettingsError) as refused:
        create_app(dataclasses.replace(replay_settings, replay_start=float(coinb_end), replay_symbols=("COINB",)))
    assert str(refused.value) == (
        "REPLAY_START=2026-11-02T10:40:00Z is past the end of the stored bars of every instrument to replay (the "
        "latest, COINB, ends at 2026-11-02T10:40:00Z): nothing would play"
    )
    # Half a minute earlier its last minute is still to come.
    create_app(dataclasses.replace(replay_settings, replay_start=coinb_end - 30.0, replay_symbols=("COINB",)))


def test_a_replay_before_the_data_starts_with_a_warning(
    replay_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="app.main"):
        create_app(dataclasses.replace(replay_settings, replay_start=float(DATA_START - 3600)))
    assert [record.getMessage() for record in caplog.records] == [
        f"REPLAY_START is before the first stored bar of {symbol}: it shows no bars until 2026-11-02T10:01:00Z, "
        "6 s from the start at speed 600"
        for symbol in ("COINA", "COINB")
    ]


def test_the_command_line_refuses_a_replay_with_one_line(replay_url: str) -> None:
    environment = os.environ | {"STORE_URL": replay_url, "HOST": "127.0.0.1", "PORT": str(free_port())}
    finished = subprocess.run(
        [sys.executable, "-m", "app", "--replay-start", "2026-11-02T10:07:30Z", "--replay-symbols", "COINA,ZZZ"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 1
    [line] = finished.stderr.splitlines()
    assert "Configuration error: REPLAY_SYMBOLS names ZZZ, which the store at sqlite:///" in line


@pytest.mark.parametrize(
    ("flags", "environment", "named"),
    [
        (["--replay-speed", "10"], {}, "--replay-speed needs"),
        (["--speed", "10"], {}, "--replay-speed needs"),
        ([], {"REPLAY_SYMBOLS": "COINA"}, "REPLAY_SYMBOLS needs"),
        (["--replay-symbols", "COINA"], {"REPLAY_SPEED": "10"}, "REPLAY_SPEED and --replay-symbols need"),
        (["--replay-speed", "10"], {"REPLAY_START": " "}, "--replay-speed needs"),
    ],
)
def test_a_replay_speed_or_symbols_without_a_start_are_refused_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    environment: dict[str, str],
    named: str,
) -> None:
    for name in ("REPLAY_START", "REPLAY_SPEED", "REPLAY_SYMBOLS", "LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as leaving:
        configure(parse_args(flags))
    assert leaving.value.code == 1
    assert capsys.readouterr().err == (
        f"Configuration error: {named} a replay start (REPLAY_START or --replay-start): without one nothing "
        "replays and the server serves the live market\n"
    )


async def test_the_replay_clock_begins_when_the_server_starts(
    aiohttp_client: ClientFactory, replay_settings: Settings
) -> None:
    app = create_app(replay_settings)
    clock = app[CLOCK]
    assert isinstance(clock, ReplayClock)
    # Checking the store and reading it take time at start-up: the replay is held at its start meanwhile.
    assert clock() == REPLAY_START
    await aiohttp_client(app)
    assert clock.origin is not None
    assert clock() > REPLAY_START


def test_the_first_client_of_the_command_line_server_sees_the_replay_start(replay_url: str) -> None:
    # At speed 600 the process's start-up (a second or two of imports and checks) used to pass 10 to 20 replay
    # minutes before anyone could connect.
    port = free_port()
    environment = os.environ | {"STORE_URL": replay_url, "HOST": "127.0.0.1", "PORT": str(port)}
    command = [sys.executable, "-m", "app", "--replay-start", "2026-11-02T10:07:30Z", "--replay-speed", "600"]
    server = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + STARTED_WITHIN
        while True:
            assert server.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not answer"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{UDF_PREFIX}/time", timeout=5) as answer:
                    replayed = int(answer.read()) - REPLAY_START
                break
            except OSError:
                time.sleep(0.01)
    finally:
        server.terminate()
        server.wait(timeout=30)
    # Within half a second of real time after it began listening (at most 0.01 s of it before the first ask).
    assert 0 <= replayed < 300
