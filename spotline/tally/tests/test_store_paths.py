"""Every path that changes an incident or a check-in, and what its row in the reporting
store says afterwards; and the backfill of incidents from before the store, which must
count as the live store does (first offer and acceptance from the timeline)."""

from __future__ import annotations

import importlib
import zoneinfo
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from spotline.checkins.actions import checkin_call_off, checkin_ok, checkin_start
from spotline.checkins.models import CheckIn
from spotline.conftest import CENTRE, T0, fire_timers, offset
from spotline.core.checkin import OnMiss
from spotline.core.geo import area_cell
from spotline.core.policy import Actor, EscalationTarget
from spotline.core.tally import hour_of
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.answers import incident_tell_more
from spotline.dispatch.actions.dispatcher import incident_assign, incident_cancel, incident_escalate
from spotline.dispatch.actions.offers import offer_accept
from spotline.dispatch.actions.opening import IncidentRequest, incident_ask_again, incident_open
from spotline.dispatch.actions.relocate import incident_relocate
from spotline.dispatch.actions.reports import incident_outcome, incident_report
from spotline.dispatch.models import EmsOutcome, Incident, LocatedBy, Offer
from spotline.tally.models import CheckinFact, IncidentFact

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)
OPENED = T0 + timedelta(minutes=37, seconds=12)
FAR = offset(CENTRE, 30_000)  # another area, beyond every responder's reach


def fact(incident: Incident) -> IncidentFact:
    return IncidentFact.objects.get(pk=Incident.objects.get(pk=incident.pk).fact_id)


def open_at(location: Any = CENTRE, *, now: datetime = OPENED, **kw: Any) -> Incident:
    return incident_open(IncidentRequest(kind=kw.pop("kind", Kind.OVERDOSE), location=location,
                                         **kw), now=now).incident


def offer_of(incident: Incident, responder: Any) -> Offer:
    return Offer.objects.get(incident=incident, responder=responder)


def backfilled(incident: Incident) -> IncidentFact:
    """The fact the migration would have written for this incident."""
    IncidentFact.objects.filter(pk=Incident.objects.get(pk=incident.pk).fact_id).delete()
    importlib.import_module("spotline.tally.migrations.0002_backfill").backfill(
        django_apps, None)
    return fact(incident)


COMPARED = ("kind", "priority", "source", "area", "state", "closed", "to_first_offer",
            "to_accepted", "to_on_scene", "to_closed", "served_by", "ambulance_requested",
            "unserved_reason", "outcome", "naloxone_doses", "responsive_after", "ems",
            "referrals")


def as_dict(f: IncidentFact) -> dict[str, Any]:
    return {name: getattr(f, name) for name in COMPARED}


# --- 1. every change of an incident reaches its fact ----------------------------------

def test_relocation_moves_the_area(make_responder) -> None:
    make_responder("sam", north_m=100)
    incident = open_at(FAR)
    assert fact(incident).area == area_cell(FAR)
    incident_relocate(incident_id=incident.pk, point=CENTRE, located_by=LocatedBy.MAP,
                      actor=Actor.DISPATCHER, now=OPENED + 60 * S)
    got = fact(incident)
    assert got.area == area_cell(CENTRE)
    # The relocation's round offered sam: the first offer, a minute in.
    assert got.to_first_offer == 60


def test_told_more_raises_the_priority(db) -> None:
    incident = open_at(kind=Kind.MENTAL_HEALTH)
    before = fact(incident).priority
    incident_tell_more(incident_id=incident.pk, danger=Answer.YES, now=OPENED + 30 * S)
    after = Incident.objects.get(pk=incident.pk).priority
    assert after != before
    assert fact(incident).priority == after


def test_a_direct_assignment_without_any_offer(make_responder) -> None:
    # Nobody on shift when it opens: no offer. Then a dispatcher assigns sam directly.
    incident = open_at()
    sam = make_responder("sam", north_m=100, now=OPENED + 60 * S)
    Offer.objects.filter(incident=incident).delete()  # whatever sam's shift start offered
    incident_assign(incident_id=incident.pk, responder_id=sam.pk, user_id=None,
                    now=OPENED + 120 * S)
    got = fact(incident)
    assert (got.state, got.to_accepted) == ("assigned", 120)


def test_first_offer_comes_in_a_later_round(make_responder) -> None:
    incident = open_at()  # nobody on shift: the first round offers nobody
    assert fact(incident).to_first_offer is None
    make_responder("sam", north_m=100, now=OPENED + 200 * S)  # offered at once (freed)
    assert Offer.objects.filter(incident=incident).exists()
    assert fact(incident).to_first_offer == 200


