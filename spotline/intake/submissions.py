"""A help form is sent once, whatever the browser does with it.

Each rendering of the help form (and of "ask for help again") carries a random key in a
hidden field. The first POST with a key opens the request and keeps the key's digest
with the tracking token, sealed (``FormSubmission``); the same key again (Back, then
Send; a retried POST) gets the first request's status page and opens nothing. A new
page load is a new key: asking again on purpose is always possible.

Kept a day (``SUBMISSION_KEEP``, ``submissions_expire``), and deleted at once when the
incident is purged (``submissions_purge``, on ``incident_purged``).
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import IntegrityError

from spotline.audit.actions import atomic as audit_atomic
from spotline.dispatch.actions.opening import Opened
from spotline.intake.models import FormSubmission
from spotline.privacy.crypto import seal, unseal

log = logging.getLogger(__name__)

FIELD = "submission"  # the hidden field's name
SUBMISSION_KEEP = timedelta(hours=24)
_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new_key() -> str:
    return secrets.token_urlsafe(18)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def send_once(key: str, open_it: Callable[[], Opened], *, now: datetime) -> str:
    """The tracking token of the request this form's ``key`` opened: opened now by
    ``open_it`` the first time, the same one after. A form without a usable key (an
    old page, a hand-made POST) is simply sent."""
    if not _KEY.fullmatch(key or ""):
        return open_it().tracking_token
    digest = _digest(key)
    done = FormSubmission.objects.filter(key_digest=digest).first()
    if done is not None:
        log.info("help form sent again submission=%s", done.pk)
        return unseal(done.token_sealed, context="form.token")
    try:
        with audit_atomic():
            # The key first: a concurrent copy of this POST waits here, then fails.
            row = FormSubmission.objects.create(key_digest=digest, token_sealed="",
                                                created_at=now)
            opened = open_it()
            row.token_sealed = seal(opened.tracking_token, context="form.token")
            row.incident = opened.incident
            row.save(update_fields=["token_sealed", "incident"])
    except IntegrityError:
        done = FormSubmission.objects.filter(key_digest=digest).first()
        if done is None:
            raise
        return unseal(done.token_sealed, context="form.token")  # the copy that won
    return opened.tracking_token


def submissions_expire(*, now: datetime) -> int:
    deleted, _ = FormSubmission.objects.filter(created_at__lt=now - SUBMISSION_KEEP).delete()
    return deleted


def submissions_purge(*, incident_id: int, **signal: object) -> int:
    deleted, _ = FormSubmission.objects.filter(incident_id=incident_id).delete()
    return deleted
