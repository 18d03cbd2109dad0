"""POST /api/v1/track/{token}/details: what the help page's status form does, for API
clients. Sending comes first; the answers the request was sent without come after."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from spotline.conftest import CENTRE
from spotline.dispatch.models import Incident, IncidentEvent
from spotline.responders.models import Responder

pytestmark = pytest.mark.django_db


def ask(public_api: Any, **overrides: Any) -> str:
    body = {"kind": "mental_health", "location": {"lat": CENTRE.lat, "lon": CENTRE.lon},
            **overrides}
    r = public_api.post("/api/v1/incidents", body)
    assert r.status_code == 201, r.content
    return str(r.json()["tracking_token"])


def details(public_api: Any, token: str, body: Any) -> Any:
    return public_api.post(f"/api/v1/track/{token}/details", body)


def test_it_takes_the_answers_and_answers_with_the_track_body(
        public_api: Any, make_responder: Callable[..., Responder]) -> None:
    make_responder("sam", skills=("crisis_intervention",), north_m=100)
    token = ask(public_api)
    track = public_api.get(f"/api/v1/track/{token}").json()
    assert (track["priority"], track["questions"]) == (
        "P2", ["breathing", "conscious", "danger", "details"])

    r = details(public_api, token, {"breathing": "no", "details": "lips are blue"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body.keys() == track.keys()
    assert (body["priority"], body["questions"]) == ("P1", ["conscious", "danger", "details"])
    incident = Incident.objects.get()
    assert (incident.breathing, incident.details) == ("no", "lips are blue")
    # Nothing the person wrote comes back in the public answer.
    assert "lips" not in r.content.decode()


def test_it_refuses_what_would_talk_an_answer_down(public_api: Any) -> None:
    token = ask(public_api, danger="yes")
    r = details(public_api, token, {"danger": "no", "details": "calmer now"})
    assert r.status_code == 409
    assert r.json()["code"] == "already_answered"
    incident = Incident.objects.get()
    assert (incident.danger, incident.details, incident.priority) == ("yes", "", "P1")
    # The same answer again is no conflict: it changes nothing.
    assert details(public_api, token, {"danger": "yes"}).status_code == 200
    assert not IncidentEvent.objects.filter(type="told_more").exists()


def test_it_keeps_details_within_the_limit_in_all(public_api: Any) -> None:
    token = ask(public_api, details="x" * 1500)
    r = details(public_api, token, {"details": "y" * 600})
    assert r.status_code == 400
    assert r.json()["code"] == "too_long"
    assert "499 more characters" in r.json()["detail"]
    assert details(public_api, token, {"details": "y" * 2001}).status_code == 422
    assert Incident.objects.get().details == "x" * 1500
    assert details(public_api, token, {"details": "y" * 499}).status_code == 200
    assert len(Incident.objects.get().details) == 2000


@pytest.mark.parametrize("body", [{"breathing": "maybe"}, {"conscious": True},
                                  {"details": "a\x00b"}, {"details": 12}])
def test_it_answers_bad_values_with_422_and_writes_nothing(public_api: Any,
                                                          body: dict[str, Any]) -> None:
    token = ask(public_api)
    assert details(public_api, token, body).status_code == 422
    incident = Incident.objects.get()
    assert (incident.breathing, incident.conscious, incident.details) == (
        "unknown", "unknown", "")


def test_it_answers_404_for_an_unknown_token_and_409_once_closed(public_api: Any) -> None:
    assert details(public_api, "no-such-token-0000", {"breathing": "no"}).status_code == 404
    token = ask(public_api)
    assert public_api.post(f"/api/v1/track/{token}/cancel").status_code == 200
    r = details(public_api, token, {"breathing": "no"})
    assert r.status_code == 409
    assert Incident.objects.get().breathing == "unknown"
    assert public_api.get(f"/api/v1/track/{token}").json()["questions"] == []


def test_the_openapi_description_describes_it(public_api: Any) -> None:
    schema = public_api.get("/api/openapi.json").json()
    operation = schema["paths"]["/api/v1/track/{token}/details"]["post"]
    assert operation["operationId"] == "spotline_api_api_track_details"
    assert {"200", "400", "404", "409", "422"} <= set(operation["responses"])
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    fields = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
    assert set(fields) == {"breathing", "conscious", "danger", "details"}
    track = schema["components"]["schemas"]["TrackOut"]["properties"]
    assert track["questions"]["items"]["enum"] == ["breathing", "conscious", "danger",
                                                   "details"]
