"""Check-ins for people using alone (the contract of issue 5 is fixed)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from ninja import Router, Schema, Status
from pydantic import Field

from spotline.api.schemas import ErrorOut, LocationIn, Phone
from spotline.checkins import actions
from spotline.checkins.models import CheckIn
from spotline.core.checkin import CheckState, OnMiss
from spotline.core.geo import Point

router = Router(tags=["check-ins"])


class CheckinIn(Schema):
    location: LocationIn
    minutes: Annotated[int, Field(ge=1, le=30, strict=True)] = 5
    on_miss: Literal["responders", "responders_and_ems"] = "responders"
    phone: Phone | None = None


class CheckinCreated(Schema):
    id: int
    token: str
    next_check_at: datetime
    status: str
    page_url: str


class CheckinOut(Schema):
    id: int
    status: str
    minutes: int
    next_check_at: datetime | None
    escalated: bool
    incident_status_url: str | None


def _out(request: HttpRequest, checkin: CheckIn, token: str) -> dict[str, Any]:
    status_url = None
    if checkin.incident_id is not None:
        # Once help is sent, the check-in's own page is the incident's status page.
        status_url = request.build_absolute_uri(reverse("checkins:page", args=[token]))
    return {"id": checkin.pk, "status": checkin.state, "minutes": checkin.minutes,
            "next_check_at": checkin.next_at, "escalated": checkin.state == CheckState.ESCALATED,
            "incident_status_url": status_url}


@router.post("", response={201: CheckinCreated, 400: ErrorOut, 413: ErrorOut, 422: ErrorOut},
             summary="Start a check-in: help is sent if you stop answering")
def checkin_create(request: HttpRequest, payload: CheckinIn) -> Any:
    loc = payload.location
    point = Point(loc.lat, loc.lon) if loc.lat is not None and loc.lon is not None else None
    started = actions.checkin_start(
        location=point, description=loc.description or "", minutes=payload.minutes,
        on_miss=OnMiss(payload.on_miss), phone=payload.phone or "",
        language=request.LANGUAGE_CODE or "en", now=timezone.now(),
    )
    return Status(201, {
        "id": started.checkin.pk, "token": started.token,
        "next_check_at": started.checkin.next_at, "status": started.checkin.state,
        "page_url": request.build_absolute_uri(
            reverse("checkins:page", args=[started.token])),
    })


@router.get("/{token}", response={200: CheckinOut, 404: ErrorOut})
def checkin_get(request: HttpRequest, token: str) -> Any:
    return _out(request, actions.checkin_by_token(token), token)


@router.post("/{token}/ok", response={200: CheckinOut, 404: ErrorOut, 409: ErrorOut},
             summary="I'm OK: the next check comes after the same interval")
def checkin_ok(request: HttpRequest, token: str) -> Any:
    checkin = actions.checkin_by_token(token)
    return _out(request, actions.checkin_ok(checkin_id=checkin.pk, now=timezone.now()), token)


@router.post("/{token}/done", response={200: CheckinOut, 404: ErrorOut, 409: ErrorOut},
             summary="Ended safely: where you were is destroyed at once")
def checkin_done(request: HttpRequest, token: str) -> Any:
    checkin = actions.checkin_by_token(token)
    return _out(request, actions.checkin_done(checkin_id=checkin.pk, now=timezone.now()),
                token)
