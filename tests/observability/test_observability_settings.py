"""The settings of metrics and logs: defaults, and a clear error naming the variable for a bad value."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.settings import SettingsError, load_settings
from tests.live_server import STARTUP_TIMEOUT, LiveServer, free_port


def test_defaults_log_text_with_requests_and_serve_metrics_from_this_process() -> None:
    settings = load_settings({})
    assert (settings.log_format, settings.access_log, settings.metrics_enabled) == ("text", True, True)
    assert settings.prometheus_multiproc_dir == ""


def test_values_are_read_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "LOG_FORMAT": "JSON",
            "ACCESS_LOG": "off",
            "METRICS_ENABLED": "false",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        }
    )
    assert (settings.log_format, settings.access_log, settings.metrics_enabled) == ("json", False, False)
    assert settings.prometheus_multiproc_dir == str(tmp_path)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("LOG_FORMAT", "xml", "must be one of text, json"),
        ("ACCESS_LOG", "sometimes", "must be true or false"),
        ("METRICS_ENABLED", "2", "must be true or false"),
        ("PROMETHEUS_MULTIPROC_DIR", "/no/such/directory", "must be an existing directory"),
        # A directory nobody may create files in (prometheus-client would fail at its first metric).
        ("PROMETHEUS_MULTIPROC_DIR", "/proc", "must be a directory this process can write"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(name: str, value: str, says: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings({name: value})
    assert str(refused.value).startswith(f"{name}={value!r} is invalid: {says}")


@pytest.mark.parametrize("where", ["main", "thread"])
def test_with_json_logs_an_uncaught_error_is_a_json_record(where: str) -> None:
    # A real interpreter, as at start-up: logging set up, then an error nothing catches.
    raising = "raise RuntimeError('boom at start-up')"
    if where == "thread":
        raising = f"import threading; t = threading.Thread(target=lambda: exec({raising!r})); t.start(); t.join()"
    script = f"from app.observability.logs import setup_logging; setup_logging('INFO', 'json'); {raising}"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == (1 if where == "main" else 0)
    records = [json.loads(line) for line in done.stderr.splitlines()]
    assert len(records) == 1, done.stderr
    assert records[0]["level"] == "CRITICAL"
    assert "boom at start-up" in records[0]["message"]
    assert "RuntimeError: boom at start-up" in records[0]["exc_info"]


def test_a_server_given_a_metrics_directory_it_cannot_write_stops_with_one_line() -> None:
    server = LiveServer({"PROMETHEUS_MULTIPROC_DIR": "/proc"}, free_port())
    try:
        assert server.process.wait(STARTUP_TIMEOUT) == 1
        said = server.log_path.read_text().splitlines()
    finally:
        server.stop()
    assert len(said) == 1, said
    assert "PROMETHEUS_MULTIPROC_DIR='/proc' is invalid: must be a directory this process can write" in said[0]
