"""The wheel: built from the checkout, installed (not editable) into a fresh virtual environment, and served by
the Procfile's command (`python -m app` of that environment) from an empty directory, with nothing of the
checkout on its path and only PORT set, as a PaaS runs it; its `trading-pro` console script takes the same
command line.

Offline: the wheel is built with this environment's setuptools (no build isolation) and installed without its
dependencies; the new environment reaches those through a .pth line naming this environment's site-packages
(a plain path: the editable install of the checkout there is not activated, so `app` comes from the wheel).
"""

from __future__ import annotations

import asyncio
import shlex
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import aiohttp
import pytest

from app.cli import setting_docs
from tests.live_server import ROOT, LiveServer, free_port, start

# Building, installing and starting take a few seconds each; a loaded machine may take much longer.
pytestmark = pytest.mark.timeout(600)

CHART_LIBRARY = "/vendor/lightweight-charts/lightweight-charts.standalone.production.mjs"
SWAGGER_UI = "/vendor/swagger-ui/swagger-ui-bundle.js"


def source_tree(into: Path, *, with_libraries: bool) -> Path:
    """A copy of the checkout's files as git sees them (tracked or new, never ignored), node_modules linked."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = into / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    if with_libraries:
        (into / "node_modules").symlink_to(ROOT / "node_modules")
    return into


def build_wheel(workdir: Path, *, with_libraries: bool = True) -> Path:
    """The wheel of the checkout (with or without the browser libraries), built offline."""
    return wheel_of(source_tree(workdir / "source", with_libraries=with_libraries), workdir / "wheels")


def wheel_of(source: Path, wheels: Path) -> Path:
    """The wheel of the source tree `source`, built offline into the empty directory `wheels` (pip builds in
    the tree: its build/ stays there for the next build)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", wheels, source],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("trading_pro-*.whl")
    return wheel


def install(wheel: Path, venv: Path) -> Path:
    """`wheel` installed in a new virtual environment whose dependencies are this one's; its bin directory."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", "--no-index", wheel],
        check=True,
        capture_output=True,
    )
    site_packages = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site_packages, "project-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv / "bin"


async def check_serves_everything(server: LiveServer, *, with_libraries: bool = True) -> None:
    """The page, our static files, the libraries (or their absence), the docs, an API call, a WebSocket update."""
    async with aiohttp.ClientSession() as session:
        async with session.get(server.url("/")) as page:
            assert page.status == 200
            html = await page.text()
            assert "<title>Trading Pro</title>" in html
            assert "BTCUSD" in html
        async with session.get(server.url("/static/js/datafeed.js")) as datafeed:
            assert datafeed.status == 200
            assert await datafeed.read() == (ROOT / "static/js/datafeed.js").read_bytes()
        async with session.get(server.url(CHART_LIBRARY)) as library:
            if with_libraries:
                assert library.status == 200
                assert "createChart" in await library.text()
            else:
                assert library.status == 404
                assert "detail" in await library.json()
        async with session.get(server.url("/api/v1/docs")) as docs:
            assert docs.status == 200
            assert SWAGGER_UI in await docs.text()
        async with session.get(server.url("/api/v1/openapi.json")) as openapi:
            assert "/api/v1/datafeed/bars" in (await openapi.json())["paths"]
        async with session.get(server.url("/api/v1/datafeed/resolve/aapl")) as resolved:
            assert resolved.status == 200
            symbol = await resolved.json()
            assert (symbol["name"], symbol["exchange"]) == ("AAPL", "NASDAQ")
        async with session.ws_connect(server.url("/api/v1/ws")) as ws:
            await ws.send_json({"type": "bars.subscribe", "payload": {"symbol": "BTCUSD", "resolution": "1"}})
            reply = await ws.receive_json(timeout=10)
            assert reply["payload"]["status"] == "ok"
            update = await ws.receive_json(timeout=10)
            assert (update["type"], update["topic"]) == ("bars.update", "bars:BTCUSD:1")
            bar = update["payload"]
            assert bar["low"] <= min(bar["open"], bar["close"]) <= max(bar["open"], bar["close"]) <= bar["high"]


def procfile_command() -> list[str]:
    """The Procfile's `web` command."""
    (line,) = (line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    return shlex.split(line.removeprefix("web:"))


def console_script_help(bin_dir: Path, cwd: Path) -> str:
    """What the installed `trading-pro --help` prints."""
    command = [str(bin_dir / "trading-pro"), "--help"]
    return subprocess.run(command, cwd=cwd, env={}, check=True, capture_output=True, text=True).stdout


def serve_installed(bin_dir: Path, empty: Path) -> LiveServer:
    """The Procfile's command with the environment's bin first on PATH, as a PaaS runs it: in an empty
    directory, with a bare environment that sets PORT and no HOST."""
    empty.mkdir()
    port = free_port()
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "PORT": str(port), "BAR_BROADCASTER_INTERVAL": "0.2"}
    command = procfile_command()
    command[0] = shutil.which(command[0], path=env["PATH"]) or command[0]
    return start(env, port=port, args=[], command=command, cwd=empty, inherit_env=False)


