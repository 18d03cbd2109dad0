"""Read-side views of incidents shared by the API and the pages."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from spotline.core.geo import Mode, vicinity
from spotline.core.lifecycle import HELD, State
from spotline.core.policy import Candidate, OfferStatus, Shortfall, qualifies, rank
from spotline.core.stage import ALARMING, WAITING, Facts, Stage, stage
from spotline.core.triage import Skill
from spotline.dispatch.actions.answers import questions_open
from spotline.dispatch.actions.search import estimator, incident_point
from spotline.dispatch.models import Incident, Offer
from spotline.dispatch.words import words
from spotline.responders.models import Responder


def eta_minutes(seconds: float | None) -> int | None:
    if seconds is None:
        return None
    return max(1, math.ceil(seconds / 60))


# Before accepting, a responder learns how far the incident is, not where: with their
# own position, a distance to the metre is nearly the place. Shown to the nearest
# 100 m, never under 100 m, until they accept.
OFFER_DISTANCE_STEP_M = 100


def offer_distance_m(offer: Offer) -> int | None:
    """The distance a responder is shown for an offer (exact once they accepted)."""
    if offer.distance_m is None:
        return None
    if offer.status == OfferStatus.ACCEPTED:
        return round(offer.distance_m)
    step = OFFER_DISTANCE_STEP_M
    return max(step, round(offer.distance_m / step) * step)


def offer_area(offer: Offer) -> dict[str, float] | None:
    """The area a map may show for an offer before it is accepted: a circle around the
    centre of the place's cell (``core.geo.vicinity``), never the place itself."""
    point = incident_point(offer.incident)
    if point is None:
        return None
    area = vicinity(point)
    return {"lat": round(area.centre.lat, 5), "lon": round(area.centre.lon, 5),
            "radius_m": area.radius_m}


def offer_approximate(offer: Offer) -> dict[str, bool | int | None]:
    """Whether the offer's place is approximate (found from words) and its radius, to
    the metre: a radius says how unsure the place is, not where it is."""
    incident = offer.incident
    if incident.location_status != "approximate":
        return {"approximate": False, "radius_m": None}
    radius = incident.accuracy_m
    return {"approximate": True, "radius_m": None if radius is None else round(radius)}


@dataclass(frozen=True)
class Tracking:
    status: str
    stage: str
    message: str
    eta_minutes: int | None
    updated_at: datetime
    kind: str
    priority: str
    responder: str | None
    nobody_on_shift: bool
    closed: bool
    offered_to: int  # offers out now, waiting for an answer
    waiting: bool  # nobody has accepted yet: say what the person can do themselves
    alarming: bool  # not good news: shown as a warning
    hotline: str | None  # the organization's line, when it has one
    emergency_number: str | None  # for the person to call, if they choose; never dialled
    # What the person may still tell (``answers.questions_open``): the questions sent
    # unanswered, and "details" while there is room for more.
    questions: tuple[str, ...] = ()


def responder_eta_seconds(incident: Incident, *, now: datetime) -> float | None:
    """Time for the assigned responder to arrive, from where they are now if we know."""
    responder = incident.assigned_responder
    if responder is None or incident.state not in (State.ASSIGNED, State.EN_ROUTE):
        return None
    target = incident_point(incident)
    if target is not None and responder.point is not None:
        return estimator().eta_seconds(responder.point, target, Mode(responder.mode))
    offer = Offer.objects.filter(incident=incident, responder=responder).first()
    if offer is None or offer.eta_seconds is None:
        return None
    elapsed = (now - (offer.answered_at or offer.created_at)).total_seconds()
    return max(60.0, offer.eta_seconds - elapsed)


def incident_stage(incident: Incident, *, pending: int) -> Stage:
    """``pending``: the incident's offers out now (``tracking`` counts them once)."""
    return stage(Facts(
        state=incident.state_enum, round=incident.current_round, pending_offers=pending,
        shortfall=incident.round_shortfall, unanswered=incident.unanswered_at is not None,
        ems_proposed=incident.ems_proposed_at is not None,
        ems_requested=incident.ems_requested_at is not None,
        located=incident_point(incident) is not None))


