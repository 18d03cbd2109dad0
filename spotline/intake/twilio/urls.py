"""Twilio's inbound webhooks (``/hooks/twilio/...``): texts, the hotline, offer calls."""

from __future__ import annotations

from django.urls import URLPattern, path

from spotline.intake.twilio import hotline, offer_calls, webhooks

urlpatterns: list[URLPattern] = [
    path("twilio/sms", webhooks.sms, name="twilio-sms"),
    path("twilio/offer-call/<int:offer_id>", offer_calls.offer_call, name="twilio-offer-call"),
    path("twilio/voice", hotline.voice, name="twilio-voice"),
    path("twilio/voice-missed", hotline.voice_missed, name="twilio-voice-missed"),
    path("twilio/voice-recorded", hotline.voice_recorded, name="twilio-voice-recorded"),
]