def test_release_reaccept_keeps_the_first_and_reassign(make_responder) -> None:
    sam = make_responder("sam", north_m=100)
    kim = make_responder("kim", north_m=150)
    incident = open_at()
    offer_accept(offer_id=offer_of(incident, sam).pk, responder=sam, now=OPENED + 30 * S)
    incident_assign(incident_id=incident.pk, responder_id=kim.pk, user_id=None,
                    now=OPENED + 90 * S)
    incident_report(incident_id=incident.pk, type="on_scene", now=OPENED + 300 * S,
                    responder=kim, user_id=kim.user_id)
    got = fact(incident)
    assert (got.state, got.to_accepted, got.to_on_scene, got.served_by) == (
        "on_scene", 30, 300, "community")


def test_max_open_age_closes_it_unserved(db, settings) -> None:
    settings.SPOTLINE_MAX_OPEN_HOURS = 1
    incident = open_at()
    now = OPENED
    for _ in range(40):
        now += timedelta(minutes=5)
        fire_timers(now=now)
        if Incident.objects.get(pk=incident.pk).closed_at is not None:
            break
    row = Incident.objects.get(pk=incident.pk)
    assert row.closed_at is not None
    got = fact(incident)
    assert (got.closed, got.state, got.unserved_reason) == (True, "cancelled",
                                                            row.unserved_reason)
    assert got.to_closed == int((row.closed_at - row.opened_at).total_seconds())


def test_an_ambulance_requested_by_a_dispatcher(db) -> None:
    incident = open_at()
    incident_escalate(incident_id=incident.pk, to=EscalationTarget.EMS, user_id=None,
                      now=OPENED + 10 * S)
    assert fact(incident).ambulance_requested


def test_an_outcome_edited_later(make_responder) -> None:
    sam = make_responder("sam", north_m=100)
    incident = open_at()
    offer_accept(offer_id=offer_of(incident, sam).pk, responder=sam, now=OPENED + 20 * S)
    incident_report(incident_id=incident.pk, type="on_scene", now=OPENED + 60 * S,
                    responder=sam, user_id=sam.user_id)
    incident_outcome(incident_id=incident.pk, responder=sam, user_id=sam.user_id,
                     now=OPENED + 100 * S, naloxone_doses=1, responsive_after=Answer.YES,
                     ems=EmsOutcome.NOT_NEEDED, referrals=["housing"])
    incident_report(incident_id=incident.pk, type="resolved", now=OPENED + 200 * S,
                    responder=sam, user_id=sam.user_id)
    incident_outcome(incident_id=incident.pk, responder=sam, user_id=sam.user_id,
                     now=OPENED + 900 * S, naloxone_doses=3, responsive_after=Answer.NO,
                     ems=EmsOutcome.REQUESTED, referrals=[])
    got = fact(incident)
    assert (got.naloxone_doses, got.responsive_after, got.ems, got.referrals,
            got.to_closed) == (3, "no", "requested", [], 200)


def test_asked_again_is_a_new_fact_and_the_old_stays_cancelled(db) -> None:
    opened = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE), now=OPENED)
    incident_cancel(incident_id=opened.incident.pk, actor=Actor.PERSON, user_id=None,
                    now=OPENED + 60 * S)
    again = incident_ask_again(opened.tracking_token, now=OPENED + 120 * S).incident
    old, new = fact(opened.incident), fact(again)
    assert old.pk != new.pk
    assert (old.state, old.closed) == ("cancelled", True)
    assert (new.state, new.closed, new.source) == ("dispatching", False, "web")


def test_a_backup_gets_a_fact_of_its_own(make_responder) -> None:
    sam = make_responder("sam", north_m=100)
    make_responder("kim", north_m=150)
    incident = open_at()
    offer_accept(offer_id=offer_of(incident, sam).pk, responder=sam, now=OPENED + 20 * S)
    incident_report(incident_id=incident.pk, type="on_scene", now=OPENED + 60 * S,
                    responder=sam, user_id=sam.user_id)
    incident_report(incident_id=incident.pk, type="need_backup", now=OPENED + 90 * S,
                    responder=sam, user_id=sam.user_id)
    backup = Incident.objects.get(backup_for=incident)
    got = fact(backup)
    assert (got.source, got.priority, got.to_first_offer) == ("backup", "P1", 0)
    assert fact(incident).state == "on_scene"


# --- 2. the backfill writes what the actions would have written ------------------------

