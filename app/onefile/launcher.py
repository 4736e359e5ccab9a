"""The one file's `__main__`: checks that it can run here, then hands over to shiv's bootstrap (which unpacks the
dependencies into SHIV_ROOT, ~/.shiv by default, and starts `trading-pro`).

Runs before anything is unpacked, on whatever Python was asked to run the file, so it needs only the standard
library of any Python 3.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

# The compiled modules inside (numpy, orjson, aiohttp's parser) are built for one Python version.
PYTHON = (3, 11)


def _writable(directory: Path) -> bool:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(directory, os.W_OK | os.X_OK)


def _private_temp_root() -> Path:
    """A directory of this user's under the temporary directory, for a user with no writable home (a service
    account, HOME unset): refused if someone else made it first."""
    root = Path(tempfile.gettempdir(), f"trading-pro-shiv-{os.getuid()}")
    root.mkdir(mode=0o700, exist_ok=True)
    if root.is_symlink() or root.stat().st_uid != os.getuid():
        sys.exit(f"{root} belongs to another user; set SHIV_ROOT to a directory this user may write")
    return root


def main() -> None:
    if sys.version_info[:2] != PYTHON:
        found = ".".join(map(str, sys.version_info[:3]))
        sys.exit(f"{Path(sys.argv[0]).name} needs Python 3.11 (this is Python {found}): run it with python3.11")
    if not os.environ.get("SHIV_ROOT") and not _writable(Path("~/.shiv").expanduser()):
        os.environ["SHIV_ROOT"] = str(_private_temp_root())
    import _bootstrap  # type: ignore[import-not-found]  # shiv's, at the top of the file

    _bootstrap.bootstrap()


main()
