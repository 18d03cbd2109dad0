"""POST /api/v1/checkins sent again with the same Idempotency-Key starts one check-in.

The crash-soak's interleaving: the web process committed a check-in and was killed
before it answered; the client, with no answer, sent the start again. Without a key
that is a second check-in (two deadlines, two escalations); with one, the retry gets
the first answer and nothing new runs.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.db import connection

from spotline.api.housekeeping import idempotency_expire
from spotline.api.idempotency import stored_answer
from spotline.api.models import IdempotentRequest
from spotline.audit.models import AuditEntry
from spotline.checkins.deadlines import fire_due as fire_due_checkins
from spotline.checkins.models import CheckIn, CheckInDeadline, SavedPlan
from spotline.conftest import CENTRE, HANG_SECONDS, T0, Api
from spotline.dispatch.models import Incident, Timer
from spotline.notify.models import Message
from spotline.privacy.models import DataKey
from spotline.tally.models import CheckinFact

URL = "/api/v1/checkins"
S = timedelta(seconds=1)
KEY = "Idempotency-Key"


@pytest.fixture(autouse=True)
def grace(settings):
    settings.SPOTLINE_CHECKIN_GRACE_SECONDS = 60


def body(**overrides: Any) -> dict[str, Any]:
    return {"location": {"lat": CENTRE.lat, "lon": CENTRE.lon,
                         "description": "Back bedroom, door unlocked"},
            "minutes": 5, "phone": "+15550100166", **overrides}


def post(payload: dict[str, Any], *, at: datetime = T0, **headers: str) -> Any:
    with time_machine.travel(at, tick=False):
        return Api().post(URL, payload, **headers)


def counts() -> dict[str, int]:
    """Every row a check-in start writes, and the deadline timers (dispatch's included:
    a check-in must arm none of those)."""
    return {
        "checkins": CheckIn.objects.count(),
        "deadlines": CheckInDeadline.objects.count(),
        "dispatch_timers": Timer.objects.count(),
        "answers": IdempotentRequest.objects.count(),
        "facts": CheckinFact.objects.count(),
        "plans": SavedPlan.objects.count(),
        "data_keys": DataKey.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


@pytest.mark.django_db
def test_start_retried_after_lost_answer_starts_one_checkin():
    # 1. The start commits; its answer never reaches the client (kill -9 before the
    #    reply). The test keeps it only to compare.
    lost = post(body(), **{KEY: "start-1"})
    assert lost.status_code == 201, lost.content
    after_first = counts()
    # 2. The client sends the same start again, later, with the same key.
    retry = post(body(), at=T0 + 20 * S, **{KEY: "start-1"})
    assert retry.status_code == 201, retry.content
    assert retry.json() == lost.json()
    assert retry.content == lost.content
    assert counts() == after_first
    assert after_first["checkins"] == after_first["deadlines"] == 1
    assert after_first["dispatch_timers"] == 0
    # The token handed out again opens the one check-in.
    checkin = CheckIn.objects.get()
    mine = Api().get(f"{URL}/{retry.json()['token']}")
    assert mine.status_code == 200 and mine.json()["id"] == checkin.pk == retry.json()["id"]
    # 3. Silence: one question, one warning, one escalation, one incident.
    for seconds in (300, 360, 420):
        fire_due_checkins(now=T0 + seconds * S)
    checkin.refresh_from_db()
    assert checkin.state == "escalated"
    assert Incident.objects.count() == 1
    assert Message.objects.filter(purpose="checkin").count() == 2  # asked, warned


@pytest.mark.django_db
def test_it_treats_a_reordered_body_as_the_same_start():
    first = post(body(), **{KEY: "k-order"})
    reordered = dict(reversed(list(body().items())))
    second = post(reordered, **{KEY: "k-order"})
    assert second.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    assert CheckIn.objects.count() == 1


@pytest.mark.django_db
def test_it_replays_the_same_json_for_a_time_with_microseconds():
    # The answer holds a datetime. The stored answer is JSON (a time as text, to the
    # millisecond); the first answer must be sent from it too, or a time whose
    # microseconds round to ".000" would read differently the second time.
    at = T0 + timedelta(microseconds=500)
    first = post(body(), at=at, **{KEY: "k-time"})
    second = post(body(), at=at + 20 * S, **{KEY: "k-time"})
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert CheckIn.objects.get().next_at == at + timedelta(minutes=5)
    stored = IdempotentRequest.objects.get(scope="checkin_create", key="k-time")
    # Stored as "...T03:05:00.000Z", sent as "...T03:05:00Z" both times: one instant.
    sent = datetime.fromisoformat(first.json()["next_check_at"])
    assert datetime.fromisoformat(
        stored_answer(stored, scope="checkin_create")["next_check_at"]) == sent
    assert sent == (at + timedelta(minutes=5)).replace(microsecond=0)


@pytest.mark.django_db
def test_it_refuses_the_same_key_with_a_different_body_and_writes_nothing():
    first = post(body(), **{KEY: "k-2"})
    assert first.status_code == 201
    before = counts()
    r = post(body(minutes=10), **{KEY: "k-2"})
    assert r.status_code == 422, r.content
    assert KEY in r.json()["detail"]
    assert counts() == before


@pytest.mark.django_db
def test_it_counts_a_field_given_as_its_default_as_a_different_start():
    # Given, a field overrides a saved plan's even at its default value
    # (api/checkins.py::_plan_from), so the two bodies can mean different plans.
    first = post(body(), **{KEY: "k-given"})
    assert first.status_code == 201
    r = post(body(on_miss="responders"), **{KEY: "k-given"})
    assert r.status_code == 422, r.content
    assert CheckIn.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["k" * 201, "k\tk", "k\x00k"],
                         ids=["too-long", "tab", "nul"])
def test_it_refuses_a_key_that_cannot_be_one_and_writes_nothing(key):
    before = counts()
    r = post(body(), **{KEY: key})
    assert r.status_code == 400, r.content
    assert KEY in r.json()["detail"]
    assert counts() == before


@pytest.mark.django_db
def test_it_takes_a_key_of_200_characters():
    r = post(body(), **{KEY: "k" * 200})
    assert r.status_code == 201, r.content
    assert IdempotentRequest.objects.get().key == "k" * 200


@pytest.mark.django_db
def test_it_starts_a_check_in_per_request_without_a_key():
    a = post(body())
    b = post(body())
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]
    assert CheckIn.objects.count() == CheckInDeadline.objects.count() == 2
    assert not IdempotentRequest.objects.exists()


@pytest.mark.django_db
def test_it_keeps_the_key_free_after_a_refused_start():
    # An unknown saved plan is a 404: nothing started, nothing stored.
    r = post(body(plan_token="no-such-plan-0123"), **{KEY: "k-404"})
    assert r.status_code == 404, r.content
    assert not IdempotentRequest.objects.exists()
    r = post(body(), **{KEY: "k-404"})
    assert r.status_code == 201, r.content
    assert CheckIn.objects.count() == 1


@pytest.mark.django_db
def test_it_saves_one_plan_and_gives_its_token_again_on_a_retry():
    first = post(body(save_plan=True), **{KEY: "k-plan"})
    second = post(body(save_plan=True), at=T0 + 20 * S, **{KEY: "k-plan"})
    assert first.json()["plan_token"] and second.json() == first.json()
    assert SavedPlan.objects.count() == 1 and CheckIn.objects.count() == 1
    assert Api().get(f"{URL}/plans/{second.json()['plan_token']}").status_code == 200


@pytest.mark.django_db
def test_it_marks_a_saved_plan_used_in_the_start_and_not_again_on_a_retry():
    plan_token = post(body(save_plan=True)).json()["plan_token"]
    start = {"plan_token": plan_token}
    first = post(start, at=T0 + 60 * S, **{KEY: "k-used"})
    assert first.status_code == 201, first.content
    assert SavedPlan.objects.get().used_at == T0 + 60 * S
    second = post(start, at=T0 + 120 * S, **{KEY: "k-used"})
    assert second.json() == first.json()
    assert SavedPlan.objects.get().used_at == T0 + 60 * S
    assert CheckIn.objects.count() == 2  # the one that saved the plan, and this one


@pytest.mark.django_db
def test_a_retry_that_loses_the_race_to_the_committed_start_gets_its_answer():
    # The interleaving: two sends with one key both look and find no answer; one
    # commits its check-in and answer first. The other's start runs, its answer row
    # hits the key's unique constraint, and it rolls back whole.
    first = post(body(save_plan=True), **{KEY: "k-race"})
    assert first.status_code == 201
    before = counts()
    with mock.patch("spotline.api.idempotency.answered", return_value=None) as looked:
        late = post(body(save_plan=True), at=T0 + 1 * S, **{KEY: "k-race"})
    assert looked.call_count == 1
    assert late.status_code == 201, late.content
    assert late.json() == first.json()
    assert counts() == before  # no second check-in, deadline, plan, key or audit entry


@pytest.mark.django_db
def test_a_losing_retry_with_a_different_body_is_refused_and_writes_nothing():
    post(body(), **{KEY: "k-race-2"})
    before = counts()
    with mock.patch("spotline.api.idempotency.answered", return_value=None):
        r = post(body(minutes=10), **{KEY: "k-race-2"})
    assert r.status_code == 422, r.content
    assert counts() == before


@pytest.mark.django_db(transaction=True)
def test_it_starts_one_check_in_for_concurrent_starts_with_one_key():
    n = 4
    barrier = threading.Barrier(n)
    results: list[tuple[int, dict[str, Any]]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def send() -> None:
        try:
            client = Api()
            barrier.wait(timeout=HANG_SECONDS)
            r = client.post(URL, body(), **{KEY: "k-threads"})
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
    assert [status for status, _ in results] == [201] * n
    assert len({(answer["id"], answer["token"]) for _, answer in results}) == 1
    assert CheckIn.objects.count() == CheckInDeadline.objects.count() == 1
    assert IdempotentRequest.objects.count() == 1


@pytest.mark.django_db
def test_housekeeping_deletes_the_stored_answer_and_its_token_after_a_day():
    token = post(body(), **{KEY: "k-day"}).json()["token"]
    stored = IdempotentRequest.objects.get()
    assert (stored.scope, stored_answer(stored, scope="checkin_create")["token"]) == (
        "checkin_create", token)
    assert token not in json.dumps(stored.response)  # sealed, not as answered
    assert idempotency_expire(now=T0 + timedelta(hours=24)) == 0
    assert idempotency_expire(now=T0 + timedelta(hours=24, seconds=1)) == 1
    assert not IdempotentRequest.objects.exists()
    assert CheckIn.objects.count() == 1  # the check-in itself runs on
