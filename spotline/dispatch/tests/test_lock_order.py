"""Races between actions on one responder: never a deadlock error, never two incidents.

Each race releases two threads (two real database connections) at once through a
barrier, many times over. On PostgreSQL this exercises the row locks and their global
order (responder first, then incidents by id); on SQLite, the IMMEDIATE transactions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from spotline.conftest import CENTRE, HANG_SECONDS, T0, offset
from spotline.core.lifecycle import HELD
from spotline.core.triage import Kind
from spotline.dispatch.actions.dispatcher import incident_assign
from spotline.dispatch.actions.offers import offer_accept, offer_decline
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.actions.shifts import shift_set
from spotline.dispatch.models import Incident, Offer
from spotline.errors import ActionError
from spotline.responders.models import Responder

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 8


def race(*calls: Callable[[], Any]) -> list[BaseException | None]:
    """Run the calls at the same moment; return what each raised (None if nothing)."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[BaseException | None] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=HANG_SECONDS)
            call()
        except BaseException as exc:
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=HANG_SECONDS)
    # A hang guard: a thread still running would leave its outcome None, as if it had
    # succeeded, and race the checks that follow.
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return outcomes


def only_clear_refusals(outcomes: list[BaseException | None]) -> None:
    for exc in outcomes:
        assert exc is None or isinstance(exc, ActionError), repr(exc)


def reset() -> None:
    """End a race round: close its incidents and take its cast off shift."""

    Incident.objects.update(state="cancelled")
    Responder.objects.update(on_shift_since=None, lat=None, lon=None)


def held_by(responder_id: int) -> int:
    return Incident.objects.filter(assigned_responder_id=responder_id,
                                   state__in=[s.value for s in HELD]).count()


def open_two():
    a = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE), now=T0).incident
    b = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=offset(CENTRE, 50)),
                      now=T0).incident
    return a, b


def test_it_never_lets_an_accept_and_an_assign_give_one_responder_two_incidents(
    make_responder,
) -> None:
    for n in range(ROUNDS):
        sam = make_responder(f"sam{n}", north_m=10)
        a, b = open_two()
        offer = Offer.objects.get(incident=a, responder=sam)
        outcomes = race(
            lambda: offer_accept(offer_id=offer.pk, responder=sam, now=T0),
            lambda: incident_assign(incident_id=b.pk, responder_id=sam.pk,
                                            user_id=None, now=T0),
        )
        only_clear_refusals(outcomes)
        assert held_by(sam.pk) == 1
        reset()


def test_it_never_deadlocks_two_responders_accepting_crossed_offers(make_responder) -> None:
    for n in range(ROUNDS):
        r1 = make_responder(f"r1x{n}", north_m=10)
        r2 = make_responder(f"r2x{n}", north_m=20)
        a, b = open_two()  # both responders have offers on both incidents
        o1 = Offer.objects.get(incident=a, responder=r1)
        o2 = Offer.objects.get(incident=b, responder=r2)
        outcomes = race(
            lambda: offer_accept(offer_id=o1.pk, responder=r1, now=T0),
            lambda: offer_accept(offer_id=o2.pk, responder=r2, now=T0),
        )
        assert outcomes == [None, None]
        assert held_by(r1.pk) == held_by(r2.pk) == 1
        reset()


def test_it_never_leaves_an_off_shift_responder_holding_an_incident(make_responder) -> None:
    for n in range(ROUNDS):
        sam = make_responder(f"sam{n}", north_m=10)
        a, _ = open_two()
        offer = Offer.objects.get(incident=a, responder=sam)
        outcomes = race(
            lambda: offer_accept(offer_id=offer.pk, responder=sam, now=T0),
            lambda: shift_set(responder=sam, on_shift=False, location=None, now=T0),
        )
        only_clear_refusals(outcomes)
        sam.refresh_from_db()
        # Either the accept won (still on shift, holding it) or going off shift won
        # (off shift, holding nothing): never off shift while holding it.
        assert (sam.on_shift_since is None) == (held_by(sam.pk) == 0)
        reset()


def test_it_widens_an_incident_whose_last_offer_went_to_a_responder_who_took_another(
    make_responder,
) -> None:
    sam = make_responder("sam", north_m=10)
    far = make_responder("far", north_m=5000)
    a = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE), now=T0).incident
    # A second incident offered to sam only (K=1 for P3), far from everyone else.
    b = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=offset(CENTRE, 20)),
                      now=T0).incident
    for other in Offer.objects.filter(incident=b).exclude(responder=sam):
        offer_decline(offer_id=other.pk, responder=other.responder, now=T0)
    offer = Offer.objects.get(incident=a, responder=sam)
    offer_accept(offer_id=offer.pk, responder=sam, now=T0)
    types = list(b.events.values_list("type", flat=True))
    assert "offer_withdrawn" in types
    # b did not sit waiting on sam: it was offered again at once (far already declined,
    # so nobody is left) and the timeline says why.
    assert Offer.objects.filter(incident=b, responder=sam).get().status == "withdrawn"
    assert far.pk
