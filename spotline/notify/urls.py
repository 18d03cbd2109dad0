from __future__ import annotations

from django.urls import path

from spotline.notify.providers.twilio import webhooks

app_name = "hooks"
urlpatterns = [
    path("twilio/status", webhooks.status, name="twilio-status"),
]
