"""The one file: `make dist` builds dist/trading-pro.pyz, and a bare Python 3.11 (no virtual environment, no
packages, an environment of PATH alone) serves everything from it in an empty directory.

`make dist` resolves the dependencies with pip (its cache or the package index); the rest is offline.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from app.cli import setting_docs
from tests.live_server import ROOT, start
from tests.test_package import check_serves_everything

# Building takes tens of seconds, and the first run extracts the dependencies (shiv, into ~/.shiv).
pytestmark = pytest.mark.timeout(900)

PYZ = ROOT / "dist" / "trading-pro.pyz"


def bare_python() -> Path:
    """The system's Python of this venv's version (the one file holds compiled modules for it): /usr/bin's if
    there is one, else the interpreter the venv was made from."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = Path("/usr/bin", version)
    return system if system.exists() else Path(sys.base_prefix, "bin", version)


@pytest.fixture(scope="module")
def pyz() -> Path:
    subprocess.run(["make", "dist"], cwd=ROOT, check=True, capture_output=True)
    assert PYZ.is_file()
    return PYZ


def has_aiohttp(python: Path) -> bool:
    """Whether `python` can import aiohttp without the file's help."""
    return subprocess.run([python, "-c", "import aiohttp"], env=bare_env(python), capture_output=True).returncode == 0


def bare_env(python: Path) -> dict[str, str]:
    """`env -i PATH=<the interpreter's directory>`."""
    return {"PATH": str(python.parent)}


def test_help_documents_every_option_and_setting(pyz: Path, tmp_path: Path) -> None:
    python = bare_python()
    helped = subprocess.run(
        [python, pyz, "--help"], cwd=tmp_path, env=bare_env(python), check=True, capture_output=True, text=True
    ).stdout
    assert helped.startswith("usage: trading-pro.pyz [-h] [--host HOST] [--port PORT] [--workers WORKERS]")
    for option in ("--host HOST", "--port PORT", "--workers WORKERS"):
        assert option in helped
    for doc in setting_docs():
        assert f"  {doc.name}  (default: {doc.default!r})" in helped
    # The same command line as `python -m app` (only the program's name differs, and with it where argparse
    # wraps the usage lines).
    checkout = subprocess.run(
        [sys.executable, "-m", "app", "--help"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    assert helped.replace("trading-pro.pyz", "python -m app").split() == checkout.split()


async def test_a_bare_python_serves_everything_from_the_one_file(pyz: Path, tmp_path: Path) -> None:
    python = bare_python()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert not await asyncio.to_thread(has_aiohttp, python), f"{python} has aiohttp: the file would prove nothing"
    server = await asyncio.to_thread(
        start, bare_env(python), command=[str(python), str(pyz)], cwd=empty, inherit_env=False, timeout=120
    )
    try:
        await check_serves_everything(server)
        async with aiohttp.ClientSession() as session, session.get(server.url("/metrics")) as metrics:
            assert metrics.status == 200
            text = await metrics.text()
            assert "# TYPE tradingpro_" in text
            assert 'tradingpro_http_requests_total{method="GET",route="/api/v1/datafeed/resolve/{symbol}"' in text
        assert list(empty.iterdir()) == []
    finally:
        server.stop()


def test_a_user_whose_home_cannot_be_written_runs_it_from_a_private_temporary_root(pyz: Path, tmp_path: Path) -> None:
    """A service user (HOME unset, or a home it may not write): shiv's ~/.shiv cannot be made. /proc stands for
    such a home, as nobody may create a directory there, root included."""
    python = bare_python()
    env = bare_env(python) | {"HOME": "/proc", "TMPDIR": str(tmp_path)}
    helped = subprocess.run([python, pyz, "--help"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert helped.returncode == 0, helped.stderr
    assert helped.stderr == ""
    assert "SHIV_ROOT (default: ~/.shiv;" in helped.stdout
    (extracted,) = (tmp_path / f"trading-pro-shiv-{os.getuid()}").glob("trading-pro.pyz_*/site-packages")
    assert (extracted / "app" / "__main__.py").is_file()


def other_python() -> Path | None:
    """An interpreter of another version than 3.11 (pyenv's, where there are some), or None."""
    for candidate in sorted(Path("~/.pyenv/versions").expanduser().glob("3.1*/bin/python3")):
        version = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True)
        if version.returncode == 0 and version.stdout.strip() != b"(3, 11)":
            return candidate
    return None


def test_another_python_is_told_the_file_needs_python_3_11(pyz: Path, tmp_path: Path) -> None:
    python = other_python()
    if python is None:
        pytest.skip("no Python other than 3.11 on this machine")
    ran = subprocess.run(
        [python, pyz, "--help"], cwd=tmp_path, env={"SHIV_ROOT": str(tmp_path)}, capture_output=True, text=True
    )
    assert ran.returncode == 1
    assert ran.stderr.strip().startswith("trading-pro.pyz needs Python 3.11 (this is Python 3.")
    # Refused before anything was unpacked.
    assert list(tmp_path.iterdir()) == []
