from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from spotline.core.geo import Mode, Point
from spotline.core.nearest import BANDS_PER_DEGREE
from spotline.core.triage import Skill


class FloorInt(models.Func):
    """FLOOR(x) as an integer, the same on PostgreSQL and on every SQLite build (FLOOR is
    built into SQLite only when compiled with its math functions; a generated column must
    not depend on a function only Django's connection registers)."""

    function = "FLOOR"
    output_field = models.IntegerField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        x, params = compiler.compile(self.source_expressions[0])
        # CAST truncates toward zero; a negative non-integer then needs one less.
        return (f"(CAST({x} AS INTEGER) - ({x} < CAST({x} AS INTEGER)))",
                (*params, *params, *params))

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="CAST(FLOOR(%(expressions)s) AS integer)",
                           **extra)


class Responder(models.Model):
    """A community responder: a peer with naloxone, an outreach worker, crisis team.

    Location is personal data and is kept only while on shift: going off shift blanks
    it, and each update overwrites the last, so no location history exists.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="responder"
    )
    # What the person in need sees: a first name or alias, never more. Blank: they see
    # "a responder" (never the login name).
    alias = models.CharField(max_length=40, blank=True)
    skills = models.JSONField(default=list, blank=True)
    mode = models.CharField(max_length=8, choices=[(m.value, m.value) for m in Mode],
                            default=Mode.WALK.value)
    on_shift_since = models.DateTimeField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lon = models.FloatField(null=True, blank=True)
    located_at = models.DateTimeField(null=True, blank=True)
    # The latitude band (core.nearest.band_of) for the nearest-responder index. Generated
    # by the database from lat, so no write path (an action, a bulk load, a test's
    # update()) can leave it stale: a stale band would hide a responder from the search.
    lat_band = models.GeneratedField(
        expression=FloorInt(models.F("lat") * BANDS_PER_DEGREE),
        output_field=models.IntegerField(null=True),
        db_persist=True,
    )
    # Contact for offers when the app is closed: a keyed digest to recognise replies,
    # and the number itself sealed (privacy.crypto). Never stored in plain text.
    phone_digest = models.CharField(max_length=64, blank=True, db_index=True)
    phone_sealed = models.TextField(blank=True)
    # The order to try channels in for an offer (fallback when one fails).
    channels = models.JSONField(default=list, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["on_shift_since"],
                name="responder_on_shift",
                condition=models.Q(on_shift_since__isnull=False),
            ),
            # The nearest-responder search (core.nearest): per mode, per band, a range
            # of longitudes; latitude last so the box's edges are checked in the index.
            models.Index(
                fields=["mode", "lat_band", "lon", "lat"],
                name="responder_on_shift_band",
                condition=models.Q(on_shift_since__isnull=False),
            ),
        ]
        constraints = [
            # Location only while on shift (ARCHITECTURE.md, non-negotiable 2).
            models.CheckConstraint(
                condition=models.Q(on_shift_since__isnull=False)
                | models.Q(lat__isnull=True, lon__isnull=True),
                name="responder_location_only_on_shift",
            )
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """For staff pages: the alias, or the login name when there is none."""
        return self.alias or self.user.get_username()

    @property
    def on_shift(self) -> bool:
        return self.on_shift_since is not None

    @property
    def point(self) -> Point | None:
        if self.lat is None or self.lon is None:
            return None
        return Point(self.lat, self.lon)

    @property
    def skill_set(self) -> frozenset[Skill]:
        return frozenset(Skill(s) for s in self.skills if s in Skill._value2member_map_)
