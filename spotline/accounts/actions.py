"""The one write path for staff accounts and API tokens."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction

from spotline.accounts.models import ApiToken, Profile, Role, token_digest
from spotline.core.geo import Mode
from spotline.core.triage import Skill
from spotline.privacy.crypto import normalize_phone, phone_digest, seal
from spotline.responders.models import Responder


class AccountError(Exception):
    pass


def user_create(
    *, name: str, role: Role, password: str | None, skills: Iterable[str] = (),
    alias: str = "", mode: Mode = Mode.WALK, phone: str = "",
) -> User:
    User = get_user_model()
    skill_values = sorted({s.strip() for s in skills if s.strip()})
    unknown = [s for s in skill_values if s not in Skill._value2member_map_]
    if unknown:
        raise AccountError(
            f"unknown skill(s) {', '.join(unknown)}; known: {', '.join(s.value for s in Skill)}"
        )
    if skill_values and role is not Role.RESPONDER:
        raise AccountError("skills are for responders")
    if User.objects.filter(username=name).exists():
        raise AccountError(f"a user named {name!r} already exists")
    with transaction.atomic():
        user = User.objects.create_user(username=name, password=password)
        if password is None:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        Profile.objects.create(user=user, role=role.value)
        if role is Role.RESPONDER:
            Responder.objects.create(
                user=user, alias=alias[:40], skills=skill_values, mode=mode.value,
                phone_digest=phone_digest(phone) if phone else "",
                phone_sealed=seal(normalize_phone(phone), context="responder.phone")
                if phone else "",
            )
    return user


def token_create(*, name: str, now: datetime) -> str:
    """A new API token for the user; only its digest is stored, so print it once."""
    User = get_user_model()
    user = User.objects.filter(username=name).first()
    if user is None:
        raise AccountError(f"no user named {name!r}")
    raw = ApiToken.new_raw()
    ApiToken.objects.create(user=user, digest=token_digest(raw), created_at=now)
    return raw
