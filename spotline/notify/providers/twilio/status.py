"""Twilio's delivery-status callback for the texts and calls we sent (StatusCallback)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from spotline.notify.actions import delivery_status_update
from spotline.notify.providers.twilio.signature import signed_by_twilio


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
