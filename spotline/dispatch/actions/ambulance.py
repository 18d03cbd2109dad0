"""An ambulance, the last escalation: proposed (by the policy, at the deadline or at
once for an overdose nobody near can reach), requested (by a dispatcher, the person's
own plan, or the organization's policy). Spotline never places the call itself, and
nothing here can reach the police."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from spotline.core.policy import Actor, DeadlineDecision, EscalationTarget
from spotline.core.stage import Stage
from spotline.dispatch.actions.person import tell_the_person
from spotline.dispatch.actions.records import event, flag
from spotline.dispatch.models import Incident


def ems_request(incident: Incident, *, actor: Actor, user_id: int | None,
                now: datetime) -> bool:
    """Record that an ambulance is requested (once). Spotline does not place the call:
    the console shows "call an ambulance" until a dispatcher confirms it."""
    if incident.ems_requested_at is not None:
        return False
    incident.ems_requested_at = now
    incident.ems_requested_by = actor.value
    Incident.objects.filter(pk=incident.pk).update(ems_requested_at=now,
                                                   ems_requested_by=actor.value)
    event(incident, "escalated", actor=actor, now=now, user_id=user_id,
          to=EscalationTarget.EMS.value)
    flag(incident, "ems_requested", now=now)
    tell_the_person(incident, Stage.AMBULANCE_REQUESTED, now=now)
    return True


def ems_propose(incident: Incident, decision: DeadlineDecision, *, now: datetime,
                **data: Any) -> None:
    """Carry out a policy's ambulance decision (``core.policy.on_deadline`` or
    ``ems_at_once``): propose once, recorded as the policy's, with ``data`` saying why;
    request too if the decision says so, else tell the person it is proposed. Nothing
    once one is requested: proposing it then would only say something stale."""
    if not decision.propose_ems or incident.ems_requested_at is not None:
        return
    if incident.ems_proposed_at is None:
        incident.ems_proposed_at = now
        Incident.objects.filter(pk=incident.pk).update(ems_proposed_at=now)
        event(incident, "ems_proposed", actor=Actor.POLICY, now=now, **data)
    if decision.request_ems:
        ems_request(incident, actor=Actor.POLICY, user_id=None, now=now)
    else:
        tell_the_person(incident, Stage.AMBULANCE_PROPOSED, now=now)
