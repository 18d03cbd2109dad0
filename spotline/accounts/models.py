from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    RESPONDER = "responder"
    DISPATCHER = "dispatcher"
    COORDINATOR = "coordinator"  # everything a dispatcher can do, plus setup


class Profile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    # A dispatcher's phone, rung by the hotline while on duty: a keyed digest for
    # look-up and the sealed number (privacy.crypto), never the plain number.
    phone_digest = models.CharField(max_length=64, blank=True, db_index=True)
    phone_sealed = models.TextField(blank=True)
    on_duty_since = models.DateTimeField(null=True, blank=True)  # None: off duty

    def __str__(self) -> str:
        return f"{self.user_id}:{self.role}"



class ApiToken(models.Model):
    """A bearer token for the API. Only its SHA-256 digest is stored."""

    PREFIX = "sl_"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"token {self.pk} of user {self.user_id}"

    @classmethod
    def new_raw(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)
