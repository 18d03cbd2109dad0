"""The reporting store is written by the actions themselves, survives the purge, and
holds nothing that points at a person."""

from __future__ import annotations

import importlib
import json
import re
from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from django.apps import apps as django_apps
from django.conf import settings
from django.core.management import call_command
from django.db import models

from spotline.checkins.actions import checkin_done, checkin_start
from spotline.checkins.deadlines import fire_due as fire_due_checkins
from spotline.checkins.models import CheckIn
from spotline.conftest import CENTRE, T0, offset, raw_rows
from spotline.core.checkin import OnMiss
from spotline.core.geo import area_cell
from spotline.core.policy import Actor
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.coverage import coverage_count
from spotline.dispatch.actions.dispatcher import incident_cancel
from spotline.dispatch.actions.offers import offer_accept
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.actions.reports import incident_outcome, incident_report
from spotline.dispatch.actions.shifts import shift_set
from spotline.dispatch.models import EmsOutcome, Incident, Offer
from spotline.tally.models import CheckinFact, Coverage, CoverageMark, IncidentFact, Release

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)
OPENED = T0 + timedelta(minutes=37, seconds=12)  # 03:37:12 UTC, a Friday


def serve(responder: Any, *, kind: Kind = Kind.OVERDOSE) -> Incident:
    incident = incident_open(IncidentRequest(
        kind=kind, location=CENTRE, breathing=Answer.NO, description="under the bridge",
        details="blue jacket", callback_phone="+15550100123"), now=OPENED).incident
    offer = Offer.objects.get(incident=incident, responder=responder)
    offer_accept(offer_id=offer.pk, responder=responder, now=OPENED + 20 * S)
    incident_report(incident_id=incident.pk, type="on_scene", now=OPENED + 250 * S,
                    responder=responder, user_id=responder.user_id)
    incident_outcome(incident_id=incident.pk, responder=responder, user_id=responder.user_id,
                     now=OPENED + 600 * S, naloxone_doses=2, responsive_after=Answer.YES,
                     ems=EmsOutcome.NOT_NEEDED, referrals=["treatment", "housing"],
                     notes="gave him water")
    incident_report(incident_id=incident.pk, type="resolved", now=OPENED + 900 * S,
                    responder=responder, user_id=responder.user_id)
    return Incident.objects.get(pk=incident.pk)


def test_it_follows_an_incident_from_opening_to_its_outcome(make_responder) -> None:
    sam = make_responder("sam", north_m=100)
    incident = serve(sam)
    fact = IncidentFact.objects.get(pk=incident.fact_id)
    assert (fact.kind, fact.priority, fact.source, fact.state, fact.closed) == (
        "overdose", "P1", "web", "resolved", True)
    # The hour, never the minute; the local day and hour of the week (UTC here).
    assert fact.opened_hour == T0 and fact.day == date(2026, 11, 27)
    assert fact.week_hour == 4 * 24 + 3
    assert (fact.to_first_offer, fact.to_accepted, fact.to_on_scene, fact.to_closed) == (
        0, 20, 250, 900)
    assert fact.area == area_cell(CENTRE)
    assert (fact.served_by, fact.outcome, fact.naloxone_doses, fact.responsive_after,
            fact.ems, fact.referrals) == ("community", True, 2, "yes", "not_needed",
                                          ["housing", "treatment"])
    assert (fact.unserved_reason, fact.ambulance_requested) == ("", False)


def test_the_crisis_team_is_told_apart(make_responder) -> None:
    member = make_responder("team", skills=("naloxone", "crisis_team"), north_m=100)
    incident = serve(member)
    assert IncidentFact.objects.get(pk=incident.fact_id).served_by == "crisis_team"


def test_an_unserved_incident_keeps_its_reason(db) -> None:
    # Nobody on shift: the person cancels after waiting.
    incident = incident_open(IncidentRequest(kind=Kind.MENTAL_HEALTH, location=CENTRE),
                             now=OPENED).incident
    incident_cancel(incident_id=incident.pk, actor=Actor.PERSON, user_id=None,
                    now=OPENED + 300 * S)
    fact = IncidentFact.objects.get(pk=Incident.objects.get(pk=incident.pk).fact_id)
    assert fact.closed and fact.state == "cancelled" and fact.to_closed == 300
    assert fact.unserved_reason == Incident.objects.get(pk=incident.pk).unserved_reason != ""
    assert fact.to_first_offer is None and fact.served_by == ""


def test_a_second_acceptance_does_not_move_the_first(make_responder) -> None:
    sam = make_responder("sam", north_m=100)
    kim = make_responder("kim", north_m=150)
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE),
                             now=OPENED).incident
    offer_accept(offer_id=Offer.objects.get(incident=incident, responder=sam).pk,
                 responder=sam, now=OPENED + 30 * S)
    incident_report(incident_id=incident.pk, type="release", now=OPENED + 60 * S,
                    responder=sam, user_id=sam.user_id)
    offer = Offer.objects.filter(incident=incident, responder=kim).first()
    assert offer is not None
    offer_accept(offer_id=offer.pk, responder=kim, now=OPENED + 90 * S)
    fact = IncidentFact.objects.get(pk=Incident.objects.get(pk=incident.pk).fact_id)
    assert fact.to_accepted == 30 and fact.state == "assigned"


