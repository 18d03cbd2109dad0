"""Request and response bodies of the JSON API (the contract in issue 2 is fixed)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, model_validator

from spotline.api.fields import NOT_BLANK, Whole, no_nul, trimmed
from spotline.core.outcome import Referral
from spotline.core.policy import EscalationTarget
from spotline.core.triage import Answer, Kind

# strict=True: a coordinate must be a JSON number, not a string or a boolean.
Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False, strict=True)]
Lon = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False, strict=True)]
Short = Annotated[
    str, StringConstraints(max_length=500, strip_whitespace=True), AfterValidator(no_nul),
    Field(json_schema_extra=trimmed(r"[^\x00]{0,500}")),
]
Text = Annotated[
    str, StringConstraints(max_length=2000, strip_whitespace=True), AfterValidator(no_nul),
    Field(json_schema_extra=trimmed(r"[^\x00]{0,2000}")),
]


def _one_line(value: str) -> str:
    # A name goes into a text sent to someone else: no NUL, no line breaks, no control
    # characters that would reshape the message.
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value):
        raise ValueError("a name must be one line of text, without control characters")
    return value


Name = Annotated[
    str, StringConstraints(max_length=60, strip_whitespace=True), AfterValidator(_one_line),
    Field(json_schema_extra=trimmed(r"[^\x00-\x1f\x7f-\x9f]{0,60}")),
]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 ()./-]{4,30}$"),
    # The same, once trimmed: a trailing space is trimmed before the length counts.
    Field(json_schema_extra=trimmed(r"\+?[0-9][0-9 ()./-]{3,29}[0-9()./-]")),
]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[A-Za-z]{2})?$")]


class LocationIn(Schema):
    # _needs_a_place, for the schema: both coordinates, or neither and a description.
    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"required": ["lat", "lon"],
         "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}}},
        {"required": ["description"],
         "properties": {"lat": {"type": "null"}, "lon": {"type": "null"},
                        "description": {"type": "string", "pattern": NOT_BLANK}}},
    ]})

    lat: Lat | None = None
    lon: Lon | None = None
    accuracy_m: Annotated[float, Field(ge=0, le=100_000, allow_inf_nan=False,
                                       strict=True)] | None = None  # false is not 0 m
    description: Short | None = None

    @model_validator(mode="after")
    def _needs_a_place(self) -> LocationIn:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        if self.lat is None and not (self.description or "").strip():
            raise ValueError("a location needs lat and lon, or a description of the place")
        return self


class IncidentIn(Schema):
    kind: Kind
    location: LocationIn
    details: Text | None = None
    breathing: Answer = Answer.UNKNOWN
    conscious: Answer = Answer.UNKNOWN
    danger: Answer = Answer.UNKNOWN
    callback_phone: Phone | None = None
    language: Language | None = None


class TrackDetailsIn(Schema):
    """What a person tells after sending: the answers they skipped, and more details."""

    breathing: Answer = Answer.UNKNOWN
    conscious: Answer = Answer.UNKNOWN
    danger: Answer = Answer.UNKNOWN
    details: Text | None = Field(None, description="appended to the details sent before; "
                                 "2000 characters in all")


class IncidentCreated(Schema):
    id: int
    tracking_token: str
    status: str
    status_url: str
    track_url: str
    priority: str


class TrackOut(Schema):
    status: str
    stage: Literal["finding", "widening", "unanswered", "ambulance_proposed",
                   "ambulance_requested", "accepted", "en_route", "on_scene", "closed",
                   "cancelled", "location_needed"] = Field(
        description="where the request stands, for the person: values are added, never "
                    "renamed. location_needed: we do not know where they are, so nobody "
                    "can be sent until they (or a dispatcher) say")
    message: str = Field(description="the sentence the status page shows, in the "
                         "request's language")
    eta_minutes: int | None
    updated_at: datetime
    kind: str
    priority: str
    responder: str | None = Field(description="first name or alias only")
    nobody_on_shift: bool
    closed: bool
    offered_to: int = Field(description="responders asked right now, waiting for an answer")
    hotline: str | None = Field(description="the organization's line, to call")
    emergency_number: str | None = Field(
        description="for the person to call an ambulance themselves if they choose; "
                    "Spotline never dials it")
    questions: list[Literal["breathing", "conscious", "danger", "details"]] = Field(
        description="what the person may still tell with POST .../details while the "
                    "request is open: the questions not answered yet, and details while "
                    "there is room")


class ErrorOut(Schema):
    detail: str


class ShiftIn(Schema):
    model_config = ConfigDict(json_schema_extra={"anyOf": [  # _pair, for the schema
        {"required": ["lat", "lon"],
         "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}}},
        {"properties": {"lat": {"type": "null"}, "lon": {"type": "null"}}},
    ]})

    on_shift: bool = Field(strict=True)
    lat: Lat | None = None
    lon: Lon | None = None

    @model_validator(mode="after")
    def _pair(self) -> ShiftIn:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        return self


class LocationUpdateIn(Schema):
    lat: Lat
    lon: Lon


class MeOut(Schema):
    id: int
    alias: str
    on_shift: bool
    on_shift_since: datetime | None
    skills: list[str]
    mode: str
    location_shared: bool
    channels: list[str]
    phone_on_file: bool


class ChannelsIn(Schema):
    # The order to try for an offer when the app is closed, e.g. ["push", "sms", "voice"].
    channels: Annotated[list[Literal["push", "sms", "voice", "email"]],
                        Field(min_length=1, max_length=4)]


class AreaCircle(Schema):
    lat: float
    lon: float
    radius_m: int


class OfferOut(Schema):
    id: int
    incident_id: int
    kind: str
    priority: str
    distance_m: int | None
    eta_minutes: int | None
    area: str
    area_circle: AreaCircle | None = Field(
        description="a circle of a few hundred metres that surely holds the place, around "
                    "the centre of its cell (the same for every place in the cell): for a "
                    "map before accepting. Never the place itself; null without a point")
    breathing: str
    conscious: str
    danger: str
    expires_at: datetime
    status: str
    approximate: bool = Field(
        description="the place was found from the person's words, not a device: it is "
                    "somewhere within radius_m of its point (the ETA allows for that)")
    radius_m: int | None = Field(
        description="for an approximate place: how far from its point it may be, in "
                    "metres; null otherwise")


class ExactLocation(Schema):
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    description: str


class AcceptedOut(Schema):
    offer_id: int
    incident_id: int
    status: str
    kind: str
    priority: str
    location: ExactLocation
    details: str
    breathing: str
    conscious: str
    danger: str


class DeclinedOut(Schema):
    offer_id: int
    status: str


class ReportIn(Schema):
    type: Literal["en_route", "on_scene", "need_backup", "unable_to_locate", "resolved",
                  "release"]


class IncidentStateOut(Schema):
    incident_id: int
    status: str


class OutcomeIn(Schema):
    model_config = ConfigDict(extra="ignore")

    naloxone_doses: Annotated[int, Field(ge=0, le=20, strict=True), Whole]
    responsive_after: Answer
    ems: Literal["not_needed", "requested", "declined"]
    # A closed list: counts that can be kept after the purge, never free text. Left out
    # (or null), referrals and notes keep what is saved: a correction of the counts
    # never wipes them; send [] or "" to clear them.
    referrals: Annotated[list[Referral], Field(max_length=20)] | None = None
    notes: Text | None = None


class OutcomeOut(Schema):
    incident_id: int
    naloxone_doses: int
    responsive_after: str
    ems: str
    referrals: list[str]
    recorded_at: datetime


class IncidentSummary(Schema):
    id: int
    kind: str
    priority: str
    status: str
    opened_at: datetime
    updated_at: datetime
    area: str
    attention: str
    unanswered: bool
    ems_requested: bool
    responder_id: int | None
    responder: str | None


class EventOut(Schema):
    at: datetime
    type: str
    actor: str
    data: dict[str, object]


class IncidentDetail(IncidentSummary):
    location: ExactLocation
    # "approximate": found from the person's words (location.accuracy_m is its radius);
    # "unknown": no point at all, only the description.
    location_status: Literal["exact", "approximate", "unknown"]
    details: str
    breathing: str
    conscious: str
    danger: str
    required_skills: list[str]
    unserved_reason: str
    closed_at: datetime | None
    timeline: list[EventOut]
    offers: list[OfferOut]


class AssignIn(Schema):
    responder_id: Annotated[int, Field(ge=1, strict=True), Whole]


class EscalateIn(Schema):
    to: EscalationTarget


class ResponderOut(Schema):
    id: int
    alias: str
    on_shift: bool
    skills: list[str]
    mode: str
    lat: float | None
    lon: float | None
    located_at: datetime | None
    incident_id: int | None
