"""The public help page and the status page, driven like a phone with JavaScript off.

Every POST here is a plain form post (application/x-www-form-urlencoded), the only
thing a browser without JavaScript can send.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from spotline.conftest import CENTRE
from spotline.core.lifecycle import State
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.offers import offer_accept
from spotline.dispatch.actions.opening import IncidentRequest, incident_by_token, incident_open
from spotline.dispatch.actions.reports import incident_report
from spotline.dispatch.models import Incident, Source
from spotline.privacy.crypto import normalize_phone
from spotline.responders.models import Responder

pytestmark = pytest.mark.django_db

OVERDOSE = {
    "kind": "overdose",
    "breathing": "no",
    "conscious": "no",
    "where": "Behind the red door, Kallio library",
    "details": "Blue jacket, lying down",
    "callback_phone": "+358 40 123 4567",
}
STATUS_URL = re.compile(r"^/t/(?P<token>[A-Za-z0-9_-]+)/$")


class Forms(HTMLParser):
    """Collects each <form> with its attributes, inputs and buttons, like a browser."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self.scripts = 0
        self._form: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "script":
            self.scripts += 1
        elif tag == "form":
            self._form = {"attrs": a, "fields": {}, "buttons": []}
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag in ("input", "textarea", "select") and a.get("name"):
            self._form["fields"].setdefault(a["name"], []).append(a)
        elif tag == "button":
            self._form["buttons"].append(a)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


def parse(html: str) -> Forms:
    p = Forms()
    p.feed(html)
    return p


def help_form(client: Client) -> dict[str, Any]:
    page = parse(client.get("/").content.decode())
    posts = [f for f in page.forms if f["attrs"].get("method", "").lower() == "post"
             and f["attrs"].get("action", "") in ("", "/")]
    assert len(posts) == 1, page.forms
    return posts[0]


def submit(client: Client, **fields: str) -> Any:
    return client.post("/", {**OVERDOSE, **fields})


def token_of(response: Any) -> str:
    assert response.status_code == 302, response.content.decode()[:2000]
    m = STATUS_URL.match(response["Location"])
    assert m, response["Location"]
    return m["token"]


def open_incident(*, kind: str = "overdose") -> tuple[Incident, str]:
    opened = incident_open(IncidentRequest(kind=Kind(kind), location=CENTRE,
                 description="Corner shop", breathing=Answer.NO), now=timezone.now())
    return opened.incident, opened.tracking_token


# -- the help page ---------------------------------------------------------------------


def test_it_serves_a_plain_post_form_that_needs_no_javascript() -> None:
    client = Client()
    r = client.get("/")
    assert r.status_code == 200
    html = r.content.decode()
    assert re.search(r'<form[^>]*method="post"', html)
    form = help_form(client)
    # A real submit button, no script hook standing between it and the server.
    assert any(b.get("type", "submit") == "submit" for b in form["buttons"])
    assert "onsubmit" not in form["attrs"]
    assert not any("onclick" in b or "disabled" in b for b in form["buttons"])
    # Script only enhances (GPS, map), loaded deferred from a file: never inline.
    assert parse(html).scripts <= 1
    assert "<script>" not in html
    for name in ("kind", "breathing", "conscious", "where", "details", "callback_phone"):
        assert name in form["fields"], name


def test_it_offers_the_hidden_lat_lon_fields_for_a_phone_location() -> None:
    form = help_form(Client())
    for name in ("lat", "lon"):
        assert [f.get("type") for f in form["fields"][name]] == ["hidden"]


def test_it_opens_an_incident_from_a_plain_form_post_and_redirects_to_its_status() -> None:
    # enforce_csrf_checks: a cheap phone that drops cookies must still get help.
    client = Client(enforce_csrf_checks=True)
    r = submit(client)
    token = token_of(r)
    incident = Incident.objects.get()
    assert incident.kind == "overdose"
    assert incident.priority == "P1"
    assert incident.source == Source.WEB
    assert incident.breathing == "no" and incident.conscious == "no"
    assert incident.location_description == OVERDOSE["where"]
    assert incident.details == OVERDOSE["details"]

    assert incident.callback_number == normalize_phone(OVERDOSE["callback_phone"])
    assert incident.lat is None and incident.lon is None
    assert incident.state == State.DISPATCHING
    status = client.get(r["Location"])
    assert status.status_code == 200
    assert 'id="status-message"' in status.content.decode()
    assert incident_by_token(token).pk == incident.pk


