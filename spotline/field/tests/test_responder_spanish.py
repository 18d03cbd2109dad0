"""The responder app in Spanish, in words: no codes, no exact place before accepting
(issue 13, item 11)."""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from spotline.conftest import CENTRE, offset
from spotline.core.geo import Point, distance_m
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.models import Incident, Offer
from spotline.responders.models import Responder

pytestmark = pytest.mark.django_db

PLACE = offset(CENTRE, 130, -70)
RAW_CODES = ("on_scene", "en_route", "not_needed", "mental_health", "unable_to_locate",
             "welfare_check", "harm_reduction", "unknown")


def spanish(responder: Responder) -> Client:
    client = Client(headers={"Accept-Language": "es"})
    client.force_login(responder.user)
    return client


def open_incident(kind: Kind = Kind.OVERDOSE, **answers: Answer) -> Incident:
    return incident_open(IncidentRequest(kind=kind, location=PLACE, description="Portal 3",
                                         **answers), now=timezone.now()).incident


def visible(html: str) -> str:
    """The words a person reads: no tags, attributes or the scripts' word list."""
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def exact_forms(p: Point) -> list[str]:
    return [repr(p.lat), repr(p.lon), f"{p.lat:.5f}", f"{p.lon:.5f}", f"{p.lat:.4f}",
            f"{p.lon:.4f}"]


def test_it_shows_an_offer_card_in_spanish_words(make_responder) -> None:
    sam = make_responder("sam", skills=("crisis_intervention",), north_m=300)
    open_incident(Kind.MENTAL_HEALTH, breathing=Answer.YES, conscious=Answer.NO,
                  danger=Answer.YES)
    html = spanish(sam).get("/responder/").content.decode()
    assert '<html lang="es">' in html
    text = visible(html)
    assert "Crisis de salud mental" in text
    assert "P1 vida en riesgo" in text  # danger raised it from P2
    assert "¿Respira? sí" in text and "¿Despierta? no" in text
    assert "Quien pidió ayuda avisó de peligro" in text
    assert re.search(r"a unos \d+00 m", text)
    assert re.search(r"unos \d+ min para llegar", text)
    assert "Caduca" in text and re.search(r"<time [^>]*data-relative", html)
    assert "Aceptar" in text and "Rechazar" in text
    assert 'id="language-switch"' in html
    # The script's words come in Spanish too.
    words = json.loads(re.search(r'id="ui-strings"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert words["new_offer_title"] == "NUEVO AVISO · Spotline"
    assert [c for c in RAW_CODES if c in text] == []
    assert "Accept" not in text and "Expires" not in text


def test_it_shows_the_area_not_the_place_before_accepting(make_responder) -> None:
    sam = make_responder("sam", north_m=300)
    incident = open_incident()
    html = spanish(sam).get("/responder/").content.decode()
    area = re.search(r'class="map small offer-map" data-lat="([-\d.]+)" data-lon="([-\d.]+)" '
                     r'data-radius="(\d+)"', html)
    assert area, "no map of the area on the offer card"
    centre, radius = Point(float(area.group(1)), float(area.group(2))), int(area.group(3))
    assert radius >= 300 and distance_m(centre, PLACE) <= radius
    assert "Portal 3" not in html
    for exact in exact_forms(PLACE):
        assert exact not in html
    # The same holds on the page that asks before going off shift with it open.
    r = spanish(sam).post("/responder/shift/", {"on_shift": "0"})
    assert r.status_code == 200 and "Tiene un aviso abierto" in r.content.decode()
    for exact in exact_forms(PLACE):
        assert exact not in r.content.decode()
    # Once accepted, the place is there.
    offer = Offer.objects.get(incident=incident, responder=sam)
    html = spanish(sam).post(f"/responder/offers/{offer.pk}/accept/",
                             follow=True).content.decode()
    assert f"{PLACE.lat:.5f}" in html


def test_it_shows_the_incident_and_the_outcome_in_spanish_words(make_responder) -> None:
    sam = make_responder("sam", north_m=300)
    client = spanish(sam)
    first = open_incident()
    client.post(f"/responder/offers/{Offer.objects.get(incident=first).pk}/accept/")
    for step in ("on_scene", "resolved"):
        client.post(f"/responder/incidents/{first.pk}/report/", {"type": step})
    r = client.post(f"/responder/incidents/{first.pk}/outcome/", {
        "naloxone_doses": "1", "responsive_after": "yes", "ems": "not_needed",
        "referrals": ["mental_health", "harm_reduction"]}, follow=True)
    assert "Resultado anotado. Gracias." in [str(m) for m in r.context["messages"]]
    second = open_incident(Kind.WELFARE_CHECK)
    client.post(f"/responder/offers/{Offer.objects.get(incident=second).pk}/accept/")
    client.post(f"/responder/incidents/{second.pk}/report/", {"type": "on_scene"})
    html = client.get("/responder/").content.decode()
    text = visible(html)
    assert f"Su incidente #{second.pk}: ver cómo está alguien" in text
    assert re.search(r'id="current-state" data-state="on_scene">en el lugar<', html)
    assert f"Resultado de #{first.pk} (resuelto)" in text
    assert "No hizo falta" in text and "reducción de daños, salud mental" in text
    assert "Voy en camino" not in text and "Necesito refuerzos" in text
    assert [c for c in RAW_CODES if c in text] == []


def test_it_follows_the_language_cookie(make_responder) -> None:
    sam = make_responder("sam", north_m=300)
    client = Client()
    client.force_login(sam.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    text = visible(client.get("/responder/").content.decode())
    assert "Terminar turno" in text and "Go off shift" not in text


def test_it_answers_the_script_in_spanish(make_responder) -> None:
    sam = make_responder("sam", north_m=300)
    alex = make_responder("alex", north_m=400)
    incident = open_incident()
    fetch = {"X-Requested-With": "fetch"}
    r = spanish(sam).post(f"/responder/offers/"
                          f"{Offer.objects.get(incident=incident, responder=sam).pk}/accept/",
                          headers=fetch)
    assert r.json() == {"detail": "Aceptado. Vaya ya: el lugar está abajo."}
    r = spanish(alex).post(f"/responder/offers/"
                           f"{Offer.objects.get(incident=incident, responder=alex).pk}"
                           f"/accept/", headers=fetch)
    assert r.status_code == 409
    assert "ya lo tomó otra persona" in r.json()["detail"]


def test_it_says_what_to_fix_in_an_outcome_in_spanish(make_responder) -> None:
    sam = make_responder("sam", north_m=300)
    client = spanish(sam)
    incident = open_incident()
    client.post(f"/responder/offers/{Offer.objects.get(incident=incident).pk}/accept/")
    client.post(f"/responder/incidents/{incident.pk}/report/", {"type": "on_scene"})
    r = client.post(f"/responder/incidents/{incident.pk}/outcome/",
                    {"naloxone_doses": "99", "responsive_after": "yes", "ems": "not_needed"})
    assert r.status_code == 400
    html = r.content.decode()
    assert "Las dosis de naloxona deben ser un número de 0 a 20." in html
    assert "No hizo falta" in visible(html) and "Elija una respuesta" in html