async def test_the_installed_wheel_serves_everything_from_an_empty_directory(tmp_path: Path) -> None:
    wheel = await asyncio.to_thread(build_wheel, tmp_path)
    bin_dir = await asyncio.to_thread(install, wheel, tmp_path / "venv")
    helped = await asyncio.to_thread(console_script_help, bin_dir, tmp_path)
    assert helped.startswith("usage: trading-pro [-h] [--host HOST] [--port PORT] [--workers WORKERS]")
    server = await asyncio.to_thread(serve_installed, bin_dir, tmp_path / "empty")
    try:
        await check_serves_everything(server)
        # Nothing was written where it ran.
        assert list((tmp_path / "empty").iterdir()) == []
    finally:
        server.stop(keep_log=True)
    assert "Not installed" not in server.final_log
    # PORT from the platform, on every interface so that its router reaches the process.
    assert f"serving on http://0.0.0.0:{server.port}" in server.final_log


async def test_a_wheel_built_without_the_browser_libraries_serves_the_apis_and_names_what_is_missing(
    tmp_path: Path,
) -> None:
    wheel = await asyncio.to_thread(build_wheel, tmp_path, with_libraries=False)
    bin_dir = await asyncio.to_thread(install, wheel, tmp_path / "venv")
    server = await asyncio.to_thread(serve_installed, bin_dir, tmp_path / "empty")
    try:
        await check_serves_everything(server, with_libraries=False)
        # What the pages tell a reader when a library is missing applies to an installed package too.
        async with aiohttp.ClientSession() as session:
            for script in ("/static/js/app.js", "/static/docs/missing.js"):
                async with session.get(server.url(script)) as answer:
                    assert "An installed package has it only if it was built after " in await answer.text()
    finally:
        server.stop(keep_log=True)
    said = server.final_log
    assert "Not installed: lightweight-charts, swagger-ui-dist, @asyncapi/react-component" in said


def test_help_names_every_setting_with_its_default_and_meaning() -> None:
    helped = subprocess.run(
        [sys.executable, "-m", "app", "--help"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    assert helped.startswith("usage: python -m app [-h] [--host HOST] [--port PORT] [--workers WORKERS]")
    docs = setting_docs()
    assert {doc.name for doc in docs} >= {"HOST", "PORT", "LOG_LEVEL", "BAR_BROADCASTER_INTERVAL", "CORS_ORIGINS"}
    for doc in docs:
        assert f"  {doc.name}  (default: {doc.default!r})" in helped
        assert doc.description, f"{doc.name} has no comment in config/defaults.toml to explain it"
        assert doc.description.split()[0] in helped
    assert "  BAR_BROADCASTER_INTERVAL  (default: '1.0')" in helped
    # Each its own description, not one shared with its neighbour.
    described = {doc.name: doc.description for doc in docs}
    assert len(set(described.values())) == len(described)
    assert described["PORT"].startswith("TCP port the server listens on")
    assert described["WS_SLOW_CLIENT_TIMEOUT"].startswith("Seconds a WebSocket client may stay that far behind")
    assert described["BAR_BROADCASTER_ENABLED"].startswith("Whether the broadcaster pushes")
    assert described["BAR_BROADCASTER_INTERVAL"].startswith("Seconds between ticks")


def test_a_module_deleted_since_the_last_build_is_not_in_the_next_wheel(tmp_path: Path) -> None:
    source = source_tree(tmp_path / "source", with_libraries=False)
    (source / "app" / "obsolete.py").write_text('"""Deleted before the second build."""\n')
    with zipfile.ZipFile(wheel_of(source, tmp_path / "first")) as first:
        assert "app/obsolete.py" in first.namelist()
    (source / "app" / "obsolete.py").unlink()
    with zipfile.ZipFile(wheel_of(source, tmp_path / "second")) as second:
        names = second.namelist()
    assert "app/obsolete.py" not in names
    assert "app/__main__.py" in names
