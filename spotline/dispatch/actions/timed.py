"""What happens when a dispatch timer fires (``dispatch.timers`` runs these through the
timer engine, each in the transaction that claimed its row): a round of offers ran
out, the escalation deadline passed, the retention window ended. A responder's missed
safety check is ``backup.safety_check_due``."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from spotline.core.lifecycle import Event, State
from spotline.core.policy import Actor, OfferStatus, Shortfall, on_deadline, should_widen
from spotline.dispatch.actions.ambulance import ems_propose
from spotline.dispatch.actions.locks import lock
from spotline.dispatch.actions.moves import move
from spotline.dispatch.actions.records import event, flag
from spotline.dispatch.actions.rounds import round_start, widen
from spotline.dispatch.actions.search import offers_open, policy_for
from spotline.dispatch.models import Incident, IncidentNote, Offer, Outcome, Timer, TimerKind
from spotline.dispatch.signals import incident_purged
from spotline.notify.actions import messages_forget
from spotline.privacy.keys import key_destroy


def round_expire(*, timer: Timer, now: datetime) -> None:
    """A round's offers ran out: expire them and, if still nobody holds it, widen."""
    incident = lock(timer.incident_id)
    expired = Offer.objects.filter(
        incident=incident, round=timer.round, status=OfferStatus.PENDING
    ).update(status=OfferStatus.EXPIRED, answered_at=now)
    if expired:
        event(incident, "offers_expired", actor=Actor.SYSTEM, now=now,
              round=timer.round, count=expired)
    # A request nobody could answer for SPOTLINE_MAX_OPEN_HOURS is closed as unserved,
    # so its personal data enters the retention window instead of living forever.
    max_age = timedelta(hours=settings.SPOTLINE_MAX_OPEN_HOURS)
    if incident.state_enum is State.DISPATCHING and now - incident.opened_at >= max_age:
        event(incident, "expired_unserved", actor=Actor.SYSTEM, now=now,
              hours=settings.SPOTLINE_MAX_OPEN_HOURS)
        move(incident, Event.CANCEL, now=now, actor=Actor.SYSTEM)
        return
    # A later round (an escalation, a decline) has its own timer; only the newest
    # round's expiry widens, or an older one's that leaves nobody being asked (the
    # newer round offered nobody new while these were still open).
    if not should_widen(incident.state_enum):
        return
    if timer.round == incident.current_round:
        if expired:
            widen(incident, now=now, why="no_answer")
        else:
            round_start(incident, now=now)
    elif expired and not offers_open(incident):
        widen(incident, now=now, why="no_answer")


def deadline_reach(*, timer: Timer, now: datetime) -> None:
    """Nobody accepted in time: mark unanswered, propose an ambulance, maybe request it."""
    incident = lock(timer.incident_id)
    if Timer.objects.filter(incident=incident, kind=TimerKind.DEADLINE,
                            round__gt=timer.round).exists():
        return  # a release started a new search with a deadline of its own
    decision = on_deadline(state=incident.state_enum, policy=policy_for(incident))
    if not decision.mark_unanswered:
        return
    incident.unanswered_at = now
    Incident.objects.filter(pk=incident.pk).update(unanswered_at=now)
    event(incident, "unanswered", actor=Actor.POLICY, now=now, round=incident.current_round)
    if incident.attention != Shortfall.LOCATION_UNKNOWN:
        # Without a place, "set the place" stays the alarm: nobody could accept anyway.
        flag(incident, "unanswered", now=now)
    # Proposed already if an overdose had nobody near (rounds.ems_check): not twice.
    ems_propose(incident, decision, now=now, why="deadline")


def incident_purge(*, timer: Timer, now: datetime) -> None:
    """Destroy the personal data of a closed incident; keep the coarse record."""
    incident = lock(timer.incident_id)
    if incident.closed_at is None or incident.purged_at is not None:
        return
    # Destroying the data key makes every copy of the sealed fields unreadable (old
    # pages, WAL frames, backups); blanking them tidies the live row.
    key_destroy(incident.data_key_id, now=now)
    Incident.objects.filter(pk=incident.pk).update(
        lat=None, lon=None, accuracy_m=None, location_description="", details="",
        callback_phone="", purged_at=now,
    )
    Outcome.objects.filter(incident=incident).update(notes="")
    IncidentNote.objects.filter(incident=incident).delete()
    messages_forget(incident_id=incident.pk, now=now)
    # Apps above dispatch delete what they hold about it (SMS conversations).
    incident_purged.send(sender=Incident, incident_id=incident.pk, now=now)
    event(incident, "purged", actor=Actor.SYSTEM, now=now)
    # The last change the reporting store hears of; then the incident lets go of its
    # row there, so the figures stay and nothing in the incident leads to them.
    Incident.objects.filter(pk=incident.pk).update(fact=None)
