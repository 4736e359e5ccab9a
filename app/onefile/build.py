"""`python -m app.onefile.build FILE`: give a zipapp that shiv built our own `__main__` (launcher.py), which checks
the Python version and finds a writable SHIV_ROOT before shiv's bootstrap unpacks anything (shiv has no hook
that runs that early). Every other entry is copied as it is, timestamps included (the build stays reproducible).
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

LAUNCHER = Path(__file__).with_name("launcher.py")


def replace_main(pyz: Path, launcher: Path = LAUNCHER) -> None:
    """Rewrite `pyz` in place with `launcher` as its `__main__.py`; the shebang line before the zip is kept."""
    raw = pyz.read_bytes()
    shebang = raw[: raw.index(b"\n") + 1] if raw.startswith(b"#!") else b""
    rewritten = pyz.with_suffix(".tmp")
    with zipfile.ZipFile(pyz) as old, rewritten.open("wb") as out:
        out.write(shebang)
        with zipfile.ZipFile(out, "w") as new:
            for entry in old.infolist():
                content = launcher.read_bytes() if entry.filename == "__main__.py" else old.read(entry)
                new.writestr(entry, content)
    rewritten.chmod(pyz.stat().st_mode)
    rewritten.replace(pyz)


if __name__ == "__main__":
    replace_main(Path(sys.argv[1]))
