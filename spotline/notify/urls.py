from __future__ import annotations

from django.urls import path

from spotline.notify.providers.twilio import hotline, voice, webhooks

app_name = "hooks"
urlpatterns = [
    path("twilio/sms", webhooks.sms, name="twilio-sms"),
    path("twilio/status", webhooks.status, name="twilio-status"),
    path("twilio/offer-call/<int:offer_id>", voice.offer_call, name="twilio-offer-call"),
    path("twilio/voice", hotline.voice, name="twilio-voice"),
    path("twilio/voice-missed", hotline.voice_missed, name="twilio-voice-missed"),
    path("twilio/voice-recorded", hotline.voice_recorded, name="twilio-voice-recorded"),
]
