"""Twilio's inbound SMS webhook, and the TwiML answers every inbound webhook gives.

Every request must carry a valid ``X-Twilio-Signature``
(``notify.providers.twilio.signature``): unsigned or wrongly signed requests get 403 and
change nothing. Inbound calls are ``hotline`` and ``offer_calls``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from twilio.twiml.messaging_response import MessagingResponse

from spotline.intake.sms import TRY_AGAIN, BadInbound, sms_receive
from spotline.notify.providers.twilio.signature import signed_by_twilio

log = logging.getLogger(__name__)


def twiml(body: str) -> HttpResponse:
    return HttpResponse(body, content_type="text/xml")


def messages(replies: Iterable[str]) -> HttpResponse:
    """``<Response><Message>...</Message>...</Response>``; ``<Response/>`` for none."""
    response = MessagingResponse()
    for reply in replies:
        response.message(reply)
    return twiml(str(response))


@signed_by_twilio
def sms(request: HttpRequest) -> HttpResponse:
    """An inbound text: one call to ``sms_receive``, its replies as TwiML.

    Never a 500 and never silence on a text we could not handle: a request without a
    sender or message id, or an unexpected error, is answered with "please send it
    again". Logs carry the message id only, never the sender or the text.
    """
    sid = request.POST.get("MessageSid") or request.POST.get("SmsSid") or ""
    try:
        replies = sms_receive(sid=sid, from_number=request.POST.get("From", ""),
                              body=request.POST.get("Body", ""), now=timezone.now())
    except BadInbound as exc:
        log.warning("inbound sms refused sid=%s (%s)", sid[:64], exc)
        replies = [TRY_AGAIN]
    except Exception as exc:  # answer the person whatever went wrong; the log says what
        log.error("inbound sms failed sid=%s (%s)", sid[:64], type(exc).__name__)
        replies = [TRY_AGAIN]
    return messages(replies)
