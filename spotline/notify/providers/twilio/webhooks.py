"""Twilio's webhooks: inbound SMS, inbound calls, delivery status callbacks.

Every request must carry a valid ``X-Twilio-Signature`` for our public URL and the
account's auth token (twilio's own ``RequestValidator``): unsigned or wrongly signed
requests get 403 and change nothing. Webhooks are exempt from CSRF because the
signature is their proof of origin.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from spotline.intake.sms import TRY_AGAIN, BadInbound, sms_receive
from spotline.notify.actions import delivery_status_update

log = logging.getLogger(__name__)

View = Callable[..., HttpResponse]


def signature_valid(request: HttpRequest) -> bool:
    """True when the request carries Twilio's signature for our URL and its parameters
    (the rate limiter asks too: only signed texts count per sender and globally)."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not settings.TWILIO_AUTH_TOKEN or not signature:
        return False
    url = settings.SPOTLINE_SITE_URL + request.get_full_path()
    params = {k: request.POST.get(k, "") for k in request.POST}
    return bool(RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, params, signature))


def signed_by_twilio(view: View) -> View:
    @csrf_exempt
    @require_POST
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.TWILIO_AUTH_TOKEN:
            return HttpResponseForbidden("Twilio is not configured")
        if not signature_valid(request):
            return HttpResponseForbidden("invalid Twilio signature")
        return view(request, *args, **kwargs)

    return wrapped


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


@signed_by_twilio
def status(request: HttpRequest) -> HttpResponse:
    """Delivery status for a message or call we sent (StatusCallback)."""
    ref = request.POST.get("MessageSid") or request.POST.get("CallSid") or ""
    state = request.POST.get("MessageStatus") or request.POST.get("CallStatus") or ""
    error = request.POST.get("ErrorCode", "")
    if ref:
        delivery_status_update(provider_ref=ref, status=state, error=error,
                               now=timezone.now())
    return HttpResponse(status=204)
