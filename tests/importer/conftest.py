"""Importer tests: small CSV files written into tmp_path, imported into real stores of both engines."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.importer.helpers import Write
from tests.store_fixtures import (  # noqa: F401 (fixtures)
    postgres_database,
    postgres_store,
    postgres_url,
    sqlite_store,
    sqlite_url,
    store,
    store_url,
)


@pytest.fixture
def write(tmp_path: Path) -> Write:
    """write(text, name="bars.csv") -> the path of a new file holding `text` (str, or bytes as they are)."""

    def write_file(text: str | bytes, name: str = "bars.csv") -> Path:
        path = tmp_path / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)
        return path

    return write_file
