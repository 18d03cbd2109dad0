"""The JSON API, version 1. OpenAPI at /api/openapi.json.

Each endpoint translates input, makes one action call, and translates the result or
the ``ActionError`` into an answer. Errors are ``{"detail": "..."}`` with a 4xx code.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from django.conf import settings
from django.db import IntegrityError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from ninja import NinjaAPI, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from spotline.api import schemas as s
from spotline.api.auth import AUTH, require_dispatcher, require_responder, user_id
from spotline.api.models import IdempotentRequest
from spotline.audit.actions import atomic as audit_atomic
from spotline.core.geo import Point
from spotline.core.lifecycle import OPEN
from spotline.core.policy import Actor, EscalationTarget, OfferStatus
from spotline.core.triage import Answer, Kind
from spotline.dispatch import actions
from spotline.dispatch.models import EmsOutcome, Incident, Offer, Source
from spotline.dispatch.presenters import eta_minutes, responder_busy_map, tracking
from spotline.errors import ActionError
from spotline.responders import actions as responder_actions
from spotline.responders.models import Responder


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


class StrictJSONParser(Parser):
    """JSON without NaN/Infinity (Python's json module accepts them by default)."""

    def parse_body(self, request: HttpRequest) -> Any:
        return json.loads(request.body, parse_constant=_reject_constant)


api = NinjaAPI(
    title="Spotline API",
    version="1",
    description="Police-free overdose and crisis response. There is no police endpoint.",
    urls_namespace="api",
    parser=StrictJSONParser(),
    openapi_url="/openapi.json",
    docs_url="/docs",
)


@api.exception_handler(ActionError)
def _action_error(request: HttpRequest, exc: ActionError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.message, "code": exc.code},
                               status=exc.status)


