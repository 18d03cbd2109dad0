"""Drug alerts in the console (issue 16, items 1-4 of the staff side): areas, the review
page with spikes and reports, composing, the two-person rule, update and cancel."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.alerts.actions.areas import area_create
from spotline.alerts.actions.reports import report_receive
from spotline.alerts.actions.review import AlertFields, alert_draft, alert_publish
from spotline.alerts.models import (
    Alert,
    AlertStatus,
    Area,
    CapMessage,
    Report,
    ReportStatus,
    Signal,
    SignalStatus,
)
from spotline.alerts.tests.conftest import CENTRE_BOX, VUOSAARI_BOX, box
from spotline.audit.models import AuditEntry
from spotline.conftest import login_staff
from spotline.core.geo import Point, area_cell

pytestmark = pytest.mark.django_db

WORDS = "Pink powder, sold as heroin; two friends went out cold"


def login(user: User) -> Client:
    return login_staff(Client(), user)


@pytest.fixture
def cory() -> User:
    return user_create(name="cory", role=Role.COORDINATOR, password=None)


@pytest.fixture
def coordinator(cory: User) -> Client:
    return login(cory)


@pytest.fixture
def second() -> Client:
    return login(user_create(name="casey", role=Role.COORDINATOR, password=None))


@pytest.fixture
def area() -> Area:
    return area_create(name="Kallio", geometry=CENTRE_BOX, aliases=["00530"],
                       now=timezone.now())


def expires_in(hours: float) -> str:
    """A datetime-local value in the organization's time zone."""
    return timezone.localtime(timezone.now() + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def compose(area: Area, **changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {"substance": "xylazine", "signs": ["heavy_sedation"],
                            "advice": ["carry_naloxone", "recovery_position"],
                            "advice_text": "", "text": "Pink powder sold as heroin.",
                            "severity": "severe", "expires": expires_in(24),
                            "areas": [area.pk]}
    form.update(changes)
    return form


# -- who may -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/console/alerts/", "/console/areas/",
                                  "/console/alerts/new/", "/console/alerts/drug-check/"])
def test_it_shows_alert_pages_to_coordinators_only(path: str, coordinator: Client,
                                                   make_responder: Any) -> None:
    dispatcher = login(user_create(name="dana", role=Role.DISPATCHER, password=None))
    responder = Client()
    responder.force_login(make_responder("sam").user)
    assert coordinator.get(path).status_code == 200
    assert dispatcher.get(path).status_code == 404
    assert responder.get(path).status_code == 404
    anonymous = Client().get(path)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_it_refuses_a_dispatcher_the_alert_actions(area: Area) -> None:
    dispatcher = login(user_create(name="dana", role=Role.DISPATCHER, password=None))
    r = dispatcher.post("/console/alerts/new/", compose(area))
    assert r.status_code == 404
    r = dispatcher.post("/console/areas/", {"name": "Vuosaari",
                                            "geojson": json.dumps(VUOSAARI_BOX)})
    assert r.status_code == 404
    assert not Alert.objects.exists() and Area.objects.count() == 1


def test_it_links_the_review_page_for_coordinators_only(coordinator: Client) -> None:
    dispatcher = login(user_create(name="dana", role=Role.DISPATCHER, password=None))
    assert 'href="/console/alerts/"' in coordinator.get("/console/").content.decode()
    assert 'href="/console/alerts/"' not in dispatcher.get("/console/").content.decode()


# -- areas -------------------------------------------------------------------------------