def test_it_counts_a_check_in_that_was_asked_and_ended(db) -> None:
    started = checkin_start(location=CENTRE, description="back bedroom", minutes=30,
                            on_miss=OnMiss.RESPONDERS, phone="", language="en", now=OPENED)
    checkin = started.checkin
    fact = CheckinFact.objects.get(pk=checkin.fact_id)
    assert (fact.started_hour, fact.minutes, fact.asked, fact.ended) == (T0, 30, False, False)
    assert fire_due_checkins(now=OPENED + timedelta(minutes=30)) == 1
    checkin_done(checkin_id=checkin.pk, now=OPENED + timedelta(minutes=31))
    fact.refresh_from_db()
    assert (fact.asked, fact.escalated, fact.ended) == (True, False, True)


def test_coverage_counts_the_roster_by_hour_and_area(make_responder) -> None:
    start = T0 + timedelta(minutes=30)
    coverage_count(now=start)  # the first count only sets the mark
    for name in ("a", "b", "c"):
        make_responder(name, now=start)
    make_responder("far", at=offset(CENTRE, 20_000), now=start)
    # Two counts five minutes apart; then one an hour on: only the last 15 minutes count.
    coverage_count(now=start + timedelta(minutes=5))
    coverage_count(now=start + timedelta(minutes=7))  # too soon: nothing
    coverage_count(now=T0 + timedelta(hours=1, minutes=20))
    cell = area_cell(CENTRE)
    got = {(c.hour, c.area): c.seconds for c in Coverage.objects.all()}
    # Three in the centre's cell keep the area; one alone elsewhere is counted under "".
    assert got == {(T0, cell): 3 * 300, (T0, ""): 300,
                   (T0 + timedelta(hours=1), cell): 3 * 900,
                   (T0 + timedelta(hours=1), ""): 900}


def test_the_store_survives_the_purge_with_its_figures(make_responder) -> None:
    sam = make_responder("sam", north_m=100)
    incident = serve(sam)
    before = list(IncidentFact.objects.values())
    with time_machine.travel(OPENED + timedelta(hours=settings.SPOTLINE_RETENTION_HOURS + 1),
                             tick=False):
        call_command("purge")
    purged = Incident.objects.get(pk=incident.pk)
    assert purged.purged_at is not None and purged.details == ""
    assert list(IncidentFact.objects.values()) == before
    # And the incident let go of its row there.
    assert purged.fact_id is None


ALLOWED = {
    IncidentFact: {"id", "opened_hour", "day", "week_hour", "kind", "priority", "source",
                   "area", "state", "closed", "to_first_offer", "to_accepted", "to_on_scene",
                   "to_closed", "served_by", "ambulance_requested", "unserved_reason",
                   "outcome", "naloxone_doses", "responsive_after", "ems", "referrals"},
    CheckinFact: {"id", "started_hour", "day", "week_hour", "minutes", "asked", "escalated",
                  "ended"},
    CoverageMark: {"id", "until"},
    Coverage: {"id", "hour", "day", "week_hour", "area", "seconds"},
    Release: {"id", "month", "released_at", "epsilon", "figures"},
}


@pytest.mark.parametrize("model", list(ALLOWED), ids=lambda m: m.__name__)
def test_it_holds_no_personal_field_and_no_way_back(model: type[models.Model]) -> None:
    fields = model._meta.get_fields()
    # Only the listed coarse fields, and no relation of any kind (a foreign key back to
    # an incident, a responder or a user would make every row a pointer at a person).
    assert {f.name for f in fields if f.concrete} == ALLOWED[model]
    assert not [f.name for f in fields if f.is_relation and f.concrete]


def test_nothing_personal_is_in_its_rows(make_responder) -> None:
    sam = make_responder("samantha", north_m=100, phone="+15550100777")
    serve(sam)
    checkin_start(location=CENTRE, description="back bedroom", minutes=30,
                  on_miss=OnMiss.RESPONDERS, phone="+15550100888", language="en", now=OPENED)
    shift_set(responder=sam, on_shift=False, location=None, now=OPENED + timedelta(hours=1))
    rows = "\n".join(raw_rows(IncidentFact) + raw_rows(CheckinFact) + raw_rows(Coverage))
    for needle in ("bridge", "blue jacket", "water", "0100123", "0100777", "0100888",
                   "samantha", "Samantha", "back bedroom", f"{CENTRE.lat:.4f}"[:7],
                   f"{CENTRE.lon:.4f}"[:7]):
        assert needle not in rows, needle
    # No time finer than the hour: every stored time is on the hour.
    for stamp in re.findall(r"\d{4}-\d\d-\d\d[ T](\d\d):(\d\d):(\d\d)", rows):
        assert stamp[1:] == ("00", "00"), stamp


def test_the_migration_fills_the_store_for_incidents_that_came_before(make_responder) -> None:
    sam = make_responder("sam", north_m=100)
    incident = serve(sam)
    IncidentFact.objects.all().delete()
    assert Incident.objects.get(pk=incident.pk).fact_id is None
    checkin = checkin_start(location=CENTRE, description="x", minutes=30,
                            on_miss=OnMiss.RESPONDERS, phone="", language="en",
                            now=OPENED).checkin
    CheckinFact.objects.all().delete()
    migration = importlib.import_module("spotline.tally.migrations.0002_backfill")
    migration.backfill(django_apps, None)
    fact = IncidentFact.objects.get(pk=Incident.objects.get(pk=incident.pk).fact_id)
    assert (fact.kind, fact.to_first_offer, fact.to_accepted, fact.to_on_scene,
            fact.to_closed, fact.served_by, fact.naloxone_doses) == (
        "overdose", 0, 20, 250, 900, "community", 2)
    assert json.loads(json.dumps(fact.referrals)) == ["housing", "treatment"]
    assert CheckIn.objects.get(pk=checkin.pk).fact_id is not None