def _served_after_release(make_responder) -> Incident:
    sam = make_responder("sam", north_m=100)
    kim = make_responder("kim", north_m=150)
    incident = open_at()
    offer_accept(offer_id=offer_of(incident, sam).pk, responder=sam, now=OPENED + 30 * S)
    incident_report(incident_id=incident.pk, type="release", now=OPENED + 90 * S,
                    responder=sam, user_id=sam.user_id)
    offer_accept(offer_id=offer_of(incident, kim).pk, responder=kim, now=OPENED + 400 * S)
    incident_report(incident_id=incident.pk, type="on_scene", now=OPENED + 700 * S,
                    responder=kim, user_id=kim.user_id)
    return incident


def test_backfill_keeps_the_first_acceptance(make_responder) -> None:
    incident = _served_after_release(make_responder)
    live = as_dict(fact(incident))
    assert (live["to_accepted"], live["to_on_scene"]) == (30, 700)
    assert as_dict(backfilled(incident)) == live


def test_backfill_of_a_direct_assignment_matches_the_live_fact(make_responder) -> None:
    incident = open_at(send_responders=False)
    sam = make_responder("sam", north_m=100, now=OPENED + 60 * S)
    incident_assign(incident_id=incident.pk, responder_id=sam.pk, user_id=None,
                    now=OPENED + 120 * S)
    live = as_dict(fact(incident))
    assert as_dict(backfilled(incident)) == live


def test_backfill_counts_a_responder_deleted_since_as_served(make_responder) -> None:
    sam = make_responder("sam", north_m=100)
    incident = open_at()
    offer_accept(offer_id=offer_of(incident, sam).pk, responder=sam, now=OPENED + 20 * S)
    incident_report(incident_id=incident.pk, type="on_scene", now=OPENED + 60 * S,
                    responder=sam, user_id=sam.user_id)
    incident_report(incident_id=incident.pk, type="resolved", now=OPENED + 600 * S,
                    responder=sam, user_id=sam.user_id)
    assert fact(incident).served_by == "community"
    sam.user.delete()  # a responder who left the program (cascades to the Responder)
    got = backfilled(incident)
    assert got.to_on_scene == 60
    # Somebody reached the scene: the reports must not count it as "nobody".
    assert got.served_by != ""


def test_backfill_reads_a_constant_number_of_queries(make_responder) -> None:
    sam = make_responder("sam", north_m=100)
    ids = []
    for i in range(30):
        incident = open_at(now=OPENED + i * 60 * S)
        ids.append(incident.pk)
    del sam
    IncidentFact.objects.all().delete()
    migration = importlib.import_module("spotline.tally.migrations.0002_backfill")
    with CaptureQueriesContext(connection) as ctx:
        migration.backfill(django_apps, None)
    assert Incident.objects.filter(pk__in=ids, fact__isnull=False).count() == 30
    # 200,000 old incidents must not mean 800,000 round trips in one migration.
    assert len(ctx.captured_queries) < 30, len(ctx.captured_queries)


# --- 3. check-ins -----------------------------------------------------------------------

def _checkin(**kw: Any) -> CheckIn:
    return checkin_start(location=CENTRE, description="x", minutes=5,
                         on_miss=OnMiss.RESPONDERS, phone=kw.pop("phone", ""), language="en",
                         now=kw.pop("now", OPENED), **kw).checkin


def _cfact(checkin: CheckIn) -> CheckinFact:
    return CheckinFact.objects.get(pk=CheckIn.objects.get(pk=checkin.pk).fact_id)


def test_a_check_in_escalated_then_called_off(db) -> None:
    checkin = _checkin()
    now = OPENED
    for _ in range(10):
        now += timedelta(minutes=5)
        fire_timers(now=now)
        if CheckIn.objects.get(pk=checkin.pk).state == "escalated":
            break
    got = _cfact(checkin)
    assert (got.asked, got.escalated, got.ended) == (True, True, False)
    checkin_call_off(checkin_id=checkin.pk, now=now + 60 * S)
    got = _cfact(checkin)
    assert (got.asked, got.escalated, got.ended) == (True, True, True)
    # The incident it opened is counted, from the check-in, and cancelled by the person.
    inc = fact(CheckIn.objects.get(pk=checkin.pk).incident)
    assert (inc.source, inc.state) == ("checkin", "cancelled")


def test_a_check_in_answered_ok_is_asked_not_ended(db) -> None:
    checkin = _checkin()
    fire_timers(now=OPENED + timedelta(minutes=5))
    checkin_ok(checkin_id=checkin.pk, now=OPENED + timedelta(minutes=6))
    got = _cfact(checkin)
    assert (got.asked, got.escalated, got.ended) == (True, False, False)


def test_replace_running_ends_the_older_one(db) -> None:
    older = _checkin(phone="+15550100999")
    newer = _checkin(phone="+15550100999", now=OPENED + 60 * S, replace_running=True)
    assert CheckIn.objects.get(pk=older.pk).state == "ended"
    assert _cfact(older).ended and not _cfact(newer).ended


