"""An incident's JSON says how far its point can be trusted (issue 14, fixed contract):
"exact", "approximate" (found from words, with its radius) or "unknown"."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from spotline.conftest import CENTRE
from spotline.core.triage import Kind
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.models import LocatedBy

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("request_fields", "status", "accuracy"), [
    ({"location": CENTRE, "accuracy_m": 12.0}, "exact", 12.0),
    ({"location": CENTRE, "accuracy_m": 150.0, "located_by": LocatedBy.WORDS,
      "description": "behind the kiosk on Mannerheimintie"}, "approximate", 150.0),
    ({"description": "under the bridge"}, "unknown", None),
])
def test_the_dispatcher_sees_how_sure_the_place_is(dispatcher_api: Any,
                                                    request_fields: dict[str, Any],
                                                    status: str, accuracy: float | None) -> None:
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, **request_fields),
                             now=timezone.now()).incident
    body = dispatcher_api.get(f"/api/v1/incidents/{incident.pk}").json()
    assert body["location_status"] == status
    assert body["location"]["accuracy_m"] == accuracy
