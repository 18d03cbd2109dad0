"""Two-factor sign-in for staff: an authenticator app (TOTP) and one-time recovery codes.

Who must use it: the roles in ``SPOTLINE_2FA_ROLES`` (dispatchers, coordinators and
admins by default; an admin is a superuser or staff user). For them, a session is
"verified" only once a code from a confirmed device was entered in it (django-otp keeps
the device's id in the session), and every staff page, the API's session sign-in and the
console's WebSocket ask for a verified session. API bearer tokens are not affected.

The write path for devices lives here too: enrolment, confirmation, recovery codes and
the reset an admin runs for a lost phone.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any
from urllib.parse import urlencode

import django_otp
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODES = 10
AUTHENTICATOR = "authenticator app"
RECOVERY = "recovery codes"

AnyUser = AbstractBaseUser | AnonymousUser
View = Callable[..., HttpResponse]


# -- who needs it, and whether this session has it ---------------------------------------


def roles_of(user: AnyUser) -> set[str]:
    if not user.is_authenticated:
        return set()
    roles = set()
    profile = getattr(user, "profile", None)
    if profile is not None:
        roles.add(str(profile.role))
    if getattr(user, "is_superuser", False) or getattr(user, "is_staff", False):
        roles.add("admin")
    return roles


def needs_2fa(user: AnyUser) -> bool:
    return bool(roles_of(user) & settings.SPOTLINE_2FA_ROLES)


def session_verified(user: AnyUser, session: Any) -> bool:
    """Whether ``session`` was verified with a confirmed device of ``user``: what
    django-otp's middleware decides for HTTP, for places it does not run (WebSockets)."""
    persistent_id = session.get(django_otp.DEVICE_ID_SESSION_KEY) if session else None
    if not persistent_id or not user.is_authenticated:
        return False
    device = Device.from_persistent_id(persistent_id)
    return device is not None and device.user_id == user.pk and bool(device.confirmed)


def is_verified(request: HttpRequest) -> bool:
    check = getattr(request.user, "is_verified", None)
    if check is not None:
        return bool(check())
    return session_verified(request.user, getattr(request, "session", None))


def may_use_staff_pages(request: HttpRequest) -> bool:
    """Signed in, and verified if the user's role needs a second factor."""
    return request.user.is_authenticated and (
        not needs_2fa(request.user) or is_verified(request))


def verify_url(next_url: str) -> str:
    return f"{reverse('two-factor')}?{urlencode({'next': next_url})}"


def verified_required(view: View) -> View:
    """``login_required``, plus a verified session for the roles that need one: an
    unverified user is sent to enter a code (or to set up an authenticator first)."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if needs_2fa(request.user) and not is_verified(request):
            return redirect(verify_url(request.get_full_path()))
        return view(request, *args, **kwargs)

    return wrapped


# -- devices ---------------------------------------------------------------------------------


def has_authenticator(user: AnyUser) -> bool:
    return bool(TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists())


def secret_b32(device: TOTPDevice) -> str:
    """The secret as people type it into an authenticator app (base32, no padding)."""
    return base64.b32encode(device.bin_key).decode().rstrip("=")


def authenticator_start(*, user: AnyUser) -> TOTPDevice:
    """The user's authenticator being set up: made on the first look, and the same one
    (the same secret) on every reload until a code confirms it."""
    with transaction.atomic():
        device = (TOTPDevice.objects.select_for_update()
                  .filter(user_id=user.pk, confirmed=False).order_by("pk").first())
        if device is None:
            device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR, confirmed=False)
    return device


@dataclass(frozen=True)
class Enrolled:
    device: TOTPDevice
    recovery_codes: list[str]


def authenticator_confirm(*, user: AnyUser, code: str) -> Enrolled | None:
    """Confirm the authenticator being set up with a code from it; on success, also
    make a fresh set of recovery codes (to be shown once). None: wrong code."""
    with transaction.atomic():
        device = (TOTPDevice.objects.select_for_update()
                  .filter(user_id=user.pk, confirmed=False).order_by("pk").first())
        if device is None or not device.verify_token(_clean(code)):
            return None
        # One authenticator per person: a new one replaces any earlier one.
        TOTPDevice.objects.filter(user_id=user.pk).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = recovery_codes_create(user=user)
    return Enrolled(device=device, recovery_codes=codes)


def authenticator_set(*, user: AbstractBaseUser, secret_b32: str) -> TOTPDevice:
    """A confirmed authenticator with a given secret (the demo's published one)."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    with transaction.atomic():
        TOTPDevice.objects.filter(user_id=user.pk).delete()
        return TOTPDevice.objects.create(user=user, name=AUTHENTICATOR, confirmed=True,
                                         key=key.hex())


def recovery_codes_create(*, user: AnyUser) -> list[str]:
    """Ten new one-time recovery codes, replacing any earlier ones."""
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    with transaction.atomic():
        StaticDevice.objects.filter(user_id=user.pk).delete()
        device = StaticDevice.objects.create(user=user, name=RECOVERY, confirmed=True)
        StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


def recovery_codes_left(user: AnyUser) -> int:
    return int(StaticToken.objects.filter(device__user_id=user.pk,
                                          device__confirmed=True).count())


@dataclass(frozen=True)
class Refused:
    """A code was not checked because of too many wrong ones: try again after this."""

    until: datetime | None


def code_check(*, user: AnyUser, code: str) -> Device | Refused | None:
    """The confirmed device that accepts ``code`` (a code from the authenticator app, or
    a recovery code, which is then used up); None for a wrong code."""
    code = _clean(code)
    if not code:
        return None
    # Six digits are a code from the app; a recovery code is 8 letters and digits.
    kind = TOTPDevice if code.isdigit() and len(code) == 6 else StaticDevice
    refused: Refused | None = None
    for device in kind.objects.filter(user_id=user.pk, confirmed=True):
        allowed, why = device.verify_is_allowed()
        if not allowed:
            refused = Refused(until=(why or {}).get("locked_until"))
            continue
        verified = django_otp.verify_token(user, device.persistent_id, code)
        if verified is not None:
            return verified
    return refused


def session_verify(request: HttpRequest, device: Device) -> None:
    """Mark the session verified by ``device``, under a new session key."""
    django_otp.login(request, device)
    request.session.cycle_key()


def twofactor_reset(*, name: str) -> int:
    """Remove every second-factor device of the user called ``name`` (a lost phone):
    they set up an authenticator again at their next sign-in. Returns how many."""
    User = get_user_model()
    user = User.objects.filter(username=name).first()
    if user is None:
        raise LookupError(f"no user named {name!r}")
    devices = [TOTPDevice.objects.filter(user_id=user.pk),
               StaticDevice.objects.filter(user_id=user.pk)]
    with transaction.atomic():
        removed = sum(int(d.count()) for d in devices)
        for d in devices:
            d.delete()
    return removed


def _clean(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()
