"""Community drug alerts: areas, subscribers, anonymous reports, spike signals, the
alerts themselves with their CAP messages, and the fan-out that sends them.

What is personal here, and how it goes:

- ``Subscriber``: the address (a phone, a browser's push subscription, an email) is
  sealed and found by a keyed digest. STOP, ALERTS STOP or "unsubscribe" deletes the
  row at once; a push service that forgets the subscription (404/410) deletes it too.
- ``AlertConversation``: the phone's digest while an SMS conversation (ALERTS or
  REPORT) runs, and the answers so far, sealed. Deleted when it ends or after
  ``CONVERSATION_KEEP`` of silence: a report never carries the phone.
- ``Report``: free text sealed under a data key of its own; the purge destroys the key
  ``SPOTLINE_RETENTION_HOURS`` after it was received, like an incident's, and keeps the
  coarse part (source, substance, signs, area, the hour).
- Alerts, signals, areas hold nothing personal: an alert's free text is checked by
  ``core.alerts.disclosures`` and read by a person before it goes out.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import pgettext_lazy

from spotline.core.alerts import Method, Severity, Substance
from spotline.privacy.fields import SealedField, SealedModel
from spotline.timers.models import DurableTimer


def _choices(enum: type) -> list[tuple[str, str]]:
    return [(m.value, m.value) for m in enum]  # type: ignore[attr-defined]


class Area(models.Model):
    """A named polygon (drawn, imported as GeoJSON) or a coarse H3 cell."""

    name = models.CharField(max_length=80, unique=True)
    # Other words people text for it: postcodes, a neighbourhood's other names.
    aliases = models.JSONField(default=list, blank=True)
    geometry = models.JSONField()  # GeoJSON Polygon or MultiPolygon, [lon, lat]
    h3_cell = models.CharField(max_length=16, blank=True)  # set when the area is a cell
    # H3 cells at core.geo.AREA_RESOLUTION: which incidents and responders are in it.
    cells = models.JSONField(default=list)
    km2 = models.FloatField()
    centre_lat = models.FloatField()
    centre_lon = models.FloatField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SubscriberChannel(models.TextChoices):
    SMS = "sms"
    PUSH = "push"
    EMAIL = "email"


class Subscriber(models.Model):
    channel = models.CharField(max_length=8, choices=SubscriberChannel.choices)
    # SMS: privacy.crypto.phone_digest of the number (so STOP finds it); push and
    # email: a keyed digest of the endpoint or address.
    digest = models.CharField(max_length=64)
    address_sealed = models.TextField()  # the number, the push subscription's JSON, the email
    language = models.CharField(max_length=8, default="en")
    all_areas = models.BooleanField(default=False)
    areas = models.ManyToManyField(Area, blank=True, related_name="subscribers")
    created_at = models.DateTimeField()
    # Email needs its confirmation link clicked; SMS and push are confirmed by asking.
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "digest"],
                                               name="one_subscriber_per_address")]

    def __str__(self) -> str:
        return f"{self.channel} subscriber {self.pk}"


class Topic(models.TextChoices):
    SUBSCRIBE = "subscribe"
    REPORT = "report"


class AlertConversation(models.Model):
    """An SMS conversation about alerts: which area to subscribe to, or a report."""

    phone_digest = models.CharField(max_length=64, unique=True)
    topic = models.CharField(max_length=10, choices=Topic.choices)
    step = models.CharField(max_length=16)
    language = models.CharField(max_length=8, default="en")
    answers_sealed = models.TextField(blank=True)  # JSON of the answers so far
    tries = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"alert conversation {self.pk} ({self.topic})"


class ReportSource(models.TextChoices):
    SMS = "sms"
    WEB = "web"
    RESPONDER = "responder"  # "something unusual about this overdose"
    DRUG_CHECK = "drug_check"  # a drug-checking result entered by staff


class ReportStatus(models.TextChoices):
    NEW = "new"
    USED = "used"  # in an alert
    DISMISSED = "dismissed"


class Report(SealedModel):
    source = models.CharField(max_length=12, choices=ReportSource.choices)
    substance = models.CharField(max_length=16, choices=_choices(Substance), blank=True)
    signs = models.JSONField(default=list, blank=True)  # core.alerts.Sign codes
    # Drug checking: what it was sold as, what was found, how.
    expected = models.CharField(max_length=16, choices=_choices(Substance), blank=True)
    found = models.JSONField(default=list, blank=True)  # Substance codes
    method = models.CharField(max_length=12, choices=_choices(Method), blank=True)
    # The person's words: sealed under the report's own key, destroyed by the purge.
    looked_like = SealedField(blank=True)
    what_happened = SealedField(blank=True)
    area = models.ForeignKey(Area, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="reports")
    cell = models.CharField(max_length=16, blank=True)  # a responder's report: the area cell
    # The hour it came in, no finer: a responder's report must not be matched to an
    # incident by its minute.
    received_hour = models.DateTimeField()
    purge_at = models.DateTimeField()
    purged_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=ReportStatus.choices,
                              default=ReportStatus.NEW)
    alert = models.ForeignKey("Alert", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="reports")

    class Meta:
        indexes = [models.Index(fields=["purge_at"], name="report_purge_due",
                                condition=models.Q(purged_at__isnull=True))]

    def __str__(self) -> str:
        return f"report {self.pk} ({self.source})"


class SignalStatus(models.TextChoices):
    OPEN = "open"
    DRAFTED = "drafted"  # a coordinator made (or kept) the proposed draft
    DISMISSED = "dismissed"


class Signal(models.Model):
    """More overdoses in an area than its baseline explains (core.spikes)."""

    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="signals")
    window_hours = models.PositiveIntegerField()
    observed = models.PositiveIntegerField()
    expected = models.FloatField()
    p_value = models.FloatField()
    detected_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=SignalStatus.choices,
                              default=SignalStatus.OPEN)
    alert = models.ForeignKey("Alert", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="signals")

    def __str__(self) -> str:
        return f"signal {self.pk} in area {self.area_id}"


class AlertStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("alert status", "draft")
    PUBLISHED = "published", pgettext_lazy("alert status", "published")
    SUPERSEDED = "superseded", pgettext_lazy("alert status", "replaced by an update")
    CANCELLED = "cancelled", pgettext_lazy("alert status", "withdrawn")


class Alert(models.Model):
    status = models.CharField(max_length=12, choices=AlertStatus.choices,
                              default=AlertStatus.DRAFT)
    substance = models.CharField(max_length=16, choices=_choices(Substance))
    signs = models.JSONField(default=list, blank=True)
    advice = models.JSONField(default=list, blank=True)  # core.alerts.Advice codes
    advice_text = models.CharField(max_length=500, blank=True)  # the coordinator's own
    text = models.CharField(max_length=500, blank=True)
    severity = models.CharField(max_length=10, choices=_choices(Severity))
    expires = models.DateTimeField()
    areas = models.ManyToManyField(Area, related_name="alerts")
    # The alert this one updates (its CAP message is an Update referencing that one's).
    replaces = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="replaced_by")
    # Who wrote it last: under SPOTLINE_ALERTS_TWO_PERSON someone else must publish.
    # None: proposed by Spotline (a spike) and not yet edited by a person.
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    published_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "expires"], name="alert_current")]

    def __str__(self) -> str:
        return f"alert {self.pk} ({self.status})"


class MsgType(models.TextChoices):
    ALERT = "Alert"
    UPDATE = "Update"
    CANCEL = "Cancel"


class CapMessage(models.Model):
    """A CAP 1.2 message as sent: immutable, so what others took in can be shown again."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="cap_messages")
    identifier = models.CharField(max_length=120, unique=True)
    msg_type = models.CharField(max_length=8, choices=MsgType.choices)
    sent = models.DateTimeField()
    xml = models.TextField()

    def __str__(self) -> str:
        return self.identifier