def test_it_submits_what_the_page_itself_offers() -> None:
    """Fill in the form the page renders, the way a browser would, and send it."""
    client = Client()
    form = help_form(client)
    data: dict[str, str] = {}
    for name, widgets in form["fields"].items():
        first = widgets[0]
        if first.get("type") == "radio":
            checked = [w for w in widgets if "checked" in w]
            data[name] = (checked or widgets)[0]["value"]
        elif first.get("type") != "hidden":
            data[name] = first.get("value", "")
    data["where"] = "Under the bridge by the station"
    r = client.post(form["attrs"].get("action") or "/", data)
    token_of(r)
    assert Incident.objects.get().location_description == "Under the bridge by the station"


def test_it_uses_the_hidden_lat_lon_when_present() -> None:
    client = Client()
    r = submit(client, where="", lat=str(CENTRE.lat), lon=str(CENTRE.lon))
    token_of(r)
    incident = Incident.objects.get()
    assert incident.lat == pytest.approx(CENTRE.lat)
    assert incident.lon == pytest.approx(CENTRE.lon)
    assert incident.area != ""


def test_it_rejects_a_request_with_no_place_and_no_location() -> None:
    r = submit(Client(), where="   ")
    assert r.status_code == 400
    html = r.content.decode()
    assert "Tell us where you are" in html
    assert 'role="alert"' in html
    assert Incident.objects.count() == 0


def test_it_ignores_half_a_location_and_asks_where() -> None:
    r = submit(Client(), where="", lat=str(CENTRE.lat))
    assert r.status_code == 400
    assert "Tell us where you are" in r.content.decode()
    assert Incident.objects.count() == 0


@pytest.mark.parametrize("lat,lon", [("nan", "24.9"), ("60.1", "inf"), ("95", "24.9"),
                                     ("60.1", "-181"), ("north", "east")])
def test_it_answers_a_bad_phone_location_with_400_not_500(lat: str, lon: str) -> None:
    r = submit(Client(), where="", lat=lat, lon=lon)
    assert r.status_code == 400
    assert Incident.objects.count() == 0


@pytest.mark.parametrize("phone", ["call me", "12", "+1 555 <b>"])
def test_it_rejects_a_bad_phone_number(phone: str) -> None:
    r = submit(Client(), callback_phone=phone)
    assert r.status_code == 400
    assert "Use digits only" in r.content.decode()
    assert Incident.objects.count() == 0


def test_it_rejects_an_unknown_kind() -> None:
    r = submit(Client(), kind="police")
    assert r.status_code == 400
    assert Incident.objects.count() == 0


def test_it_keeps_what_was_typed_when_the_form_comes_back() -> None:
    r = submit(Client(), where="", details="Third floor, flat 12")
    assert r.status_code == 400
    assert "Third floor, flat 12" in r.content.decode()


def test_it_renders_in_spanish_for_a_spanish_phone() -> None:
    r = Client().get("/", headers={"accept-language": "es"})
    assert r.status_code == 200
    assert '<html lang="es"' in r.content.decode()


def test_it_records_the_language_of_the_request() -> None:
    r = Client().post("/", OVERDOSE, headers={"accept-language": "es"})
    token_of(r)
    assert Incident.objects.get().language == "es"


def test_it_says_police_are_never_sent_and_mentions_them_nowhere_else() -> None:
    html = Client().get("/").content.decode()
    text = re.sub(r"<[^>]+>", "", html).lower()
    assert "never send the police" in text
    assert text.count("police") == text.count("never send the police")


def test_it_never_mentions_police_on_the_status_page() -> None:
    _, token = open_incident()
    text = Client().get(f"/t/{token}/").content.decode().lower()
    assert "police" not in text


# -- the status page --------------------------------------------------------------------


def test_it_says_when_nobody_is_on_shift() -> None:
    assert not Responder.objects.exists()
    _, token = open_incident()
    html = Client().get(f"/t/{token}/").content.decode()
    assert "No responder is on shift right now" in html
    assert 'data-status="dispatching"' in html


def test_it_says_it_is_finding_a_responder_when_someone_is_on_shift(make_responder) -> None:
    make_responder("sam", north_m=200)
    _, token = open_incident()
    html = Client().get(f"/t/{token}/").content.decode()
    assert "We asked 1 responder nearby. Waiting for them to accept." in html
    assert 'data-stage="finding"' in html
    assert "No responder is on shift" not in html


def test_it_shows_naloxone_first_aid_while_waiting_for_an_overdose(make_responder) -> None:
    make_responder("sam", north_m=200)  # so the "nobody on shift" advice is not shown
    _, token = open_incident(kind="overdose")
    html = Client().get(f"/t/{token}/").content.decode()
    assert "While you wait" in html
    assert "naloxone" in html.lower()
    assert "recovery position" in html


