"""Anonymous reports of a bad supply, from four doors, and their purge.

A report keeps no phone, no point and no exact time: the area (or a responder's area
cell), the hour, the fixed codes, and the person's words sealed under a key of its own.
``SPOTLINE_RETENTION_HOURS`` after it came in, the key is destroyed and the words
blanked, as for an incident; the coarse part stays.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings

from spotline.alerts.models import Area, Report, ReportSource, ReportStatus
from spotline.audit.actions import atomic, record
from spotline.core.alerts import MAX_REPORT_TEXT, Method, Sign, Substance, codes, meaningful
from spotline.errors import Invalid, NotFound
from spotline.privacy.keys import key_destroy


def _clean(text: str, what: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").strip()
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    if len(text) > MAX_REPORT_TEXT:
        raise Invalid(f"{what} is at most {MAX_REPORT_TEXT} characters "
                      f"(this one has {len(text)}).")
    return text


def _codes(values: Sequence[str], allowed: type[StrEnum], what: str) -> list[str]:
    given = [str(v) for v in values]
    valid = set(codes(allowed))
    unknown = [c for c in given if c not in valid]
    if unknown:
        raise Invalid(f"Unknown {what}: {', '.join(sorted(set(unknown)))[:80]}.")
    return list(dict.fromkeys(given))


def report_receive(
    *, source: str, now: datetime, substance: str = "", signs: Sequence[str] = (),
    looked_like: str = "", what_happened: str = "", area_id: int | None = None,
    cell: str = "", expected: str = "", found: Sequence[str] = (), method: str = "",
) -> Report:
    """One report in. Raises ``Invalid`` (nothing written) for an empty report, text
    too long or saying nothing (emoji only), or a code or area that does not exist."""
    if source not in ReportSource.values:
        raise Invalid("Unknown report source.")
    looked_like = _clean(looked_like, "What it looked like")
    what_happened = _clean(what_happened, "What happened")
    for text in (looked_like, what_happened):
        if text and not meaningful(text):
            raise Invalid("Please describe it in words (letters or numbers).")
    if substance and substance not in codes(Substance):
        raise Invalid("Unknown substance.")
    if expected and expected not in codes(Substance):
        raise Invalid("Unknown expected substance.")
    if method and method not in codes(Method):
        raise Invalid("Unknown drug-checking method.")
    signs = _codes(signs, Sign, "sign")
    found = _codes(found, Substance, "substance found")
    if not (looked_like or what_happened or substance or signs or found):
        raise Invalid("The report is empty: say what it looked like or what happened.")
    area = None
    if area_id is not None:
        area = Area.objects.filter(pk=area_id).first()
        if area is None:
            raise Invalid("That area does not exist.")
    hour = now.replace(minute=0, second=0, microsecond=0)
    with atomic():
        report = Report(source=source, substance=substance, signs=signs, expected=expected,
                        found=found, method=method, looked_like=looked_like,
                        what_happened=what_happened, area=area, cell=cell[:16],
                        received_hour=hour,
                        # From the hour too: a purge time to the second would say
                        # when it came in (a responder's report: which outcome).
                        purge_at=hour + timedelta(hours=settings.SPOTLINE_RETENTION_HOURS + 1))
        report.save()
        record("alerts.report_received", object_type="report", object_id=report.pk, now=now,
               actor="public" if source in (ReportSource.SMS, ReportSource.WEB) else "user")
    return report


def report_dismiss(*, report_id: int, user_id: int, now: datetime) -> Report:
    with atomic():
        report = Report.objects.select_for_update().filter(pk=report_id).first()
        if report is None:
            raise NotFound("No such report.")
        report.status = ReportStatus.DISMISSED
        report.save(update_fields=["status"])
        record("alerts.report_dismissed", object_type="report", object_id=report.pk, now=now,
               actor="user", actor_user_id=user_id)
    return report


def reports_purge(*, now: datetime, batch: int = 500) -> int:
    """Destroy the words of reports past retention (the worker and ``spotline purge``)."""
    done = 0
    for report_id in list(Report.objects.filter(purged_at__isnull=True, purge_at__lte=now)
                          .values_list("pk", flat=True)[:batch]):
        with atomic():
            report = Report.objects.select_for_update().filter(
                pk=report_id, purged_at__isnull=True).first()
            if report is None:
                continue
            key_destroy(report.data_key_id, now=now)
            Report.objects.filter(pk=report_id).update(looked_like="", what_happened="",
                                                       purged_at=now)
            record("alerts.report_purged", object_type="report", object_id=report_id,
                   now=now)
            done += 1
    return done
