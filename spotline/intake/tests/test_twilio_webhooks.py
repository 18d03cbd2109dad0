"""Twilio's webhooks are verified with twilio's own RequestValidator."""

from __future__ import annotations

import pytest
from django.test import Client
from twilio.request_validator import RequestValidator

from spotline.conftest import T0
from spotline.notify.actions import message_queue
from spotline.notify.models import Delivery, DeliveryStatus

pytestmark = pytest.mark.django_db

TOKEN = "test-auth-token-0123456789abcdef"
SITE = "https://help.example.org"


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.SPOTLINE_SITE_URL = SITE


def signed_post(path: str, params: dict[str, str], *, token: str = TOKEN):
    signature = RequestValidator(token).compute_signature(SITE + path, params)
    return Client().post(path, params, headers={"X-Twilio-Signature": signature})


def a_delivery(ref: str) -> Delivery:
    message = message_queue(key="k1", purpose="test", body="hi", channels=["sms"], now=T0,
                            to="+15550100100")
    return Delivery.objects.create(message=message, channel="sms", provider="twilio",
                                   attempt=1, status=DeliveryStatus.SENT, provider_ref=ref,
                                   at=T0, updated_at=T0)


def test_it_records_a_delivery_status_callback() -> None:
    delivery = a_delivery("SM0001")
    r = signed_post("/hooks/twilio/status", {"MessageSid": "SM0001",
                                            "MessageStatus": "delivered"})
    assert r.status_code == 204
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED


@pytest.mark.parametrize("headers", [{}, {"X-Twilio-Signature": "bogus"}])
def test_it_refuses_an_unsigned_or_wrongly_signed_callback(headers) -> None:
    delivery = a_delivery("SM0002")
    r = Client().post("/hooks/twilio/status",
                      {"MessageSid": "SM0002", "MessageStatus": "failed"}, headers=headers)
    assert r.status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT


def test_it_refuses_a_callback_signed_with_another_token() -> None:
    delivery = a_delivery("SM0003")
    r = signed_post("/hooks/twilio/status", {"MessageSid": "SM0003",
                                            "MessageStatus": "failed"}, token="other-token")
    assert r.status_code == 403
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT


def test_it_refuses_webhooks_when_twilio_is_not_configured(settings) -> None:
    settings.TWILIO_AUTH_TOKEN = ""
    r = Client().post("/hooks/twilio/status", {"MessageSid": "SM1"})
    assert r.status_code == 403
