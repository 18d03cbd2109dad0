"""Telling a person who asked by SMS how their request is going (through the outbox).

Their status page says the same, live (``presenters.tracking``); these texts carry the
changes that alter what the person should do: someone is coming or has arrived, the
search had to widen, we need to know where they are, nobody is free or nobody accepted
in time (then: what they can do themselves). Each stage is texted at most once per
incident (the message key), a first name or alias at most, in the request's language,
and never a word about the police: the last step is an ambulance, and calling one is
the person's own choice.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

from spotline.core.lifecycle import State
from spotline.core.policy import Shortfall
from spotline.core.stage import Stage
from spotline.dispatch.actions.search import offers_open
from spotline.dispatch.models import Incident, Source
from spotline.notify.actions import message_queue


def text_the_person(incident: Incident, state: State, *, now: datetime) -> None:
    """A state change the person should hear about: accepted, arrived, not found."""
    if not _texts_by_sms(incident):
        return
    with translation.override(incident.language or "en"):
        name = (incident.assigned_responder.alias if incident.assigned_responder else "") \
            or gettext("A responder")
        texts = {
            State.ASSIGNED: gettext("%(name)s is coming to help.") % {"name": name},
            State.ON_SCENE: gettext("%(name)s has arrived.") % {"name": name},
            State.UNABLE_TO_LOCATE: gettext(
                "We could not find you. Text us where you are if you still need help."),
        }
        body = texts.get(state)
    if body is None:
        return
    message_queue(
        key=f"status:{incident.pk}:{incident.version}", purpose="status", body=body,
        channels=["sms"], to=incident.callback_number, incident_id=incident.pk, now=now,
    )


def tell_the_person(incident: Incident, stage: Stage, *, now: datetime) -> None:
    """A stage in which nobody has accepted yet: what is true, and what they can do."""
    if not _texts_by_sms(incident) or incident.closed_at is not None:
        return
    if stage is Stage.UNANSWERED and offers_open(incident):
        return  # an earlier round's offers are still out: someone may yet accept
    with translation.override(incident.language or "en"):
        body = _stage_text(incident, stage)
    if not body:
        return
    message_queue(
        key=f"stage:{incident.pk}:{stage.value}", purpose="status", body=body,
        channels=["sms"], to=incident.callback_number, incident_id=incident.pk, now=now,
    )


def _texts_by_sms(incident: Incident) -> bool:
    return incident.source == Source.SMS and bool(incident.callback_phone)


def _stage_text(incident: Incident, stage: Stage) -> str:
    if stage is Stage.LOCATION_NEEDED:
        return gettext("We need to know where you are to send someone: text us an "
                       "address, a street corner or a place nearby.")
    if stage is Stage.WIDENING:
        return gettext("Still looking: nobody has accepted yet, so we are asking more "
                       "responders.")
    if stage is Stage.UNANSWERED:
        if incident.round_shortfall == Shortfall.NOBODY_ON_SHIFT:
            first = gettext("No responder is on shift right now. A dispatcher has been "
                            "alerted.")
        else:
            first = gettext("Nobody is free to come right now. A dispatcher has been "
                            "alerted.")
        return f"{first} {_what_you_can_do()}"
    if stage is Stage.AMBULANCE_PROPOSED:
        if incident.lat is None or incident.lon is None:
            # Nobody was asked: it is not that nobody accepted.
            first = gettext("We still do not know where you are, so nobody could be sent. "
                            "A dispatcher has been alerted.")
        elif incident.unanswered_at is not None:
            first = gettext("Nobody has accepted in time. A dispatcher has been alerted.")
        elif incident.round_shortfall == Shortfall.NOBODY_ON_SHIFT:
            first = gettext("No responder is on shift right now. A dispatcher has been "
                            "alerted.")
        elif offers_open(incident):
            # Proposed at once: an overdose nobody asked can reach in time.
            first = gettext("No responder can get to you quickly. A dispatcher has been "
                            "alerted, and we are still asking.")
        else:
            first = gettext("Nobody who could get to you quickly is free. A dispatcher "
                            "has been alerted.")
        return f"{first} {_what_you_can_do()}"
    if stage is Stage.AMBULANCE_REQUESTED:
        return gettext("Our dispatcher has been asked to call an ambulance to you.")
    return ""


def _what_you_can_do() -> str:
    parts = []
    number = settings.SPOTLINE_EMERGENCY_NUMBER
    if number:
        parts.append(gettext("If you decide they need an ambulance, you can call %(number)s "
                             "yourself.") % {"number": number})
    else:
        parts.append(gettext("If you decide they need an ambulance, you can call one "
                             "yourself."))
    if settings.SPOTLINE_HOTLINE:
        parts.append(gettext("To talk to us: %(number)s.") % {"number": settings.SPOTLINE_HOTLINE})
    return " ".join(parts)
