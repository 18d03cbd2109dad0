"""Spoken offers: an unanswered P1 offer can ring the responder's phone.

The call says what the offer says and asks "press 1 to accept, 2 to decline"
(TwiML ``<Gather>``). The key press comes back to ``offer_call`` — a Twilio-signed
webhook — which accepts or declines through the same actions as the app, for the
offer named in the URL, and only if the number Twilio called is that responder's.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from twilio.twiml.voice_response import Gather, VoiceResponse

from spotline.dispatch.actions.offers import offer_accept, offer_decline
from spotline.dispatch.models import Offer
from spotline.errors import ActionError
from spotline.notify.providers.twilio.webhooks import signed_by_twilio, twiml
from spotline.privacy.crypto import phone_digest


def offer_call_twiml(*, offer_id: int, text: str) -> str:
    response = VoiceResponse()
    gather = Gather(num_digits=1, timeout=10,
                    action=f"{settings.SPOTLINE_SITE_URL}/hooks/twilio/offer-call/{offer_id}")
    # The text's reply instructions and link mean nothing spoken: say the offer only.
    gather.say(re.split(r"\.? (?:Reply|Open) ", text)[0].rstrip(".") + ".")
    gather.say("Press 1 to accept. Press 2 to decline.")
    response.append(gather)
    response.say("No answer received. The offer stays open in the app.")
    return str(response)


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
