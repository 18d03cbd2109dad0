"""Data keys: one per incident, check-in or saved plan (envelope encryption).

A record's personal fields are sealed under its own random 256-bit data key; the key is
stored only wrapped (sealed) by the key-encryption key from the settings. Destroying a
record's data key (the purge, a check-in ending safely, a plan deleted) makes every copy
of its ciphertext unreadable at once: old database pages, WAL frames, backups
("crypto-shredding"). The row stays, blanked, so foreign keys and counts do not move.
"""

from __future__ import annotations

from django.db import models


class DataKey(models.Model):
    # A random name, never reused (a row id can be, after a rolled-back insert on SQLite,
    # and a cached key under a reused id would seal data nobody can open).
    kid = models.CharField(max_length=24, unique=True)
    wrapped = models.TextField(blank=True)  # the key sealed by the KEK; "" once destroyed
    created_at = models.DateTimeField()
    destroyed_at = models.DateTimeField(null=True, blank=True, db_index=True)

    def __str__(self) -> str:
        return f"data key {self.pk}{' (destroyed)' if self.destroyed_at else ''}"
