"""Settings from config/ and the environment, and the command line that uses them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from app.market.resolutions import Resolution
from app.settings import SettingsError, load_settings
from tests.live_server import free_port, is_healthy, serving

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_come_from_the_config_folder() -> None:
    settings = load_settings({})
    assert settings.port == 8000
    assert settings.host == "0.0.0.0"
    assert settings.ws_heartbeat_interval == 30.0
    assert settings.ws_max_connection_lifespan == 3600.0
    assert settings.bar_broadcaster_enabled is True
    assert settings.bar_broadcaster_interval == 1.0
    assert settings.bar_broadcaster_symbols == ()
    assert settings.bar_broadcaster_resolutions == ()
    assert settings.cors_origins == ()
    assert (settings.max_connections, settings.max_connections_per_client) == (10000, 1000)
    assert (settings.keepalive_timeout, settings.request_body_timeout, settings.log_repeat_interval) == (15, 10, 60)


def test_a_connection_limit_of_zero_means_none() -> None:
    settings = load_settings({"MAX_CONNECTIONS": "0", "MAX_CONNECTIONS_PER_CLIENT": " 0 "})
    assert (settings.max_connections, settings.max_connections_per_client) == (0, 0)


def test_environment_overrides_defaults() -> None:
    settings = load_settings(
        {
            "PORT": "9000",
            "HOST": "127.0.0.1",
            "WS_HEARTBEAT_INTERVAL": "2.5",
            "BAR_BROADCASTER_ENABLED": "false",
            "BAR_BROADCASTER_SYMBOLS": "aapl, btcusd",
            "BAR_BROADCASTER_RESOLUTIONS": "1,D",
        }
    )
    assert settings.port == 9000
    assert settings.host == "127.0.0.1"
    assert settings.ws_heartbeat_interval == 2.5
    assert settings.bar_broadcaster_enabled is False
    assert settings.bar_broadcaster_symbols == ("AAPL", "BTCUSD")
    assert settings.bar_broadcaster_resolutions == (Resolution.M1, Resolution.DAY)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "abc"),
        ("PORT", "70000"),
        ("WS_HEARTBEAT_INTERVAL", "-1"),
        ("WS_MAX_CONNECTION_LIFESPAN", "0"),
        ("BAR_BROADCASTER_INTERVAL", "inf"),
        ("BAR_BROADCASTER_ENABLED", "maybe"),
        ("BAR_BROADCASTER_RESOLUTIONS", "1,7"),
        ("LOG_LEVEL", "LOUD"),
        ("MARKET_INTRADAY_DAYS", "1.5"),
        ("CORS_ORIGINS", "example.com"),
        ("CORS_ORIGINS", "https://charts.example.com, localhost:3000"),
        ("CORS_ORIGINS", "https://charts.example.com/app"),
        ("CORS_ORIGINS", "https://charts.example.com:99999"),
        ("CORS_ORIGINS", "null"),
        ("MAX_CONNECTIONS", "-1"),
        ("MAX_CONNECTIONS_PER_CLIENT", "many"),
        ("KEEPALIVE_TIMEOUT", "0"),
        ("REQUEST_BODY_TIMEOUT", "-5"),
        ("LOG_REPEAT_INTERVAL", "nan"),
        ("BROKER_URL", "redis://"),
        ("BROKER_URL", "amqp://localhost"),
        ("BROKER_URL", "redis://localhost:99999/0"),
        ("BROKER_URL", "redis://localhost/zero"),
        ("BROKER_LEASE", "0.1"),
        ("BROKER_LEASE", "600"),
        ("BROKER_PREFIX", ""),
        ("BROKER_PREFIX", "has space"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"^{name}="):
        load_settings({name: value})


def test_cors_origins_are_kept_as_browsers_spell_an_origin() -> None:
    settings = load_settings(
        {"CORS_ORIGINS": " HTTPS://Charts.Example.com:443, http://localhost:3000/,http://[::1]:8080 "}
    )
    assert settings.cors_origins == ("https://charts.example.com", "http://localhost:3000", "http://[::1]:8080")


@pytest.mark.parametrize("value", ["*", "https://charts.example.com,*"])
def test_a_star_in_cors_origins_allows_any(value: str) -> None:
    assert load_settings({"CORS_ORIGINS": value}).cors_origins == ("*",)


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("PORT", "abc", "PORT='abc' is invalid: expected a whole number"),
        (
            "CORS_ORIGINS",
            "example.com",
            "CORS_ORIGINS='example.com' is invalid: "
            "'example.com' is not an origin: expected scheme://host[:port], e.g. https://example.com",
        ),
    ],
)
def test_bad_value_stops_start_up_with_one_line(name: str, value: str, error: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app"],
        cwd=ROOT,
        env=os.environ | {name: value},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [f"Configuration error: {error}"]


def test_port_flag_and_variable_both_work() -> None:
    flag_port, env_port = free_port(), free_port()
    flags = ("--host", "127.0.0.1", "--port", str(flag_port))
    with serving({"PORT": str(env_port)}, port=flag_port, args=flags) as server:
        assert is_healthy(server.url("/api/v1/health"))
    with serving({"PORT": str(env_port), "HOST": "127.0.0.1"}, port=env_port, args=()) as server:
        assert is_healthy(server.url("/api/v1/health"))


def test_procfile_runs_the_package() -> None:
    assert (ROOT / "Procfile").read_text().strip() == "web: python -m app"


def start_up_error(args: list[str], env: dict[str, str] | None = None) -> list[str]:
    """What `python -m app ARGS` says on stderr, line by line, when it refuses to start (exit status 1)."""
    result = subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=os.environ | (env or {}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    return result.stderr.strip().splitlines()


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize(
    ("args", "env", "error"),
    [
        (["--host", "nowhere.invalid"], {}, "--host 'nowhere.invalid' does not resolve: "),
        ([], {"HOST": "not a host"}, "HOST 'not a host' does not resolve: "),
        # TEST-NET-1, an address reserved for documentation: on no machine.
        (["--host", "192.0.2.1"], {}, "--host '192.0.2.1' is not an address of this machine (192.0.2.1)"),
    ],
)
def test_a_host_it_cannot_listen_on_stops_start_up_with_one_line(
    workers: str, args: list[str], env: dict[str, str], error: str
) -> None:
    said = start_up_error([*args, "--port", str(free_port()), "--workers", workers], env)
    assert len(said) == 1, said
    assert said[0].startswith(f"Cannot listen: {error}")


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("named", ["--port", "PORT"])
def test_a_port_in_use_stops_start_up_with_one_line(workers: str, named: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args, env = (["--port", str(port)], {}) if named == "--port" else ([], {"PORT": str(port)})
        said = start_up_error(["--host", "127.0.0.1", "--workers", workers, *args], env)
    assert said == [f"Cannot listen: {named} {port} is in use on 127.0.0.1"]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_broadcaster_symbols_the_feed_does_not_carry_stop_start_up_with_one_line(workers: str) -> None:
    said = start_up_error(
        ["--host", "127.0.0.1", "--port", str(free_port()), "--workers", workers],
        {"BAR_BROADCASTER_SYMBOLS": "btcusd, NOPE,aapl,ZZZ"},
    )
    assert said == [
        "Configuration error: BAR_BROADCASTER_SYMBOLS='BTCUSD,NOPE,AAPL,ZZZ' is invalid: "
        "NOPE, ZZZ are not instruments of the feed"
    ]


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize(
    ("args", "env", "said"),
    [
        ([], {"PORT": "abc"}, "Configuration error: PORT='abc' is invalid: expected a whole number"),
        ([], {"BAR_BROADCASTER_SYMBOLS": "NOPE"}, "Configuration error: BAR_BROADCASTER_SYMBOLS='NOPE' is invalid"),
        (["--host", "nowhere.invalid"], {}, "Cannot listen: --host 'nowhere.invalid' does not resolve"),
    ],
)
def test_with_json_logs_a_refused_start_up_is_one_json_record(
    workers: str, args: list[str], env: dict[str, str], said: str
) -> None:
    [line] = start_up_error([*args, "--workers", workers], {"LOG_FORMAT": "json"} | env)
    record = json.loads(line)
    assert record["level"] == "CRITICAL"
    assert record["message"].startswith(said)


@pytest.mark.parametrize(
    ("token", "said"),
    [
        (" " * 20, "only whitespace: leave it empty to turn ingest off"),
        ("secret-token with-a-space", "character 13 (U+0020 SPACE)"),
        (" secret-token-0123456789", "character 1 (U+0020 SPACE)"),
        ("secret-token-0123456789\n", "character 24 (U+000A"),
        ("secret-token-0123456789\u00a0", "character 24 (U+00A0 NO-BREAK SPACE)"),
        ("secret-token-01234567\u00e9", "character 22 (U+00E9 LATIN SMALL LETTER E WITH ACUTE)"),
        ("secret-token:0123456789", "character 13 (U+003A COLON)"),
        ("secret-token=0123456789", "character 13 (U+003D EQUALS SIGN)"),
    ],
)
def test_an_ingest_token_a_bearer_header_cannot_carry_is_refused_without_showing_it(token: str, said: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings({"INGEST_TOKEN": token})
    message = str(refused.value)
    assert message.startswith(f"INGEST_TOKEN ({len(token)} characters, not shown) is invalid: ")
    assert said in message
    assert "\n" not in message
    assert not token.strip() or token.strip() not in message


@pytest.mark.parametrize("token", ["", "Az09-._~+/Az09-._~+/", "c2VjcmV0LXRva2VuLTAxMjM0NQ==", "0123456789abcdef"])
def test_an_ingest_token_of_bearer_characters_is_taken_as_it_is(token: str) -> None:
    assert load_settings({"INGEST_TOKEN": token}).ingest_token == token


def test_a_short_ingest_token_is_refused_at_start_up_with_one_line_that_does_not_show_it() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app"],
        cwd=ROOT,
        env=os.environ | {"INGEST_TOKEN": "short-secret"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "Configuration error: INGEST_TOKEN (12 characters, not shown) is invalid: must be empty (ingest off) or at "
        "least 16 characters"
    ]


def test_a_redis_broker_url_is_taken_with_its_database_and_lease() -> None:
    settings = load_settings(
        {"BROKER_URL": "redis://cache.internal:6380/2", "BROKER_LEASE": "5", "BROKER_PREFIX": "a:b"}
    )
    assert (settings.broker_url, settings.broker_lease, settings.broker_prefix) == (
        "redis://cache.internal:6380/2",
        5.0,
        "a:b",
    )
    assert load_settings({}).broker_url == "memory://"


def test_a_refused_broker_url_is_shown_without_its_password() -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings({"BROKER_URL": "redis://:s3cret-pass@cache.internal/x"})
    assert str(refused.value) == (
        "BROKER_URL='redis://:***@cache.internal/x' is invalid: the database must be a number, not 'x'"
    )
