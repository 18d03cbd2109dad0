"""Someone who asked by SMS is told by SMS how it is going, in their language."""

from __future__ import annotations

import pytest

from spotline.conftest import CENTRE, T0
from spotline.core.triage import Kind
from spotline.dispatch.actions.dispatcher import incident_assign
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.actions.reports import incident_report
from spotline.dispatch.models import Source
from spotline.notify.models import Message
from spotline.privacy.crypto import unseal

pytestmark = pytest.mark.django_db

PHONE = "+15550100177"
ASK_WHERE = ("We need to know where you are to send someone: text us an address, a street "
             "corner or a place nearby.")


def open_by_sms(language: str = "en"):
    return incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=None,
               description="behind the 7-11", source=Source.SMS, callback_phone=PHONE,
               language=language), now=T0).incident


def status_texts(incident) -> list[str]:
    return [unseal(m.body_sealed, context="message.body")
            for m in Message.objects.filter(incident=incident, purpose="status").order_by("id")]


def test_it_texts_the_person_when_a_responder_is_coming_and_arrives(make_responder) -> None:
    sam = make_responder("sam", north_m=100)
    incident = open_by_sms()
    incident_assign(incident_id=incident.pk, responder_id=sam.pk, user_id=None, now=T0)
    incident_report(incident_id=incident.pk, type="on_scene", responder=sam,
                            user_id=None, now=T0)
    # Sent without a point: asked where at once (the responder needs it too), then told.
    assert status_texts(incident) == [ASK_WHERE, "Sam is coming to help.", "Sam has arrived."]
    message = Message.objects.filter(incident=incident, purpose="status").first()
    assert message.channels == ["sms"]
    assert unseal(message.to_sealed, context="message.to") == PHONE


def test_it_texts_in_spanish_to_someone_who_wrote_in_spanish(make_responder) -> None:
    sam = make_responder("sam", north_m=100)
    incident = open_by_sms(language="es")
    incident_assign(incident_id=incident.pk, responder_id=sam.pk, user_id=None, now=T0)
    assert status_texts(incident) == [
        "Necesitamos saber dónde está para enviar a alguien: escríbanos una dirección, una "
        "esquina o un lugar cercano.", "Sam va en camino para ayudar."]


def test_it_never_texts_someone_who_asked_on_the_web(make_responder) -> None:
    sam = make_responder("sam", north_m=100)
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE,
                   callback_phone=PHONE), now=T0).incident
    incident_assign(incident_id=incident.pk, responder_id=sam.pk, user_id=None, now=T0)
    assert status_texts(incident) == []
