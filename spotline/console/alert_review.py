"""What the alerts review page shows (reads only, apart from the audit of the reports'
words): open spike signals with their numbers, new reports, drafts, and current and
recent alerts with their timelines and fan-out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from spotline.alerts.actions.areas import areas_with_cell, current_alerts
from spotline.alerts.actions.fanout import progress
from spotline.alerts.models import (
    Alert,
    AlertStatus,
    Report,
    ReportStatus,
    Signal,
    SignalStatus,
)
from spotline.alerts.words import METHODS, SEVERITIES, SIGNS, SUBSTANCES
from spotline.audit.actions import atomic, record
from spotline.console.alert_forms import SOURCES
from spotline.console.alert_words import event_sentence, signal_sentence

RECENT = timedelta(days=7)  # ended alerts stay on the page this long
SHOWN = 100  # reports and alerts listed at most


def words(table: dict[str, Any], codes: list[str]) -> list[str]:
    return [str(table.get(c, c)) for c in codes]


@dataclass
class ReportRow:
    report: Report
    source: str
    where: str
    substance: str
    signs: list[str]
    found: list[str]
    expected: str
    method: str
    looked_like: str
    what_happened: str


def report_row(report: Report) -> ReportRow:
    if report.area is not None:
        where = report.area.name
    else:
        where = ", ".join(a.name for a in areas_with_cell(report.cell)) if report.cell else ""
    return ReportRow(
        report=report, source=str(SOURCES.get(report.source, report.source)), where=where,
        substance=str(SUBSTANCES.get(report.substance, "")) if report.substance else "",
        signs=words(SIGNS, report.signs), found=words(SUBSTANCES, report.found),
        expected=str(SUBSTANCES.get(report.expected, "")) if report.expected else "",
        method=str(METHODS.get(report.method, "")) if report.method else "",
        looked_like=report.looked_like or "", what_happened=report.what_happened or "")


def reports_shown(reports: list[Report], *, user_id: int, now: datetime) -> list[ReportRow]:
    """The reports in words. Showing a person's words to a coordinator is a look at
    sealed text: one audit entry per report whose words are on the page."""
    rows = [report_row(r) for r in reports]
    with atomic():
        for row in rows:
            if row.looked_like or row.what_happened:
                record("report.view", object_type="report", object_id=row.report.pk, now=now,
                       actor="user", actor_user_id=user_id, fields=["report_text"])
    return rows


@dataclass
class AlertRow:
    alert: Alert
    substance: str
    severity: str
    signs: list[str]
    areas: list[str]
    author: str
    timeline: list[tuple[datetime, str]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)


def _names(user_ids: set[int]) -> dict[int, str]:
    return {u.pk: u.get_username() for u in get_user_model().objects.filter(pk__in=user_ids)}


def alert_rows(alerts: list[Alert], *, history: bool) -> list[AlertRow]:
    ids = {a.author_id for a in alerts if a.author_id}
    events = {a.pk: list(a.events.all()) for a in alerts} if history else {}
    ids |= {e.user_id for es in events.values() for e in es if e.user_id}
    names = _names(ids)
    rows = []
    for a in alerts:
        row = AlertRow(alert=a, substance=str(SUBSTANCES.get(a.substance, a.substance)),
                       severity=str(SEVERITIES.get(a.severity, a.severity)),
                       signs=words(SIGNS, a.signs),
                       areas=[x.name for x in a.areas.all()],
                       author=names.get(a.author_id or 0, "") if a.author_id else "")
        if history:
            row.timeline = [(e.at, event_sentence(e, names)) for e in events[a.pk]]
            row.sent = [{"type": m.msg_type, "identifier": m.identifier, **progress(m)}
                        for m in a.cap_messages.order_by("sent", "pk")]
        rows.append(row)
    return rows


def review(*, user_id: int, now: datetime | None = None) -> dict[str, Any]:
    """Everything the review page shows."""
    now = now or timezone.now()
    signals = list(Signal.objects.filter(status=SignalStatus.OPEN)
                   .select_related("area", "alert").order_by("-detected_at")[:SHOWN])
    reports = list(Report.objects.filter(status=ReportStatus.NEW, purged_at__isnull=True)
                   .select_related("area").order_by("-received_hour", "-pk")[:SHOWN])
    drafts = list(Alert.objects.filter(status=AlertStatus.DRAFT)
                  .prefetch_related("areas").order_by("-updated_at")[:SHOWN])
    current = list(current_alerts(now).prefetch_related("areas")[:SHOWN])
    ended = list(Alert.objects.exclude(status=AlertStatus.DRAFT)
                 .exclude(pk__in=[a.pk for a in current])
                 .filter(Q(updated_at__gte=now - RECENT) | Q(expires__gte=now - RECENT))
                 .prefetch_related("areas").order_by("-updated_at")[:SHOWN])
    return {
        "now": now,
        "signals": [(s, signal_sentence(s)) for s in signals],
        "reports": reports_shown(reports, user_id=user_id, now=now),
        "drafts": alert_rows(drafts, history=False),
        "current": alert_rows(current, history=True),
        "ended": alert_rows(ended, history=True),
    }


def counts() -> dict[str, int]:
    """For the console's front page: what waits for a coordinator."""
    return {"signals": Signal.objects.filter(status=SignalStatus.OPEN).count(),
            "reports": Report.objects.filter(status=ReportStatus.NEW,
                                             purged_at__isnull=True).count()}
