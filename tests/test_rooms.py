"""The rooms of `app/` and what each may import, read from the source (every import statement, however deep).

A room is a package of `app/`; neutral ground is a handful of modules every room may use. `main.py` and
`__main__.py` (with `cli.py`, its command line) wire the rooms together and may import anything.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent / "app"
NEUTRAL = ("app.settings", "app.keys", "app.paths", "app.responses", "app.stats", "app.resources", "app.tasks")
WIRING = ("app.main", "app.__main__", "app.cli")


@dataclass(frozen=True)
class Rule:
    """What the modules of `room` may import of app (besides their own room) and which libraries they may not."""

    room: str
    may_import: tuple[str, ...]
    says: str
    banned_libraries: tuple[str, ...] = ()
    # Neutral ground may name a room's classes for type checking only, never load a room at run time.
    type_only_exempt: bool = False


RULES = (
    Rule("app.market", (), "market/ is pure: no aiohttp and nothing of app outside market/", ("aiohttp",)),
    Rule(
        "app.store",
        ("app.market", *NEUTRAL),
        "store/ (a feed that does I/O) imports only market/ and neutral ground, never api/ or ws/",
        ("aiohttp",),
    ),
    Rule(
        "app.importer",
        ("app.market", "app.store", *NEUTRAL),
        "importer/ (the command line's CSV import) imports only market/, store/ and neutral ground",
        ("aiohttp",),
    ),
    Rule("app.schemas", ("app.market", *NEUTRAL), "schemas/ imports only market/ and neutral ground"),
    Rule("app.api", ("app.market", "app.schemas", *NEUTRAL), "api/ never imports ws/ or web/"),
    Rule(
        "app.broker",
        ("app.market", *NEUTRAL),
        "broker/ (updates between processes) imports only market/ and neutral ground, never api/ or ws/",
        ("aiohttp",),
    ),
    Rule("app.ws", ("app.market", "app.schemas", "app.broker", *NEUTRAL), "ws/ never imports api/ or web/"),
    Rule("app.web", ("app.market", "app.schemas", *NEUTRAL), "web/ never imports api/ or ws/"),
    Rule(
        "app.observability",
        ("app.market", *NEUTRAL),
        "observability/ reads the other rooms' figures through neutral ground: it never imports api/, ws/ or web/",
    ),
    Rule("app.server", (), "server.py imports nothing of app: it is given its limits as numbers"),
    Rule("app.workers", (), "workers.py imports nothing of app: it is given the worker to run"),
    Rule("app.onefile", (), "onefile/ imports nothing of app: its launcher runs before the app is unpacked"),
    Rule("neutral ground", ("app.market", *NEUTRAL), "neutral ground loads no room but market/", type_only_exempt=True),
)


@dataclass(frozen=True)
class Import:
    module: str
    line: int
    type_only: bool


def module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(APP.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(path: Path, known: dict[str, Path]) -> Iterator[Import]:
    """Every module `path` imports, with `from package import module` resolved to the module."""

    def visit(node: ast.AST, type_only: bool) -> Iterator[Import]:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for statement in node.body:
                yield from visit(statement, True)
            for statement in node.orelse:
                yield from visit(statement, type_only)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(alias.name, node.lineno, type_only)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module_name(path).split(".")
                anchor = here[: len(here) - node.level + (path.name == "__init__.py")]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield Import(submodule if submodule in known else base, node.lineno, type_only)
        for child in ast.iter_child_nodes(node):
            yield from visit(child, type_only)

    yield from visit(ast.parse(path.read_text(), str(path)), False)


def rule_for(module: str) -> Rule | None:
    if module in WIRING:
        return None
    if module in NEUTRAL:
        return RULES[-1]
    return next((rule for rule in RULES if module == rule.room or module.startswith(f"{rule.room}.")), None)


def within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == prefix or module.startswith(f"{prefix}.") for prefix in prefixes)


def violations(rule: Rule) -> list[str]:
    known = modules()
    found = []
    for module, path in known.items():
        if rule_for(module) is not rule:
            continue
        own = () if rule.room == "neutral ground" else (rule.room,)
        for imported in imports(path, known):
            where = f"{path.relative_to(APP.parent)}:{imported.line} imports {imported.module}"
            allowed = (*own, *rule.may_import)
            if within(imported.module, rule.banned_libraries):
                found.append(f"{where}: {rule.says}")
            elif (
                within(imported.module, ("app",))
                and not within(imported.module, allowed)
                and not (imported.type_only and rule.type_only_exempt)
            ):
                found.append(f"{where}: {rule.says} (of app it may import only {', '.join(allowed) or 'nothing'})")
    return found


@pytest.mark.parametrize("rule", RULES, ids=[rule.room for rule in RULES])
def test_each_room_imports_only_what_its_rule_allows(rule: Rule) -> None:
    found = violations(rule)
    assert not found, "\n".join(found)


def test_every_module_of_app_is_in_a_room_neutral_ground_or_the_wiring() -> None:
    homeless = [module for module in modules() if module != "app" and rule_for(module) is None]
    assert sorted(homeless) == sorted(WIRING), f"modules without a rule (add a room to RULES): {homeless}"


def test_every_package_says_in_one_line_what_lives_there_and_what_it_may_import() -> None:
    for init in sorted(APP.rglob("__init__.py")):
        docstring = ast.get_docstring(ast.parse(init.read_text()))
        where = init.relative_to(APP.parent)
        assert docstring, f"{where} has no docstring naming its room and what it may import"
        assert "\n" not in docstring, f"{where}: the room's docstring is one line"
        assert "import" in docstring, f"{where}: the docstring says what the room may import"


def test_the_import_reader_sees_every_form_of_import(tmp_path: Path) -> None:
    """The rule is only as good as the parser: each form of import statement is recognised."""
    source = tmp_path / "probe.py"
    source.write_text(
        "import aiohttp.web\n"
        "from app.ws import hub\n"
        "from app import paths\n"
        "from app.api.errors import ApiError\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from app.ws.hub import Hub\n"
        "def late():\n"
        "    import app.web.page\n"
    )
    known = modules()
    found = [(i.module, i.type_only) for i in imports(source, known)]
    assert found == [
        ("aiohttp.web", False),
        ("app.ws.hub", False),
        ("app.paths", False),
        ("app.api.errors", False),
        ("typing", False),
        ("app.ws.hub", True),
        ("app.web.page", False),
    ]