class AlertEvent(models.Model):
    """An alert's timeline: drafted, edited, published, sent, cancelled."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=24)
    at = models.DateTimeField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    data = models.JSONField(default=dict, blank=True)  # counts and codes, never text

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} of alert {self.alert_id}"


class Fanout(DurableTimer):
    """Sending one CAP message to its subscribers and responders, a batch per firing.

    Each firing queues the next ``BATCH`` recipients after ``after_id`` and moves the
    cursor in the same transaction; the outbox key names the message and the recipient,
    so a batch fired twice (a crash before the commit) queues nothing twice.
    """

    cap_message = models.ForeignKey(CapMessage, on_delete=models.CASCADE,
                                    related_name="fanouts")
    phase = models.CharField(max_length=12, default="subscribers")  # then "responders"
    after_id = models.PositiveBigIntegerField(default=0)
    queued = models.PositiveIntegerField(default=0)
    sms_queued = models.PositiveIntegerField(default=0)  # spaces texts at the carrier's rate
    started_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["due_at"], name="fanout_due",
                                condition=models.Q(fired_at__isnull=True))]

    def __str__(self) -> str:
        return f"fan-out {self.pk} of {self.cap_message_id}"


class SmsPace(models.Model):
    """The next free moment to hand a text to the carrier, shared by every fan-out (one
    row, locked while a batch takes its slots): two alerts at once, or a worker that was
    down a while, never send faster than ``SPOTLINE_SMS_PER_SECOND``."""

    next_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"sms pace {self.next_at}"
