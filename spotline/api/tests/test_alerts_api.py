"""/api/v1/alerts and /api/v1/areas: the fixed contract of issue 16 (draft, publish,
cancel; list and define areas), the two-person rule, who may use them, and bad input
answered with a clear 4xx and nothing written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import override_settings

from spotline.accounts.actions import token_create, user_create
from spotline.accounts.models import Role
from spotline.alerts.actions.areas import area_create
from spotline.alerts.actions.reports import report_receive
from spotline.alerts.models import Alert, AlertEvent, AlertStatus, Area, CapMessage, Fanout, Report
from spotline.alerts.tests.conftest import CENTRE_BOX, VUOSAARI_BOX, box
from spotline.audit.models import AuditEntry
from spotline.conftest import T0, Api, api_for
from spotline.core.alerts import ADVICE_FOR, Substance
from spotline.core.geo import Point, area_cell

pytestmark = pytest.mark.django_db

NOW = T0 + timedelta(minutes=1)


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def centre_area(db: Any) -> Area:
    return area_create(name="Keskusta", geometry=CENTRE_BOX, aliases=["00100", "centre"],
                       now=T0)


@pytest.fixture
def vuosaari_area(db: Any) -> Area:
    return area_create(name="Vuosaari", geometry=VUOSAARI_BOX, aliases=["00980"], now=T0)


@pytest.fixture
def coord_apis(db: Any) -> tuple[Api, Api]:
    """Two coordinators: an author and a second person."""
    for name in ("coord_a", "coord_b"):
        user_create(name=name, role=Role.COORDINATOR, password=None)
    return Api(token_create(name="coord_a", now=T0)), Api(token_create(name="coord_b", now=T0))


@pytest.fixture
def admin_api(db: Any) -> Api:
    get_user_model().objects.create_superuser(username="root", email=None, password=None)
    return Api(token_create(name="root", now=T0))


def body(area: Area, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "areas": [area.pk], "substance": "xylazine", "signs": ["heavy_sedation"],
        "advice": ["carry_naloxone", "dont_use_alone"], "severity": "severe",
        "expires": (NOW + timedelta(hours=24)).isoformat(),
        "text": "Pink powder sold as heroin this week."}
    base.update(changes)
    return base


def counts() -> tuple[int, ...]:
    return (Alert.objects.count(), CapMessage.objects.count(), Fanout.objects.count(),
            AlertEvent.objects.count(), Area.objects.count(), AuditEntry.objects.count())


# -- the contract --------------------------------------------------------------------------


def test_draft_publish_cancel(centre_area: Area, coord_apis: tuple[Api, Api]) -> None:
    author, _ = coord_apis
    r = author.post("/api/v1/alerts", body(centre_area))
    assert r.status_code == 201, r.content
    created = r.json()
    assert created["status"] == "draft" and isinstance(created["id"], int)
    assert created["areas"] == [centre_area.pk] and created["cap_url"] is None
    assert created["advice"] == ["carry_naloxone", "dont_use_alone"]
    assert not Fanout.objects.exists()

    r = author.post(f"/api/v1/alerts/{created['id']}/publish")
    assert r.status_code == 200, r.content
    published = r.json()
    message = CapMessage.objects.get(alert_id=created["id"])
    assert published["status"] == "published"
    assert published["cap_identifier"] == message.identifier
    assert published["cap_url"].endswith(f"/alerts/{created['id']}.cap.xml")
    # The fan-out is the worker's: queued as a timer, nothing sent by the request.
    assert Fanout.objects.get(cap_message=message).done_at is None

    r = author.post(f"/api/v1/alerts/{created['id']}/publish")
    assert r.status_code == 409  # published already

    r = author.post(f"/api/v1/alerts/{created['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    cancel = CapMessage.objects.filter(alert_id=created["id"]).order_by("-pk").first()
    assert cancel is not None and cancel.msg_type == "Cancel"
    assert r.json()["cap_identifier"] == cancel.identifier
    # Cancelling again is a double tap: the same answer, nothing new.
    again = author.post(f"/api/v1/alerts/{created['id']}/cancel")
    assert again.status_code == 200 and again.json() == r.json()
    assert CapMessage.objects.filter(alert_id=created["id"]).count() == 2


def test_advice_as_codes_words_or_the_usual(centre_area: Area,
                                            coord_apis: tuple[Api, Api]) -> None:
    author, _ = coord_apis
    own = author.post("/api/v1/alerts", body(centre_area, advice="Use with a friend nearby."))
    assert own.status_code == 201, own.content
    assert own.json()["advice"] == [] and own.json()["advice_text"] == (
        "Use with a friend nearby.")
    usual = body(centre_area, substance="fentanyl")
    del usual["advice"]
    r = author.post("/api/v1/alerts", usual)
    assert r.status_code == 201
    assert r.json()["advice"] == [a.value for a in ADVICE_FOR[Substance.FENTANYL]]
    assert author.post("/api/v1/alerts", body(centre_area, advice=None)).status_code == 201


def test_a_draft_can_be_made_from_reports(centre_area: Area,
                                          coord_apis: tuple[Api, Api]) -> None:
    author, _ = coord_apis
    report = report_receive(source="web", substance="xylazine", signs=["heavy_sedation"],
                            what_happened="Needed three doses.", area_id=centre_area.pk,
                            now=T0)
    r = author.post("/api/v1/alerts", body(centre_area, reports=[report.pk]))
    assert r.status_code == 201, r.content
    assert Report.objects.get(pk=report.pk).alert_id == r.json()["id"]
    before = counts()
    r = author.post("/api/v1/alerts", body(centre_area, reports=[report.pk + 1000]))
    assert r.status_code == 400 and "report" in r.json()["detail"]
    assert counts() == before


@override_settings(SPOTLINE_ALERTS_TWO_PERSON=True)
def test_two_person_rule(centre_area: Area, coord_apis: tuple[Api, Api],
                         admin_api: Api) -> None:
    author, second = coord_apis
    alert_id = author.post("/api/v1/alerts", body(centre_area)).json()["id"]
    r = author.post(f"/api/v1/alerts/{alert_id}/publish")
    assert r.status_code == 409
    assert "other than the author" in r.json()["detail"]
    assert Alert.objects.get(pk=alert_id).status == AlertStatus.DRAFT
    assert not CapMessage.objects.exists() and not Fanout.objects.exists()
    assert second.post(f"/api/v1/alerts/{alert_id}/publish").status_code == 200
    # An admin is a second person too.
    other = author.post("/api/v1/alerts", body(centre_area)).json()["id"]
    assert admin_api.post(f"/api/v1/alerts/{other}/publish").status_code == 200


def test_an_admin_may_write_and_publish(centre_area: Area, admin_api: Api) -> None:
    r = admin_api.post("/api/v1/alerts", body(centre_area))
    assert r.status_code == 201
    assert admin_api.post(f"/api/v1/alerts/{r.json()['id']}/publish").status_code == 200
    assert admin_api.get("/api/v1/areas").status_code == 200


def test_unknown_alert_is_404(coord_apis: tuple[Api, Api]) -> None:
    author, _ = coord_apis
    for action in ("publish", "cancel"):
        assert author.post(f"/api/v1/alerts/987654/{action}").status_code == 404
        assert author.post(f"/api/v1/alerts/{2**63}/{action}").status_code == 404


# -- who may -------------------------------------------------------------------------------


def test_only_coordinators_and_admins(centre_area: Area, coord_apis: tuple[Api, Api],
                                      make_responder: Any, public_api: Api) -> None:
    """A dispatcher or a responder is told nothing is here (404: the API's answer to the
    wrong role, spotline/tests/test_authorization_matrix.py); no token is a 401."""
    author, _ = coord_apis
    alert_id = author.post("/api/v1/alerts", body(centre_area)).json()["id"]
    user_create(name="dana", role=Role.DISPATCHER, password=None)
    dispatcher = Api(token_create(name="dana", now=T0))
    responder = api_for(make_responder("rita"))
    before = counts()
    for who, status in ((dispatcher, 404), (responder, 404), (public_api, 401)):
        assert who.post("/api/v1/alerts", body(centre_area)).status_code == status
        assert who.post(f"/api/v1/alerts/{alert_id}/publish").status_code == status
        assert who.post(f"/api/v1/alerts/{alert_id}/cancel").status_code == status
        assert who.get("/api/v1/areas").status_code == status
        assert who.post("/api/v1/areas", {"name": "Kallio",
                                          "geometry": CENTRE_BOX}).status_code == status
    assert counts() == before
    assert Alert.objects.get(pk=alert_id).status == AlertStatus.DRAFT


# -- bad input -----------------------------------------------------------------------------

EMOJI = "\U0001f480\U0001f525\u26a0\ufe0f"


@pytest.mark.parametrize(("changes", "status", "says"), [
    ({"severity": "catastrophic"}, 422, "severity"),
    ({"substance": "kryptonite"}, 422, "substance"),
    ({"signs": ["glowing"]}, 422, "signs"),
    ({"advice": ["pray"]}, 422, "advice"),
    ({"advice": 7}, 422, "advice"),
    ({"expires": (NOW - timedelta(minutes=5)).isoformat()}, 400, "past"),
    ({"expires": (NOW + timedelta(days=40)).isoformat()}, 400, "30 days"),
    ({"expires": (NOW + timedelta(hours=3)).replace(tzinfo=None).isoformat()}, 422, "expires"),
    ({"expires": "tomorrow"}, 422, "expires"),
    ({"text": "x" * 1600}, 422, "text"),
    ({"text": EMOJI}, 400, "text"),
    ({"advice": EMOJI * 3}, 400, "advice"),
    ({"text": "pills\x00"}, 422, "text"),
    ({"text": "Bad batch, call 555 123 4567"}, 400, "phone number"),
    ({"text": "Overdose at 3:15 behind the station"}, 400, "finer than the hour"),
    ({"areas": []}, 422, "areas"),
    ({"areas": [987654]}, 400, "area"),
    ({"areas": ["1"]}, 422, "areas"),
    ({"areas": [True]}, 422, "areas"),
    ({"reports": [-1]}, 422, "reports"),
])
def test_bad_alert_input_is_refused_with_nothing_written(
        centre_area: Area, coord_apis: tuple[Api, Api], changes: dict[str, Any], status: int,
        says: str) -> None:
    author, _ = coord_apis
    before = counts()
    r = author.post("/api/v1/alerts", body(centre_area, **changes))
    assert r.status_code == status, r.content
    assert says in r.json()["detail"]
    assert counts() == before


def test_a_missing_field_or_a_body_that_is_not_an_object(centre_area: Area,
                                                         coord_apis: tuple[Api, Api]) -> None:
    author, _ = coord_apis
    before = counts()
    for field in ("areas", "substance", "severity", "expires"):
        incomplete = body(centre_area)
        del incomplete[field]
        r = author.post("/api/v1/alerts", incomplete)
        assert r.status_code == 422 and field in r.json()["detail"]
    assert author.post("/api/v1/alerts", [1, 2]).status_code == 422
    r = author.client.post("/api/v1/alerts", b'{"areas": [1', content_type="application/json",
                           headers=author.headers)
    assert r.status_code == 400
    assert counts() == before


# -- areas ---------------------------------------------------------------------------------


def test_areas_list_and_create(centre_area: Area, vuosaari_area: Area,
                               coord_apis: tuple[Api, Api]) -> None:
    author, _ = coord_apis
    listed = author.get("/api/v1/areas")
    assert listed.status_code == 200
    assert [(a["id"], a["name"]) for a in listed.json()] == [
        (centre_area.pk, "Keskusta"), (vuosaari_area.pk, "Vuosaari")]
    first = listed.json()[0]
    assert first["aliases"] == ["00100", "centre"] and first["km2"] > 1
    assert first["geometry"]["type"] == "Polygon"

    kallio = box(24.940, 60.180, 24.960, 60.190)
    r = author.post("/api/v1/areas", {"name": " Kallio ", "geometry": kallio,
                                      "aliases": ["00530"]})
    assert r.status_code == 201, r.content
    made = r.json()
    assert made["name"] == "Kallio" and made["aliases"] == ["00530"]
    assert Area.objects.get(pk=made["id"]).cells
    multi = {"type": "MultiPolygon", "coordinates": [box(24.80, 60.20, 24.82, 60.21)[
        "coordinates"], box(24.85, 60.20, 24.87, 60.21)["coordinates"]]}
    assert author.post("/api/v1/areas", {"name": "Two parts",
                                         "geometry": multi}).status_code == 201
    cell = area_cell(Point(60.30, 25.00))
    r = author.post("/api/v1/areas", {"name": "A cell", "h3_cell": cell})
    assert r.status_code == 201, r.content
    assert r.json()["h3_cell"] == cell
    # The new area can be alerted at once.
    assert author.post("/api/v1/alerts", body(Area.objects.get(pk=made["id"]))
                       ).status_code == 201
    assert len(author.get("/api/v1/areas").json()) == 5


BOWTIE = {"type": "Polygon", "coordinates": [[[24.90, 60.10], [24.95, 60.15],
                                              [24.95, 60.10], [24.90, 60.15],
                                              [24.90, 60.10]]]}


@pytest.mark.parametrize(("payload", "status", "says"), [
    ({"name": "Kallio", "geometry": "POLYGON((0 0, 1 1, 1 0, 0 0))"}, 422, "geometry"),
    ({"name": "Kallio", "geometry": [[24.9, 60.1]]}, 422, "geometry"),
    ({"name": "Kallio", "geometry": {"type": "Point", "coordinates": [24.9, 60.1]}}, 422,
     "geometry"),
    ({"name": "Kallio", "geometry": {"type": "Polygon", "coordinates": [[[24.9, 60.1]]]}},
     422, "geometry"),
    ({"name": "Kallio", "geometry": {"type": "Polygon",
                                     "coordinates": [[["a", 1], [1, 2], [2, 2], [1, 1]]]}},
     422, "geometry"),
    ({"name": "Kallio", "geometry": BOWTIE}, 400, "not valid"),
    ({"name": "Kallio", "geometry": box(-10, 30, 40, 70)}, 400, "too large"),
    ({"name": "Kallio", "geometry": box(24.9400, 60.1700, 24.9401, 60.1701)}, 400,
     "too small"),
    ({"name": "Kallio", "geometry": box(60.17, 24.94, 60.19, 124.96)}, 400, "off the globe"),
    ({"name": "Kallio"}, 422, "one of the two"),
    ({"name": "Kallio", "geometry": CENTRE_BOX, "h3_cell": "881f1d4809fffff"}, 422,
     "one of the two"),
    ({"name": "Kallio", "h3_cell": "not-a-cell"}, 422, "h3_cell"),
    ({"name": "Kallio", "h3_cell": "ffffffffffffffff"[:15]}, 400, "H3"),
    ({"name": EMOJI, "geometry": CENTRE_BOX}, 400, "name"),
    ({"name": "", "geometry": CENTRE_BOX}, 422, "name"),
    ({"name": "K" * 81, "geometry": CENTRE_BOX}, 422, "name"),
    ({"name": "Keskusta", "geometry": box(24.940, 60.180, 24.960, 60.190)}, 409, "already"),
])
def test_bad_area_input_is_refused_with_nothing_written(
        centre_area: Area, coord_apis: tuple[Api, Api], payload: dict[str, Any], status: int,
        says: str) -> None:
    author, _ = coord_apis
    before = counts()
    r = author.post("/api/v1/areas", payload)
    assert r.status_code == status, r.content
    assert says in r.json()["detail"]
    assert counts() == before


def test_a_huge_geojson_is_refused(coord_apis: tuple[Api, Api]) -> None:
    """More corners than an area may have (and, bigger still, more bytes than a body
    may hold): a clear refusal either way, nothing written."""
    author, _ = coord_apis
    before = counts()
    ring = [[24.9 + i * 1e-5, 60.1 + (i % 2) * 1e-5] for i in range(1100)]
    r = author.post("/api/v1/areas", {"name": "Big", "geometry": {
        "type": "Polygon", "coordinates": [[*ring, ring[0]]]}})
    assert r.status_code in (413, 422), r.content
    assert r.json()["detail"]
    many = [[[24.9 + i * 1e-4, 60.1], [24.9 + i * 1e-4, 60.2], [24.91 + i * 1e-4, 60.2],
             [24.9 + i * 1e-4, 60.1]] for i in range(200)]
    r = author.client.post("/api/v1/areas", json.dumps(
        {"name": "Big", "geometry": {"type": "Polygon", "coordinates": many}}),
        content_type="application/json", headers=author.headers)
    assert 400 <= r.status_code < 500 and r.json()["detail"]
    assert counts() == before
