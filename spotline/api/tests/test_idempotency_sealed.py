"""What the stored first answer of a keyed check-in start keeps in the database.

A saved plan is "sealed ... only its token opens it" (``checkins.models``), and the
database keeps only a token's digest "so a copy of it opens nothing"
(``privacy.crypto.token_digest``); the help form's stored answer seals its token
(``intake.submissions``). The check-in start's stored answer (``api.idempotency``) is
kept a day; unsealed (as first written, found by review), a copy of the database would
open the plan (the place, how to get in, the phone, the trusted person's name and phone)
through ``GET /api/v1/checkins/plans/<token>``. Stored answers are sealed now.
"""

from __future__ import annotations

import hashlib
import json

import pytest
import time_machine
from django.db import connection
from django.test import override_settings

from spotline.api.models import IdempotentRequest
from spotline.conftest import CENTRE, T0, Api
from spotline.privacy.crypto import seal

pytestmark = pytest.mark.django_db

URL = "/api/v1/checkins"


def test_a_keyed_start_that_saves_a_plan_keeps_no_plan_token_in_the_database():
    body = {"location": {"lat": CENTRE.lat, "lon": CENTRE.lon,
                         "description": "Back bedroom, door unlocked"},
            "minutes": 5, "phone": "+15550100166", "save_plan": True}
    with time_machine.travel(T0, tick=False):
        r = Api().post(URL, body, **{"Idempotency-Key": "review-plan"})
    assert r.status_code == 201, r.content
    plan_token = r.json()["plan_token"]
    assert plan_token
    # The plan token opens the person's plan: it must not sit in the database as is.
    assert Api().get(f"{URL}/plans/{plan_token}").json()["phone"] == "+15550100166"
    assert IdempotentRequest.objects.filter(scope="checkin_create").count() == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT response FROM api_idempotentrequest")
        raw = " ".join(str(row[0]) for row in cursor.fetchall())
    assert plan_token not in raw
    assert plan_token not in json.dumps(IdempotentRequest.objects.get().response)
    # And a retry still gets the first answer, the plan token included.
    with time_machine.travel(T0, tick=False):
        again = Api().post(URL, body, **{"Idempotency-Key": "review-plan"})
    assert again.json() == r.json()


def _stored(key: str, response: object) -> None:
    body = {"location": {"lat": CENTRE.lat, "lon": CENTRE.lon}, "minutes": 5}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
    IdempotentRequest.objects.create(scope="checkin_create", key=key, request_digest=digest,
                                     status_code=201, response=response, created_at=T0)


def test_a_plain_answer_stored_before_sealing_is_replayed_as_it_is():
    answer = {"id": 7, "token": "t" * 20, "next_check_at": "2026-01-01T03:05:00Z",
              "status": "active", "page_url": "https://help.example.org/c/" + "t" * 20,
              "plan_token": None}
    _stored("before-sealing", answer)
    r = Api().post(URL, {"location": {"lat": CENTRE.lat, "lon": CENTRE.lon}, "minutes": 5},
                   **{"Idempotency-Key": "before-sealing"})
    assert (r.status_code, r.json()) == (201, answer)


def test_an_answer_sealed_under_a_key_rotated_away_is_a_clear_409(settings):
    with override_settings(SPOTLINE_KEK=b"k" * 32):
        sealed = seal(json.dumps({"id": 7}), context="idempotency.checkin_create")
    _stored("rotated", {"sealed": sealed})
    r = Api().post(URL, {"location": {"lat": CENTRE.lat, "lon": CENTRE.lon}, "minutes": 5},
                   **{"Idempotency-Key": "rotated"})
    assert r.status_code == 409
    assert "new key" in r.json()["detail"]
