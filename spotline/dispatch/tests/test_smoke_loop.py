from __future__ import annotations

from datetime import timedelta

import time_machine
from django.utils import timezone

from spotline.conftest import CENTRE, T0, api_for
from spotline.dispatch.models import Incident
from spotline.dispatch.timers import fire_due


def test_it_runs_the_loop_from_request_to_outcome(make_responder, public_api, dispatcher_api):
    near = make_responder("sam", north_m=200)
    make_responder("alex", north_m=900)
    with time_machine.travel(T0, tick=False):
        r = public_api.post("/api/v1/incidents", {
            "kind": "overdose", "location": {"lat": CENTRE.lat, "lon": CENTRE.lon},
            "breathing": "no"})
        assert r.status_code == 201, r.content
        body = r.json()
        assert body["status"] == "dispatching"
        sam = api_for(near)
        offers = sam.get("/api/v1/me/offers").json()
        assert [o["incident_id"] for o in offers] == [body["id"]]
        r = sam.post(f"/api/v1/offers/{offers[0]['id']}/accept")
        assert r.status_code == 200, r.content
        assert r.json()["location"]["lat"] == CENTRE.lat
        for step in ("en_route", "on_scene", "resolved"):
            r = sam.post(f"/api/v1/incidents/{body['id']}/events", {"type": step})
            assert r.status_code == 200, r.content
        r = sam.post(f"/api/v1/incidents/{body['id']}/outcome", {
            "naloxone_doses": 2, "responsive_after": "yes", "ems": "not_needed",
            "referrals": ["detox"]})
        assert r.status_code == 200, r.content
        track = public_api.get(f"/api/v1/track/{body['tracking_token']}").json()
        assert track["status"] == "resolved"
    with time_machine.travel(T0 + timedelta(hours=73), tick=False):
        fire_due(now=timezone.now())
    incident = Incident.objects.get(pk=body["id"])
    assert incident.purged_at is not None and incident.lat is None
