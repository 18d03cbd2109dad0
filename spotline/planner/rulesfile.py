"""Read a rule table from TOML (the shipped one) or CSV (a spreadsheet an organizer keeps).

TOML: ``[[rule]]`` tables with ``name``, ``class``, ``reason``, ``words``, ``patterns``,
``unless``; ``[[pin]]`` tables with ``code``, ``class``, ``reason``; ``replace = true``
at the top to use only this file. CSV: one row per rule with the columns ``name, class,
reason, words, patterns, unless`` (several words separated by ``;``), and a row with a
``code`` is a pin. The matching itself is ``spotline.core.plan.classify``.
"""

from __future__ import annotations

import csv
import io
import tomllib
from pathlib import Path
from typing import Any

from spotline.core.plan.classify import RuleError, RuleTable, extend, make_table

DEFAULT_RULES = Path(__file__).resolve().parent / "rules" / "default.toml"
MAX_RULES_BYTES = 5 * 1024 * 1024


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(";") if part.strip()]


def _from_csv(text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], bool]:
    reader = csv.DictReader(io.StringIO(text))
    fields = {f.strip().lower() for f in reader.fieldnames or ()}
    if "class" not in fields:
        raise RuleError("a CSV rule table needs a 'class' column (and name, reason, words)")
    rules: list[dict[str, Any]] = []
    pins: list[dict[str, Any]] = []
    for row in reader:
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        if row.get("code"):
            pins.append({"code": row["code"], "class": row.get("class"),
                         "reason": row.get("reason")})
        elif any(row.values()):
            rules.append({"name": row.get("name"), "class": row.get("class"),
                          "reason": row.get("reason"), "words": _split(row.get("words")),
                          "patterns": _split(row.get("patterns")),
                          "unless": _split(row.get("unless"))})
    return rules, pins, False


def _from_toml(text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], bool]:
    data = tomllib.loads(text)
    unknown = set(data) - {"rule", "pin", "replace"}
    if unknown:
        raise RuleError(f"unknown key(s) at the top: {', '.join(sorted(unknown))} "
                        "(expected [[rule]], [[pin]] and replace)")
    rules, pins = data.get("rule", []), data.get("pin", [])
    if not isinstance(rules, list) or not isinstance(pins, list):
        raise RuleError("write rules as [[rule]] and pins as [[pin]]")
    return rules, pins, bool(data.get("replace", False))


def read_rules(path: Path) -> tuple[RuleTable, bool]:
    """The table in ``path`` and whether it replaces the shipped one; ``RuleError`` with
    the file's name when it cannot be used."""
    try:
        if path.stat().st_size > MAX_RULES_BYTES:
            raise RuleError("is larger than 5 MB; a rule table is a few hundred lines")
        text = path.read_bytes().decode("utf-8-sig")
        rules, pins, replace = (_from_csv(text) if path.suffix.lower() == ".csv"
                                else _from_toml(text))
        return make_table(rules, pins), replace
    except OSError as exc:
        raise RuleError(f"{path.name}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise RuleError(f"{path.name}: is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{path.name}: is not valid TOML ({exc})") from None
    except RuleError as exc:
        raise RuleError(f"{path.name}: {exc}") from None


def load_rules(override: Path | None = None) -> RuleTable:
    """The shipped table, with a city's file over it when one is given."""
    base, _ = read_rules(DEFAULT_RULES)
    if override is None:
        return base
    mine, replace = read_rules(override)
    return extend(base, mine, replace=replace)