# --- 4. coverage ------------------------------------------------------------------------

def test_hour_of_across_dst_in_new_york() -> None:
    ny = zoneinfo.ZoneInfo("America/New_York")
    # Spring forward 2027-03-14: 07:00 UTC is 03:00 EDT (02:00 local never happens).
    h = hour_of(datetime(2027, 3, 14, 7, 10, tzinfo=UTC), tz=ny)
    assert (h.day.isoformat(), h.week_hour) == ("2027-03-14", 6 * 24 + 3)
    h = hour_of(datetime(2027, 3, 14, 6, 59, tzinfo=UTC), tz=ny)
    assert (h.day.isoformat(), h.week_hour) == ("2027-03-14", 6 * 24 + 1)
    # Midnight local on a Monday is 05:00 UTC in winter.
    h = hour_of(datetime(2026, 11, 30, 5, 0, tzinfo=UTC), tz=ny)
    assert (h.day.isoformat(), h.week_hour) == ("2026-11-30", 0)


def test_a_live_fact_in_new_york_on_the_fall_back_night(db, settings) -> None:
    settings.TIME_ZONE = "America/New_York"
    first = open_at(now=datetime(2026, 11, 1, 5, 30, tzinfo=UTC))  # 01:30 EDT
    second = open_at(now=datetime(2026, 11, 1, 6, 30, tzinfo=UTC))  # 01:30 EST
    a, b = fact(first), fact(second)
    assert a.opened_hour != b.opened_hour
    assert (a.day.isoformat(), a.week_hour) == (b.day.isoformat(), b.week_hour) == (
        "2026-11-01", 6 * 24 + 1)


def test_hour_of_in_a_half_hour_time_zone() -> None:
    # 10:45 UTC is 16:15 in India: the request came in the 16-17 local hour.
    h = hour_of(datetime(2026, 11, 27, 10, 45, tzinfo=UTC), tz=zoneinfo.ZoneInfo("Asia/Kolkata"))
    assert h.week_hour == 4 * 24 + 16


# --- 7. nothing leads back --------------------------------------------------------------

def test_backfill_fills_every_incident_of_a_big_table(db) -> None:
    """The backfill walks ``Incident.objects.filter(fact__isnull=True).iterator()`` while
    it updates ``fact_id`` of the rows it walks: past one fetch (2,000 rows), on SQLite,
    the walk must still see every row."""
    first = open_at()
    values = Incident.objects.filter(pk=first.pk).values()[0]
    for name in ("id", "fact_id", "tracking_digest"):
        values.pop(name)
    Incident.objects.bulk_create([Incident(**values, tracking_digest=f"t{i:060d}")
                                  for i in range(2500)], batch_size=500)
    IncidentFact.objects.all().delete()
    importlib.import_module("spotline.tally.migrations.0002_backfill").backfill(
        django_apps, None)
    assert Incident.objects.filter(fact__isnull=True).count() == 0
    assert IncidentFact.objects.count() == Incident.objects.count() == 2501


def test_backfill_first_offer_of_a_responder_asked_again(make_responder) -> None:
    """Asking a responder again reopens their offer row with a new ``created_at``: the
    backfill's "first offer" is then the last time the nearest responder was asked."""
    make_responder("sam", north_m=100)
    incident = open_at()
    first = Offer.objects.get(incident=incident).created_at
    now = OPENED
    for _ in range(12):
        now += timedelta(minutes=2)
        fire_timers(now=now)
    assert Offer.objects.get(incident=incident).created_at > first  # asked again
    live = as_dict(fact(incident))
    assert live["to_first_offer"] == 0
    assert as_dict(backfilled(incident))["to_first_offer"] == 0


def test_served_and_unserved_are_exclusive(make_responder) -> None:
    """Arrived and could not find the person: ``core.unserved`` says unserved
    (unable_to_locate), the fact also says served by a community responder, so
    "served by community" plus "unserved" counts it twice (figures.queries._status)."""
    sam = make_responder("sam", north_m=100)
    incident = open_at()
    offer_accept(offer_id=offer_of(incident, sam).pk, responder=sam, now=OPENED + 20 * S)
    incident_report(incident_id=incident.pk, type="on_scene", now=OPENED + 60 * S,
                    responder=sam, user_id=sam.user_id)
    incident_report(incident_id=incident.pk, type="unable_to_locate", now=OPENED + 400 * S,
                    responder=sam, user_id=sam.user_id)
    got = fact(incident)
    assert got.unserved_reason == "unable_to_locate"
    assert got.served_by == ""
