"""POST /api/v1/incidents: asking for help, and the Idempotency-Key contract."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit

import pytest
import time_machine
from django.db import connection

from spotline.api.models import IdempotentRequest
from spotline.conftest import CENTRE, HANG_SECONDS, T0, Api
from spotline.dispatch.models import Incident, IncidentEvent, Offer, Timer

URL = "/api/v1/incidents"


def help_request(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "overdose",
        "location": {"lat": CENTRE.lat, "lon": CENTRE.lon, "accuracy_m": 15},
        "breathing": "no",
    }
    body.update(overrides)
    return body


def counts() -> dict[str, int]:
    return {
        "incidents": Incident.objects.count(),
        "offers": Offer.objects.count(),
        "timers": Timer.objects.count(),
        "events": IncidentEvent.objects.count(),
        "idempotency": IdempotentRequest.objects.count(),
    }


@pytest.mark.django_db
def test_it_answers_201_with_id_token_status_and_status_url(public_api):
    with time_machine.travel(T0, tick=False):
        r = public_api.post(URL, help_request())
    assert r.status_code == 201, r.content
    body = r.json()
    assert {"id", "tracking_token", "status", "status_url"} <= set(body)
    assert isinstance(body["id"], int)
    assert isinstance(body["tracking_token"], str) and len(body["tracking_token"]) >= 16
    assert body["status"] == "dispatching"
    assert body["tracking_token"] in body["status_url"]
    incident = Incident.objects.get(pk=body["id"])
    assert (incident.lat, incident.lon) == (CENTRE.lat, CENTRE.lon)
    assert incident.kind == "overdose"
    assert incident.priority == "P1"
    assert incident.source == "api"


@pytest.mark.django_db
def test_it_serves_the_status_page_at_the_status_url(public_api):
    with time_machine.travel(T0, tick=False):
        body = public_api.post(URL, help_request()).json()
        parts = urlsplit(body["status_url"])
        assert parts.scheme in ("http", "https") and parts.netloc
        page = public_api.client.get(parts.path)
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_it_serves_the_tracking_url_it_hands_out(public_api):
    with time_machine.travel(T0, tick=False):
        body = public_api.post(URL, help_request()).json()
        r = public_api.get(f"/api/v1/track/{body['tracking_token']}")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "dispatching"


@pytest.mark.django_db
def test_it_stores_only_a_digest_of_the_tracking_token(public_api):
    body = public_api.post(URL, help_request()).json()
    incident = Incident.objects.get(pk=body["id"])
    assert body["tracking_token"] not in incident.tracking_digest


@pytest.mark.django_db
def test_it_accepts_a_description_without_coordinates(public_api):
    r = public_api.post(URL, help_request(
        location={"description": "bench behind the library"}))
    assert r.status_code == 201, r.content
    incident = Incident.objects.get(pk=r.json()["id"])
    assert incident.lat is None and incident.lon is None
    assert incident.location_description == "bench behind the library"


@pytest.mark.django_db
@pytest.mark.parametrize("location", [
    {},
    {"description": ""},
    {"description": "   "},
    {"accuracy_m": 10},
], ids=["empty", "empty-description", "blank-description", "accuracy-only"])
def test_it_requires_coordinates_or_a_description(public_api, location):
    before = counts()
    r = public_api.post(URL, help_request(location=location))
    assert r.status_code == 422, r.content
    assert "location" in r.json()["detail"]
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["overdose", "mental_health", "welfare_check", "medical",
                                  "conflict", "other"])
def test_it_accepts_every_kind_of_the_contract(public_api, kind):
    r = public_api.post(URL, help_request(kind=kind))
    assert r.status_code == 201, r.content
    assert Incident.objects.get(pk=r.json()["id"]).kind == kind


@pytest.mark.django_db
def test_it_accepts_every_optional_field(public_api):
    r = public_api.post(URL, {
        "kind": "mental_health",
        "location": {"lat": CENTRE.lat, "lon": CENTRE.lon, "accuracy_m": 30,
                     "description": "2nd floor"},
        "details": "very anxious, wants to talk",
        "breathing": "yes", "conscious": "yes",
        "callback_phone": "+358 40 123 4567",
        "language": "es",
    })
    assert r.status_code == 201, r.content
    incident = Incident.objects.get(pk=r.json()["id"])
    assert incident.callback_number == "+358401234567"

    with connection.cursor() as cursor:
        cursor.execute("SELECT callback_phone, location_description, lat FROM "
                       "dispatch_incident WHERE id = %s", [incident.pk])
        stored = cursor.fetchone()
    assert all(v.startswith(f"k{incident.data_key_id}.") for v in stored), "sealed"
    # The number, not a fragment of it: "123" turns up in random ciphertext and key ids.
    assert "401234567" not in stored[0] and "2nd floor" not in stored[1]
    assert incident.language == "es"
    assert incident.details == "very anxious, wants to talk"
    assert incident.location_description == "2nd floor"


# -- Idempotency-Key -----------------------------------------------------------------------


@pytest.mark.django_db
def test_it_gives_the_same_answer_for_the_same_key_and_body(public_api):
    with time_machine.travel(T0, tick=False):
        first = public_api.post(URL, help_request(), **{"Idempotency-Key": "k-1"})
        second = public_api.post(URL, help_request(), **{"Idempotency-Key": "k-1"})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert Incident.objects.count() == 1


@pytest.mark.django_db
def test_it_treats_a_reordered_body_as_the_same_request(public_api):
    body = help_request()
    reordered = dict(reversed(list(body.items())))
    first = public_api.post(URL, body, **{"Idempotency-Key": "k-order"})
    second = public_api.post(URL, reordered, **{"Idempotency-Key": "k-order"})
    assert second.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    assert Incident.objects.count() == 1


@pytest.mark.django_db
def test_it_makes_no_second_round_of_offers_on_a_retry(public_api, make_responder):
    make_responder(north_m=100)
    with time_machine.travel(T0, tick=False):
        public_api.post(URL, help_request(), **{"Idempotency-Key": "k-offers"})
        before = counts()
        public_api.post(URL, help_request(), **{"Idempotency-Key": "k-offers"})
    assert before["offers"] == 1
    assert counts() == before


@pytest.mark.django_db
def test_it_refuses_the_same_key_with_a_different_body_and_writes_nothing(public_api):
    first = public_api.post(URL, help_request(), **{"Idempotency-Key": "k-2"})
    assert first.status_code == 201
    before = counts()
    r = public_api.post(URL, help_request(kind="medical"), **{"Idempotency-Key": "k-2"})
    assert r.status_code == 422, r.content
    assert "Idempotency-Key" in r.json()["detail"]
    assert counts() == before


@pytest.mark.django_db
def test_it_opens_separate_incidents_for_different_keys(public_api):
    a = public_api.post(URL, help_request(), **{"Idempotency-Key": "k-a"}).json()
    b = public_api.post(URL, help_request(), **{"Idempotency-Key": "k-b"}).json()
    assert a["id"] != b["id"]
    assert a["tracking_token"] != b["tracking_token"]
    assert Incident.objects.count() == 2


@pytest.mark.django_db
def test_it_opens_a_new_incident_per_request_without_a_key(public_api):
    public_api.post(URL, help_request())
    public_api.post(URL, help_request())
    assert Incident.objects.count() == 2


@pytest.mark.django_db
def test_it_stores_no_answer_for_a_rejected_request(public_api):
    r = public_api.post(URL, help_request(kind="police"), **{"Idempotency-Key": "k-bad"})
    assert r.status_code == 422
    assert not IdempotentRequest.objects.exists()
    # The key is still free for the corrected request.
    r = public_api.post(URL, help_request(), **{"Idempotency-Key": "k-bad"})
    assert r.status_code == 201, r.content
    assert Incident.objects.count() == 1


@pytest.mark.django_db
def test_it_refuses_an_overlong_idempotency_key(public_api):
    r = public_api.post(URL, help_request(), **{"Idempotency-Key": "k" * 201})
    assert r.status_code == 400, r.content
    assert r.json()["detail"]
    assert Incident.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_it_opens_one_incident_for_concurrent_requests_with_one_key():
    n = 6
    barrier = threading.Barrier(n)
    results: list[tuple[int, dict[str, Any]]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def send() -> None:
        try:
            client = Api()
            barrier.wait(timeout=HANG_SECONDS)
            r = client.post(URL, help_request(), **{"Idempotency-Key": "k-race"})
            with lock:
                results.append((r.status_code, r.json()))
        except BaseException as exc:  # reported below, in the test's thread
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=HANG_SECONDS)
    assert not any(t.is_alive() for t in threads), "a thread hung"  # a hang guard
    assert not errors, errors
    assert len(results) == n
    assert {status for status, _ in results} == {201}
    assert len({body["id"] for _, body in results}) == 1
    assert len({body["tracking_token"] for _, body in results}) == 1
    assert Incident.objects.count() == 1
    assert IdempotentRequest.objects.count() == 1
    assert IncidentEvent.objects.filter(type="opened").count() == 1
