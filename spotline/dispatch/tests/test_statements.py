"""A new request costs a handful of statements, whatever the round's size.

The hottest write path, ``POST /api/v1/incidents``, once wrote the incident, then each
offer, message, timer, event and audit entry one row at a time (37 statements). Now it
writes each kind of row with one statement (``dispatch.actions.opening``). Counted over
the whole HTTP request with Django's ``CaptureQueriesContext``, so middleware, the
idempotency store and the live push's after-commit reads all count: a regression fails
here, not in a benchmark nobody reads.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from spotline.conftest import CENTRE, Api
from spotline.dispatch.actions.search import on_shift_count
from spotline.dispatch.models import Incident, IncidentEvent, Offer, Timer
from spotline.notify.models import Message

pytestmark = pytest.mark.django_db(transaction=True)

# Statements per request: issue 12's goal was 12; issue 17 added one, the row in the
# reporting store (``spotline.tally``) that the same transaction must write.
BUDGET = 13

HELP = {"kind": "overdose", "breathing": "no",
        "location": {"lat": CENTRE.lat, "lon": CENTRE.lon, "accuracy_m": 10,
                     "description": "behind the library"},
        "details": "blue jacket", "callback_phone": "+15550100100"}


@pytest.fixture(autouse=True)
def warm(public_api) -> None:
    """One request first: the very first audit append of a database creates the chain's
    head row, which no later request pays for."""
    public_api.post("/api/v1/incidents", {**HELP, "location": {"description": "warm-up"}})
    Incident.objects.all().delete()


def statements(api: Api, body: dict[str, Any], **headers: str) -> tuple[int, list[str]]:
    # The search keeps a count of who is on shift for 30 s (a new shift drops it): count
    # now, so the request measures its own statements, not the once-in-30-s count.
    on_shift_count()
    with CaptureQueriesContext(connection) as queries:
        r = api.post("/api/v1/incidents", body, **headers)
    assert r.status_code == 201, r.content
    return len(queries.captured_queries), [q["sql"] for q in queries.captured_queries]


def test_a_request_with_a_full_round_of_offers_takes_at_most_the_budget(
        make_responder, public_api) -> None:
    for n in range(8):
        make_responder(north_m=50 * (n + 1), phone=f"+155501002{n:02d}")
    count, sql = statements(public_api, HELP)
    incident = Incident.objects.latest("pk")
    # It did everything the slow path did: three offers, a text and a call each, both
    # timers, three events.
    assert Offer.objects.filter(incident=incident).count() == 3
    assert Message.objects.filter(incident=incident).count() == 6
    assert Timer.objects.filter(incident=incident).count() == 2
    assert [e.type for e in IncidentEvent.objects.filter(incident=incident)] == [
        "opened", "dispatch", "offers_made"]
    assert count <= BUDGET, "\n".join(sql)


def test_the_count_does_not_grow_with_the_round_or_the_roster(
        make_responder, public_api) -> None:
    make_responder(north_m=100)
    one, _ = statements(public_api, HELP)
    for n in range(30):
        make_responder(north_m=20 * (n + 2), phone=f"+1555010{n:04d}")
    many, _ = statements(public_api, HELP)
    assert many == one


def test_a_request_nobody_can_take_also_stays_in_the_budget(public_api) -> None:
    count, sql = statements(public_api, HELP)  # nobody on shift
    incident = Incident.objects.latest("pk")
    assert incident.attention == "nobody_on_shift"
    assert count <= BUDGET, "\n".join(sql)


def test_a_request_without_a_point_also_stays_in_the_budget(make_responder,
                                                           public_api) -> None:
    make_responder(north_m=100)
    count, sql = statements(public_api, {**HELP, "location": {"description": "the tracks"}})
    incident = Incident.objects.latest("pk")
    assert incident.attention == "location_unknown"
    assert not Offer.objects.filter(incident=incident).exists()
    assert count <= BUDGET, "\n".join(sql)


def test_an_idempotent_request_adds_only_its_own_row(make_responder, public_api) -> None:
    make_responder(north_m=100)
    plain, _ = statements(public_api, HELP)
    keyed, sql = statements(public_api, HELP, **{"Idempotency-Key": "retry-1"})
    # A look-up of the key, and the stored answer; nothing else changes.
    assert keyed <= plain + 2, "\n".join(sql)
