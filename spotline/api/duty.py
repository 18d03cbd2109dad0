"""Dispatchers come on and go off duty: the hotline rings the phones of those on duty.
Dispatchers and coordinators only; mounted at /api/v1/me/duty."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from spotline.accounts.actions import duty_set
from spotline.accounts.models import Role
from spotline.api import schemas as s
from spotline.api.auth import AUTH, require_dispatcher, role_of

router = Router(auth=AUTH, tags=["dispatcher"])


class DutyIn(Schema):
    on_duty: bool = Field(strict=True)  # true or false: 0, 1 and "yes" are refused


class DutyOut(Schema):
    on_duty: bool


@router.put("", response={200: DutyOut, 401: s.ErrorOut, 403: s.ErrorOut, 404: s.ErrorOut,
                          422: s.ErrorOut},
            summary="Come on duty (the hotline rings your phone) or go off duty")
def duty_put(request: HttpRequest, payload: DutyIn) -> Any:
    user = get_user_model().objects.get(pk=require_dispatcher(request))
    if role_of(user) not in (Role.DISPATCHER, Role.COORDINATOR):
        # An admin with no dispatcher's profile has no phone for the hotline to ring.
        raise HttpError(404, "duty is for dispatchers and coordinators")
    profile = duty_set(user=user, on_duty=payload.on_duty, now=timezone.now())
    return {"on_duty": profile.on_duty_since is not None}
