"""A purge that comes before the incident's last messages went out.

Found by the soak (``make soak`` runs with a retention of 0 hours): the person cancels,
a stand-down to the responder is queued, the incident closes and is purged at once; the
purge blanked the stand-down's text but left it due, so the sender called the provider
with an empty body (Twilio's 400, code 21211) and recorded a failed delivery. A message
the purge has emptied is cancelled now: nothing empty is sent, nothing fails.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from spotline.conftest import T0
from spotline.core.policy import Actor
from spotline.dispatch.actions.dispatcher import incident_cancel
from spotline.dispatch.actions.offers import offer_accept
from spotline.dispatch.models import Incident, Offer, Timer, TimerKind
from spotline.dispatch.timers import fire_due
from spotline.notify.models import Delivery, Message
from spotline.notify.providers.console import transport as console_provider
from spotline.notify.sender import send_due
from spotline.notify.tests.test_outbox import open_overdose, responder_with

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)


def test_stand_down_queued_as_the_incident_closes_is_cancelled_by_a_purge_before_it_is_sent(
        settings):
    settings.SPOTLINE_RETENTION_HOURS = 0
    settings.SPOTLINE_PROVIDERS = ["console"]
    responder = responder_with("sam", channels=["console"])
    incident = open_overdose()
    offer = Offer.objects.get(incident=incident, responder=responder)
    offer_accept(offer_id=offer.pk, responder=responder, now=T0 + 5 * S)
    send_due(now=T0 + 6 * S)  # the offer went out before; the stand-down is still to come
    console_provider.SENT.clear()
    incident_cancel(incident_id=incident.pk, actor=Actor.PERSON, user_id=None, now=T0 + 10 * S)
    stand_down = Message.objects.get(purpose="stand_down")
    assert stand_down.sent_at is None and stand_down.body_sealed != ""

    # Retention 0: the purge is due at the close, and fires before the outbox runs.
    assert Timer.objects.filter(incident=incident, kind=TimerKind.PURGE,
                                due_at=T0 + 10 * S).exists()
    fire_due(now=T0 + 10 * S)
    assert Incident.objects.get(pk=incident.pk).purged_at == T0 + 10 * S

    stand_down.refresh_from_db()
    assert (stand_down.to_sealed, stand_down.body_sealed) == ("", "")
    assert stand_down.cancelled_at == T0 + 10 * S
    assert stand_down.last_error == "incident purged"
    assert send_due(now=T0 + 11 * S) == 0
    assert list(console_provider.SENT) == []  # nothing empty went out
    assert not Delivery.objects.filter(message=stand_down).exists()  # and nothing failed
