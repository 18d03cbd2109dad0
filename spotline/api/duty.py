"""Dispatchers come on and go off duty: the hotline rings the phones of those on duty.
Dispatchers and coordinators only; mounted at /api/v1/me/duty."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema

from spotline.accounts.actions import duty_set
from spotline.api import schemas as s
from spotline.api.auth import AUTH, require_dispatcher

router = Router(auth=AUTH, tags=["dispatcher"])


class DutyIn(Schema):
    on_duty: bool


class DutyOut(Schema):
    on_duty: bool


@router.put("", response={200: DutyOut, 401: s.ErrorOut, 403: s.ErrorOut, 422: s.ErrorOut},
            summary="Come on duty (the hotline rings your phone) or go off duty")
def duty_put(request: HttpRequest, payload: DutyIn) -> Any:
    user = get_user_model().objects.get(pk=require_dispatcher(request))
    profile = duty_set(user=user, on_duty=payload.on_duty, now=timezone.now())
    return {"on_duty": profile.on_duty_since is not None}
