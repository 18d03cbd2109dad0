"""Community drug alerts over the API, for coordinators and admins (issue 16's fixed
contract: these paths and fields stay; fields may be added, never renamed).

- ``/v1/alerts``: write a draft, publish it (the fan-out to subscribers is the
  worker's, not the request's), cancel it.
- ``/v1/areas``: the areas alerts are for, and defining a new one from GeoJSON or an
  H3 cell.

Each endpoint checks the shape of the input here (422 with where and what), makes one
action call (``alerts.actions``), whose refusals are 400 (the content), 404 or 409.
Anyone who is not a coordinator or an admin is told nothing is here (404).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.conf import settings
from django.db import IntegrityError
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema, Status
from pydantic import AfterValidator, AwareDatetime, ConfigDict, Field, model_validator

from spotline.alerts.actions.areas import MAX_ALIASES, area_create
from spotline.alerts.actions.review import AlertFields, alert_cancel, alert_draft, alert_publish
from spotline.alerts.models import Alert, Area, CapMessage, Report
from spotline.api.auth import AUTH, require_coordinator
from spotline.api.base import int_id
from spotline.api.fields import Whole, no_nul
from spotline.api.schemas import ErrorOut
from spotline.core.alerts import MAX_TEXT, Advice, Severity, Sign, Substance
from spotline.core.areas import MAX_VERTICES
from spotline.errors import Conflict, Invalid

router = Router(auth=AUTH, tags=["alerts"])

Id = Annotated[int, Field(ge=1, lt=2**63, strict=True), Whole]


# Text that says nothing (emoji only) is the action's to refuse, with 400: the schema
# cannot say "has a letter", so a 422 here would refuse what the schema allows.
Words = Annotated[str, Field(max_length=MAX_TEXT), AfterValidator(no_nul)]
AreaName = Annotated[str, Field(min_length=1, max_length=80), AfterValidator(no_nul)]
Alias = Annotated[str, Field(max_length=40), AfterValidator(no_nul)]

# -- alerts --------------------------------------------------------------------------------


class AlertIn(Schema):
    areas: list[Id] = Field(min_length=1, max_length=100,
                            description="ids of the areas it is for (GET /api/v1/areas)")
    substance: Substance
    signs: list[Sign] = Field(default_factory=list, max_length=len(Sign))
    advice: list[Advice] | Words | None = Field(
        None, description="a list of advice codes; or the coordinator's own words (then "
        "no codes); left out or null: the substance's usual advice")
    severity: Severity
    expires: AwareDatetime = Field(description="with a time zone; in the future, at most "
                                   "30 days ahead; said to the hour")
    text: Words = Field("", description="a few plain words: no phone number, address, "
                        "incident number, coordinates or time finer than the hour")
    reports: list[Id] = Field(default_factory=list, max_length=100,
                              description="ids of the reports it is made from")


class AlertOut(Schema):
    id: int
    status: str
    substance: str
    severity: str
    signs: list[str]
    advice: list[str]
    advice_text: str
    text: str
    expires: datetime
    areas: list[int]
    published_at: datetime | None
    cancelled_at: datetime | None
    cap_identifier: str | None = Field(description="the last CAP message sent about it")
    cap_url: str | None = Field(description="that CAP message, public once published")


def _cap_url(alert_id: int) -> str:
    return f"{settings.SPOTLINE_SITE_URL}/alerts/{alert_id}.cap.xml"


def alert_out(alert: Alert) -> dict[str, Any]:
    message = CapMessage.objects.filter(alert=alert).order_by("-sent", "-pk").first()
    return {
        "id": alert.pk, "status": alert.status, "substance": alert.substance,
        "severity": alert.severity, "signs": alert.signs, "advice": alert.advice,
        "advice_text": alert.advice_text, "text": alert.text, "expires": alert.expires,
        "areas": sorted(alert.areas.values_list("pk", flat=True)),
        "published_at": alert.published_at, "cancelled_at": alert.cancelled_at,
        "cap_identifier": message.identifier if message else None,
        "cap_url": _cap_url(alert.pk) if message else None,
    }


def _fields(payload: AlertIn) -> AlertFields:
    advice: list[Advice] | None
    advice_text = ""
    if isinstance(payload.advice, str):
        advice, advice_text = [], payload.advice
    else:
        advice = payload.advice
    if payload.reports and (Report.objects.filter(pk__in=payload.reports).count()
                            != len(set(payload.reports))):
        raise Invalid("A report chosen does not exist.")
    return AlertFields(
        substance=payload.substance.value, severity=payload.severity.value,
        expires=payload.expires, area_ids=payload.areas,
        signs=[s.value for s in payload.signs],
        advice=None if advice is None else [a.value for a in advice],
        advice_text=advice_text, text=payload.text, report_ids=payload.reports)


ANSWERS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut,
                           422: ErrorOut}


@router.post("/alerts", response={201: AlertOut, **ANSWERS},
             summary="Write a draft alert",
             description="A draft for review: nothing is sent until it is published. 400 "
             "when the content is refused (an expiry in the past, an area that does not "
             "exist, free text that points at a person, a place or a time finer than the "
             "hour); 422 when a field is missing or malformed.",
             operation_id="spotline_api_alerts_create")
def alerts_create(request: HttpRequest, payload: AlertIn) -> Status[dict[str, Any]]:
    user = require_coordinator(request)
    alert = alert_draft(fields=_fields(payload), user_id=user, now=timezone.now())
    return Status(201, alert_out(alert))


@router.post("/alerts/{alert_id}/publish", response={200: AlertOut, **ANSWERS},
             summary="Publish a draft alert",
             description="Builds and validates its CAP 1.2 message and queues the fan-out "
             "for the worker (the request does not wait for the texts). 409 when it is not "
             "a draft, or under the two-person rule (SPOTLINE_ALERTS_TWO_PERSON) when its "
             "author publishes it.",
             operation_id="spotline_api_alerts_publish")
def alerts_publish(request: HttpRequest, alert_id: int) -> Any:
    user = require_coordinator(request)
    alert = alert_publish(alert_id=int_id(alert_id), user_id=user, now=timezone.now())
    return alert_out(alert)


@router.post("/alerts/{alert_id}/cancel", response={200: AlertOut, **ANSWERS},
             summary="Withdraw a published alert, or discard a draft",
             description="A published alert gets a CAP Cancel, sent to everyone who got "
             "it. Cancelling again answers the same. 409 for an alert an update replaced "
             "(cancel the update).",
             operation_id="spotline_api_alerts_cancel")
def alerts_cancel(request: HttpRequest, alert_id: int) -> Any:
    user = require_coordinator(request)
    alert = alert_cancel(alert_id=int_id(alert_id), user_id=user, now=timezone.now())
    return alert_out(alert)


# -- areas ---------------------------------------------------------------------------------

Coordinate = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Position = Annotated[list[Coordinate], Field(min_length=2, max_length=3,
                                             description="[longitude, latitude]")]
Ring = Annotated[list[Position], Field(min_length=4, max_length=MAX_VERTICES + 1)]


class PolygonIn(Schema):
    type: Literal["Polygon"]
    coordinates: list[Ring] = Field(min_length=1, max_length=50)


class MultiPolygonIn(Schema):
    type: Literal["MultiPolygon"]
    coordinates: list[Annotated[list[Ring], Field(min_length=1, max_length=50)]] = Field(
        min_length=1, max_length=50)


class AreaIn(Schema):
    # _one_shape, for the schema: a geometry or an H3 cell, not both.
    model_config = ConfigDict(json_schema_extra={"oneOf": [
        {"required": ["geometry"], "properties": {"geometry": {"type": "object"},
                                                  "h3_cell": {"type": "null"}}},
        {"required": ["h3_cell"], "properties": {"h3_cell": {"type": "string"},
                                                 "geometry": {"type": "null"}}},
    ]})

    name: AreaName
    geometry: Annotated[PolygonIn | MultiPolygonIn, Field(discriminator="type")] | None = (
        Field(None, description="GeoJSON, [longitude, latitude]; a valid outline (no "
              "ring crossing itself), at least a small neighbourhood and at most "
              "SPOTLINE_AREA_MAX_KM2"))
    h3_cell: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{15}$")] | None = Field(
        None, description="an H3 cell index instead of a geometry")
    aliases: list[Alias] = Field(default_factory=list, max_length=MAX_ALIASES,
                                 description="other names and postcodes people text")

    @model_validator(mode="after")
    def _one_shape(self) -> AreaIn:
        if (self.geometry is None) == (self.h3_cell is None):
            raise ValueError("give geometry (GeoJSON) or h3_cell, one of the two")
        return self


class AreaOut(Schema):
    id: int
    name: str
    aliases: list[str]
    km2: float
    h3_cell: str
    centre: dict[str, float] = Field(description="a point inside it: lat, lon")
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon")


def area_out(area: Area) -> dict[str, Any]:
    return {"id": area.pk, "name": area.name, "aliases": area.aliases, "km2": area.km2,
            "h3_cell": area.h3_cell, "centre": {"lat": area.centre_lat, "lon": area.centre_lon},
            "geometry": area.geometry}


@router.get("/areas", response={200: list[AreaOut], 401: ErrorOut, 404: ErrorOut},
            summary="The areas alerts are for, by name",
            operation_id="spotline_api_areas_list")
def areas_list(request: HttpRequest) -> Any:
    require_coordinator(request)
    return [area_out(a) for a in Area.objects.order_by("name", "pk")]


@router.post("/areas", response={201: AreaOut, **ANSWERS},
             summary="Define an area",
             description="From a GeoJSON Polygon or MultiPolygon (as drawn on the map or "
             "imported) or an H3 cell; never a point. 400 for an outline that crosses "
             "itself, is too small or too large, or has more than 1,000 corners; 409 when "
             "an area has that name.",
             operation_id="spotline_api_areas_create")
def areas_create(request: HttpRequest, payload: AreaIn) -> Status[dict[str, Any]]:
    user = require_coordinator(request)
    geometry = payload.geometry.model_dump() if payload.geometry is not None else None
    try:
        area = area_create(name=payload.name, geometry=geometry, h3_cell=payload.h3_cell or "",
                           aliases=payload.aliases, now=timezone.now(), user_id=user)
    except IntegrityError:  # the same name, created at the same moment by someone else
        raise Conflict("There is already an area with that name.") from None
    return Status(201, area_out(area))
