"""A planner run a coordinator started from ``/planner/``: one row per uploaded export.

The row holds no call: the export and what the run writes live in a private directory
of their own under ``SPOTLINE_PLANNER_DIR`` (``directory`` names it). The export is
deleted as soon as the run ends; the outputs (counts only) with the row, by the
coordinator or after ``SPOTLINE_PLANNER_RETENTION_DAYS``. Every change goes through
``spotline.planner.jobs``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class JobState(models.TextChoices):
    QUEUED = "queued", _("Waiting to start")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class PlanJob(models.Model):
    # The account, not a name: the list shows each coordinator their own runs.
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                   related_name="+")
    state = models.CharField(max_length=8, choices=JobState.choices, default=JobState.QUEUED)
    options = models.JSONField()  # pipeline.JobOptions as a dict
    file_name = models.CharField(max_length=100)  # as uploaded, shortened; never opened
    file_bytes = models.BigIntegerField()
    progress = models.FloatField(default=0.0)  # 0..1
    progress_label = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=500, blank=True)  # for the coordinator
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)  # runs started
    # The runner's lease: a run whose lease ran out died (killed, a reboot) and is
    # started once more, then failed.
    lease_until = models.DateTimeField(null=True, blank=True)
    runner = models.CharField(max_length=100, blank=True)  # host:pid of the child
    directory = models.CharField(max_length=64, unique=True)  # under SPOTLINE_PLANNER_DIR

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["state", "created_at"], name="planjob_state_created")]
        constraints = [
            # Simulation takes whole cores: one run at a time, however many workers.
            models.UniqueConstraint(fields=["state"], condition=Q(state="running"),
                                    name="planjob_one_running"),
            models.CheckConstraint(condition=Q(progress__gte=0.0) & Q(progress__lte=1.0),
                                   name="planjob_progress_fraction"),
            models.CheckConstraint(condition=~Q(state="running") | Q(lease_until__isnull=False),
                                   name="planjob_running_has_lease"),
        ]

    def __str__(self) -> str:
        return f"plan job {self.pk} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state in (JobState.DONE, JobState.FAILED)
