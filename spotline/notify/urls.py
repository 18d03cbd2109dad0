"""The providers' callbacks about what we sent (``/hooks/...``): delivery status."""

from __future__ import annotations

from django.urls import URLPattern, path

from spotline.notify.providers.twilio import status

urlpatterns: list[URLPattern] = [
    path("twilio/status", status.status, name="twilio-status"),
]
