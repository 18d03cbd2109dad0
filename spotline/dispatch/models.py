"""Incidents, offers, their timeline and the timers that drive them.

Invariants live in the database, not only in code: one accepted offer per incident,
one offer per responder per incident (so widening can never re-offer), one timer per
incident, kind and round. Nullable timestamps record when things happened.

Personal data (precise location, description, details, callback phone, outcome notes,
dispatcher notes) is sealed under the incident's own data key from the start; the purge
timer destroys that key and blanks the fields when the retention window after closing
ends (``SPOTLINE_RETENTION_HOURS``); what stays is kind, priority, times, outcome counts
and the coarse area cell.
"""

from __future__ import annotations

from django.db import models

from spotline.core.checkin import CheckState
from spotline.core.lifecycle import State
from spotline.core.policy import Actor, OfferStatus, Shortfall
from spotline.core.triage import Answer, Kind, Priority
from spotline.privacy.fields import SealedField, SealedModel
from spotline.responders.models import Responder
from spotline.timers.models import DurableTimer


def _choices(enum: type) -> list[tuple[str, str]]:
    return [(m.value, m.value) for m in enum]  # type: ignore[attr-defined]



class Source(models.TextChoices):
    WEB = "web"
    API = "api"
    SMS = "sms"
    OPERATOR = "operator"
    CHECKIN = "checkin"  # a missed check-in
    BACKUP = "backup"  # other responders sent to a responder in trouble


class LocatedBy(models.TextChoices):
    """How the incident's point was found: what the dispatcher and responders may trust.
    A code, not a place: it stays after the purge (reports count approximate places)."""

    UNKNOWN = "", "unknown"  # no point: only the words the person gave
    DEVICE = "device", "device"  # the phone's or the app's own position
    MAP = "map", "map"  # a person or a dispatcher put the pin on a map
    WORDS = "words", "words"  # geocoded from what the person wrote or said: approximate


class Incident(SealedModel):
    kind = models.CharField(max_length=20, choices=_choices(Kind))
    priority = models.CharField(max_length=2, choices=_choices(Priority))
    required_skills = models.JSONField(default=list)
    state = models.CharField(max_length=20, choices=_choices(State), default=State.NEW.value)
    # Bumped on every state change: the compare-and-set guard.
    version = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.WEB)
    breathing = models.CharField(max_length=8, choices=_choices(Answer), default="unknown")
    conscious = models.CharField(max_length=8, choices=_choices(Answer), default="unknown")
    danger = models.CharField(max_length=8, choices=_choices(Answer), default="unknown")
    language = models.CharField(max_length=8, default="en")

    # -- personal data: blanked by the purge --------------------------------------
    # Sealed under the incident's own data key (privacy.fields): the database holds
    # only ciphertext, and the purge destroys the key.
    lat = SealedField(null=True, blank=True, as_float=True)
    lon = SealedField(null=True, blank=True, as_float=True)
    accuracy_m = SealedField(null=True, blank=True, as_float=True)
    location_description = SealedField(blank=True)
    details = SealedField(blank=True)
    callback_phone = SealedField(blank=True)  # normalized
    purged_at = models.DateTimeField(null=True, blank=True)
    # -- coarse, kept -----------------------------------------------------------------
    area = models.CharField(max_length=16, blank=True)
    located_by = models.CharField(max_length=8, choices=LocatedBy.choices, blank=True)

    tracking_digest = models.CharField(max_length=64, unique=True)
    assigned_responder = models.ForeignKey(
        Responder, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    current_round = models.PositiveIntegerField(default=0)
    # Its row in the reporting store (``spotline.tally``), which points at nothing:
    # the figures outlive the incident's details without a way back to them.
    fact = models.OneToOneField("tally.IncidentFact", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")

    opened_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    dispatched_at = models.DateTimeField(null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    en_route_at = models.DateTimeField(null=True, blank=True)
    on_scene_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.CharField(max_length=12, choices=_choices(Actor), blank=True)

    # Escalation and alarm state, shown in the console.
    unanswered_at = models.DateTimeField(null=True, blank=True)
    ems_proposed_at = models.DateTimeField(null=True, blank=True)
    ems_requested_at = models.DateTimeField(null=True, blank=True)
    ems_requested_by = models.CharField(max_length=12, choices=_choices(Actor), blank=True)
    backup_requested_at = models.DateTimeField(null=True, blank=True)
    # A backup incident: other responders sent to a responder in trouble on this one.
    backup_for = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="backups")
    attention = models.CharField(max_length=40, blank=True)  # why a dispatcher should look
    attention_at = models.DateTimeField(null=True, blank=True)

    # Why the last round could make no offer, and why the incident went unserved.
    round_shortfall = models.CharField(max_length=24, choices=_choices(Shortfall), blank=True)
    unserved_reason = models.CharField(max_length=24, choices=_choices(Shortfall), blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["priority", "opened_at"],
                name="incident_open_queue",
                condition=models.Q(closed_at__isnull=True),
            ),
        ]
        constraints = [
            # One incident at a time per responder, whatever races the code misses.
            models.UniqueConstraint(
                fields=["assigned_responder"],
                condition=models.Q(state__in=["assigned", "en_route", "on_scene"]),
                name="one_held_incident_per_responder",
            ),
        ]

    def __str__(self) -> str:
        return f"incident {self.pk}"

    @property
    def state_enum(self) -> State:
        return State(self.state)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def location_status(self) -> str:
        """"exact", "approximate" (a place found from words: ``accuracy_m`` is its
        radius) or "unknown" (no point at all)."""
        if self.lat is None or self.lon is None:
            return "unknown"
        return "approximate" if self.located_by == LocatedBy.WORDS else "exact"

    @property
    def callback_number(self) -> str:
        return self.callback_phone or ""


class Offer(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="offers")
    responder = models.ForeignKey(Responder, on_delete=models.CASCADE, related_name="offers")
    round = models.PositiveIntegerField()  # 0: assigned directly by a dispatcher
    status = models.CharField(max_length=10, choices=_choices(OfferStatus))
    eta_seconds = models.FloatField(null=True, blank=True)
    distance_m = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    # How many times this responder was offered this incident: someone who declined is
    # asked again only after a cool-down that doubles each time (core.policy.may_offer).
    asks = models.PositiveSmallIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["incident"],
                condition=models.Q(status="accepted"),
                name="one_accepted_offer_per_incident",
            ),
            models.UniqueConstraint(
                fields=["incident", "responder"], name="one_offer_per_responder_per_incident"
            ),
        ]
        indexes = [models.Index(fields=["responder", "status"], name="offer_inbox")]

    def __str__(self) -> str:
        return f"offer {self.pk} ({self.status})"


