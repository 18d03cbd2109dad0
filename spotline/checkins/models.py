"""Check-ins, their deadlines, and saved response plans.

The place (coordinates, description, "door unlocked, back bedroom"), the phone and the
trusted person are sealed from the start and blanked the moment the check-in ends
without an escalation; after an escalation they live on only in the incident (and the
trusted person's text in the outbox), under their retention windows.

A responder's safety timer is not a check-in: it is dispatch's (``dispatch.SafetyTimer``),
since it watches the incident the responder is on and a miss sends them backup.

A saved plan is kept only because the person asked for it: sealed, deleted by them at
any time (page, API, or "FORGET" by text), and by the worker once it has gone unused
for ``SPOTLINE_PLAN_KEEP_DAYS``.
"""

from __future__ import annotations

from django.db import models

from spotline.core.checkin import CheckEvent, CheckState, OnMiss
from spotline.privacy.fields import SealedField, SealedModel
from spotline.timers.models import DurableTimer


class CheckIn(SealedModel):
    token_digest = models.CharField(max_length=64, unique=True)
    state = models.CharField(max_length=10, choices=[(s.value, s.value) for s in CheckState],
                             default=CheckState.ACTIVE.value)
    # Bumped on every change: a deadline armed for an older generation does nothing.
    generation = models.PositiveIntegerField(default=0)
    minutes = models.PositiveSmallIntegerField()
    on_miss = models.CharField(max_length=20, choices=[(o.value, o.value) for o in OnMiss])
    # Sealed under the check-in's own data key (privacy.fields), destroyed with it.
    place_sealed = SealedField(blank=True)  # JSON {lat, lon, description, access}
    phone_digest = models.CharField(max_length=64, blank=True, db_index=True)
    phone_sealed = SealedField(blank=True)
    language = models.CharField(max_length=8, default="en")
    send = models.JSONField(default=list)  # core.checkin.Send values: whom a miss sends
    trusted_sealed = SealedField(blank=True)  # JSON {phone, name, from_name}
    next_at = models.DateTimeField(null=True, blank=True)  # the pending deadline
    incident = models.ForeignKey("dispatch.Incident", null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    # Its row in the reporting store, which points at nothing (``spotline.tally``).
    fact = models.OneToOneField("tally.CheckinFact", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    escalated_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"check-in {self.pk} ({self.state})"


class CheckInDeadline(DurableTimer):
    """A durable timer, fired once by the timer engine (``spotline.timers.engine``) in
    the transaction that acts on it."""

    checkin = models.ForeignKey(CheckIn, on_delete=models.CASCADE, related_name="deadlines")
    generation = models.PositiveIntegerField()
    event = models.CharField(max_length=8, choices=[(e.value, e.value) for e in CheckEvent])

    class Meta:
        indexes = [models.Index(fields=["due_at"], name="checkin_deadline_due",
                                condition=models.Q(fired_at__isnull=True))]
        constraints = [models.UniqueConstraint(fields=["checkin", "generation"],
                                               name="one_deadline_per_checkin_generation")]

    def __str__(self) -> str:
        return f"{self.event} deadline of check-in {self.checkin_id}"


class SavedPlan(SealedModel):
    token_digest = models.CharField(max_length=64, unique=True)
    phone_digest = models.CharField(max_length=64, blank=True, db_index=True)  # SMS reuse
    sealed = SealedField()  # JSON: place, access, minutes, send, trusted, phone
    created_at = models.DateTimeField()
    used_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"saved plan {self.pk}"
