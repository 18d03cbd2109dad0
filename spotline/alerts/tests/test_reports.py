"""Reports: bad ones refused whole; good ones sealed, coarse, and destroyed on time."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings

from spotline.alerts.actions.reports import report_receive, reports_purge
from spotline.alerts.models import Area, Report
from spotline.conftest import T0, raw_rows
from spotline.errors import Invalid
from spotline.privacy.models import DataKey

pytestmark = pytest.mark.django_db

WORDS = "Purple rock sold as down, stamped with a star"


@pytest.mark.parametrize(("looked_like", "what_happened", "why"), [
    ("x" * 1600, "", "at most 1000"),
    ("🙂🙂🔥💀", "", "in words"),
    ("", "", "empty"),
    ("  \n\t ", "", "empty"),
])
def test_bad_reports_write_nothing(centre_area: Area, looked_like: str, what_happened: str,
                                   why: str) -> None:
    with pytest.raises(Invalid, match=why):
        report_receive(source="web", looked_like=looked_like, what_happened=what_happened,
                       area_id=centre_area.pk, now=T0)
    assert not Report.objects.exists()
    assert not DataKey.objects.exists()


def test_unknown_codes_and_areas_write_nothing(centre_area: Area) -> None:
    for kwargs in ({"substance": "heroin-ish"}, {"signs": ["glowing"]}, {"area_id": 99999},
                   {"method": "sniff"}, {"source": "police"}):
        args = {"source": "web", "looked_like": WORDS, "now": T0, **kwargs}
        with pytest.raises(Invalid):
            report_receive(**args)  # type: ignore[arg-type]
    assert not Report.objects.exists()


@override_settings(SPOTLINE_RETENTION_HOURS=72)
def test_a_report_keeps_its_words_sealed_until_the_purge(centre_area: Area) -> None:
    moment = T0 + timedelta(minutes=47, seconds=13)
    report = report_receive(source="sms", looked_like=WORDS, what_happened="Two doses needed",
                            signs=["several_doses"], area_id=centre_area.pk, now=moment)
    # The hour, not the minute: a report must not be matched to an incident by time.
    assert report.received_hour == T0
    (row,) = raw_rows(Report)
    assert "Purple" not in row and "doses needed" not in row
    assert Report.objects.get().looked_like == WORDS
    # Counted from the hour it came in (a purge time to the second would tell the
    # minute): within an hour after the retention.
    assert report.purge_at == T0 + timedelta(hours=73)
    assert reports_purge(now=moment + timedelta(hours=72)) == 0
    assert reports_purge(now=T0 + timedelta(hours=73)) == 1
    purged = Report.objects.get()
    assert purged.looked_like == "" and purged.what_happened == ""
    assert purged.purged_at is not None
    # The coarse part stays for the record.
    assert purged.signs == ["several_doses"] and purged.area == centre_area
    key = DataKey.objects.get(kid=report.data_key_id)
    assert key.destroyed_at is not None and key.wrapped == ""


def test_spotline_purge_purges_reports(centre_area: Area) -> None:
    report_receive(source="web", looked_like=WORDS, area_id=centre_area.pk,
                   now=T0 - timedelta(days=30))
    out = StringIO()
    call_command("purge", stdout=out)
    assert Report.objects.get().purged_at is not None
    assert "alert_reports" in out.getvalue()