class IncidentEvent(models.Model):
    """The incident's timeline. Data holds IDs and codes only, never personal data."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    type = models.CharField(max_length=32)
    actor = models.CharField(max_length=12, choices=_choices(Actor))
    actor_user_id = models.IntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["incident", "at"], name="event_timeline")]

    def __str__(self) -> str:
        return f"{self.incident_id}:{self.type}"


class TimerKind(models.TextChoices):
    ROUND_EXPIRY = "round_expiry"  # a round of offers ran out: widen
    DEADLINE = "deadline"  # nobody accepted in time: raise the alarm
    PURGE = "purge"  # retention window ended: destroy the personal data
    SAFETY = "safety"  # a responder's safety check is due (or its grace period ended)


class SafetyTimer(models.Model):
    """A responder's safety timer while on scene: the check-in machinery
    (``core.checkin``'s states and deadlines) turned on the responders.

    Arriving on scene starts one (``SPOTLINE_SAFETY_MINUTES``); "I'm OK" extends it; a
    miss is asked about, then asked louder, then sends backup (``backup``). Leaving the
    scene ends it. Nothing personal is kept: the place is the incident's.
    """

    responder = models.ForeignKey(Responder, on_delete=models.CASCADE, related_name="+")
    incident = models.ForeignKey("Incident", on_delete=models.CASCADE,
                                 related_name="safety_timers")
    state = models.CharField(max_length=10, choices=_choices(CheckState),
                             default=CheckState.ACTIVE.value)
    # Bumped on every change: a deadline armed for an older generation does nothing.
    generation = models.PositiveIntegerField(default=0)
    minutes = models.PositiveSmallIntegerField()
    next_at = models.DateTimeField(null=True, blank=True)  # the pending deadline
    # The backup incident a missed check sent.
    backup = models.ForeignKey("Incident", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    escalated_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["responder"], name="one_open_safety_timer_a_responder",
                condition=models.Q(state__in=["active", "asked", "warned"])),
        ]

    def __str__(self) -> str:
        return f"safety timer {self.pk} ({self.state})"


class Timer(DurableTimer):
    """A durable timer, fired once by the timer engine (``spotline.timers.engine``) in
    the transaction that acts on it."""

    kind = models.CharField(max_length=16, choices=TimerKind.choices)
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timers")
    # The incident's round; for a safety check, the safety timer's generation.
    round = models.PositiveIntegerField(default=0)
    safety = models.ForeignKey(SafetyTimer, null=True, blank=True, on_delete=models.CASCADE,
                               related_name="deadlines")

    class Meta:
        indexes = [
            models.Index(
                fields=["due_at"], name="timer_due", condition=models.Q(fired_at__isnull=True)
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "kind", "round"], name="one_timer_per_incident_kind_round",
                condition=models.Q(safety__isnull=True),
            ),
            models.UniqueConstraint(
                fields=["safety", "round"], name="one_deadline_per_safety_generation",
                condition=models.Q(safety__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} timer {self.pk}"


class EmsOutcome(models.TextChoices):
    NOT_NEEDED = "not_needed"
    REQUESTED = "requested"
    DECLINED = "declined"  # the person declined an ambulance


class Outcome(models.Model):
    """What happened, recorded by the responder. Counts stay; notes are purged."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="outcome")
    recorded_at = models.DateTimeField()
    recorded_by_user_id = models.IntegerField(null=True, blank=True)
    naloxone_doses = models.PositiveSmallIntegerField(default=0)
    responsive_after = models.CharField(max_length=8, choices=_choices(Answer))
    ems = models.CharField(max_length=12, choices=EmsOutcome.choices)
    referrals = models.JSONField(default=list, blank=True)
    notes = SealedField(blank=True, key_from="incident.data_key_id")  # purged

    def __str__(self) -> str:
        return f"outcome of incident {self.incident_id}"


class IncidentNote(models.Model):
    """A dispatcher's free-text note. Personal: deleted by the purge."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="notes")
    at = models.DateTimeField()
    user_id = models.IntegerField(null=True, blank=True)
    text = SealedField(key_from="incident.data_key_id")

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"note {self.pk} on incident {self.incident_id}"
