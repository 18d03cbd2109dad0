"""Responder safety timers: on scene a timer runs; a miss or "need help" alerts the
dispatcher and sends the nearest other responders as backup, never the police."""

from __future__ import annotations

from datetime import timedelta

import pytest

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.conftest import CENTRE, T0, login_staff
from spotline.core.triage import Kind
from spotline.dispatch.actions.offers import offer_accept
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.actions.reports import incident_report
from spotline.dispatch.actions.safety_timers import safety_current, safety_ok
from spotline.dispatch.models import Incident, Offer, SafetyTimer
from spotline.dispatch.timers import fire_due
from spotline.errors import Invalid, NotFound
from spotline.notify.models import Message

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)
MIN = timedelta(minutes=1)


@pytest.fixture(autouse=True)
def settings_for_safety(settings):
    settings.SPOTLINE_CHECKIN_GRACE_SECONDS = 60
    settings.SPOTLINE_SAFETY_MINUTES = 15


def on_scene(responder, *, at=T0):
    opened = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE,
                                           description="Behind the library"), now=at)
    offer = Offer.objects.get(incident=opened.incident, responder=responder)
    offer_accept(offer_id=offer.pk, responder=responder, now=at + S)
    incident_report(incident_id=opened.incident.pk, type="on_scene", now=at + 60 * S,
                    responder=responder, user_id=None)
    return opened.incident


def timer_of(responder) -> SafetyTimer:
    timer = safety_current(responder)
    assert timer is not None
    return timer


def test_arriving_on_scene_starts_the_timer_and_leaving_ends_it(make_responder) -> None:
    ana = make_responder("ana", north_m=50)
    incident = on_scene(ana)
    timer = timer_of(ana)
    assert (timer.state, timer.incident_id) == ("active", incident.pk)
    assert timer.next_at == T0 + 60 * S + 15 * MIN
    incident_report(incident_id=incident.pk, type="resolved", now=T0 + 5 * MIN,
                    responder=ana, user_id=None)
    timer.refresh_from_db()
    assert timer.state == "ended"
    fire_due(now=T0 + 2 * 60 * MIN)
    assert not Incident.objects.filter(backup_for=incident).exists()
    assert not Message.objects.filter(purpose="safety").exists()


def test_a_missed_safety_check_sends_the_nearest_other_responders(make_responder) -> None:
    ana = make_responder("ana", north_m=50)
    incident = on_scene(ana)
    near = make_responder("near", north_m=300)
    far = make_responder("far", north_m=900)
    unqualified = make_responder("lay", north_m=100, skills=())
    due = T0 + 60 * S + 15 * MIN
    fire_due(now=due - S)
    assert timer_of(ana).state == "active"
    fire_due(now=due)
    assert timer_of(ana).state == "asked"
    ask = Message.objects.get(purpose="safety")
    assert ask.responder_id == ana.pk and ask.channels[0] != "voice"
    fire_due(now=due + 60 * S)
    assert timer_of(ana).state == "warned"
    louder = Message.objects.filter(purpose="safety").order_by("-pk").first()
    assert louder is not None and louder.channels[0] == "voice"
    assert not Incident.objects.filter(backup_for=incident).exists()
    fire_due(now=due + 120 * S)
    timer = timer_of(ana)
    assert timer.state == "escalated" and timer.escalated_at == due + 120 * S
    backup = Incident.objects.get(backup_for=incident)
    assert (backup.priority, backup.source, backup.kind) == ("P1", "backup", "overdose")
    assert (backup.lat, backup.lon) == (incident.lat, incident.lon)
    offered = set(Offer.objects.filter(incident=backup).values_list("responder_id", flat=True))
    assert offered == {near.pk, far.pk}, "qualified, free, never the one in trouble"
    assert unqualified.pk not in offered and ana.pk not in offered
    incident.refresh_from_db()
    assert incident.attention == "missed_safety_check"
    assert incident.events.filter(type="backup_sent").exists()
    assert timer.backup_id == backup.pk


def test_im_ok_extends_the_timer_and_voids_the_pending_question(make_responder) -> None:
    ana = make_responder("ana", north_m=50)
    on_scene(ana)
    due = T0 + 60 * S + 15 * MIN
    fire_due(now=due)
    assert timer_of(ana).state == "asked"
    timer = safety_ok(responder=ana, minutes=30, now=due + 10 * S)
    assert timer.state == "active" and timer.next_at == due + 10 * S + 30 * MIN
    fire_due(now=due + 200 * S)
    assert timer_of(ana).state == "active" and not Incident.objects.filter(
        source="backup").exists()
    # The same interval next time when no minutes are given.
    timer = safety_ok(responder=ana, minutes=None, now=due + 20 * S)
    assert timer.next_at == due + 20 * S + 30 * MIN
    with pytest.raises(Invalid):
        safety_ok(responder=ana, minutes=61, now=due)


def test_ok_without_a_running_timer_is_refused(make_responder) -> None:
    ana = make_responder("ana")
    with pytest.raises(NotFound):
        safety_ok(responder=ana, minutes=None, now=T0)


def test_need_backup_sends_backup_once_and_a_later_miss_does_not_double_it(
        make_responder) -> None:
    ana = make_responder("ana", north_m=50)
    incident = on_scene(ana)
    make_responder("ben", north_m=200)
    for _ in range(2):
        incident_report(incident_id=incident.pk, type="need_backup",
                        now=T0 + 2 * MIN, responder=ana, user_id=None)
    assert Incident.objects.filter(backup_for=incident).count() == 1
    for seconds in (0, 60, 120):
        fire_due(now=T0 + 60 * S + 15 * MIN + seconds * S)
    assert Incident.objects.filter(backup_for=incident).count() == 1
    incident.refresh_from_db()
    assert incident.attention == "missed_safety_check"
    assert incident.events.filter(type="backup_again").exists()


def test_a_new_scene_supersedes_an_old_timer(make_responder) -> None:
    ana = make_responder("ana", north_m=50)
    first = on_scene(ana)
    incident_report(incident_id=first.pk, type="resolved", now=T0 + 3 * MIN,
                    responder=ana, user_id=None)
    second = on_scene(ana, at=T0 + 4 * MIN)
    open_timers = SafetyTimer.objects.filter(responder=ana,
                                             state__in=["active", "asked", "warned"])
    assert [t.incident_id for t in open_timers] == [second.pk]


def test_the_console_counts_people_not_responders(make_responder, client) -> None:
    ana = make_responder("ana", north_m=50)
    on_scene(ana)
    login_staff(client, user_create(name="disp", role=Role.DISPATCHER, password=None))
    html = client.get("/console/").content.decode()
    assert 'id="checkins-count">0<' in html
    assert 'id="safety-count">1<' in html


def test_the_console_links_an_incident_and_its_backup(make_responder, client) -> None:
    ana = make_responder("ana", north_m=50)
    incident = on_scene(ana)
    make_responder("ben", north_m=200)
    for seconds in (0, 60, 120):
        fire_due(now=T0 + 60 * S + 15 * MIN + seconds * S)
    backup = Incident.objects.get(backup_for=incident)
    login_staff(client, user_create(name="disp", role=Role.DISPATCHER, password=None))
    html = client.get(f"/console/incidents/{incident.pk}/").content.decode()
    assert 'id="safety-missed"' in html and f'data-backup="{backup.pk}"' in html
    html = client.get(f"/console/incidents/{backup.pk}/").content.decode()
    assert 'id="backup-for"' in html and f"incident #{incident.pk}" in html
