"""The responder's side of the API: their shift, location and channels, their offers,
and their reports on the incident they hold."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from spotline.api import schemas as s
from spotline.api.auth import AUTH, require_dispatcher, require_responder, user_id
from spotline.api.base import api, int_id
from spotline.api.shapes import exact, offer_out
from spotline.core.geo import Point
from spotline.core.policy import OfferStatus
from spotline.core.triage import Answer
from spotline.dispatch.actions import offers, reports, shifts
from spotline.dispatch.models import EmsOutcome, Incident, Offer
from spotline.responders import actions as responder_actions
from spotline.responders.models import Responder

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
         tags=["responder"],
         operation_id="spotline_api_api_me")
def me(request: HttpRequest) -> Any:
    return _me(require_responder(request))


@api.put("/v1/me/shift", auth=AUTH, response={200: s.MeOut, 401: s.ErrorOut, 403: s.ErrorOut,
                                             404: s.ErrorOut, 409: s.ErrorOut,
                                             422: s.ErrorOut},
         tags=["responder"], summary="Go on or off shift",
         operation_id="spotline_api_api_me_shift")
def me_shift(request: HttpRequest, payload: s.ShiftIn) -> Any:
    responder = require_responder(request)
    point = None
    if payload.lat is not None and payload.lon is not None:
        point = Point(payload.lat, payload.lon)
    return _me(shifts.shift_set(responder=responder, on_shift=payload.on_shift,
                                           location=point, now=timezone.now()))


@api.put("/v1/me/channels", auth=AUTH, response={200: s.MeOut, 401: s.ErrorOut,
                                                403: s.ErrorOut, 404: s.ErrorOut,
                                                422: s.ErrorOut},
         tags=["responder"], summary="The order to reach you in for offers",
         operation_id="spotline_api_api_me_channels")
def me_channels(request: HttpRequest, payload: s.ChannelsIn) -> Any:
    responder = require_responder(request)
    responder = responder_actions.channels_set(responder=responder,
                                               channels=list(dict.fromkeys(payload.channels)))
    return _me(responder)


@api.put("/v1/me/location", auth=AUTH, response={200: s.MeOut, 401: s.ErrorOut,
                                                403: s.ErrorOut, 404: s.ErrorOut,
                                                409: s.ErrorOut,
                                                422: s.ErrorOut},
         tags=["responder"], summary="Share your location (only while on shift)",
         operation_id="spotline_api_api_me_location")
def me_location(request: HttpRequest, payload: s.LocationUpdateIn) -> Any:
    responder = require_responder(request)
    return _me(shifts.responder_locate(
        responder=responder, location=Point(payload.lat, payload.lon), now=timezone.now()))


@api.get("/v1/me/offers", auth=AUTH, response={200: list[s.OfferOut], 401: s.ErrorOut,
                                              403: s.ErrorOut, 404: s.ErrorOut},
         tags=["responder"], summary="Your pending offers (coarse area only)",
         operation_id="spotline_api_api_me_offers")
def me_offers(request: HttpRequest) -> Any:
    responder = require_responder(request)
    pending = (
        Offer.objects.filter(responder=responder, status=OfferStatus.PENDING)
        .select_related("incident")
        .order_by("incident__priority", "created_at")
    )
    return [offer_out(o) for o in pending]


@api.post("/v1/offers/{offer_id}/accept", auth=AUTH,
          response={200: s.AcceptedOut, 401: s.ErrorOut, 403: s.ErrorOut, 404: s.ErrorOut,
                    409: s.ErrorOut},
          tags=["responder"], summary="Accept an offer: 200 with the exact location, 409 if taken",
         operation_id="spotline_api_api_offer_accept")
def offer_accept(request: HttpRequest, offer_id: int) -> Any:
    responder = require_responder(request)
    offer = offers.offer_accept(offer_id=int_id(offer_id), responder=responder,
                                 now=timezone.now())
    incident = Incident.objects.get(pk=offer.incident_id)
    return {
        "offer_id": offer.pk,
        "incident_id": incident.pk,
        "status": incident.state,
        "kind": incident.kind,
        "priority": incident.priority,
        **exact(incident),
    }


@api.post("/v1/offers/{offer_id}/decline", auth=AUTH,
          response={200: s.DeclinedOut, 401: s.ErrorOut, 403: s.ErrorOut, 404: s.ErrorOut,
                    409: s.ErrorOut},
          tags=["responder"],
         operation_id="spotline_api_api_offer_decline")
def offer_decline(request: HttpRequest, offer_id: int) -> Any:
    responder = require_responder(request)
    offer = offers.offer_decline(offer_id=int_id(offer_id), responder=responder,
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
          tags=["responder"], summary="Report progress: en route, on scene, need backup, ...",
         operation_id="spotline_api_api_incident_events")
def incident_events(request: HttpRequest, incident_id: int, payload: s.ReportIn) -> Any:
    responder, user_id = _staff_or_responder(request)
    incident = reports.incident_report(incident_id=int_id(incident_id), type=payload.type,
                                       responder=responder, user_id=user_id,
                                       now=timezone.now())
    return {"incident_id": incident.pk, "status": incident.state}


@api.post("/v1/incidents/{incident_id}/outcome", auth=AUTH,
          response={200: s.OutcomeOut, 401: s.ErrorOut, 403: s.ErrorOut, 404: s.ErrorOut,
                    409: s.ErrorOut, 422: s.ErrorOut},
          tags=["responder"], summary="Record or correct the outcome",
          description="Referrals and notes left out keep what is saved (send [] or \"\" "
                      "to clear them); the other fields are always required.",
         operation_id="spotline_api_api_incident_outcome")
def incident_outcome(request: HttpRequest, incident_id: int, payload: s.OutcomeIn) -> Any:
    responder, user_id = _staff_or_responder(request)
    outcome = reports.incident_outcome(
        incident_id=int_id(incident_id), responder=responder, user_id=user_id,
        now=timezone.now(), naloxone_doses=payload.naloxone_doses,
        responsive_after=Answer(payload.responsive_after), ems=EmsOutcome(payload.ems),
        referrals=payload.referrals, notes=payload.notes,
    )
    return {
        "incident_id": outcome.incident_id,
        "naloxone_doses": outcome.naloxone_doses,
        "responsive_after": outcome.responsive_after,
        "ems": outcome.ems,
        "referrals": outcome.referrals,
        "recorded_at": outcome.recorded_at,
    }
