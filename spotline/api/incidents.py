"""Incidents over the API: asking for help and tracking it (public), and the
dispatcher's view and actions. Operation ids are kept from when these lived in
``api.api``: generated clients name their methods after them."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from ninja import Status
from ninja.errors import HttpError

from spotline.api import idempotency
from spotline.api import schemas as s
from spotline.api.auth import AUTH, require_dispatcher, user_id
from spotline.api.base import api, int_id
from spotline.api.shapes import exact, offer_out
from spotline.audit.actions import atomic as audit_atomic
from spotline.audit.actions import record
from spotline.core.geo import Point
from spotline.core.lifecycle import OPEN
from spotline.core.policy import Actor, EscalationTarget
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions import answers, dispatcher, opening
from spotline.dispatch.actions.opening import IncidentRequest
from spotline.dispatch.models import Incident, Source
from spotline.dispatch.presenters import responder_busy_map, tracking
from spotline.responders.models import Responder

# -- public -------------------------------------------------------------------------


def _request(payload: s.IncidentIn, *, language: str) -> IncidentRequest:
    """The API's door: the JSON body as the one typed request every door builds."""
    loc = payload.location
    return IncidentRequest(
        kind=Kind(payload.kind),
        location=Point(loc.lat, loc.lon) if loc.lat is not None and loc.lon is not None else None,
        accuracy_m=loc.accuracy_m, description=loc.description or "",
        details=payload.details or "", breathing=Answer(payload.breathing),
        conscious=Answer(payload.conscious), danger=Answer(payload.danger),
        callback_phone=payload.callback_phone or "",
        language=payload.language or language, source=Source.API)


def _created_body(request: HttpRequest, opened: opening.Opened) -> dict[str, Any]:
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
    openapi_extra=idempotency.OPENAPI,
         operation_id="spotline_api_api_incident_create")
def incident_create(request: HttpRequest, payload: s.IncidentIn) -> Status[dict[str, Any]]:
    now = timezone.now()

    def open_it() -> tuple[int, dict[str, Any]]:
        request_for_help = _request(payload, language=request.LANGUAGE_CODE or "en")
        opened = opening.incident_open(request_for_help, now=now)
        return 201, _created_body(request, opened)

    return idempotency.idempotent(request, scope="incident_create",
                                  payload=payload.model_dump(mode="json"), now=now,
                                  create=open_it)


@api.get("/v1/track/{token}", response={200: s.TrackOut, 404: s.ErrorOut}, tags=["public"],
         summary="Status of a request, by its tracking token",
         operation_id="spotline_api_api_track")
def track(request: HttpRequest, token: str) -> Any:
    incident = opening.incident_by_token(token)
    return tracking(incident, now=timezone.now(), language=incident.language)


@api.post("/v1/track/{token}/cancel", response={200: s.TrackOut, 404: s.ErrorOut,
                                                  409: s.ErrorOut}, tags=["public"],
          summary="They are OK now: cancel the request",
         operation_id="spotline_api_api_track_cancel")
def track_cancel(request: HttpRequest, token: str) -> Any:
    incident = opening.incident_by_token(token)
    now = timezone.now()
    incident = dispatcher.incident_cancel(incident_id=incident.pk, actor=Actor.PERSON,
                                       user_id=None, now=now)
    return tracking(Incident.objects.get(pk=incident.pk), now=now, language=incident.language)


@api.post("/v1/track/{token}/details",
          response={200: s.TrackOut, 400: s.ErrorOut, 404: s.ErrorOut, 409: s.ErrorOut,
                    422: s.ErrorOut}, tags=["public"],
          summary="Tell more after sending: the skipped questions, more details",
          description="Sending comes first; this adds what the request was sent without, "
          "while it is open. A question not answered yet takes any answer; one answered "
          "changes only to the more urgent answer (409 otherwise, with code "
          "`already_answered`); the same answers again change nothing. Details are "
          "appended to the ones sent before, 2000 characters in all (400 with code "
          "`too_long` beyond that). The priority may rise with the answers, never fall. "
          "409 once the request is closed; `questions` in the answer says what is still "
          "open.",
          operation_id="spotline_api_api_track_details")
def track_details(request: HttpRequest, token: str, payload: s.TrackDetailsIn) -> Any:
    incident = opening.incident_by_token(token)
    now = timezone.now()
    answers.incident_tell_more(incident_id=incident.pk, breathing=payload.breathing,
                               conscious=payload.conscious, danger=payload.danger,
                               details=payload.details or "", now=now)
    return tracking(Incident.objects.get(pk=incident.pk), now=now, language=incident.language)


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
         tags=["dispatcher"], summary="Incidents, most urgent first",
         operation_id="spotline_api_api_incident_list")
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
         tags=["dispatcher"], summary="An incident with its timeline",
         operation_id="spotline_api_api_incident_detail")
