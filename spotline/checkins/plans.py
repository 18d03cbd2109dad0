"""Saved check-in plans: kept only because the person asked, deleted when they say.

A plan (where, how to get in, when, whom to send) is sealed under its own data key and
opened only by its token, which the person keeps (the URL fragment on the web, never a
server log). By text, the sending phone's keyed digest lets "SPOT" alone reuse it. The
person deletes it at any time (page, API, "FORGET" by text); the worker deletes a plan
unused for ``SPOTLINE_PLAN_KEEP_DAYS`` (``plans_expire``).
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from spotline.audit.actions import atomic as audit_atomic
from spotline.checkins.models import SavedPlan
from spotline.core.checkin import DEFAULT_MINUTES, OnMiss, Send
from spotline.core.geo import Point
from spotline.errors import NotFound
from spotline.privacy.crypto import phone_digest, token_digest
from spotline.privacy.keys import key_destroy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Trusted:
    """A trusted person of the user's own, texted the place if they stop answering."""

    phone: str
    name: str = ""  # the trusted person's name, so the page can say whom we texted
    from_name: str = ""  # the user's name as the trusted person knows them


@dataclass(frozen=True)
class Plan:
    """A personal response plan: where, how to get in, when, and whom to send."""

    location: Point | None
    description: str
    access: str = ""
    minutes: int = DEFAULT_MINUTES
    on_miss: OnMiss = OnMiss.RESPONDERS
    send: frozenset[Send] | None = None  # None: from on_miss (the fixed contract)
    trusted: Trusted | None = None
    phone: str = ""  # the user's own, for "are you OK?" texts and calls

    def to_json(self) -> str:
        return json.dumps({
            "lat": self.location.lat if self.location else None,
            "lon": self.location.lon if self.location else None,
            "description": self.description, "access": self.access,
            "minutes": self.minutes, "on_miss": self.on_miss.value,
            "send": sorted(s.value for s in self.send) if self.send is not None else None,
            "trusted": ({"phone": self.trusted.phone, "name": self.trusted.name,
                         "from_name": self.trusted.from_name} if self.trusted else None),
            "phone": self.phone,
        })

    @classmethod
    def from_json(cls, text: str) -> Plan:
        d = json.loads(text)
        point = (Point(d["lat"], d["lon"])
                 if d.get("lat") is not None and d.get("lon") is not None else None)
        trusted = Trusted(**d["trusted"]) if d.get("trusted") else None
        send = frozenset(Send(v) for v in d["send"]) if d.get("send") is not None else None
        return cls(location=point, description=d.get("description", ""),
                   access=d.get("access", ""), minutes=d.get("minutes", DEFAULT_MINUTES),
                   on_miss=OnMiss(d.get("on_miss", "responders")), send=send,
                   trusted=trusted, phone=d.get("phone", ""))


def plan_save(plan: Plan, *, now: datetime, phone_key: str = "") -> str:
    """Keep a plan for next time; returns the token that opens it (shown once).

    ``phone_key`` (the sender of a text) lets "SPOT" alone reuse it; that phone's
    older plan is replaced, so a number never accumulates plans.
    """
    token = secrets.token_urlsafe(18)
    digest = phone_digest(phone_key) if phone_key else ""
    with audit_atomic():
        if digest:
            plan_delete(phone=phone_key)
        SavedPlan.objects.create(token_digest=token_digest(token), phone_digest=digest,
                                 sealed=plan.to_json(),
                                 created_at=now, used_at=now)
    log.info("plan saved")
    return token


def _plan_row(token: str) -> SavedPlan:
    row = SavedPlan.objects.filter(token_digest=token_digest(token)).first()
    if row is None:
        raise NotFound("no such saved plan")
    return row


def plan_load(token: str) -> Plan:
    return Plan.from_json(_plan_row(token).sealed)


def plan_for_phone(phone: str) -> Plan | None:
    row = SavedPlan.objects.filter(phone_digest=phone_digest(phone)).first()
    return Plan.from_json(row.sealed) if row and row.sealed else None


def _plans(*, token: str, phone: str) -> QuerySet[SavedPlan]:
    """A person's plans: by the token that opens one, else by the phone that saved it."""
    if token:
        return SavedPlan.objects.filter(token_digest=token_digest(token))
    return SavedPlan.objects.filter(phone_digest=phone_digest(phone))


def _destroy(rows: QuerySet[SavedPlan], *, now: datetime) -> int:
    """Destroy the plans' data keys (every copy unreadable), then the rows."""
    for key_id in rows.values_list("data_key_id", flat=True):
        key_destroy(key_id, now=now)
    deleted, _ = rows.delete()
    return deleted


def plan_used(*, token: str = "", phone: str = "", now: datetime) -> None:
    _plans(token=token, phone=phone).update(used_at=now)


def plan_delete(*, token: str = "", phone: str = "") -> int:
    """The person deletes their plan: the row goes, sealed text and all."""
    if not token and not phone:
        return 0
    deleted = _destroy(_plans(token=token, phone=phone), now=timezone.now())
    log.info("plan deleted count=%s", deleted)
    return deleted


def plans_expire(*, now: datetime) -> int:
    """Plans unused for SPOTLINE_PLAN_KEEP_DAYS are deleted (worker housekeeping)."""
    cutoff = now - timedelta(days=settings.SPOTLINE_PLAN_KEEP_DAYS)
    deleted = _destroy(SavedPlan.objects.filter(used_at__lt=cutoff), now=now)
    if deleted:
        log.info("unused saved plans deleted count=%s", deleted)
    return deleted
