"""The one write path for staff accounts and API tokens."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction

from spotline.accounts.models import ApiToken, Profile, Role
from spotline.core.geo import Mode
from spotline.core.triage import Skill
from spotline.privacy.crypto import normalize_phone, phone_digest, seal, token_digest
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
        if role is Role.RESPONDER:
            Profile.objects.create(user=user, role=role.value)
            Responder.objects.create(
                user=user, alias=alias[:40], skills=skill_values, mode=mode.value,
                phone_digest=phone_digest(phone) if phone else "",
                phone_sealed=seal(normalize_phone(phone), context="responder.phone")
                if phone else "",
            )
        else:
            # A dispatcher's phone is what the hotline rings while they are on duty.
            Profile.objects.create(
                user=user, role=role.value,
                phone_digest=phone_digest(phone) if phone else "",
                phone_sealed=seal(normalize_phone(phone), context="profile.phone")
                if phone else "",
            )
    return user


def duty_set(*, user: User, on_duty: bool, now: datetime) -> Profile:
    """A dispatcher or coordinator comes on or goes off duty (the hotline rings those
    on duty). Coming on duty again keeps the original start time."""
    profile = Profile.objects.get(user=user)
    if profile.role not in (Role.DISPATCHER, Role.COORDINATOR):
        raise AccountError("duty is for dispatchers and coordinators")
    since = (profile.on_duty_since or now) if on_duty else None
    if since != profile.on_duty_since:
        profile.on_duty_since = since
        profile.save(update_fields=["on_duty_since"])
    return profile


def token_create(*, name: str, now: datetime) -> str:
    """A new API token for the user; only its digest is stored, so print it once."""
    User = get_user_model()
    user = User.objects.filter(username=name).first()
    if user is None:
        raise AccountError(f"no user named {name!r}")
    raw = ApiToken.new_raw()
    ApiToken.objects.create(user=user, digest=token_digest(raw), created_at=now)
    return raw
