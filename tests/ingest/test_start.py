"""Start-ups that ingest refuses, with one line saying why: several worker processes (each would hold the bars of
only the trades posted to it) and a replay (live trades do not join recorded ones played again)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest

from app.main import create_app
from app.settings import Settings, SettingsError
from tests.ingest.conftest import TOKEN


def test_several_workers_with_ingest_on_are_refused(tmp_path: str) -> None:
    environment = os.environ | {"INGEST_TOKEN": TOKEN, "PORT": "1"}
    finished = subprocess.run(
        [sys.executable, "-m", "app", "--workers", "2"],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 1
    (line,) = finished.stderr.strip().splitlines()
    assert line.startswith("Configuration error: --workers 2 with INGEST_TOKEN set")
    assert "BROKER_URL=redis://" in line


def test_ingest_with_a_replay_is_refused(settings: Settings, ingest_url: str) -> None:
    replaying = dataclasses.replace(settings, store_url=ingest_url, ingest_token=TOKEN, replay_start=1_795_000_000.0)
    with pytest.raises(SettingsError, match="INGEST_TOKEN is set with REPLAY_START"):
        create_app(replaying)
