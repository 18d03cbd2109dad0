"""The Twilio provider against a local fake of Twilio's REST API (``twilio_stub``).

The real twilio library builds and sends the requests over real HTTP; only Twilio's
servers are replaced. The tests assert the payloads Twilio would receive.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from twilio.twiml.voice_response import VoiceResponse

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.conftest import CENTRE, T0, offset
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.actions.shifts import shift_set
from spotline.notify.models import Delivery, DeliveryStatus, Message
from spotline.notify.providers.base import PermanentError, TransientError
from spotline.notify.providers.registry import registry
from spotline.notify.providers.twilio.transport import TwilioTransport
from spotline.notify.sender import send_due
from spotline.notify.tests.twilio_stub import TwilioStub
from spotline.responders.models import Responder

ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "stub-auth-token-0123456789"
FROM = "+15550009999"
TO = "+15550100100"
SITE = "https://spotline.example.org"
BODY = "Spotline: P1 overdose about 2 min away. Open the app to accept."
PLACE = "behind the 7-11 on 5th"


@pytest.fixture
def stub(settings) -> Iterator[TwilioStub]:
    with TwilioStub(ACCOUNT_SID, AUTH_TOKEN) as running:
        settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
        settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
        settings.TWILIO_FROM_NUMBER = FROM
        settings.TWILIO_API_BASE = running.url
        settings.SPOTLINE_SITE_URL = SITE
        yield running


def send(channel: str = "sms", *, to: str = TO, body: str = BODY, key: str = "offer:1:1:sms"):
    return TwilioTransport().send(channel=channel, to=to, body=body, key=key)


def test_it_sends_an_sms_as_twilio_expects(stub):
    sent = send(key="offer:41:1:sms")

    [request] = stub.requests
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request.authorized
    assert request.form == {"To": TO, "From": FROM, "Body": BODY,
                            "StatusCallback": f"{SITE}/hooks/twilio/status"}
    assert request.token == "offer:41:1:sms"
    [delivery] = stub.deliveries
    assert sent.ref == delivery["sid"]
    assert re.fullmatch(r"SM[0-9a-f]{32}", sent.ref)


def test_it_calls_with_twiml_that_says_the_offer(stub):
    body = "Spotline: P1 overdose & <breathing> \"no\". Press 1 to accept."
    sent = send("voice", body=body, key="status:42:1:voice")

    [request] = stub.requests
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
    assert request.token == "status:42:1:voice"
    assert request.form["To"] == TO
    assert request.form["From"] == FROM
    assert request.form["StatusCallback"] == f"{SITE}/hooks/twilio/status"
    assert "Body" not in request.form
    twiml = request.form["Twiml"]
    root = ET.fromstring(twiml)  # noqa: S314 - our own output, parsed to check it
    assert root.tag == "Response"
    [say] = list(root)
    assert say.tag == "Say"
    assert say.text == body  # escaped on the way, intact on arrival
    assert say.get("language") == "en-US"
    # The same document the twilio library would build.
    expected = VoiceResponse()
    expected.say(body, language="en-US")
    assert ET.canonicalize(twiml) == ET.canonicalize(expected.to_xml())
    assert re.fullmatch(r"CA[0-9a-f]{32}", sent.ref)


@pytest.mark.parametrize("status", [500, 503, 429])
def test_it_treats_server_errors_and_rate_limits_as_transient(stub, status):
    stub.fail_with(status)

    with pytest.raises(TransientError, match=str(status)):
        send()

    assert len(stub.requests) == 1  # no hidden retries inside the provider
    assert stub.deliveries == []


def test_it_treats_an_invalid_number_as_permanent(stub):
    stub.fail_with(400, {"code": 21211, "message": f"The 'To' number {TO} is not valid.",
                         "more_info": "https://www.twilio.com/docs/errors/21211",
                         "status": 400})

    with pytest.raises(PermanentError) as caught:
        send()

    assert "21211" in str(caught.value)
    assert TO not in str(caught.value)  # Twilio's message quotes the number; ours does not
    assert stub.deliveries == []


def test_it_treats_a_problem_details_400_as_permanent(stub):
    stub.fail_with(400, {"type": "https://www.twilio.com/docs/errors/21211",
                         "title": "Invalid 'To' Phone Number", "status": 400, "code": 21211})

    with pytest.raises(PermanentError):
        send()


def test_it_treats_an_unreachable_twilio_as_transient(stub):
    stub.stop()

    with pytest.raises(TransientError):
        send()


def test_it_sends_again_with_the_same_token_and_twilio_dedupes_it(stub):
    first = send(key="offer:43:1:sms")
    again = send(key="offer:43:1:sms")
    other = send(key="offer:44:1:sms")

    assert [r.token for r in stub.requests] == ["offer:43:1:sms", "offer:43:1:sms",
                                                "offer:44:1:sms"]
    assert again.ref == first.ref
    assert other.ref != first.ref
    assert [d["sid"] for d in stub.deliveries] == [first.ref, other.ref]


def test_it_logs_no_number_and_no_body_even_with_twilio_at_debug(stub, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="twilio")
    caplog.set_level(logging.DEBUG, logger="urllib3")
    assert logging.getLogger("twilio.http_client").isEnabledFor(logging.DEBUG)

    send(key="offer:45:1:sms")
    send("voice", key="offer:45:1:voice")
    stub.fail_with(400, {"code": 21211, "message": f"The 'To' number {TO} is not valid.",
                         "status": 400})
    with pytest.raises(PermanentError):
        send(key="offer:46:1:sms")

    assert len(stub.requests) == 3
    assert caplog.records  # the capture works: urllib3 logs its connections at DEBUG
    logged = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    for secret in (TO, TO.lstrip("+"), "0100100", BODY, "P1 overdose", AUTH_TOKEN):
        assert secret not in logged


def test_it_registers_twilio_for_sms_and_voice(stub, settings):
    settings.SPOTLINE_PROVIDERS = ["twilio"]

    transports = registry()

    assert set(transports) == {"sms", "voice"}
    assert all(isinstance(t, TwilioTransport) for t in transports.values())


@pytest.mark.django_db
def test_it_texts_an_offer_to_the_responders_phone_without_the_place(stub, settings):
    settings.SPOTLINE_PROVIDERS = ["twilio"]
    user = user_create(name="sam", role=Role.RESPONDER, password=None, skills=("naloxone",),
                       phone="+1 (555) 010-0100")
    responder = Responder.objects.get(user=user)
    Responder.objects.filter(pk=responder.pk).update(channels=["sms"])
    shift_set(responder=responder, on_shift=True, location=offset(CENTRE, 100), now=T0)
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE,
                   breathing=Answer.NO, description=PLACE, details="blue door"
               ), now=T0).incident
    message = Message.objects.get(purpose="offer", incident=incident)

    assert send_due(now=T0) == 1

    [request] = stub.requests
    [delivered] = stub.deliveries
    assert delivered["resource"] == "Messages"
    assert request.form["To"] == TO
    assert request.form["From"] == FROM
    assert request.token == f"{message.key}:sms"
    body = request.form["Body"]
    assert "P1" in body and "overdose" in body
    assert not re.search(r"\d+\.\d+", body)  # no coordinate of any precision
    for secret in (PLACE, "7-11", "blue door"):
        assert secret not in body
    delivery = Delivery.objects.get(message=message)
    assert (delivery.provider, delivery.channel, delivery.status) == (
        "twilio", "sms", DeliveryStatus.SENT)
    assert delivery.provider_ref == delivered["sid"]
    message.refresh_from_db()
    assert message.sent_at == T0
    assert message.body_sealed == ""


@pytest.mark.django_db
def test_it_falls_back_from_push_to_sms_when_only_twilio_is_on(stub, settings):
    settings.SPOTLINE_PROVIDERS = ["twilio"]
    user = user_create(name="sam", role=Role.RESPONDER, password=None, skills=("naloxone",),
                       phone=TO)
    responder = shift_set(responder=Responder.objects.get(user=user), on_shift=True,
                          location=offset(CENTRE, 100), now=T0)
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE,
                   breathing=Answer.NO), now=T0).incident
    message = Message.objects.get(purpose="offer", incident=incident, responder=responder)
    assert message.channels == ["push", "sms", "voice"]

    assert send_due(now=T0) == 1  # push has no provider: skipped at once, sent by SMS

    assert [r.form["To"] for r in stub.requests] == [TO]
    assert stub.requests[0].token == f"{message.key}:sms"


def test_it_calls_an_offer_with_a_keypad_choice(stub):
    body = "Spotline: P1 overdose about 3 min away. Open https://x/responder/ to accept."
    send("voice", body=body, key="offer-call:42:1:voice")

    [request] = stub.requests
    root = ET.fromstring(request.form["Twiml"].encode())  # noqa: S314 - our own output
    gather = root.find("Gather")
    assert gather is not None and gather.get("numDigits") == "1"
    assert gather.get("action") == f"{SITE}/hooks/twilio/offer-call/42"
    spoken = " ".join(say.text or "" for say in gather.iter("Say"))
    assert "P1 overdose about 3 min away" in spoken and "Press 1 to accept" in spoken
    assert "https://" not in spoken  # a link means nothing on the phone