def test_it_shows_the_responder_by_first_name_once_accepted(make_responder) -> None:
    sam = make_responder("sam", north_m=200)
    incident, token = open_incident()
    offer = incident.offers.get(responder=sam)
    offer_accept(offer_id=offer.pk, responder=sam, now=timezone.now())
    html = Client().get(f"/t/{token}/").content.decode()
    assert "Sam accepted and is coming" in html


def test_it_cancels_when_they_are_ok_now() -> None:
    incident, token = open_incident()
    client = Client(enforce_csrf_checks=True)
    page = parse(client.get(f"/t/{token}/").content.decode())
    cancel = [f for f in page.forms if f["attrs"].get("action") == f"/t/{token}/cancel/"]
    assert len(cancel) == 1 and cancel[0]["attrs"]["method"] == "post"
    # One tap only asks: nothing is cancelled yet, and there is a way back.
    r = client.post(f"/t/{token}/cancel/")
    assert r.status_code == 200
    confirm = r.content.decode()
    assert "Cancel your request for help?" in confirm and f'href="/t/{token}/"' in confirm
    incident.refresh_from_db()
    assert incident.state == State.DISPATCHING
    r = client.post(f"/t/{token}/cancel/", {"confirm": "yes"})
    assert r.status_code == 302
    assert r["Location"] == f"/t/{token}/"
    incident.refresh_from_db()
    assert incident.state == State.CANCELLED
    assert incident.closed_by == "person"
    assert incident.closed_at is not None
    html = client.get(f"/t/{token}/").content.decode()
    assert "This request was cancelled" in html
    assert "/cancel/" not in html
    assert "Keep it open" not in html  # nothing more will change on a closed request
    assert f'action="/t/{token}/again/"' in html  # not a dead end


def test_it_does_not_cancel_once_a_responder_is_on_scene(make_responder) -> None:
    sam = make_responder("sam", north_m=200)
    incident, token = open_incident()
    offer = incident.offers.get(responder=sam)
    offer_accept(offer_id=offer.pk, responder=sam, now=timezone.now())
    incident_report(incident_id=incident.pk, type="on_scene", responder=sam,
                            user_id=sam.user_id, now=timezone.now())
    client = Client()
    assert "/cancel/" not in client.get(f"/t/{token}/").content.decode()
    r = client.post(f"/t/{token}/cancel/", {"confirm": "yes"})
    assert r.status_code == 302
    incident.refresh_from_db()
    assert incident.state == State.ON_SCENE
    assert "is with you" in client.get(f"/t/{token}/").content.decode()


def test_it_answers_404_for_an_unknown_token() -> None:
    open_incident()
    client = Client()
    assert client.get("/t/not-a-real-token/").status_code == 404
    assert client.post("/t/not-a-real-token/cancel/").status_code == 404
    assert Incident.objects.get().state == State.DISPATCHING


def test_it_refuses_to_cancel_with_a_get() -> None:
    incident, token = open_incident()
    assert Client().get(f"/t/{token}/cancel/").status_code == 405
    incident.refresh_from_db()
    assert incident.state == State.DISPATCHING


# -- small things that hurt (issue 13, item 8) ------------------------------------------


def test_a_wrong_status_link_says_so_and_leads_back_to_help() -> None:
    for path in ("/t/not-a-real-token/", "/c/not-a-real-token/"):
        r = Client().get(path)
        assert r.status_code == 404
        html = r.content.decode()
        assert "This link does not work" in html and 'id="to-help"' in html
        assert 'href="/"' in html
    spanish = Client().get("/t/nope/", headers={"Accept-Language": "es"}).content.decode()
    assert "Este enlace no funciona" in spanish


def test_the_details_field_shows_its_error() -> None:
    r = Client().post("/", {"kind": "overdose", "breathing": "no", "conscious": "no",
                            "where": "the park", "details": "x" * 2001})
    assert r.status_code == 400
    html = r.content.decode()
    details = html[html.index('for="id_details"'):html.index('id="id_details"')]
    assert 'class="errorlist' in details


def test_sending_comes_before_the_optional_questions() -> None:
    html = Client().get("/").content.decode()
    assert html.index('id="send"') < html.index('name="breathing"')
    assert html.index('value="overdose"') < html.index('id="send"')
    assert html.index('name="where"') < html.index('id="send"')
    assert '<details id="more">' in html  # folded, until there is something to see
    # Sent with only the kind and the place: an overdose is a P1.
    r = Client().post("/", {"kind": "overdose", "where": "behind the library"})
    assert r.status_code == 302
    incident = Incident.objects.get()
    assert incident.priority == "P1" and incident.breathing == "unknown"
    # A mistake in a folded field unfolds it.
    bad = Client().post("/", {"kind": "overdose", "where": "the park",
                              "callback_phone": "call me maybe"}).content.decode()
    assert '<details id="more" open>' in bad
