"""The outbox: messages written in the same transaction as the state change that
causes them, sent by the worker afterwards, every attempt recorded.

Addresses and bodies are sealed (privacy.crypto) and blanked once the message is
finally sent or has failed: the outbox never becomes a log of who was texted what.
"""

from __future__ import annotations

from django.db import models


class Channel(models.TextChoices):
    CONSOLE = "console"
    PUSH = "push"
    SMS = "sms"
    VOICE = "voice"
    EMAIL = "email"


class Message(models.Model):
    # Same key, same message: queuing twice (a retried action) adds nothing, and the
    # providers get "<key>:<channel>" so a resend after a crash is not a second text.
    key = models.CharField(max_length=120, unique=True)
    purpose = models.CharField(max_length=32)
    responder = models.ForeignKey("responders.Responder", null=True, blank=True,
                                  on_delete=models.CASCADE, related_name="messages")
    incident = models.ForeignKey("dispatch.Incident", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="messages")
    # An offer message is only worth sending while its offer is still open.
    offer = models.ForeignKey("dispatch.Offer", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="messages")
    to_sealed = models.TextField(blank=True)  # an explicit address (a person's phone)
    body_sealed = models.TextField(blank=True)
    channels = models.JSONField(default=list)  # fallback order
    # 0: about someone in need now (offers, replies, check-ins); 1: bulk (a drug alert to
    # thousands). The sender takes every due urgent message before any bulk one, so an
    # offer queued during a fan-out never waits behind ten thousand alert texts.
    priority = models.PositiveSmallIntegerField(default=0)
    channel_index = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    leased_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)  # no longer worth sending
    last_error = models.CharField(max_length=120, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["priority", "next_attempt_at"], name="outbox_due_by_priority",
                condition=models.Q(sent_at__isnull=True, failed_at__isnull=True,
                                   cancelled_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"message {self.pk} ({self.purpose})"

    @property
    def channel(self) -> str | None:
        if self.channel_index < len(self.channels):
            return str(self.channels[self.channel_index])
        return None


class DeliveryStatus(models.TextChoices):
    SENDING = "sending"  # recorded before the provider is called
    SENT = "sent"  # the provider accepted it
    DELIVERED = "delivered"  # the provider's status callback confirmed it
    FAILED = "failed"
    UNDELIVERED = "undelivered"
    # Never handed to the provider: the sender's lease ran out before the call (a paused
    # process, a slow pass) and another sender may have sent the message. Not a text to
    # anyone and not a failure; the message's other deliveries say what happened to it.
    SUPERSEDED = "superseded"


class Delivery(models.Model):
    """One attempt to send a message on one channel."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    provider = models.CharField(max_length=20)
    attempt = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=DeliveryStatus.choices)
    provider_ref = models.CharField(max_length=64, null=True, blank=True, unique=True)
    error = models.CharField(max_length=120, blank=True)
    at = models.DateTimeField()
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"delivery {self.pk} of message {self.message_id} ({self.status})"


class PushSubscription(models.Model):
    """A browser's Web Push subscription for a responder (the PWA asked for it).

    The endpoint is a capability URL at the browser vendor's push service; p256dh and
    auth are the browser's keys the payload is encrypted to. A push service answering
    404 or 410 means the subscription is gone: the row is deleted.
    """

    responder = models.ForeignKey("responders.Responder", on_delete=models.CASCADE,
                                  related_name="push_subscriptions")
    endpoint = models.URLField(max_length=500, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"push subscription {self.pk} of responder {self.responder_id}"


class SmsOptOut(models.Model):
    """A number that texted STOP: nothing more is sent to it, by SMS or by call, until
    it texts START (carriers require both). Only the phone's keyed digest is kept, for
    as long as the opt-out stands. SMS intake records it; the sender obeys it."""

    phone_digest = models.CharField(max_length=64, unique=True)
    at = models.DateTimeField()

    def __str__(self) -> str:
        return f"sms opt-out {self.pk}"
