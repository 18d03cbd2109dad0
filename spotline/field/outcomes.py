"""The responder's outcome form: reading what was posted, and what the form and the saved
outcome show (in words, not codes).

A form always says what it was built from (``replaces``: empty for a new outcome, the
saved outcome's time for an edit), so a form of defaults left on a page can never
overwrite an outcome saved since.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import QueryDict
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from spotline.core.alerts import MAX_REPORT_TEXT, Sign, meaningful
from spotline.core.outcome import Referral, parse_referrals
from spotline.core.triage import Answer, Kind
from spotline.dispatch.models import EmsOutcome, Incident, Outcome
from spotline.dispatch.words import word

# The answers as the help page asks them (the same words, already translated there).
RESPONSIVE_WORDS = {Answer.YES.value: gettext_lazy("Yes"), Answer.NO.value: gettext_lazy("No"),
                    Answer.UNKNOWN.value: gettext_lazy("Don't know")}


# "Something unusual about this overdose?": the signs a responder can tick. They go to
# the alerts room as an anonymous report (the area cell and the hour, never the incident).
UNUSUAL = {
    Sign.SEVERAL_DOSES.value: gettext_lazy("Several naloxone doses were needed"),
    Sign.NALOXONE_NO_RESPONSE.value: gettext_lazy("Not responding to naloxone"),
    Sign.HEAVY_SEDATION.value: gettext_lazy(
        "Sedation that looks like xylazine or medetomidine (breathing, but would not wake)"),
    Sign.UNUSUAL_COLOUR.value: gettext_lazy("Unusual colour of the drug"),
    Sign.UNUSUAL_STAMP.value: gettext_lazy("Unusual stamp or look"),
}


def responsive_words(code: str) -> str:
    found = RESPONSIVE_WORDS.get(code)
    return str(found) if found is not None else word("answer", code)


def ems_words(code: str) -> str:
    return capfirst(word("ems", code))


@dataclass(frozen=True)
class OutcomeInput:
    naloxone_doses: int
    responsive_after: Answer
    ems: EmsOutcome
    referrals: list[Referral]
    notes: str
    replaces: datetime | None
    unusual: list[str]  # Sign codes ticked under "something unusual"
    unusual_words: str

    @property
    def has_unusual(self) -> bool:
        return bool(self.unusual or self.unusual_words)


def _unusual(post: QueryDict) -> tuple[list[str], str] | str:
    """The ticked signs and the words of "something unusual", or what to fix."""
    signs = list(dict.fromkeys(post.getlist("unusual")))
    if any(s not in UNUSUAL for s in signs):
        return _("Choose what was unusual from the list.")
    words = post.get("unusual_words", "").strip()
    # Counted as the report counts it (NFKC can make one character many).
    if "\x00" in words or len(unicodedata.normalize("NFKC", words)) > MAX_REPORT_TEXT:
        return _("What was unusual is up to %(n)s characters of text.") % {"n": MAX_REPORT_TEXT}
    if words and not meaningful(words):
        return _("Say what was unusual in words (letters or numbers).")
    return signs, words


def parse(post: QueryDict) -> OutcomeInput | str:
    """What the form says, or the message telling the responder what to fix."""
    try:
        doses = int(post.get("naloxone_doses", ""))
    except ValueError:
        doses = -1
    if not 0 <= doses <= 20:
        return _("Naloxone doses must be a number from 0 to 20.")
    referrals, unknown = parse_referrals(post.getlist("referrals"))
    if unknown:
        return _("Unknown referral: %(unknown)s. Choose from: %(known)s.") % {
            "unknown": ", ".join(unknown),
            "known": ", ".join(word("referral", r.value) for r in Referral)}
    notes = post.get("notes", "")
    if "\x00" in notes or len(notes) > 2000:
        return _("Notes are up to 2000 characters of text.")
    # No defaults: an answer nobody chose is not recorded as one.
    try:
        responsive_after = Answer(post.get("responsive_after", ""))
        ems = EmsOutcome(post.get("ems", ""))
    except ValueError:
        return _("Choose an answer for 'Responsive afterwards?' and 'Ambulance'.")
    replaces: datetime | None = None
    token = post.get("replaces", "")
    if token:
        try:
            replaces = datetime.fromisoformat(token)
        except ValueError:
            replaces = None
        if replaces is None or replaces.tzinfo is None:
            return _("This form is out of date: open the outcome again.")
    unusual = _unusual(post)
    if isinstance(unusual, str):
        return unusual
    return OutcomeInput(doses, responsive_after, ems, referrals, notes, replaces, *unusual)


def form_values(incident: Incident, saved: Outcome | None,
                posted: QueryDict | None = None) -> dict[str, Any]:
    """What the form shows: what was just posted (to fix a mistake), else the saved
    outcome, else a blank one with no answer chosen for "responsive afterwards"."""
    if posted is not None:
        doses: Any = posted.get("naloxone_doses", "")
        responsive, ems = posted.get("responsive_after", ""), posted.get("ems", "")
        referrals = set(parse_referrals(posted.getlist("referrals"))[0])
        notes, replaces = posted.get("notes", ""), posted.get("replaces", "")
        unusual, unusual_words = set(posted.getlist("unusual")), posted.get("unusual_words", "")
    elif saved is not None:
        doses, responsive, ems = saved.naloxone_doses, saved.responsive_after, saved.ems
        referrals = set(saved.referrals)
        notes, replaces = saved.notes, saved.recorded_at.isoformat()
        unusual, unusual_words = set(), ""
    else:
        doses, responsive, ems = 0, "", EmsOutcome.NOT_NEEDED.value
        referrals, notes, replaces = set(), "", ""
        unusual, unusual_words = set(), ""
    return {
        "incident": incident, "naloxone_doses": doses, "responsive_after": responsive,
        "ems": ems, "notes": notes, "replaces": replaces,
        "responsive_choices": [(code, str(label)) for code, label in RESPONSIVE_WORDS.items()],
        "ems_choices": [(e.value, ems_words(e.value)) for e in EmsOutcome],
        "referral_choices": [(r.value, word("referral", r.value), r.value in referrals)
                             for r in Referral],
        # Asked with a new overdose outcome only: an edit would report it twice.
        "ask_unusual": incident.kind == Kind.OVERDOSE.value and not replaces,
        "unusual_choices": [(code, str(label), code in unusual)
                            for code, label in UNUSUAL.items()],
        "unusual_words": unusual_words,
    }


def summary(saved: Outcome) -> dict[str, Any]:
    """The saved outcome, in words."""
    return {
        "naloxone_doses": saved.naloxone_doses,
        "responsive_after": responsive_words(saved.responsive_after),
        "ems": ems_words(saved.ems),
        "referrals": [word("referral", r) for r in saved.referrals],
        "notes": saved.notes,
        "recorded_at": saved.recorded_at,
    }
