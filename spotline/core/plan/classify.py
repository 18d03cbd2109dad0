"""Which calls for service a community team could take: a rule table over call types.

A city's calls carry a call type (a code, a description or both). The rule table maps
each type to one of four classes, with the reason a person can check:

- ``community``: a team like CAHOOTS or STAR takes it alone (a welfare check, a mental
  health crisis without weapons, an overdose, intoxication, someone sleeping outside,
  suicidal thoughts without the means at hand);
- ``community_with_backup``: a team with a safety protocol (a disturbance, a crisis
  described as violent);
- ``ems_only``: a medical emergency for an ambulance;
- ``not_eligible``: crime, traffic, weapons, alarms, fire, and police work itself.

A type that no rule matches is ``unknown``: a person decides. Rules are tried in order
and the first that matches wins, so a specific rule (a weapon, domestic violence) stands
before a general one (a mental health crisis). A city can also pin a code to a class:
pins are looked up first, by the exact code.

A rule matches by ``words`` (phrases at word boundaries, case-insensitive; a ``*``
after a word matches any ending, so ``SUICID*`` finds SUICIDE and SUICIDAL; the words of
a phrase may be separated by any punctuation, so ``TRBL W SUBJ`` finds ``TRBL W/SUBJ``)
and ``patterns`` (regular expressions for what words cannot say), unless one of its
``unless`` words is there too. This module takes plain data (the TOML or CSV is read by
``spotline.planner.rulesfile``) and never sees a call, only its type.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class CallClass(StrEnum):
    COMMUNITY = "community"
    COMMUNITY_WITH_BACKUP = "community_with_backup"
    EMS_ONLY = "ems_only"
    NOT_ELIGIBLE = "not_eligible"
    UNKNOWN = "unknown"


#: The classes a rule may give (``unknown`` is what no rule gives).
RULE_CLASSES = tuple(c for c in CallClass if c is not CallClass.UNKNOWN)
#: The classes a community team could take, alone or with a safety protocol.
TEAM_CLASSES = (CallClass.COMMUNITY, CallClass.COMMUNITY_WITH_BACKUP)


class RuleError(ValueError):
    """A rule table that cannot be used; the message names the rule and what is wrong."""


def word_regex(phrase: str) -> str:
    """The regular expression for one phrase of ``words``."""
    # Any word of a phrase may end in "*": "INTOX* DRIVER" finds INTOXICATED DRIVER.
    tokens = re.findall(r"([A-Z0-9]+)(\*?)", phrase.strip().upper())
    if not tokens:
        raise RuleError(f"the word {phrase!r} has no letters or digits")
    body = r"[^A-Z0-9]*".join(re.escape(t) + (r"[A-Z0-9]*" if star else "")
                              for t, star in tokens)
    return r"(?<![A-Z0-9])" + body + r"(?![A-Z0-9])"


def _compile(name: str, words: Sequence[str], patterns: Sequence[str]) -> re.Pattern[str] | None:
    try:
        parts = [word_regex(w) for w in words]
    except RuleError as exc:
        raise RuleError(f"rule {name!r}: {exc}") from None
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise RuleError(f"rule {name!r}: the pattern {pattern!r} is not a regular "
                            f"expression ({exc})") from None
        parts.append(f"(?:{pattern})")
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


@dataclass(frozen=True)
class Rule:
    name: str
    klass: CallClass
    reason: str
    words: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    matcher: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    veto: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def matches(self, text: str) -> bool:
        if self.matcher is None or not self.matcher.search(text):
            return False
        return self.veto is None or not self.veto.search(text)


@dataclass(frozen=True)
class Pin:
    """One city's code, pinned to a class whatever its description says."""

    code: str
    klass: CallClass
    reason: str


@dataclass(frozen=True)
class Verdict:
    klass: CallClass
    rule: str  # the rule's name, "pin:CODE", or "" when nothing matched
    reason: str


@dataclass(frozen=True)
class RuleTable:
    rules: tuple[Rule, ...]
    pins: Mapping[str, Pin]

    def classify(self, *, code: str, description: str = "") -> Verdict:
        """The class of one call type: a pin on its code, else the first rule that
        matches its description (or the code itself when there is no description)."""
        pin = self.pins.get(normal_code(code))
        if pin is not None:
            return Verdict(pin.klass, f"pin:{pin.code}", pin.reason)
        text = normal_text(description or code)
        for rule in self.rules:
            if rule.matches(text):
                return Verdict(rule.klass, rule.name, rule.reason)
        return Verdict(CallClass.UNKNOWN, "", "no rule matches: a person decides")


def normal_code(code: str) -> str:
    return " ".join(code.split()).upper()


def normal_text(text: str) -> str:
    return " ".join(text.split()).upper()


def _strings(name: str, key: str, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise RuleError(f"rule {name!r}: {key} must be a list of strings")
    return tuple(v for v in value if v.strip())


def _klass(where: str, value: object) -> CallClass:
    if value not in RULE_CLASSES:
        raise RuleError(f"{where}: class must be one of {', '.join(RULE_CLASSES)}, "
                        f"not {value!r}")
    return CallClass(str(value))


def make_rule(entry: Mapping[str, object]) -> Rule:
    """One rule from plain data: ``name``, ``class``, ``reason``, ``words``,
    ``patterns``, ``unless``."""
    name = str(entry.get("name") or "").strip()
    if not name:
        raise RuleError("a rule has no name")
    unknown = set(entry) - {"name", "class", "reason", "words", "patterns", "unless"}
    if unknown:
        raise RuleError(f"rule {name!r}: unknown key(s) {', '.join(sorted(unknown))}")
    klass = _klass(f"rule {name!r}", entry.get("class"))
    reason = str(entry.get("reason") or "").strip()
    if not reason:
        raise RuleError(f"rule {name!r} has no reason")
    words = _strings(name, "words", entry.get("words"))
    patterns = _strings(name, "patterns", entry.get("patterns"))
    unless = _strings(name, "unless", entry.get("unless"))
    if not words and not patterns:
        raise RuleError(f"rule {name!r} has neither words nor patterns")
    matcher = _compile(name, words, patterns)
    veto = _compile(name, unless, ())
    return Rule(name, klass, reason, words, patterns, unless, matcher, veto)


def make_pin(entry: Mapping[str, object]) -> Pin:
    code = normal_code(str(entry.get("code") or ""))
    if not code:
        raise RuleError("a pin has no code")
    reason = str(entry.get("reason") or "").strip() or "pinned by this city"
    return Pin(code, _klass(f"pin {code!r}", entry.get("class")), reason)


def make_table(rules: Iterable[Mapping[str, object]],
               pins: Iterable[Mapping[str, object]] = ()) -> RuleTable:
    built = [make_rule(r) for r in rules]
    names = [r.name for r in built]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise RuleError(f"rule name(s) used twice: {', '.join(twice)}")
    pinned = {p.code: p for p in (make_pin(p) for p in pins)}
    return RuleTable(tuple(built), pinned)


def extend(base: RuleTable, override: RuleTable, *, replace: bool = False) -> RuleTable:
    """A city's table over the shipped one.

    A city rule with the name of a shipped rule takes its place (and its position); the
    city's other rules go before all shipped ones, so they win; pins are merged, the
    city's winning. With ``replace`` only the city's table counts.
    """
    if replace:
        return override
    mine = {r.name: r for r in override.rules}
    kept = tuple(mine.pop(r.name, r) for r in base.rules)
    new = tuple(r for r in override.rules if r.name in mine)
    return RuleTable(new + kept, {**base.pins, **override.pins})