def stage_message(incident: Incident, current: Stage, *, pending: int, alias: str | None) -> str:
    """The sentence the person reads for this stage, in the active language. None of
    them may suggest the police: the last step is an ambulance, and the person's call."""
    name = {"name": alias}
    if current is Stage.FINDING:
        if pending:
            return ngettext("We asked %(n)d responder nearby. Waiting for them to accept.",
                            "We asked %(n)d responders nearby. Waiting for one to accept.",
                            pending) % {"n": pending}
        return _("Finding a responder.")
    if current is Stage.WIDENING:
        if pending:
            return ngettext(
                "Nobody has accepted yet, so we are asking %(n)d more responder, further away.",
                "Nobody has accepted yet, so we are asking %(n)d more responders, further away.",
                pending) % {"n": pending}
        return _("Nobody has accepted yet. We are asking responders further away.")
    if current is Stage.UNANSWERED:
        if incident.unanswered_at is not None:
            return _("Nobody has accepted in time. A dispatcher has been alerted.")
        if incident.round_shortfall == Shortfall.NOBODY_ON_SHIFT:
            return _("No responder is on shift right now. A dispatcher has been alerted "
                     "and is trying to find someone.")
        return _("Nobody has accepted yet, and nobody else is free right now. A dispatcher "
                 "has been alerted and is trying to find someone.")
    if current is Stage.LOCATION_NEEDED:
        return _("We need to know where you are to send someone. A dispatcher has been "
                 "alerted. Tell us an address, a street corner or a place nearby.")
    if current is Stage.AMBULANCE_PROPOSED:
        if incident.unanswered_at is not None:
            return _("Nobody has accepted in time. A dispatcher has been alerted, and an "
                     "ambulance was proposed to them.")
        # Proposed at once (an overdose nobody near can reach in time): say why.
        if incident.round_shortfall == Shortfall.NOBODY_ON_SHIFT:
            return _("No responder is on shift right now. A dispatcher has been alerted, "
                     "and an ambulance was proposed to them.")
        if pending:
            return _("We are asking responders. Because nobody near enough was free at "
                     "first, a dispatcher has been alerted and an ambulance was proposed "
                     "to them.")
        return _("Nobody who could get there quickly is free. A dispatcher has been "
                 "alerted, and an ambulance was proposed to them.")
    if current is Stage.AMBULANCE_REQUESTED:
        return _("Our dispatcher has been asked to call an ambulance to you.")
    if current is Stage.ACCEPTED:
        return _("%(name)s accepted and is coming.") % name
    if current is Stage.EN_ROUTE:
        return _("%(name)s is on the way.") % name
    if current is Stage.ON_SCENE:
        return _("%(name)s is with you.") % name
    if current is Stage.CANCELLED:
        return _("This request was cancelled.")
    if incident.state_enum is State.UNABLE_TO_LOCATE:
        return _("The responder could not find the place. Ask again if you still need help.")
    return _("This request is closed. Take care.")


def tracking(incident: Incident, *, now: datetime, language: str | None = None) -> Tracking:
    """What the person who asked for help sees: plain words, a first name at most. In
    ``language`` when given (the API speaks the request's), else the active one."""
    if language is not None:
        with translation.override(language):
            return tracking(incident, now=now)
    state = incident.state_enum
    alias = None
    if incident.assigned_responder is not None:
        alias = incident.assigned_responder.alias or _("A responder")
    eta = eta_minutes(responder_eta_seconds(incident, now=now))
    pending = (Offer.objects.filter(incident=incident, status=OfferStatus.PENDING).count()
               if state is State.DISPATCHING else 0)
    current = incident_stage(incident, pending=pending)
    message = stage_message(incident, current, pending=pending, alias=alias)
    if eta is not None and state in (State.ASSIGNED, State.EN_ROUTE):
        message += " " + _("About %(n)d minutes away.") % {"n": eta}
    if incident.ems_requested_at is not None and current in (Stage.ACCEPTED, Stage.EN_ROUTE):
        message += " " + _("An ambulance was requested too.")
    return Tracking(
        status=incident.state,
        stage=current.value,
        message=message,
        eta_minutes=eta,
        updated_at=incident.updated_at,
        kind=incident.kind,
        priority=incident.priority,
        responder=alias,
        nobody_on_shift=(incident.round_shortfall == Shortfall.NOBODY_ON_SHIFT
                         and state is State.DISPATCHING),
        closed=incident.closed_at is not None,
        offered_to=pending,
        waiting=current in WAITING,
        alarming=current in ALARMING,
        hotline=settings.SPOTLINE_HOTLINE or None,
        emergency_number=settings.SPOTLINE_EMERGENCY_NUMBER or None,
        questions=tuple(questions_open(incident)),
    )


