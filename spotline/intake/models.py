from __future__ import annotations

from django.db import models

from spotline.core.triage import Kind


class Landmark(models.Model):
    """A place people know by name (a shelter, a park, an encampment), set by a
    coordinator. Offered on the help page for people who cannot share GPS."""

    name = models.CharField(max_length=80, unique=True)
    lat = models.FloatField()
    lon = models.FloatField()
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


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
