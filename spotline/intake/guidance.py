"""First-aid guidance: the coordinator's text if set, else Spotline's defaults."""

from __future__ import annotations

from django.utils.translation import gettext as _

from spotline.core.triage import Kind
from spotline.intake.models import Guidance


def default_steps(kind: str) -> list[str]:
    if kind == Kind.OVERDOSE:
        return [
            _("Give naloxone if you have it: one spray in a nostril. Give another after "
              "2-3 minutes if there is no response."),
            _("If they are not breathing: tilt the head back, lift the chin, give one "
              "breath every 5 seconds."),
            _("If they are breathing: put them on their side (recovery position) and stay "
              "with them."),
        ]
    if kind == Kind.MENTAL_HEALTH:
        return [
            _("Stay calm and stay nearby if it is safe."),
            _("Speak slowly. Listen. You do not have to fix anything."),
            _("Move anything dangerous out of reach if you can do so safely."),
        ]
    if kind == Kind.MEDICAL:
        return [
            _("Keep them still and warm."),
            _("Press firmly on any bleeding with a clean cloth."),
            _("If they stop breathing, start rescue breaths."),
        ]
    return [_("Stay with the person if it is safe. Help is on the way.")]


def steps_for(kind: str, language: str) -> list[str]:
    row = (Guidance.objects.filter(kind=kind, language=language).first()
           or Guidance.objects.filter(kind=kind, language="en").first())
    if row is not None and row.text.strip():
        return [line.strip() for line in row.text.splitlines() if line.strip()]
    return default_steps(kind)
