"""An import-linter contract of our own: no module imports another's private name.

A name that starts with one underscore (``_lock``, ``_arm``) is the module's own
business; when another module needs it, it gets a public name. ``from x import _y``
(and ``import x._y``, a private module) across modules breaks the contract; a
package's own ``__init__`` re-importing from its modules does too, since we keep
``__init__`` files free of code. Dunders (``__version__``) are not private.

Configured in ``pyproject.toml`` (``[tool.importlinter]``, ``contract_types``) and run
by ``lint-imports`` and ``spotline/tests/test_import_rules.py``.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from typing import Any

import grimp
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_imports(source: str) -> list[tuple[int, str, list[str]]]:
    """(line, module, private names) for every import in ``source`` that takes a private
    name or a private module (parenthesised, multi-line imports included)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            names = [a.name for a in node.names if is_private(a.name)]
            names += [p for p in (node.module or "").split(".") if is_private(p)]
            if names:
                found.append((node.lineno, node.module or "", names))
        elif isinstance(node, ast.Import):
            for a in node.names:
                names = [p for p in a.name.split(".") if is_private(p)]
                if names:
                    found.append((node.lineno, a.name, names))
    return found


class PrivateNamesContract(Contract):
    """Modules under ``containers`` never import a private name from another module."""

    type_name = "private_names"

    containers = fields.ListField(subfield=fields.StringField())
    ignore_importers = fields.ListField(subfield=fields.StringField(), required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        ignored = tuple(self.ignore_importers or ())  # type: ignore[arg-type]
        illegal: list[dict[str, Any]] = []
        for container in self.containers:  # type: ignore[attr-defined]
            modules = {container, *graph.find_descendants(container)}
            for importer in sorted(modules):
                if any(importer == p or importer.startswith(p + ".") for p in ignored):
                    continue
                spec = importlib.util.find_spec(importer)
                if spec is None or not spec.origin or not spec.origin.endswith(".py"):
                    continue
                source = Path(spec.origin).read_text(encoding="utf-8")
                for line, imported, names in private_imports(source):
                    illegal.append({"importer": importer, "imported": imported,
                                    "line": line, "names": names})
        return ContractCheck(kept=not illegal, metadata={"illegal": illegal})

    def render_broken_contract(self, check: ContractCheck) -> None:
        output.print_error("Private names imported across modules (give them public names):",
                           bold=False)
        output.new_line()
        for item in check.metadata["illegal"]:
            output.print_error(f"- {item['importer']} (l.{item['line']}) takes "
                               f"{', '.join(item['names'])} from {item['imported']}",
                               bold=False)
        output.new_line()