def incident_detail(request: HttpRequest, incident_id: int) -> Any:
    require_dispatcher(request)
    incident = (
        Incident.objects.select_related("assigned_responder")
        .filter(pk=int_id(incident_id)).first()
    )
    if incident is None:
        raise HttpError(404, "no such incident")
    with audit_atomic():  # audited: the names of the exact fields shown, not values
        record("incident.view", object_type="incident", object_id=incident.pk,
               now=timezone.now(), actor="user", actor_user_id=user_id(request),
               fields=[name for name, value in (
                   ("location", incident.lat is not None or incident.location_description),
                   ("details", incident.details)) if value])
    offers = incident.offers.select_related("incident").order_by("round", "id")
    return {
        **_summary(incident),
        **exact(incident),
        "location_status": incident.location_status,
        "required_skills": incident.required_skills,
        "unserved_reason": incident.unserved_reason,
        "closed_at": incident.closed_at,
        "timeline": [
            {"at": e.at, "type": e.type, "actor": e.actor, "data": e.data}
            for e in incident.events.all()
        ],
        "offers": [offer_out(o) for o in offers],
    }


@api.post("/v1/incidents/{incident_id}/assign", auth=AUTH,
          response={200: s.IncidentSummary, 401: s.ErrorOut, 403: s.ErrorOut,
                    404: s.ErrorOut, 409: s.ErrorOut, 422: s.ErrorOut},
          tags=["dispatcher"],
         operation_id="spotline_api_api_incident_assign")
def incident_assign(request: HttpRequest, incident_id: int, payload: s.AssignIn) -> Any:
    user_id = require_dispatcher(request)
    incident = dispatcher.incident_assign(incident_id=int_id(incident_id),
                                       responder_id=int_id(payload.responder_id),
                                       user_id=user_id, now=timezone.now())
    return _summary(Incident.objects.select_related("assigned_responder").get(pk=incident.pk))


@api.post("/v1/incidents/{incident_id}/escalate", auth=AUTH,
          response={200: s.IncidentSummary, 401: s.ErrorOut, 403: s.ErrorOut,
                    404: s.ErrorOut, 409: s.ErrorOut, 422: s.ErrorOut},
          tags=["dispatcher"], summary="More responders, the crisis team, or an ambulance",
         operation_id="spotline_api_api_incident_escalate")
def incident_escalate(request: HttpRequest, incident_id: int, payload: s.EscalateIn) -> Any:
    user_id = require_dispatcher(request)
    incident = dispatcher.incident_escalate(incident_id=int_id(incident_id),
                                         to=EscalationTarget(payload.to), user_id=user_id,
                                         now=timezone.now())
    return _summary(Incident.objects.select_related("assigned_responder").get(pk=incident.pk))


@api.post("/v1/incidents/{incident_id}/cancel", auth=AUTH,
          response={200: s.IncidentSummary, 401: s.ErrorOut, 403: s.ErrorOut,
                    404: s.ErrorOut, 409: s.ErrorOut},
          tags=["dispatcher"],
         operation_id="spotline_api_api_incident_cancel")
def incident_cancel(request: HttpRequest, incident_id: int) -> Any:
    user_id = require_dispatcher(request)
    incident = dispatcher.incident_cancel(incident_id=int_id(incident_id),
                                       actor=Actor.DISPATCHER, user_id=user_id,
                                       now=timezone.now())
    return _summary(Incident.objects.select_related("assigned_responder").get(pk=incident.pk))


@api.get("/v1/responders", auth=AUTH, response={200: list[s.ResponderOut], 401: s.ErrorOut,
                                               403: s.ErrorOut, 404: s.ErrorOut},
         tags=["dispatcher"], summary="The roster, with who is on shift and busy",
         operation_id="spotline_api_api_responder_list")
def responder_list(request: HttpRequest) -> Any:
    require_dispatcher(request)
    busy = responder_busy_map()
    return [
        {"id": r.pk, "alias": r.alias, "on_shift": r.on_shift, "skills": list(r.skills),
         "mode": r.mode, "lat": r.lat, "lon": r.lon, "located_at": r.located_at,
         "incident_id": busy.get(r.pk)}
        for r in Responder.objects.order_by("alias")
    ]
