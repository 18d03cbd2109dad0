"""The import rules hold (docs/architecture.md), and each rule would catch a breach.

The rules live in ``pyproject.toml`` (``[tool.importlinter]``): rooms are layered (a
room imports only rooms below it; live pushes after commit are the one exception), no
two rooms (nor two modules of a room) import each other in a circle, and no module
imports another's private name. ``lint-imports`` runs them in ``make test``; these tests
run the same contracts on the real package, and on a small package made to break each
one, so a rule that silently stopped checking would fail here.
"""

from __future__ import annotations

import pkgutil
import textwrap
import tomllib
from pathlib import Path

import pytest
from importlinter.application.use_cases import SUCCESS, lint_imports
from importlinter.configuration import configure

import spotline
from spotline.tests.importrules import private_imports

PYPROJECT = Path(spotline.__file__).resolve().parent.parent / "pyproject.toml"
NOT_ROOMS = {"tests", "conftest", "migrations"}

configure()  # what the lint-imports command does first: file readers, graph builder


def lint(config: Path, contract: str | None = None) -> bool:
    """``lint-imports`` in this process: True when the contract(s) are kept."""
    return lint_imports(config_filename=str(config), cache_dir=None, no_logo=True,
                        limit_to_contracts=(contract,) if contract else ()) == SUCCESS


def test_the_package_keeps_every_import_rule(capsys: pytest.CaptureFixture[str]) -> None:
    kept = lint(PYPROJECT)
    out = capsys.readouterr().out
    assert kept, out
    assert "3 kept, 0 broken" in out


def test_every_room_has_a_place_in_the_layers() -> None:
    """A new app or top-level module must be given its layer, or it goes unchecked."""
    config = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]
    [layers] = [c["layers"] for c in config["contracts"] if c["type"] == "layers"]
    listed = {name.strip().removeprefix("spotline.")
              for layer in layers for name in layer.split("|")}
    present = {m.name for m in pkgutil.iter_modules(spotline.__path__)} - NOT_ROOMS
    assert present - listed == set(), "add these to the layers in pyproject.toml"
    assert listed - present == set(), "these layers name nothing"


# -- each rule catches a breach ----------------------------------------------------------

FILES = {
    "app/__init__.py": "",
    "app/core/__init__.py": "",
    "app/core/geo.py": "def distance(): return 1\n",
    "app/dispatch/__init__.py": "",
    "app/dispatch/locks.py": "def _lock(): pass\ndef lock(): pass\n",
    "app/dispatch/actions.py": "from app.core.geo import distance\n"
                               "from app.dispatch.locks import lock\n",
    "app/intake/__init__.py": "",
    "app/intake/sms.py": "from app.dispatch.actions import lock\n",
}


def make_package(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


CONFIG = """
[tool.importlinter]
root_package = "app"
contract_types = ["private_names: spotline.tests.importrules.PrivateNamesContract"]

[[tool.importlinter.contracts]]
id = "layers"
name = "layers"
type = "layers"
layers = ["app.intake", "app.dispatch", "app.core"]

[[tool.importlinter.contracts]]
id = "acyclic"
name = "acyclic"
type = "acyclic_siblings"
ancestors = ["app"]

[[tool.importlinter.contracts]]
id = "private"
name = "private"
type = "private_names"
containers = ["app"]
"""


def broken(root: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]) -> set[str]:
    """Which of the three contracts the package made of ``files`` breaks.

    Each test's package gets a name of its own: Python caches an imported package by
    name, and the linter finds the package through that cache.
    """
    name = f"app_{root.name.replace('-', '_')}"

    def named(text: str) -> str:
        return text.replace("app", name)

    make_package(root, {named(k): named(v) for k, v in {**files, "pyproject.toml": CONFIG}.items()})
    monkeypatch.syspath_prepend(str(root))
    return {c for c in ("layers", "acyclic", "private") if not lint(root / "pyproject.toml", c)}


def test_a_tidy_package_keeps_all_three(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert broken(tmp_path, monkeypatch, FILES) == set()


def test_an_upward_import_breaks_the_layers(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    files = {**FILES, "app/core/geo.py": "from app.intake import sms\n"}
    assert "layers" in broken(tmp_path, monkeypatch, files)


def test_a_cycle_between_rooms_breaks_acyclic(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    files = {**FILES, "app/dispatch/locks.py": "from app.intake import sms\n"}
    assert "acyclic" in broken(tmp_path, monkeypatch, files)


def test_a_cycle_inside_a_room_breaks_acyclic(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    files = {**FILES, "app/dispatch/locks.py": "from app.dispatch import actions\n"}
    assert broken(tmp_path, monkeypatch, files) == {"acyclic"}


def test_a_private_name_across_modules_breaks_private(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {**FILES, "app/dispatch/actions.py": "from app.dispatch.locks import (\n"
                                                 "    lock,\n    _lock,\n)\n"}
    assert broken(tmp_path, monkeypatch, files) == {"private"}


@pytest.mark.parametrize(("source", "names"), [
    ("from x import _a, b", ["_a"]),
    ("from x._y import b", ["_y"]),
    ("import x._y", ["_y"]),
    ("from x import __version__", []),
    ("from x import (\n    a,\n    _b as c,\n)", ["_b"]),
])
def test_it_reads_private_names_from_any_import_form(source: str, names: list[str]) -> None:
    assert [n for _, _, found in private_imports(source) for n in found] == names


# -- small modules ------------------------------------------------------------------------

MAX_LINES = 400
# A flat list of declarations read top to bottom: split with star imports, it would hide
# where each setting comes from.
LONG_ON_PURPOSE = {"settings.py"}


def test_no_module_is_over_about_400_lines() -> None:
    """A module that grows past this is split into cohesive ones (as dispatch/actions/
    was); tests and migrations are not held to it."""
    root = Path(spotline.__file__).resolve().parent
    long = {
        str(path.relative_to(root)): n
        for path in root.rglob("*.py")
        if not {"tests", "migrations"} & set(path.relative_to(root).parts)
        and path.name != "conftest.py"
        and str(path.relative_to(root)) not in LONG_ON_PURPOSE
        and (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
