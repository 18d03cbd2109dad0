"""API authentication: a bearer token or the staff session, and role checks."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest
from django.utils import timezone
from ninja.errors import HttpError
from ninja.security import HttpBearer, SessionAuth

from spotline.accounts.models import ApiToken, Role
from spotline.accounts.twofactor import may_use_staff_pages
from spotline.privacy.crypto import token_digest
from spotline.responders.models import Responder


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        row = (
            ApiToken.objects.select_related("user")
            .filter(digest=token_digest(token), revoked_at__isnull=True, user__is_active=True)
            .first()
        )
        if row is None:
            return None
        now = timezone.now()
        # Touch at most once a minute: a responder polling offers must not turn every
        # read into a write.
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
        request.user = row.user
        return row.user


class Session(SessionAuth):
    """The staff session, CSRF-checked; no session at all is a plain 401, and so is a
    session still waiting for its second factor (SPOTLINE_2FA_ROLES).

    Without this, ninja runs the CSRF check before noticing there is no session, and a
    client with a revoked token would hear "CSRF check failed" instead of "sign in".
    """

    def __call__(self, request: HttpRequest) -> Any:
        if not may_use_staff_pages(request):
            return None
        return super().__call__(request)


AUTH = [BearerToken(), Session()]


def role_of(user: AbstractBaseUser | AnonymousUser) -> str | None:
    profile = getattr(user, "profile", None)
    return profile.role if profile is not None else None


def user_id(request: HttpRequest) -> int:
    pk = request.user.pk
    if pk is None:
        raise HttpError(401, "sign in first")
    return int(pk)


def require_responder(request: HttpRequest) -> Responder:
    """The caller's responder; anyone else gets 404, as on the console (the wrong role
    is told nothing is there, the same as for an object they may not see)."""
    responder = Responder.objects.filter(user_id=user_id(request)).first()
    if responder is None:
        raise HttpError(404, "this endpoint is for responders")
    return responder


def require_dispatcher(request: HttpRequest) -> int:
    """Dispatchers, coordinators and admins (superusers, who may have no role); anyone
    else gets 404."""
    if (role_of(request.user) not in (Role.DISPATCHER, Role.COORDINATOR)
            and not getattr(request.user, "is_superuser", False)):
        raise HttpError(404, "this endpoint is for dispatchers, coordinators and admins")
    return user_id(request)


def require_coordinator(request: HttpRequest) -> int:
    """Coordinators and admins (superusers, who may have no role); anyone else gets
    404, as everywhere in the API (a dispatcher is told nothing is there)."""
    if (role_of(request.user) != Role.COORDINATOR
            and not getattr(request.user, "is_superuser", False)):
        raise HttpError(404, "this endpoint is for coordinators and admins")
    return user_id(request)
