"""The build step pyproject.toml cannot declare: copy the data folders and the browser libraries into the package.

config/, templates/ and static/ stay at the top of the repository and the libraries in node_modules (from
`npm ci`); a wheel carries them as `app/_bundle/`, where app.resources finds them. A library that is not
installed is left out with a warning: such a wheel serves the APIs and its pages say what is missing. Editable
installs copy nothing (they read the checkout).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
# app.resources imports nothing but the standard library; the list of files lives there once.
from app.resources import BUNDLE, DATA_FOLDERS, VENDOR  # noqa: E402


class BuildWithBundle(build_py):
    """build_py from a clean slate, then the bundle into the built package."""

    def run(self) -> None:
        if not self.editable_mode:
            # setuptools reuses build/ from the last build: a module deleted since would still be shipped.
            shutil.rmtree(Path(self.build_lib) / "app", ignore_errors=True)
        super().run()
        if self.editable_mode:
            return
        bundle = Path(self.build_lib) / "app" / BUNDLE
        for name in DATA_FOLDERS:
            shutil.copytree(ROOT / name, bundle / name, ignore=shutil.ignore_patterns("__pycache__"))
        for library, paths in VENDOR.items():
            sources = {name: ROOT / "node_modules" / source for name, source in paths.items()}
            absent = [str(path) for path in sources.values() if not path.is_file()]
            if absent:
                print(f"warning: {library} left out of the package, missing: {', '.join(absent)}", file=sys.stderr)
                continue
            for name, source in sources.items():
                target = bundle / "vendor" / library / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)


setup(cmdclass={"build_py": BuildWithBundle})