@api.exception_handler(OperationalError)
def _database_unavailable(request: HttpRequest, exc: OperationalError) -> HttpResponse:
    # A restarting database or a conflict that outlived its retries: nothing was
    # written (the transaction rolled back), so the client can simply try again.
    response = api.create_response(
        request, {"detail": "the service is busy or restarting: try again in a moment"},
        status=503,
    )
    response["Retry-After"] = "2"
    return response


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    # Say what is wrong and where, but never echo the input back: it may hold a
    # phone number or coordinates, and error bodies end up in client logs.
    errors = [
        {"loc": [str(p) for p in e.get("loc", ()) if p not in ("body", "payload")],
         "msg": str(e.get("msg", "invalid"))}
        for e in exc.errors
    ]
    detail = "; ".join(
        f"{'.'.join(e['loc']) or 'body'}: {e['msg']}" for e in errors
    )
    return api.create_response(request, {"detail": detail, "errors": errors}, status=422)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = api.create_response(
        request, {"detail": "sign in, or send an API token as 'Authorization: Bearer ...'"},
        status=401,
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


def _int_id(value: int) -> int:
    # Path ids beyond a 64-bit integer would overflow the database driver.
    if not 0 < value < 2**63:
        raise HttpError(404, "not found")
    return value


# -- public -------------------------------------------------------------------------


def _created_body(request: HttpRequest, opened: actions.Opened) -> dict[str, Any]:
    token = opened.tracking_token
    return {
        "id": opened.incident.pk,
        "tracking_token": token,
        "status": opened.incident.state,
        "status_url": request.build_absolute_uri(reverse("intake:status", args=[token])),
        "track_url": request.build_absolute_uri(f"/api/v1/track/{token}"),
        "priority": opened.incident.priority,
    }


@api.post(
    "/v1/incidents",
    response={201: s.IncidentCreated, 400: s.ErrorOut, 413: s.ErrorOut, 422: s.ErrorOut},
    tags=["public"],
    summary="Ask for help",
)
def incident_create(request: HttpRequest, payload: s.IncidentIn) -> Status[dict[str, Any]]:
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 200:
        raise HttpError(400, "Idempotency-Key is longer than 200 characters")
    if not key.isprintable():
        raise HttpError(400, "Idempotency-Key must be printable text")
    loc = payload.location
    point = Point(loc.lat, loc.lon) if loc.lat is not None and loc.lon is not None else None
    now = timezone.now()

    def open_it() -> tuple[int, dict[str, Any]]:
        opened = actions.incident_open(
            kind=Kind(payload.kind),
            location=point,
            accuracy_m=loc.accuracy_m,
            description=loc.description or "",
            details=payload.details or "",
            breathing=Answer(payload.breathing),
            conscious=Answer(payload.conscious),
            danger=Answer(payload.danger),
            callback_phone=payload.callback_phone or "",
            language=payload.language or (request.LANGUAGE_CODE or "en"),
            source=Source.API,
            now=now,
        )
        return 201, _created_body(request, opened)

    if not key:
        return Status(*open_it())

    digest = hashlib.sha256(
        json.dumps(payload.model_dump(mode="json"), sort_keys=True).encode()
    ).hexdigest()

    def replay(row: IdempotentRequest) -> Status[dict[str, Any]]:
        if row.request_digest != digest:
            raise HttpError(422, "this Idempotency-Key was already used for a different request")
        return Status(row.status_code, row.response)

    existing = IdempotentRequest.objects.filter(scope="incident_create", key=key).first()
    if existing is not None:
        return replay(existing)
    try:
        with audit_atomic():
            status, body = open_it()
            IdempotentRequest.objects.create(
                scope="incident_create", key=key, request_digest=digest,
                status_code=status, response=body, created_at=now,
            )
    except IntegrityError:
        # A concurrent retry with the same key committed first: ours rolled back
        # whole (no second incident), and the answer is theirs.
        return replay(IdempotentRequest.objects.get(scope="incident_create", key=key))
    return Status(status, body)


@api.get("/v1/track/{token}", response={200: s.TrackOut, 404: s.ErrorOut}, tags=["public"],
         summary="Status of a request, by its tracking token")
def track(request: HttpRequest, token: str) -> Any:
    incident = actions.incident_by_token(token)
    return tracking(incident, now=timezone.now())


@api.post("/v1/track/{token}/cancel", response={200: s.TrackOut, 404: s.ErrorOut,
                                                  409: s.ErrorOut}, tags=["public"],
          summary="They are OK now: cancel the request")
def track_cancel(request: HttpRequest, token: str) -> Any:
    incident = actions.incident_by_token(token)
    now = timezone.now()
    incident = actions.incident_cancel(incident_id=incident.pk, actor=Actor.PERSON,
                                       user_id=None, now=now)
    return tracking(Incident.objects.get(pk=incident.pk), now=now)


# -- responders ------------------------------------------------------------------------


def _me(responder: Responder) -> dict[str, Any]:
    return {
        "id": responder.pk,
        "alias": responder.alias,
        "on_shift": responder.on_shift,
        "on_shift_since": responder.on_shift_since,
        "skills": list(responder.skills),
        "mode": responder.mode,
        "location_shared": responder.lat is not None,
        "channels": list(responder.channels or settings.DEFAULT_OFFER_CHANNELS),
        "phone_on_file": bool(responder.phone_sealed),
    }


@api.get("/v1/me", auth=AUTH, response={200: s.MeOut, 401: s.ErrorOut, 403: s.ErrorOut,
                                        404: s.ErrorOut},
         tags=["responder"])
def me(request: HttpRequest) -> Any:
    return _me(require_responder(request))


@api.put("/v1/me/shift", auth=AUTH, response={200: s.MeOut, 401: s.ErrorOut, 403: s.ErrorOut,
                                             404: s.ErrorOut, 409: s.ErrorOut,
                                             422: s.ErrorOut},
         tags=["responder"], summary="Go on or off shift")
def me_shift(request: HttpRequest, payload: s.ShiftIn) -> Any:
    responder = require_responder(request)
    point = None
    if payload.lat is not None and payload.lon is not None:
        point = Point(payload.lat, payload.lon)
    return _me(responder_actions.shift_set(responder=responder, on_shift=payload.on_shift,
                                           location=point, now=timezone.now()))


@api.put("/v1/me/channels", auth=AUTH, response={200: s.MeOut, 401: s.ErrorOut,
                                                403: s.ErrorOut, 404: s.ErrorOut,
                                                422: s.ErrorOut},
         tags=["responder"], summary="The order to reach you in for offers")
def me_channels(request: HttpRequest, payload: s.ChannelsIn) -> Any:
    responder = require_responder(request)
    responder = responder_actions.channels_set(responder=responder,
                                               channels=list(dict.fromkeys(payload.channels)))
    return _me(responder)


@api.put("/v1/me/location", auth=AUTH, response={200: s.MeOut, 401: s.ErrorOut,
                                                403: s.ErrorOut, 404: s.ErrorOut,
                                                409: s.ErrorOut,
                                                422: s.ErrorOut},
         tags=["responder"], summary="Share your location (only while on shift)")
def me_location(request: HttpRequest, payload: s.LocationUpdateIn) -> Any:
    responder = require_responder(request)
    return _me(responder_actions.location_update(
        responder=responder, location=Point(payload.lat, payload.lon), now=timezone.now()))


def _exact(incident: Incident) -> dict[str, Any]:
    """What only the assigned responder and dispatchers see: where, and the answers."""
    return {
        "location": {"lat": incident.lat, "lon": incident.lon,
                     "accuracy_m": incident.accuracy_m,
                     "description": incident.location_description},
        "details": incident.details,
        "breathing": incident.breathing,
        "conscious": incident.conscious,
        "danger": incident.danger,
    }


def _offer_out(offer: Offer) -> dict[str, Any]:
    return {
        "id": offer.pk,
        "incident_id": offer.incident_id,
        "kind": offer.incident.kind,
        "priority": offer.incident.priority,
        "distance_m": round(offer.distance_m) if offer.distance_m is not None else None,
        "eta_minutes": eta_minutes(offer.eta_seconds),
        "area": offer.incident.area,
        "expires_at": offer.expires_at,
        "status": offer.status,
    }


@api.get("/v1/me/offers", auth=AUTH, response={200: list[s.OfferOut], 401: s.ErrorOut,
                                              403: s.ErrorOut, 404: s.ErrorOut},
         tags=["responder"], summary="Your pending offers (coarse area only)")
def me_offers(request: HttpRequest) -> Any:
    responder = require_responder(request)
    offers = (
        Offer.objects.filter(responder=responder, status=OfferStatus.PENDING)
        .select_related("incident")
        .order_by("incident__priority", "created_at")
    )
    return [_offer_out(o) for o in offers]


@api.post("/v1/offers/{offer_id}/accept", auth=AUTH,
          response={200: s.AcceptedOut, 401: s.ErrorOut, 403: s.ErrorOut, 404: s.ErrorOut,
                    409: s.ErrorOut},
          tags=["responder"], summary="Accept an offer: 200 with the exact location, 409 if taken")
def offer_accept(request: HttpRequest, offer_id: int) -> Any:
    responder = require_responder(request)
    offer = actions.offer_accept(offer_id=_int_id(offer_id), responder=responder,
                                 now=timezone.now())
    incident = Incident.objects.get(pk=offer.incident_id)
    return {
        "offer_id": offer.pk,
        "incident_id": incident.pk,
        "status": incident.state,
        "kind": incident.kind,
        "priority": incident.priority,
        **_exact(incident),
    }


@api.post("/v1/offers/{offer_id}/decline", auth=AUTH,
          response={200: s.DeclinedOut, 401: s.ErrorOut, 403: s.ErrorOut, 404: s.ErrorOut,
                    409: s.ErrorOut},
          tags=["responder"])
def offer_decline(request: HttpRequest, offer_id: int) -> Any:
    responder = require_responder(request)
    offer = actions.offer_decline(offer_id=_int_id(offer_id), responder=responder,
                                  now=timezone.now())
    return {"offer_id": offer.pk, "status": offer.status}


def _staff_or_responder(request: HttpRequest) -> tuple[Responder | None, int]:
    """The assigned responder acts as themself; a dispatcher acts on their behalf."""
    responder = Responder.objects.filter(user_id=user_id(request)).first()
    if responder is not None:
        return responder, user_id(request)
    return None, require_dispatcher(request)


@api.post("/v1/incidents/{incident_id}/events", auth=AUTH,
          response={200: s.IncidentStateOut, 401: s.ErrorOut, 403: s.ErrorOut,
                    404: s.ErrorOut, 409: s.ErrorOut, 422: s.ErrorOut},
          tags=["responder"], summary="Report progress: en route, on scene, need backup, ...")
def incident_events(request: HttpRequest, incident_id: int, payload: s.ReportIn) -> Any:
    responder, user_id = _staff_or_responder(request)
    incident = actions.incident_report(incident_id=_int_id(incident_id), type=payload.type,
                                       responder=responder, user_id=user_id,
                                       now=timezone.now())
    return {"incident_id": incident.pk, "status": incident.state}


@api.post("/v1/incidents/{incident_id}/outcome", auth=AUTH,
          response={200: s.OutcomeOut, 401: s.ErrorOut, 403: s.ErrorOut, 404: s.ErrorOut,
                    409: s.ErrorOut, 422: s.ErrorOut},
          tags=["responder"])
def incident_outcome(request: HttpRequest, incident_id: int, payload: s.OutcomeIn) -> Any:
    responder, user_id = _staff_or_responder(request)
    outcome = actions.incident_outcome(
        incident_id=_int_id(incident_id), responder=responder, user_id=user_id,
        now=timezone.now(), naloxone_doses=payload.naloxone_doses,
        responsive_after=Answer(payload.responsive_after), ems=EmsOutcome(payload.ems),
        referrals=payload.referrals, notes=payload.notes or "",
    )
    return {
        "incident_id": outcome.incident_id,
        "naloxone_doses": outcome.naloxone_doses,
        "responsive_after": outcome.responsive_after,
        "ems": outcome.ems,
        "referrals": outcome.referrals,
        "recorded_at": outcome.recorded_at,
    }


# -- dispatchers -------------------------------------------------------------------------


def _summary(incident: Incident) -> dict[str, Any]:
    responder = incident.assigned_responder
    return {
        "id": incident.pk,
        "kind": incident.kind,
        "priority": incident.priority,
        "status": incident.state,
        "opened_at": incident.opened_at,
        "updated_at": incident.updated_at,
        "area": incident.area,
        "attention": incident.attention,
        "unanswered": incident.unanswered_at is not None,
        "ems_requested": incident.ems_requested_at is not None,
        "responder_id": responder.pk if responder else None,
        "responder": responder.alias if responder else None,
    }


@api.get("/v1/incidents", auth=AUTH, response={200: list[s.IncidentSummary], 401: s.ErrorOut,
                                              403: s.ErrorOut, 404: s.ErrorOut,
                                              422: s.ErrorOut},
         tags=["dispatcher"], summary="Incidents, most urgent first")
def incident_list(request: HttpRequest,
                  state: Literal["active", "closed", "all"] = "active") -> Any:
    require_dispatcher(request)
    qs = Incident.objects.select_related("assigned_responder")
    if state == "active":
        qs = qs.filter(state__in=[st.value for st in OPEN])
    elif state == "closed":
        qs = qs.exclude(state__in=[st.value for st in OPEN])
    return [_summary(i) for i in qs.order_by("priority", "opened_at")[:500]]


@api.get("/v1/incidents/{incident_id}", auth=AUTH,
         response={200: s.IncidentDetail, 401: s.ErrorOut, 403: s.ErrorOut, 404: s.ErrorOut},
         tags=["dispatcher"], summary="An incident with its timeline")
def incident_detail(request: HttpRequest, incident_id: int) -> Any:
    require_dispatcher(request)
    incident = (
        Incident.objects.select_related("assigned_responder")
        .filter(pk=_int_id(incident_id)).first()
    )
    if incident is None:
        raise HttpError(404, "no such incident")
    from spotline.audit.actions import record

    with audit_atomic():  # audited: the names of the exact fields shown, not values
        record("incident.view", object_type="incident", object_id=incident.pk,
               now=timezone.now(), actor="user", actor_user_id=user_id(request),
               fields=[name for name, value in (
                   ("location", incident.lat is not None or incident.location_description),
                   ("details", incident.details)) if value])
    offers = incident.offers.select_related("incident").order_by("round", "id")
    return {
        **_summary(incident),
        **_exact(incident),
        "required_skills": incident.required_skills,
        "unserved_reason": incident.unserved_reason,
        "closed_at": incident.closed_at,
        "timeline": [
            {"at": e.at, "type": e.type, "actor": e.actor, "data": e.data}
            for e in incident.events.all()
        ],
        "offers": [_offer_out(o) for o in offers],
    }


@api.post("/v1/incidents/{incident_id}/assign", auth=AUTH,
          response={200: s.IncidentSummary, 401: s.ErrorOut, 403: s.ErrorOut,
                    404: s.ErrorOut, 409: s.ErrorOut, 422: s.ErrorOut},
          tags=["dispatcher"])
def incident_assign(request: HttpRequest, incident_id: int, payload: s.AssignIn) -> Any:
    user_id = require_dispatcher(request)
    incident = actions.incident_assign(incident_id=_int_id(incident_id),
                                       responder_id=_int_id(payload.responder_id),
                                       user_id=user_id, now=timezone.now())
    return _summary(Incident.objects.select_related("assigned_responder").get(pk=incident.pk))


@api.post("/v1/incidents/{incident_id}/escalate", auth=AUTH,
          response={200: s.IncidentSummary, 401: s.ErrorOut, 403: s.ErrorOut,
                    404: s.ErrorOut, 409: s.ErrorOut, 422: s.ErrorOut},
          tags=["dispatcher"], summary="More responders, the crisis team, or an ambulance")
def incident_escalate(request: HttpRequest, incident_id: int, payload: s.EscalateIn) -> Any:
    user_id = require_dispatcher(request)
    incident = actions.incident_escalate(incident_id=_int_id(incident_id),
                                         to=EscalationTarget(payload.to), user_id=user_id,
                                         now=timezone.now())
    return _summary(Incident.objects.select_related("assigned_responder").get(pk=incident.pk))


@api.post("/v1/incidents/{incident_id}/cancel", auth=AUTH,
          response={200: s.IncidentSummary, 401: s.ErrorOut, 403: s.ErrorOut,
                    404: s.ErrorOut, 409: s.ErrorOut},
          tags=["dispatcher"])
def incident_cancel(request: HttpRequest, incident_id: int) -> Any:
    user_id = require_dispatcher(request)
    incident = actions.incident_cancel(incident_id=_int_id(incident_id),
                                       actor=Actor.DISPATCHER, user_id=user_id,
                                       now=timezone.now())
    return _summary(Incident.objects.select_related("assigned_responder").get(pk=incident.pk))


@api.get("/v1/responders", auth=AUTH, response={200: list[s.ResponderOut], 401: s.ErrorOut,
                                               403: s.ErrorOut, 404: s.ErrorOut},
         tags=["dispatcher"], summary="The roster, with who is on shift and busy")
def responder_list(request: HttpRequest) -> Any:
    require_dispatcher(request)
    busy = responder_busy_map()
    return [
        {"id": r.pk, "alias": r.alias, "on_shift": r.on_shift, "skills": list(r.skills),
         "mode": r.mode, "lat": r.lat, "lon": r.lon, "located_at": r.located_at,
         "incident_id": busy.get(r.pk)}
        for r in Responder.objects.order_by("alias")
    ]


from spotline.api.push import router as push_router  # noqa: E402

api.add_router("/v1/me/push", push_router)

from spotline.api.duty import router as duty_router  # noqa: E402

api.add_router("/v1/me/duty", duty_router)

from spotline.api.checkins import router as checkins_router  # noqa: E402

api.add_router("/v1/checkins", checkins_router)

from spotline.api.safety import router as safety_router  # noqa: E402

api.add_router("/v1/me/safety", safety_router)