def responder_busy_map() -> dict[int, int]:
    """Responder id -> the open incident they hold."""
    return dict(
        Incident.objects.filter(
            state__in=[s.value for s in HELD], assigned_responder__isnull=False
        ).values_list("assigned_responder_id", "id")
    )


def responders_roster() -> list[Responder]:
    return list(Responder.objects.select_related("user").order_by("on_shift_since", "alias"))


@dataclass(frozen=True)
class AssignChoice:
    """One responder in the console's "Assign" list, with what the dispatcher should
    know in words: how far, or why not them."""

    responder: Responder
    note: str
    best: bool = False


@dataclass(frozen=True)
class AssignGroup:
    label: str
    choices: list[AssignChoice]


# What their answer to this incident's offer was, when it matters to whoever assigns.
_ANSWERED = {OfferStatus.DECLINED.value: gettext_lazy("declined this one"),
             OfferStatus.RELEASED.value: gettext_lazy("gave this one back"),
             OfferStatus.EXPIRED.value: gettext_lazy("did not answer the offer")}


def assign_choices(incident: Incident) -> tuple[list[AssignGroup], AssignChoice | None]:
    """Everyone a dispatcher could assign, and the one to preselect.

    First the free ones (on shift, qualified, holding nothing) nearest first, ranked
    as a round of offers ranks them (``core.policy.rank``); then those on shift but
    busy or without the skills; then those off shift. The best is the nearest free one
    who did not decline or give this incident back; never anyone off shift.
    """
    required = frozenset(Skill(s) for s in incident.required_skills
                         if s in Skill._value2member_map_)
    busy = responder_busy_map()
    answered = dict(Offer.objects.filter(incident=incident).values_list("responder_id",
                                                                        "status"))
    everyone = {r.pk: r for r in responders_roster()}
    free, other, off = [], [], []
    for r in sorted(everyone.values(), key=lambda r: r.display_name.lower()):
        held = busy.get(r.pk)
        if not r.on_shift:
            off.append(AssignChoice(r, _("off shift")))
        elif held is not None:
            other.append(AssignChoice(r, _("assigned here") if held == incident.pk
                                      else _("holding #%(n)s") % {"n": held}))
        else:
            candidate = Candidate(responder_id=r.pk, location=r.point, mode=Mode(r.mode),
                                  skills=r.skill_set, on_shift=True, busy=False)
            if qualifies(candidate, required):
                free.append(candidate)
            else:
                missing = words("skill", sorted(required - r.skill_set))
                other.append(AssignChoice(r, _("without %(skills)s") % {"skills": missing}))
    best: AssignChoice | None = None
    nearest = []
    for ranked in rank(location=incident_point(incident), candidates=free,
                       estimator=estimator()):
        minutes = eta_minutes(ranked.eta_seconds)
        notes = [_("about %(n)s min away") % {"n": minutes} if minutes else "",
                 str(_ANSWERED.get(answered.get(ranked.responder_id, ""), ""))]
        choice = AssignChoice(everyone[ranked.responder_id],
                              ", ".join(w for w in notes if w),
                              best=best is None and answered.get(ranked.responder_id) not in (
                                  OfferStatus.DECLINED.value, OfferStatus.RELEASED.value))
        if choice.best:
            best = choice
        nearest.append(choice)
    groups = [AssignGroup(_("Free, nearest first"), nearest),
              AssignGroup(_("On shift, not free"), other),
              AssignGroup(_("Off shift: ask them to go on shift first"), off)]
    return [g for g in groups if g.choices], best
