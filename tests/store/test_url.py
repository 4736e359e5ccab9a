"""STORE_URL: the engines and paths it names, the URLs it refuses (naming STORE_URL), passwords kept out of logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.store.base import StoreError
from app.store.open import open_store
from app.store.url import PostgresLocation, SqliteLocation, parse_store_url, redacted


def test_sqlite_relative_path_is_resolved_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert parse_store_url("sqlite:///trading-pro.db") == SqliteLocation(tmp_path / "trading-pro.db")
    assert parse_store_url("sqlite:///data/bars.db") == SqliteLocation(tmp_path / "data" / "bars.db")


def test_sqlite_absolute_path() -> None:
    assert parse_store_url("sqlite:////var/lib/tp/bars.db") == SqliteLocation(Path("/var/lib/tp/bars.db"))


@pytest.mark.parametrize(
    "url",
    ["postgresql://trader:secret@db.example.com:5432/market", "postgres://db.example.com/market?sslmode=require"],
)
def test_postgres_urls_are_passed_to_libpq_whole(url: str) -> None:
    assert parse_store_url(url) == PostgresLocation(url)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("trading-pro.db", "is not a URL"),
        ("mysql://trader:secret@db/market", "unknown engine 'mysql'"),
        ("sqlite://host/bars.db", "no host"),
        ("sqlite:///", "names no file"),
        ("sqlite:///bars.db?mode=ro", "takes no parameters"),
        ("sqlite:///:memory:", "in-memory"),
        ("sqlite:////tmp", "is a directory"),
        ("postgresql://trader:secret@db/market?no_such_option=1", 'invalid URI query parameter: "no_such_option"'),
    ],
)
def test_refused_urls_name_store_url_and_hide_the_password(url: str, reason: str) -> None:
    with pytest.raises(StoreError) as refused:
        parse_store_url(url)
    assert str(refused.value).startswith("STORE_URL ")
    assert reason in str(refused.value)
    assert "secret" not in str(refused.value)


def test_open_store_refuses_a_file_in_a_missing_directory_and_creates_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing' / 'bars.db'}"
    with pytest.raises(StoreError, match=f"STORE_URL .*: the directory {tmp_path / 'missing'} does not exist"):
        open_store(url)
    assert list(tmp_path.iterdir()) == []


def test_open_store_touches_nothing_before_the_first_call(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'bars.db'}")
    store.close()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://trader:s3cr%40t@db:5432/market", "postgresql://trader:***@db:5432/market"),
        (
            "postgresql://trader@db/market?password=s3cret&sslmode=require",
            "postgresql://trader@db/market?password=***&sslmode=require",
        ),
        ("host=db password=s3cret dbname=market", "host=db password=*** dbname=market"),
        ("postgresql://trader@db/market", "postgresql://trader@db/market"),
        ("sqlite:////var/lib/tp/bars.db", "sqlite:////var/lib/tp/bars.db"),
    ],
)
def test_redacted_hides_passwords_only(url: str, shown: str) -> None:
    assert redacted(url) == shown
