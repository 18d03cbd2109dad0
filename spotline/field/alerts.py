"""Drug alerts on the responder's side: the current alerts where the responder is, and
"something unusual about this overdose" sent on as an anonymous report.

The report carries the incident's coarse area cell and the hour (``report_receive``
keeps no finer time), never the incident: nothing in it links back to a person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from spotline.alerts.actions.areas import areas_with_cell, current_alerts
from spotline.alerts.actions.reports import report_receive
from spotline.alerts.models import Alert, Report, ReportSource
from spotline.alerts.words import SEVERITIES, SUBSTANCES
from spotline.core.geo import Point, area_cell
from spotline.dispatch.models import Incident
from spotline.field.outcomes import OutcomeInput
from spotline.responders.models import Responder

SHOWN = 10


@dataclass(frozen=True)
class AlertLine:
    alert: Alert
    substance: str
    severity: str
    areas: list[str]


@dataclass(frozen=True)
class AlertsHere:
    lines: list[AlertLine]
    located: bool  # False: no location known (off shift), so every current alert


def alerts_for(responder: Responder, *, now: datetime) -> AlertsHere:
    """Current alerts in the areas that hold the responder's area cell; every current
    alert when the responder's place is not known (off shift)."""
    alerts = current_alerts(now)
    lat, lon = responder.lat, responder.lon
    located = lat is not None and lon is not None
    if lat is not None and lon is not None:
        here = areas_with_cell(area_cell(Point(lat=lat, lon=lon)))
        alerts = alerts.filter(areas__in=[a.pk for a in here]).distinct()
    lines = [AlertLine(alert=a, substance=str(SUBSTANCES.get(a.substance, a.substance)),
                       severity=str(SEVERITIES.get(a.severity, a.severity)),
                       areas=[x.name for x in a.areas.all()])
             for a in alerts.prefetch_related("areas")[:SHOWN]]
    return AlertsHere(lines=lines, located=located)


def unusual_report(incident: Incident, parsed: OutcomeInput, *, now: datetime) -> Report:
    """A responder's "something unusual" as an anonymous report: the signs, the words,
    the incident's area cell; no incident id, no time finer than the hour."""
    return report_receive(source=ReportSource.RESPONDER.value, now=now,
                          signs=parsed.unusual, what_happened=parsed.unusual_words,
                          cell=incident.area)