def test_it_creates_an_area_from_pasted_geojson_a_feature_a_file_and_a_cell(
        coordinator: Client) -> None:
    r = coordinator.post("/console/areas/", {"name": "Kallio", "aliases": "00530, 00500",
                                             "geojson": json.dumps(CENTRE_BOX)})
    assert r.status_code == 302
    kallio = Area.objects.get(name="Kallio")
    assert kallio.aliases == ["00530", "00500"] and kallio.cells
    feature = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "x"}, "geometry": VUOSAARI_BOX}]}
    upload = SimpleUploadedFile("vuosaari.geojson", json.dumps(feature).encode(),
                                content_type="application/geo+json")
    r = coordinator.post("/console/areas/", {"name": "Vuosaari", "geojson_file": upload})
    assert r.status_code == 302 and Area.objects.filter(name="Vuosaari").exists()
    cell = area_cell(Point(60.25, 25.05))  # away from both boxes
    r = coordinator.post("/console/areas/", {"name": "A cell", "h3_cell": cell})
    assert r.status_code == 302
    assert Area.objects.get(name="A cell").h3_cell == cell
    page = coordinator.get("/console/areas/").content.decode()
    assert "Kallio" in page and "00530, 00500" in page and 'id="area-shapes"' in page


@pytest.mark.parametrize(("geojson", "said"), [
    ("{not json", "cannot be read as JSON"),
    (json.dumps({"type": "Point", "coordinates": [24.9, 60.1]}), "Polygon or MultiPolygon"),
    # A bow tie: the ring crosses itself.
    (json.dumps({"type": "Polygon", "coordinates": [[[24.90, 60.10], [24.95, 60.15],
                                                     [24.95, 60.10], [24.90, 60.15],
                                                     [24.90, 60.10]]]}),
     "must not cross itself"),
    (json.dumps(box(10.0, 50.0, 30.0, 65.0)), "too large"),
    (json.dumps(box(24.9400, 60.1700, 24.9402, 60.1701)), "too small"),
    (json.dumps({"type": "FeatureCollection", "features": []}), "exactly one feature"),
])
def test_it_says_what_is_wrong_with_an_area_and_writes_nothing(
        coordinator: Client, geojson: str, said: str) -> None:
    r = coordinator.post("/console/areas/", {"name": "Bad", "geojson": geojson})
    assert r.status_code == 400
    html = r.content.decode()
    assert said in html
    assert 'role="alert"' in html
    assert geojson.replace('"', "&quot;")[:20] in html  # the box keeps what was typed
    assert not Area.objects.exists()


def test_it_needs_one_shape_and_refuses_a_second_area_of_the_same_name(
        coordinator: Client, area: Area) -> None:
    r = coordinator.post("/console/areas/", {"name": "Nothing"})
    assert r.status_code == 400 and "Give the area one shape" in r.content.decode()
    r = coordinator.post("/console/areas/", {"name": "kallio", "geojson": json.dumps(VUOSAARI_BOX)})
    assert r.status_code == 409 and "already an area called kallio" in r.content.decode()
    assert Area.objects.count() == 1


def test_it_renames_an_area_and_deletes_one_no_alert_names(coordinator: Client,
                                                           area: Area) -> None:
    r = coordinator.post(f"/console/areas/{area.pk}/", {"name": "Kallio-Sörnäinen",
                                                        "aliases": "00530; 00500"})
    assert r.status_code == 302
    area.refresh_from_db()
    assert area.name == "Kallio-Sörnäinen" and area.aliases == ["00530", "00500"]
    r = coordinator.post(f"/console/areas/{area.pk}/delete/", follow=True)
    assert "deleted" in r.content.decode() and not Area.objects.exists()


def test_it_keeps_an_area_an_alert_names(coordinator: Client, area: Area, cory: User) -> None:
    alert_draft(fields=AlertFields(substance="fentanyl", severity="severe",
                                   expires=timezone.now() + timedelta(hours=5),
                                   area_ids=[area.pk]), user_id=cory.pk, now=timezone.now())
    r = coordinator.post(f"/console/areas/{area.pk}/delete/", follow=True)
    assert "not deleted" in r.content.decode()
    assert Area.objects.filter(pk=area.pk).exists()


# -- the review page ---------------------------------------------------------------------


