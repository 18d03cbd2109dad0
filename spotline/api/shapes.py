"""What an incident or an offer looks like in an answer, shared by the endpoints."""

from __future__ import annotations

from typing import Any

from spotline.dispatch.models import Incident, Offer
from spotline.dispatch.presenters import (
    eta_minutes,
    offer_approximate,
    offer_area,
    offer_distance_m,
)


def exact(incident: Incident) -> dict[str, Any]:
    """What only the assigned responder and dispatchers see: where, and what was said
    about it (an offer carries the yes/no answers too, ``offer_out``)."""
    return {
        "location": {"lat": incident.lat, "lon": incident.lon,
                     "accuracy_m": incident.accuracy_m,
                     "description": incident.location_description},
        "details": incident.details,
        "breathing": incident.breathing,
        "conscious": incident.conscious,
        "danger": incident.danger,
    }


def offer_out(offer: Offer) -> dict[str, Any]:
    return {
        "id": offer.pk,
        "incident_id": offer.incident_id,
        "kind": offer.incident.kind,
        "priority": offer.incident.priority,
        "distance_m": offer_distance_m(offer),
        "eta_minutes": eta_minutes(offer.eta_seconds),
        "area": offer.incident.area,
        "area_circle": offer_area(offer),
        # The caller's answers (not the place): what the responder needs to decide.
        "breathing": offer.incident.breathing,
        "conscious": offer.incident.conscious,
        "danger": offer.incident.danger,
        "expires_at": offer.expires_at,
        "status": offer.status,
        **offer_approximate(offer),
    }
