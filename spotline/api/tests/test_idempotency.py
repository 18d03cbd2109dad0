"""The Idempotency-Key header, what every operation that takes it shares: the schema
declares it, and the worker's housekeeping deletes the stored answers after a day, for
every operation (each answer holds a secret token: an incident's tracking token, a
check-in's token). Each operation's own behaviour is tested with it
(``test_incident_create.py``, ``checkins/tests/test_checkin_retry.py``)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client

from spotline.api.housekeeping import IDEMPOTENCY_TTL, idempotency_expire
from spotline.api.idempotency import HEADER, MAX_KEY_LENGTH
from spotline.api.models import IdempotentRequest
from spotline.conftest import T0

pytestmark = pytest.mark.django_db

SCOPES = ("incident_create", "checkin_create")


def stored(scope: str, key: str, *, age: timedelta) -> None:
    IdempotentRequest.objects.create(scope=scope, key=key, request_digest="0" * 64,
                                     status_code=201, response={"token": f"{key}-token"},
                                     created_at=T0 - age)


def test_it_deletes_answers_older_than_a_day_whatever_the_operation():
    for scope in SCOPES:
        stored(scope, f"{scope}-old", age=IDEMPOTENCY_TTL + timedelta(seconds=1))
        stored(scope, f"{scope}-day", age=IDEMPOTENCY_TTL)
        stored(scope, f"{scope}-new", age=timedelta(minutes=5))
    assert idempotency_expire(now=T0) == len(SCOPES)
    left = set(IdempotentRequest.objects.values_list("scope", "key"))
    assert left == {(scope, f"{scope}-{age}") for scope in SCOPES for age in ("day", "new")}


def test_it_deletes_nothing_younger_than_a_day():
    for scope in SCOPES:
        stored(scope, "k", age=timedelta(hours=23))
    assert idempotency_expire(now=T0) == 0
    assert IdempotentRequest.objects.count() == len(SCOPES)


@pytest.mark.parametrize("path", ["/api/v1/incidents", "/api/v1/checkins"])
def test_the_schema_declares_the_optional_header_with_the_limits_the_server_keeps(path):
    operation = Client().get("/api/openapi.json").json()["paths"][path]["post"]
    [header] = [p for p in operation["parameters"] if p["in"] == "header"]
    assert (header["name"], header["required"]) == (HEADER, False)
    schema = header["schema"]
    assert schema["maxLength"] == MAX_KEY_LENGTH == 200
    # The pattern admits printable ASCII and nothing else (the server takes more);
    # fullmatch, as JSON Schema reads "$" (Python's search lets it end before "\n").
    pattern = re.compile(schema["pattern"])
    assert all(pattern.fullmatch(chr(c)) for c in range(0x20, 0x7F))
    assert not any(pattern.fullmatch(chr(c)) for c in (*range(0x20), 0x7F))
    assert {"400", "422"} <= set(operation["responses"])
