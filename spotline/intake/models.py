from __future__ import annotations

from django.db import models

from spotline.core.triage import Kind


class Guidance(models.Model):
    """First-aid guidance shown while a person waits, per kind and language."""

    kind = models.CharField(max_length=20, choices=[(k.value, k.value) for k in Kind])
    language = models.CharField(max_length=8)
    text = models.TextField(help_text="one step per line")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "language"], name="one_guidance_per_kind_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.language}"


# -- SMS intake (spotline/intake/sms.py) -------------------------------------------------
#
# Phone numbers are a keyed digest for look-up plus a sealed value, never plain text; the
# conversation's state (which holds what the person wrote about the place) is sealed as
# a whole. See spotline/intake/sms.py for when each row is destroyed.


class InboundSms(models.Model):
    """One inbound text (or hotline voicemail), by the provider's message or call id: a
    retried webhook from the same sender gets the same answer and changes nothing. The
    answer is blanked once retries are over (``REPLY_KEEP``, shorter with a shorter
    retention) or its incident is purged; the row is deleted a day later
    (``inbound_expire``)."""

    sid = models.CharField(max_length=64, unique=True)
    received_at = models.DateTimeField(db_index=True)
    # The sender's phone digest: a retry comes from the same number, and the stored
    # answer (which may hold a place) goes to no one else. "" on a voicemail.
    sender_digest = models.CharField(max_length=64, blank=True, db_index=True)
    # seal(json.dumps([reply, ...]), context="sms.reply"); "" when nothing was answered
    # or once the answer is no longer kept.
    reply_sealed = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"inbound sms {self.pk}"


class SmsConversation(models.Model):
    """The conversation with one phone that turns texts into one incident."""

    phone_digest = models.CharField(max_length=64, db_index=True)
    phone_sealed = models.TextField()  # seal(number, context="sms.phone")
    state_sealed = models.TextField()  # seal(json.dumps(SealedState), context="sms.state")
    incident = models.ForeignKey(
        "dispatch.Incident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    language = models.CharField(max_length=8, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    # What was said, both ways, sealed: for the dispatcher who reads or takes over.
    # Deleted with the conversation (when its incident is purged, or when it expires).
    transcript_sealed = models.TextField(blank=True)
    # A dispatcher answering by hand: while set, Spotline sends no automatic replies.
    taken_over_at = models.DateTimeField(null=True, blank=True)
    taken_over_by_user_id = models.IntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["phone_digest"],
                condition=models.Q(closed_at__isnull=True),
                name="one_open_sms_conversation_per_phone",
            )
        ]

    def __str__(self) -> str:
        return f"sms conversation {self.pk}"


# -- the help form, sent once (spotline/intake/submissions.py) ------------------------


class FormSubmission(models.Model):
    """A help form that was sent, by the random key the form carried: the same form
    sent again (Back, then Send; a retry on a bad connection) opens nothing and shows
    the first request's status page. Holds the tracking token sealed; deleted a day
    later, or at once when its incident is purged (``submissions_purge``)."""

    key_digest = models.CharField(max_length=64, unique=True)  # sha256 of the form's key
    token_sealed = models.TextField()  # seal(tracking token, context="form.token")
    incident = models.ForeignKey("dispatch.Incident", null=True, on_delete=models.CASCADE,
                                 related_name="+")
    created_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"form submission {self.pk}"