def test_it_shows_a_spike_with_its_numbers_and_its_proposed_draft(coordinator: Client,
                                                                  area: Area) -> None:
    now = timezone.now()
    draft = alert_draft(fields=AlertFields(substance="unknown", severity="severe",
                                           expires=now + timedelta(hours=24),
                                           area_ids=[area.pk], signs=["many_overdoses"]),
                        user_id=None, now=now)
    signal = Signal.objects.create(area=area, window_hours=6, observed=5, expected=0.8,
                                   p_value=0.0014, detected_at=now, updated_at=now,
                                   alert=draft)
    html = coordinator.get("/console/alerts/").content.decode()
    assert "5 overdoses in area Kallio in 6 h; usual 0.8 (p = 0.0014)" in html
    assert f'href="/console/alerts/{draft.pk}/"' in html
    assert "Proposed by Spotline" in html
    r = coordinator.post(f"/console/alerts/signals/{signal.pk}/dismiss/")
    assert r.status_code == 302
    assert Signal.objects.get().status == SignalStatus.DISMISSED
    assert "5 overdoses" not in coordinator.get("/console/alerts/").content.decode()


def test_it_shows_a_reports_words_to_a_coordinator_and_audits_the_look(
        coordinator: Client, cory: User, area: Area) -> None:
    report = report_receive(source="web", now=timezone.now(), substance="fentanyl",
                            looked_like="pink powder", what_happened=WORDS, area_id=area.pk)
    html = coordinator.get("/console/alerts/").content.decode()
    assert WORDS in html and "pink powder" in html and "Kallio" in html
    looks = AuditEntry.objects.filter(action="report.view", object_id=report.pk)
    assert looks.count() == 1
    assert looks.get().fields == ["report_text"] and looks.get().actor_user_id == cory.pk
    assert WORDS not in json.dumps(list(AuditEntry.objects.values_list("fields", flat=True)))
    # Dismissed: off the page.
    coordinator.post(f"/console/alerts/reports/{report.pk}/dismiss/")
    assert Report.objects.get().status == ReportStatus.DISMISSED
    assert WORDS not in coordinator.get("/console/alerts/").content.decode()


def test_it_drafts_an_alert_from_reports(coordinator: Client, area: Area) -> None:
    report = report_receive(source="responder", now=timezone.now(),
                            signs=["naloxone_no_response"], area_id=area.pk)
    form = coordinator.get(f"/console/alerts/new/?report={report.pk}").content.decode()
    assert f'value="{report.pk}"' in form and "checked" in form
    assert 'data-advice="' in form  # the usual advice per substance, for the script
    r = coordinator.post("/console/alerts/new/", compose(area, reports=[report.pk]))
    assert r.status_code == 302
    alert = Alert.objects.get()
    assert alert.status == AlertStatus.DRAFT and alert.author is not None
    assert Report.objects.get().alert_id == alert.pk
    assert alert.advice == ["carry_naloxone", "recovery_position"]


def test_odd_report_ids_in_the_address_are_ignored(coordinator: Client, area: Area) -> None:
    for odd in ("99999999999999999999", "\u00b2", "-1", "x"):
        assert coordinator.get(f"/console/alerts/new/?report={odd}").status_code == 200


def test_it_refuses_an_expiry_in_the_past_and_writes_nothing(coordinator: Client,
                                                             area: Area) -> None:
    r = coordinator.post("/console/alerts/new/", compose(area, expires=expires_in(-2)))
    assert r.status_code == 400
    html = r.content.decode()
    assert "The expiry is in the past." in html and 'id="alert-error"' in html
    assert not Alert.objects.exists()
    r = coordinator.post("/console/alerts/new/", compose(area, text="Call 555 123 4567"))
    assert r.status_code == 400 and "a phone number" in r.content.decode()
    assert not Alert.objects.exists()


def test_it_publishes_only_by_a_second_coordinator_under_the_two_person_rule(
        coordinator: Client, second: Client, area: Area, settings: Any) -> None:
    settings.SPOTLINE_ALERTS_TWO_PERSON = True
    coordinator.post("/console/alerts/new/", compose(area))
    alert = Alert.objects.get()
    r = coordinator.post(f"/console/alerts/{alert.pk}/publish/", follow=True)
    html = r.content.decode()
    assert "Two-person rule: a coordinator other than the author must publish" in html
    assert Alert.objects.get().status == AlertStatus.DRAFT and not CapMessage.objects.exists()
    r = second.post(f"/console/alerts/{alert.pk}/publish/", follow=True)
    assert "published" in r.content.decode()
    assert Alert.objects.get().status == AlertStatus.PUBLISHED
    html = second.get("/console/alerts/").content.decode()
    assert f'id="alert-{alert.pk}"' in html and 'data-status="published"' in html


