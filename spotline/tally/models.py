"""The reporting store: what program reports count, kept after the purge.

One row per incident (``IncidentFact``), per check-in (``CheckinFact``), and the
responder-hours on shift per hour and area (``Coverage``). The actions that change
incidents, check-ins and shifts write them in the same transaction (``actions``): the
figures are kept, not recomputed from logs that the purge empties.

Nothing here points back at anything personal. No foreign key leaves these tables (the
incident and the check-in point here, not the other way round); there is no person, phone,
name, place finer than the area cell (H3 resolution 7, several km²), free text, or time
finer than the hour; durations are whole seconds from opening. Docs: threat model §7.
"""

from __future__ import annotations

from django.db import models


class IncidentFact(models.Model):
    # When, to the hour: the UTC hour, and the program's local day and hour of the week.
    opened_hour = models.DateTimeField()
    day = models.DateField()
    week_hour = models.PositiveSmallIntegerField()  # 0 = Monday 00-01 local

    kind = models.CharField(max_length=20)
    priority = models.CharField(max_length=2)
    source = models.CharField(max_length=10)  # web, api, sms, operator, checkin, backup
    area = models.CharField(max_length=16, blank=True)  # H3 cell at resolution 7, or ""
    state = models.CharField(max_length=20)
    closed = models.BooleanField(default=False)

    # Seconds from opening to the first offer, the first acceptance, the first responder
    # on scene, and the close; null: it did not happen (yet).
    to_first_offer = models.PositiveIntegerField(null=True, blank=True)
    to_accepted = models.PositiveIntegerField(null=True, blank=True)
    to_on_scene = models.PositiveIntegerField(null=True, blank=True)
    to_closed = models.PositiveIntegerField(null=True, blank=True)

    # Who reached the scene first, in kind: "community" (a responder), "crisis_team"
    # (a member of the mobile crisis team), or "" (nobody did).
    served_by = models.CharField(max_length=12, blank=True)
    ambulance_requested = models.BooleanField(default=False)
    unserved_reason = models.CharField(max_length=24, blank=True)

    # The outcome's counts (never its notes): "" until one is recorded.
    outcome = models.BooleanField(default=False)
    naloxone_doses = models.PositiveSmallIntegerField(default=0)
    responsive_after = models.CharField(max_length=8, blank=True)
    ems = models.CharField(max_length=12, blank=True)  # not_needed, requested, declined
    referrals = models.JSONField(default=list, blank=True)

    class Meta:
        indexes = [models.Index(fields=["day"], name="tally_incident_day")]

    def __str__(self) -> str:
        return f"incident fact {self.pk}"


class CheckinFact(models.Model):
    """A check-in while using alone, counted: started, asked, escalated, ended."""

    started_hour = models.DateTimeField()
    day = models.DateField()
    week_hour = models.PositiveSmallIntegerField()
    minutes = models.PositiveIntegerField()  # the interval the person chose
    asked = models.BooleanField(default=False)  # an "are you OK?" went out
    escalated = models.BooleanField(default=False)  # help was sent
    ended = models.BooleanField(default=False)  # ended by the person (safely, or called off)

    class Meta:
        indexes = [models.Index(fields=["day"], name="tally_checkin_day")]

    def __str__(self) -> str:
        return f"check-in fact {self.pk}"


class Coverage(models.Model):
    """Responder-seconds on shift in one hour and area, summed over responders: one
    row per hour and area, never per responder or per shift. Counted from the roster
    every few minutes (``dispatch.actions.coverage``); an area cell with fewer than
    ``COVERAGE_MIN_RESPONDERS`` on shift at that moment is counted under "" (no area),
    so no row says where one responder was."""

    hour = models.DateTimeField()
    day = models.DateField()
    week_hour = models.PositiveSmallIntegerField()
    area = models.CharField(max_length=16, blank=True)  # "" where unknown
    seconds = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hour", "area"],
                                               name="tally_coverage_hour_area")]
        indexes = [models.Index(fields=["day"], name="tally_coverage_day")]

    def __str__(self) -> str:
        return f"coverage {self.hour:%Y-%m-%d %H}h"


class CoverageMark(models.Model):
    """How far responder coverage has been counted (one row): the worker counts who is
    on shift every few minutes from here, so two workers never count a minute twice."""

    until = models.DateTimeField()

    def __str__(self) -> str:
        return "coverage mark"


class Release(models.Model):
    """A month's public figures, released once with their noise (``core.publicdp``)
    and never redrawn: drawing new noise for every visitor would let anyone average it
    away. Holds only noisy, rounded, suppressed figures."""

    month = models.DateField(unique=True)  # the first day of the month
    released_at = models.DateTimeField()
    epsilon = models.FloatField()
    figures = models.JSONField()

    def __str__(self) -> str:
        return f"release {self.month:%Y-%m}"
