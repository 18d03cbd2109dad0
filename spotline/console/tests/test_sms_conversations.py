"""A dispatcher sees every text conversation and can take one over."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.conftest import T0, login_staff
from spotline.dispatch.models import Incident
from spotline.intake.conversations import transcript
from spotline.intake.models import SmsConversation
from spotline.intake.sms import sms_receive
from spotline.notify.models import Message
from spotline.privacy.crypto import unseal

pytestmark = pytest.mark.django_db

PHONE = "+15550100155"


def login(user: User) -> Client:
    client = Client()
    login_staff(client, user)
    return client


@pytest.fixture
def dispatcher() -> Client:
    return login(user_create(name="dana", role=Role.DISPATCHER, password=None))


def test_it_lists_and_shows_a_conversation_with_its_transcript(dispatcher: Client) -> None:
    sms_receive(sid="SM1", from_number=PHONE, body="my friend needs help", now=T0)
    conversation = SmsConversation.objects.get()
    html = dispatcher.get("/console/sms/").content.decode()
    assert f'data-conversation="{conversation.pk}"' in html
    html = dispatcher.get(f"/console/sms/{conversation.pk}/").content.decode()
    assert "my friend needs help" in html
    assert "spotline" in html  # Spotline's automatic question is in the transcript
    # Sealed at rest: the transcript's words are not in the row.
    row = SmsConversation.objects.values().get(pk=conversation.pk)
    assert not any("friend" in str(v) for v in row.values())


def test_it_stops_automatic_replies_while_a_dispatcher_answers(dispatcher: Client) -> None:
    sms_receive(sid="SM1", from_number=PHONE, body="hi there", now=T0)
    conversation = SmsConversation.objects.get()
    dispatcher.post(f"/console/sms/{conversation.pk}/take/", {"take": "1"})
    assert sms_receive(sid="SM2", from_number=PHONE, body="overdose at the park",
                       now=T0) == []
    assert Incident.objects.count() == 0  # the dispatcher decides, not the robot
    r = dispatcher.post(f"/console/sms/{conversation.pk}/reply/",
                        {"text": "Is the person breathing?"})
    assert r.status_code == 302
    message = Message.objects.get(purpose="sms_reply")
    assert unseal(message.to_sealed, context="message.to") == PHONE
    conversation.refresh_from_db()
    assert [e["who"] for e in transcript(conversation)][-2:] == ["person", "dispatcher"]
    # Handing back: Spotline answers again.
    dispatcher.post(f"/console/sms/{conversation.pk}/take/", {"take": "0"})
    assert sms_receive(sid="SM3", from_number=PHONE, body="overdose at the park", now=T0)


def test_it_refuses_an_empty_reply(dispatcher: Client) -> None:
    sms_receive(sid="SM1", from_number=PHONE, body="hi there", now=T0)
    conversation = SmsConversation.objects.get()
    r = dispatcher.post(f"/console/sms/{conversation.pk}/reply/", {"text": "  "}, follow=True)
    assert "1 to 640 characters" in r.content.decode()
    assert not Message.objects.filter(purpose="sms_reply").exists()


def test_it_hides_conversations_from_responders() -> None:
    sms_receive(sid="SM1", from_number=PHONE, body="hi there", now=T0)
    conversation = SmsConversation.objects.get()
    responder = login(user_create(name="sam", role=Role.RESPONDER, password=None))
    assert responder.get("/console/sms/").status_code == 404
    assert responder.get(f"/console/sms/{conversation.pk}/").status_code == 404
