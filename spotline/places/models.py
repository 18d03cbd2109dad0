"""The gazetteer: public map data from the organization's OpenStreetMap extract, and the
organization's own landmarks. Nothing here is about a person."""

from __future__ import annotations

from django.db import models


class Landmark(models.Model):
    """A place people know by name (a shelter, a park, an encampment), set by a
    coordinator. Offered on the help page for people who cannot share GPS, and searched
    first by ``geocode``, under its name and its aliases ("the tracks", "under the
    bridge"). The table keeps the name it had in intake."""

    name = models.CharField(max_length=80, unique=True)
    lat = models.FloatField()
    lon = models.FloatField()
    active = models.BooleanField(default=True)
    aliases = models.TextField(blank=True, default="", help_text="one other name per line")

    class Meta:
        ordering = ["name"]
        db_table = "intake_landmark"

    def __str__(self) -> str:
        return self.name

    def alias_list(self) -> list[str]:
        return [line.strip() for line in self.aliases.splitlines() if line.strip()]


class PlaceKind(models.TextChoices):
    ADDRESS = "address"
    POI = "poi"
    STREET = "street"


class Place(models.Model):
    """An address, a named place (a shop, a park, a stop) or a whole named street.

    ``osm_key`` ("n123", "w45", or "street:<name>" for a street merged from its ways)
    makes a re-import update instead of duplicate. ``radius_m`` is how far the place
    reaches from its point: a door for an address, half its length for a street.
    """

    kind = models.CharField(max_length=10, choices=PlaceKind.choices)
    osm_key = models.CharField(max_length=220)
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=60, blank=True, default="")
    lat = models.FloatField()
    lon = models.FloatField()
    radius_m = models.FloatField(default=25.0)
    street = models.CharField(max_length=200, blank=True, default="")
    street_norm = models.CharField(max_length=200, blank=True, default="")
    housenumber = models.CharField(max_length=20, blank=True, default="")
    postcode = models.CharField(max_length=12, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "osm_key"], name="one_place_per_osm_key"),
        ]
        indexes = [models.Index(fields=["street_norm", "housenumber"])]

    def __str__(self) -> str:
        return self.name


class PlaceName(models.Model):
    """One name a place goes by (``name``, ``name:sv``, ``alt_name``, ``brand`` ...),
    with ``norm``, its searchable form (``core.placetext.normalise``). SQLite's FTS5
    table ``places_placename_fts`` and PostgreSQL's trigram index search ``norm``."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="names")
    text = models.CharField(max_length=200)
    norm = models.CharField(max_length=200, db_index=True)
    variant = models.CharField(max_length=20, default="name")

    def __str__(self) -> str:
        return self.text


class StreetNode(models.Model):
    """A node of a named street's ways: two streets cross where they share a node (or,
    where the map draws them apart, where their nodes come closest)."""

    street = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="nodes")
    node_id = models.BigIntegerField(db_index=True)
    lat = models.FloatField()
    lon = models.FloatField()

    def __str__(self) -> str:
        return f"{self.node_id}"
