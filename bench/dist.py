"""The one file's figures: the size of dist/trading-pro.pyz and its start-up time to the first healthy answer.

shiv extracts the dependencies on the first run of a build (into SHIV_ROOT, ~/.shiv by default) and starts from
there on later runs: the first run is timed with an empty SHIV_ROOT, then later runs reuse it. Each run is a
system Python 3.11 with PATH alone in its environment, polled on /api/v1/health every 50 ms. Run `make dist`
first (this builds it if the file is missing). Target: under 2 s after the first run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.live_server import start  # noqa: E402

PYZ = REPO_ROOT / "dist" / "trading-pro.pyz"
TARGET_SECONDS = 2.0


def system_python() -> Path:
    """The system's Python of this venv's version (the one file holds compiled modules for it): /usr/bin's if
    there is one, else the interpreter the venv was made from."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = Path("/usr/bin", version)
    return system if system.exists() else Path(sys.base_prefix, "bin", version)


def time_to_healthy(python: Path, shiv_root: Path, workdir: Path) -> float:
    """Seconds from starting `python trading-pro.pyz` to its first 200 from /api/v1/health."""
    env = {"PATH": str(python.parent), "SHIV_ROOT": str(shiv_root)}
    began = time.perf_counter()
    server = start(env, command=[str(python), str(PYZ)], cwd=workdir, inherit_env=False, timeout=300)
    elapsed = time.perf_counter() - began
    server.stop()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="later runs to time (default: 5)")
    args = parser.parse_args()
    if not PYZ.exists():
        subprocess.run(["make", "dist"], cwd=REPO_ROOT, check=True)
    python = system_python()
    with tempfile.TemporaryDirectory(prefix="trading-pro-shiv-") as root, tempfile.TemporaryDirectory() as workdir:
        first = time_to_healthy(python, Path(root), Path(workdir))
        later = [time_to_healthy(python, Path(root), Path(workdir)) for _ in range(args.runs)]
    median = statistics.median(later)
    print(f"dist/trading-pro.pyz: {PYZ.stat().st_size / 2**20:.1f} MiB, run by {python}")
    print(f"start-up to the first healthy answer, first run (extracts to an empty SHIV_ROOT): {first:.2f} s")
    print(
        f"later runs ({len(later)}): median {median:.2f} s, max {max(later):.2f} s "
        f"(target < {TARGET_SECONDS:g} s: {'met' if median < TARGET_SECONDS else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