def test_it_updates_and_cancels_a_published_alert(coordinator: Client, cory: User,
                                                  area: Area) -> None:
    now = timezone.now()
    alert = alert_draft(fields=AlertFields(substance="fentanyl", severity="severe",
                                           expires=now + timedelta(hours=5),
                                           area_ids=[area.pk]), user_id=cory.pk, now=now)
    alert_publish(alert_id=alert.pk, user_id=cory.pk, now=now)
    r = coordinator.post(f"/console/alerts/{alert.pk}/update/")
    update = Alert.objects.get(replaces=alert)
    assert r.status_code == 302 and r["Location"] == f"/console/alerts/{update.pk}/"
    page = coordinator.get(r["Location"]).content.decode()
    assert f"an update of alert #{alert.pk}" in page
    # Cancelling asks first; the question changes nothing.
    confirm = coordinator.get(f"/console/alerts/{alert.pk}/cancel/").content.decode()
    assert "Withdraw alert" in confirm
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.PUBLISHED
    r = coordinator.post(f"/console/alerts/{alert.pk}/cancel/", follow=True)
    assert "withdrawn" in r.content.decode()
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.CANCELLED
    assert list(CapMessage.objects.filter(alert=alert).values_list("msg_type", flat=True)) \
        == ["Alert", "Cancel"]


def test_it_takes_a_drug_checking_result_as_a_report(coordinator: Client, area: Area) -> None:
    r = coordinator.post("/console/alerts/drug-check/", {
        "expected": "stimulants", "found": ["stimulants", "fentanyl"], "method": "ftir",
        "area": area.pk, "notes": "Blue tablets"})
    assert r.status_code == 302
    report = Report.objects.get()
    assert (report.source, report.expected, report.found, report.method) == (
        "drug_check", "stimulants", ["stimulants", "fentanyl"], "ftir")
    assert report.signs == [] and report.area_id == area.pk
    r = coordinator.post("/console/alerts/drug-check/", {"found": [], "method": "lab"})
    assert r.status_code == 400 and Report.objects.count() == 1


def test_the_front_page_counts_what_waits_for_a_coordinator(coordinator: Client,
                                                            area: Area) -> None:
    report_receive(source="web", now=timezone.now(), substance="fentanyl", area_id=area.pk)
    html = coordinator.get("/console/").content.decode()
    assert "0 open spike signals, 1 new reports to review" in html


def test_it_speaks_spanish_on_the_review_page(coordinator: Client, area: Area) -> None:
    now = timezone.now()
    Signal.objects.create(area=area, window_hours=6, observed=5, expected=0.8, p_value=0.0014,
                          detected_at=now, updated_at=now)
    r = coordinator.post("/console/alerts/new/", compose(area, expires=expires_in(-2)),
                         headers={"Accept-Language": "es"})
    assert "La caducidad está en el pasado." in r.content.decode()
    html = coordinator.get("/console/alerts/", headers={"Accept-Language": "es"}
                           ).content.decode()
    assert "5 sobredosis en la zona Kallio en 6 h; lo habitual: 0.8 (p = 0.0014)" in html
    assert "Reportes nuevos" in html and "New reports" not in html
    # An alert's status is said in Spanish too.
    alert = alert_draft(fields=AlertFields(substance="fentanyl", severity="severe",
                                           expires=now + timedelta(hours=3),
                                           area_ids=[area.pk]), user_id=None, now=now)
    alert_publish(alert_id=alert.pk, user_id=User.objects.get(username="cory").pk, now=now)
    html = coordinator.get("/console/alerts/", headers={"Accept-Language": "es"}
                           ).content.decode()
    assert f"Alerta n.º {alert.pk}" in html
    assert "(publicada)" in html and "(Published)" not in html
