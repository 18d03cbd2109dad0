"""Check-ins for people using alone (the contract of issue 5 is fixed)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from ninja import Router, Schema, Status
from pydantic import ConfigDict, Field, StringConstraints, model_validator

from spotline.api import idempotency
from spotline.api.fields import Whole
from spotline.api.schemas import ErrorOut, LocationIn, Name, Phone, Short
from spotline.checkins import actions, plans
from spotline.checkins.models import CheckIn
from spotline.core.checkin import CheckState, OnMiss, Send
from spotline.core.geo import Point
from spotline.errors import Invalid, NotFound

router = Router(tags=["check-ins"])


Token = Annotated[str, StringConstraints(min_length=8, max_length=64,
                                         pattern=r"^[A-Za-z0-9_-]+$")]


class TrustedIn(Schema):
    """A trusted person of your own: texted where you are and how to get in."""

    phone: Phone
    name: Name = ""  # theirs, so your page can say whom we texted
    from_name: Name = ""  # yours, as they know you ("it's Alex")


class CheckinIn(Schema):
    # _needs_a_place, for the schema: a location or a saved plan; and a trusted person
    # when send names one.
    model_config = ConfigDict(json_schema_extra={"allOf": [
        {"anyOf": [{"required": ["location"], "properties": {"location": {"type": "object"}}},
                   {"required": ["plan_token"],
                    "properties": {"plan_token": {"type": "string"}}}]},
        {"anyOf": [{"properties": {"send": {"anyOf": [
                        {"type": "null"},
                        {"type": "array", "items": {"enum": ["responders", "ems"]}}]}}},
                   {"required": ["trusted"], "properties": {"trusted": {"type": "object"}}}]},
    ]})

    # Optional only when ``plan_token`` names a saved plan that has the place.
    location: LocationIn | None = None
    minutes: Annotated[int, Field(ge=1, le=30, strict=True), Whole] | None = None  # default 5
    on_miss: Literal["responders", "responders_and_ems"] = "responders"
    phone: Phone | None = None
    access: Short | None = Field(None, description="How to get in: 'door unlocked, back "
                                 "bedroom'. Given to whoever is sent.")
    send: list[Literal["responders", "trusted", "ems"]] | None = Field(
        None, min_length=1, max_length=3,
        description="Whom a missed check sends. Default: from on_miss. "
        "on_miss=responders_and_ems always adds ems.")
    trusted: TrustedIn | None = None
    save_plan: bool = Field(False, description="Keep this plan (sealed) for next time; "
                            "the answer's plan_token opens it. Delete it any time.")
    plan_token: Token | None = Field(None, description="Start from a saved plan; fields "
                                     "given here override it.")

    @model_validator(mode="after")
    def _needs_a_place(self) -> CheckinIn:
        if self.location is None and self.plan_token is None:
            raise ValueError("location is required (or plan_token, a saved plan)")
        if self.send is not None and "trusted" in self.send and self.trusted is None:
            raise ValueError("send includes trusted: give trusted.phone")
        return self


class CheckinCreated(Schema):
    id: int
    token: str
    next_check_at: datetime
    status: str
    page_url: str
    plan_token: str | None = None


class CheckinOut(Schema):
    id: int
    status: str
    minutes: int
    next_check_at: datetime | None
    escalated: bool
    incident_status_url: str | None
    send: list[str]


class PlanOut(Schema):
    location: dict[str, Any]
    access: str
    minutes: int
    on_miss: str
    send: list[str] | None
    trusted: dict[str, str] | None
    phone: str


def _out(request: HttpRequest, checkin: CheckIn, token: str) -> dict[str, Any]:
    status_url = None
    if checkin.incident_id is not None:
        # Once help is sent, the check-in's own page is the incident's status page.
        status_url = request.build_absolute_uri(reverse("checkins:page", args=[token]))
    return {"id": checkin.pk, "status": checkin.state, "minutes": checkin.minutes,
            "next_check_at": checkin.next_at, "escalated": checkin.state == CheckState.ESCALATED,
            "incident_status_url": status_url, "send": checkin.send}


def _plan_from(payload: CheckinIn) -> plans.Plan:
    """The saved plan (if named) with whatever this request gives on top."""
    base = plans.plan_load(payload.plan_token) if payload.plan_token else None
    given = payload.model_fields_set
    loc = payload.location
    if loc is not None:
        point = Point(loc.lat, loc.lon) if loc.lat is not None and loc.lon is not None else None
        description = loc.description or ""
    elif base is not None:
        point, description = base.location, base.description
    else:  # the validator requires one of them
        raise Invalid("location is required (or plan_token, a saved plan)")
    trusted = (plans.Trusted(phone=payload.trusted.phone, name=payload.trusted.name,
                               from_name=payload.trusted.from_name)
               if payload.trusted else base.trusted if base else None)
    return plans.Plan(
        location=point, description=description,
        access=(payload.access or "") if "access" in given or base is None else base.access,
        minutes=payload.minutes or (base.minutes if base else 5),
        on_miss=(OnMiss(payload.on_miss) if "on_miss" in given or base is None
                 else base.on_miss),
        send=(frozenset(Send(v) for v in payload.send) if payload.send is not None
              else base.send if base else None),
        trusted=trusted,
        phone=payload.phone or (base.phone if base else ""),
    )


@router.post("", response={201: CheckinCreated, 400: ErrorOut, 404: ErrorOut, 413: ErrorOut,
                           422: ErrorOut},
             summary="Start a check-in: help is sent if you stop answering",
             openapi_extra=idempotency.OPENAPI)
def checkin_create(request: HttpRequest, payload: CheckinIn) -> Status[dict[str, Any]]:
    now = timezone.now()

    def start() -> tuple[int, dict[str, Any]]:
        plan = _plan_from(payload)
        started = actions.checkin_start(
            location=plan.location, description=plan.description, access=plan.access,
            minutes=plan.minutes, on_miss=plan.on_miss, send=plan.send,
            trusted=plan.trusted, phone=plan.phone,
            language=request.LANGUAGE_CODE or "en", now=now,
            save_plan=payload.save_plan and not payload.plan_token,
        )
        if payload.plan_token:
            plans.plan_used(token=payload.plan_token, now=now)
        return 201, {
            "id": started.checkin.pk, "token": started.token,
            "next_check_at": started.checkin.next_at, "status": started.checkin.state,
            "page_url": request.build_absolute_uri(
                reverse("checkins:page", args=[started.token])),
            "plan_token": started.plan_token or payload.plan_token,
        }

    # Only the fields given: one given as its default still overrides a saved plan's,
    # so it is a different request from one that leaves it out.
    return idempotency.idempotent(
        request, scope="checkin_create",
        payload=payload.model_dump(mode="json", exclude_unset=True), now=now, create=start)


@router.get("/plans/{plan_token}", response={200: PlanOut, 404: ErrorOut},
            summary="Your saved plan (only its token opens it)")
def plan_get(request: HttpRequest, plan_token: str) -> Any:
    plan = plans.plan_load(plan_token)
    return {
        "location": {"lat": plan.location.lat if plan.location else None,
                     "lon": plan.location.lon if plan.location else None,
                     "description": plan.description},
        "access": plan.access, "minutes": plan.minutes, "on_miss": plan.on_miss.value,
        "send": sorted(s.value for s in plan.send) if plan.send is not None else None,
        "trusted": ({"phone": plan.trusted.phone, "name": plan.trusted.name,
                     "from_name": plan.trusted.from_name} if plan.trusted else None),
        "phone": plan.phone,
    }


@router.delete("/plans/{plan_token}", response={204: None, 404: ErrorOut},
               summary="Delete your saved plan, at once and for good")
def plan_delete(request: HttpRequest, plan_token: str) -> Any:
    if not plans.plan_delete(token=plan_token):
        raise NotFound("no such saved plan")
    return Status(204, None)


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


@router.post("/{token}/call-off", response={200: CheckinOut, 404: ErrorOut, 409: ErrorOut},
             summary="After help was sent: I'm OK, cancel help",
             description="Cancels the incident the check-in opened (reason "
                         "cancelled_by_person; whoever is coming is told at once) and ends "
                         "the check-in, its place destroyed. 409 before help was sent (use "
                         "/ok or /done) and while a responder is already with the person.")
def checkin_call_off(request: HttpRequest, token: str) -> Any:
    checkin = actions.checkin_by_token(token)
    return _out(request, actions.checkin_call_off(checkin_id=checkin.pk, now=timezone.now()),
                token)
