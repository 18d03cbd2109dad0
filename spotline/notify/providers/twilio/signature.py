"""Twilio's proof of origin for its webhooks: ``X-Twilio-Signature``, checked with
twilio's own ``RequestValidator`` for our public URL and the account's auth token.

Unsigned or wrongly signed requests get 403 and change nothing. Webhooks are exempt from
CSRF because the signature is their proof of origin. Used by SMS intake's webhooks
(``intake.twilio``), the delivery-status callback (``status``), and the rate limiter.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

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
