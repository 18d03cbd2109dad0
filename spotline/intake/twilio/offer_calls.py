"""Spoken offers answered: the key a responder pressed on an offer call.

An unanswered P1 offer rings the responder's phone (the call's TwiML is the
transport's, ``notify.providers.twilio.transport.offer_call_twiml``): "press 1 to
accept, 2 to decline". The key press comes back to ``offer_call`` — a Twilio-signed
webhook — which accepts or declines through the same actions as the app, for the offer
named in the URL, and only if the number Twilio called is that responder's.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from twilio.twiml.voice_response import VoiceResponse

from spotline.dispatch.actions.offers import offer_accept, offer_decline
from spotline.dispatch.models import Offer
from spotline.errors import ActionError
from spotline.intake.twilio.webhooks import twiml
from spotline.notify.providers.twilio.signature import signed_by_twilio
from spotline.privacy.crypto import phone_digest


@signed_by_twilio
def offer_call(request: HttpRequest, offer_id: int) -> HttpResponse:
    response = VoiceResponse()
    offer = Offer.objects.select_related("responder").filter(pk=offer_id).first()
    called = request.POST.get("To", "") or request.POST.get("Called", "")
    if offer is None or not called or offer.responder.phone_digest != phone_digest(called):
        response.say("This offer is not available.")
        return twiml(str(response))
    digit = request.POST.get("Digits", "")
    now = timezone.now()
    try:
        if digit == "1":
            offer_accept(offer_id=offer.pk, responder=offer.responder, now=now)
            response.say("Accepted. The location is in the app and in a text message. "
                         "Thank you. Go now.")
        elif digit == "2":
            offer_decline(offer_id=offer.pk, responder=offer.responder, now=now)
            response.say("Declined. Thank you.")
        else:
            response.say("Sorry, that key does nothing. The offer stays open in the app.")
    except ActionError as exc:
        response.say(f"Sorry: {exc.message}.")
    return twiml(str(response))
