"""What the fixed codes of an alert say, in the reader's language (gettext)."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from spotline.core.alerts import Advice, Method, Severity, Sign, Substance

SUBSTANCES: dict[str, Promise] = {
    Substance.FENTANYL: _("fentanyl"),
    Substance.NITAZENES: _("nitazenes or carfentanil (stronger than fentanyl)"),
    Substance.XYLAZINE: _("xylazine (tranq)"),
    Substance.MEDETOMIDINE: _("medetomidine"),
    Substance.BENZODIAZEPINES: _("benzodiazepines in opioids (benzo dope)"),
    Substance.STIMULANTS: _("opioids in stimulants (cocaine, meth)"),
    Substance.UNKNOWN: _("an unknown toxic substance"),
}

SIGNS: dict[str, Promise] = {
    Sign.SEVERAL_DOSES: _("several naloxone doses needed"),
    Sign.NALOXONE_NO_RESPONSE: _("not waking up after naloxone"),
    Sign.HEAVY_SEDATION: _("heavy, long sedation"),
    Sign.WOUNDS: _("wounds that do not heal"),
    Sign.SEIZURES: _("seizures"),
    Sign.UNUSUAL_COLOUR: _("unusual colour"),
    Sign.UNUSUAL_STAMP: _("unusual stamp or look"),
    Sign.UNEXPECTED_RESULT: _("drug checking found something other than expected"),
    Sign.MANY_OVERDOSES: _("more overdoses than usual"),
}

ADVICE: dict[str, Promise] = {
    Advice.CARRY_NALOXONE: _("Carry naloxone and know how to use it."),
    Advice.DONT_USE_ALONE: _("Don't use alone; if you do, use a check-in."),
    Advice.USE_CHECKIN: _("Start a check-in before you use: text SPOT to this number."),
    Advice.TEST_DRUGS: _("Test your drugs: free drug checking is available."),
    Advice.START_LOW: _("Start low and go slow: try a small amount first."),
    Advice.RECOVERY_POSITION: _("If someone stays sedated after naloxone, keep them in the "
                                "recovery position and keep checking their breathing."),
    Advice.WOUND_CARE: _("Get wounds looked at early."),
}

SEVERITIES: dict[str, Promise] = {
    Severity.MINOR: _("minor"), Severity.MODERATE: _("moderate"),
    Severity.SEVERE: _("severe"), Severity.EXTREME: _("extreme"),
}

METHODS: dict[str, Promise] = {
    Method.FTIR: _("FTIR spectrometer"), Method.TEST_STRIP: _("test strip"),
    Method.LAB: _("laboratory"), Method.OTHER: _("other"),
}


def said(words: dict[str, Promise], code: str, language: str) -> str:
    with override(language):
        return str(words.get(code, code))
