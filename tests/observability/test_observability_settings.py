"""The settings of metrics and logs: defaults, and a clear error naming the variable for a bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import SettingsError, load_settings


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
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(name: str, value: str, says: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings({name: value})
    assert str(refused.value).startswith(f"{name}={value!r} is invalid: {says}")
