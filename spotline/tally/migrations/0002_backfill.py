"""Facts for the incidents and check-ins that existed before the reporting store, from
what their rows still hold after the purge (kind, priority, times, area, outcome counts).

First offer and first acceptance come from the timeline, as the live store counts them.
Approximate where the old rows cannot say better: who reached the scene is read from the
assigned responder's skills today (a responder deleted since counts as a community
responder), and a check-in that ended counts as asked only if it
was escalated or is waiting for an answer now. Responder coverage before this migration
is not known (shift history was never kept) and stays empty. A few queries per batch of
2,000 incidents, whatever the table's size.
"""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.conf import settings
from django.db import migrations
from django.db.models import Min

from spotline.core.tally import hour_of, seconds_since, served_kind


BATCH = 2000
ACCEPTED = ("accept", "assign")  # the lifecycle's events that hand over the incident


def _first(Event: Any, ids: list[int], types: tuple[str, ...]) -> dict[int, Any]:
    """The first time each incident had an event of ``types``, from its timeline (kept
    after the purge): ``assigned_at`` and an offer's ``created_at`` are stamped again on
    a re-accept or a renewed offer, the timeline keeps the first."""
    return dict(Event.objects.filter(incident_id__in=ids, type__in=types)
                .values("incident_id").annotate(first=Min("at"))
                .values_list("incident_id", "first"))


def backfill(apps: Any, schema_editor: Any) -> None:
    Incident = apps.get_model("dispatch", "Incident")
    Event = apps.get_model("dispatch", "IncidentEvent")
    Outcome = apps.get_model("dispatch", "Outcome")
    Responder = apps.get_model("responders", "Responder")
    IncidentFact = apps.get_model("tally", "IncidentFact")
    CheckIn = apps.get_model("checkins", "CheckIn")
    CheckinFact = apps.get_model("tally", "CheckinFact")
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    skills = dict(Responder.objects.values_list("pk", "skills"))
    last = 0
    while True:
        # Batches by id, each a handful of queries whatever its size.
        batch = list(Incident.objects.filter(fact__isnull=True, pk__gt=last)
                     .order_by("pk")[:BATCH])
        if not batch:
            break
        last = batch[-1].pk
        ids = [i.pk for i in batch]
        offered = _first(Event, ids, ("offers_made", "assign"))
        accepted = _first(Event, ids, ACCEPTED)
        outcomes = {o.incident_id: o for o in Outcome.objects.filter(incident_id__in=ids)}
        facts = []
        for incident in batch:
            hour = hour_of(incident.opened_at, tz=tz)
            outcome = outcomes.get(incident.pk)
            served = ""
            if incident.on_scene_at is not None and not incident.unserved_reason:
                # A responder deleted since still reached the scene.
                served = served_kind(list(skills.get(incident.assigned_responder_id) or []))
            facts.append(IncidentFact(
                opened_hour=hour.start, day=hour.day, week_hour=hour.week_hour,
                kind=incident.kind, priority=incident.priority, source=incident.source,
                area=incident.area, state=incident.state,
                closed=incident.closed_at is not None,
                to_first_offer=seconds_since(incident.opened_at, offered.get(incident.pk)),
                to_accepted=seconds_since(incident.opened_at, accepted.get(incident.pk)),
                to_on_scene=seconds_since(incident.opened_at, incident.on_scene_at),
                to_closed=seconds_since(incident.opened_at, incident.closed_at),
                served_by=served, ambulance_requested=incident.ems_requested_at is not None,
                unserved_reason=incident.unserved_reason,
                outcome=outcome is not None,
                naloxone_doses=outcome.naloxone_doses if outcome else 0,
                responsive_after=outcome.responsive_after if outcome else "",
                ems=outcome.ems if outcome else "",
                referrals=sorted(outcome.referrals or []) if outcome else []))
        IncidentFact.objects.bulk_create(facts)
        for incident, fact in zip(batch, facts, strict=True):
            incident.fact_id = fact.pk
        Incident.objects.bulk_update(batch, ["fact"])
    last = 0
    while True:
        checkins = list(CheckIn.objects.filter(fact__isnull=True, pk__gt=last)
                        .order_by("pk")[:BATCH])
        if not checkins:
            break
        last = checkins[-1].pk
        cfacts = []
        for checkin in checkins:
            hour = hour_of(checkin.created_at, tz=tz)
            escalated = checkin.escalated_at is not None
            cfacts.append(CheckinFact(
                started_hour=hour.start, day=hour.day, week_hour=hour.week_hour,
                minutes=checkin.minutes,
                asked=escalated or checkin.state in ("asked", "warned"),
                escalated=escalated, ended=checkin.ended_at is not None))
        CheckinFact.objects.bulk_create(cfacts)
        for checkin, cfact in zip(checkins, cfacts, strict=True):
            checkin.fact_id = cfact.pk
        CheckIn.objects.bulk_update(checkins, ["fact"])


class Migration(migrations.Migration):
    dependencies = [
        ("tally", "0001_initial"),
        ("dispatch", "0013_incident_fact"),
        ("checkins", "0007_checkin_fact"),
        ("responders", "0004_responder_lat_band"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
