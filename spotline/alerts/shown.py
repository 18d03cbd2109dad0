"""An alert as the public pages show it, in the reader's language.

Only what the alert itself says: the fixed codes in words, the areas' names, the
checked free text, and times to the hour (the expiry rounded up: an alert never looks
shorter than it is). No point, no person, no incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import override

from spotline.alerts import cap
from spotline.alerts.models import Alert, AlertStatus
from spotline.alerts.words import ADVICE, SEVERITIES, SIGNS


@dataclass(frozen=True)
class Shown:
    id: int
    status: str
    headline: str
    areas: list[str]
    severity: str  # in words
    severity_code: str
    signs: list[str]
    text: str
    advice: list[str]
    expires: datetime  # to the hour, rounded up
    published: datetime | None  # to the hour
    newer_id: int | None  # superseded: the alert that replaces it now

    @property
    def cancelled(self) -> bool:
        return self.status == AlertStatus.CANCELLED

    @property
    def superseded(self) -> bool:
        return self.status == AlertStatus.SUPERSEDED


def hour_up(moment: datetime) -> datetime:
    local = timezone.localtime(moment)
    floor = local.replace(minute=0, second=0, microsecond=0)
    return floor if floor == local else floor + timedelta(hours=1)


def hour_down(moment: datetime) -> datetime:
    return timezone.localtime(moment).replace(minute=0, second=0, microsecond=0)


def newest(alert: Alert) -> Alert:
    """The alert that now stands for ``alert``: itself, or the last of its updates."""
    seen = {alert.pk}
    while alert.status == AlertStatus.SUPERSEDED:
        newer = Alert.objects.filter(replaces=alert).exclude(status=AlertStatus.DRAFT).first()
        if newer is None or newer.pk in seen:
            break
        seen.add(newer.pk)
        alert = newer
    return alert


def shown(alert: Alert, language: str) -> Shown:
    with override(language):
        signs = [str(SIGNS[s]) for s in alert.signs if s in SIGNS]
        advice = [str(ADVICE[a]) for a in alert.advice if a in ADVICE]
        severity = str(SEVERITIES.get(alert.severity, alert.severity))
    if alert.advice_text:
        advice.append(alert.advice_text)
    newer = newest(alert) if alert.status == AlertStatus.SUPERSEDED else None
    return Shown(
        id=alert.pk, status=alert.status, headline=cap.headline(alert, language),
        areas=sorted(area.name for area in alert.areas.all()), severity=severity,
        severity_code=alert.severity, signs=signs, text=alert.text, advice=advice,
        expires=hour_up(alert.expires),
        published=hour_down(alert.published_at) if alert.published_at else None,
        newer_id=newer.pk if newer is not None and newer.pk != alert.pk else None,
    )
