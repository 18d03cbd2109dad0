"""What the code can do, read from the code: whether any of it could reach the police.

The transparency page's promise ("no police responder, no police escalation, no
police integration") is derived here from the vocabularies the code actually acts on,
not written down as constants: add a kind, a skill, a role, an escalation target, a
check-in's "send", a provider or a channel that names the police, and the page (and
its JSON) says so at once, and the test that guards the promise fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.conf import settings

from spotline.accounts.models import Role
from spotline.core.checkin import OnMiss, Send
from spotline.core.geo import Mode
from spotline.core.policy import Actor, EscalationTarget
from spotline.core.triage import Kind, Skill
from spotline.dispatch.models import EmsOutcome, Source
from spotline.notify.models import Channel
from spotline.notify.providers.registry import KNOWN

# Police in the words of the languages Spotline speaks and of the places it is used.
POLICE = re.compile(r"\bpolice|\bpolic[ií]a|\bpoliisi|\bpolis\b|law.?enforce|sheriff|"
                    r"\bcops?\b|constab|trooper|gendarm|carabinier|guardia.?civil|\bswat\b",
                    re.IGNORECASE)


def names_police(values: Iterable[object]) -> bool:
    return any(POLICE.search(str(v).replace("_", " ")) for v in values)


def responder_vocabulary() -> list[str]:
    """Who can be sent: the kinds of request, the skills and roles of the people who
    answer them, how they travel."""
    return [*Kind, *Skill, *Role.values, *Mode]


def escalation_vocabulary() -> list[str]:
    """Where a request can go when nobody comes: the escalation targets, what a
    check-in may send, who may decide, what is recorded about an ambulance."""
    return [*EscalationTarget, *Send, *OnMiss, *Actor, *EmsOutcome.values]


def integration_vocabulary() -> list[str]:
    """What talks to the outside: the message providers built in and enabled, their
    channels, where requests come from."""
    return [*KNOWN, *settings.SPOTLINE_PROVIDERS, *Channel.values, *Source.values]


def police_capabilities() -> dict[str, bool]:
    return {
        "police_responder_kind": names_police(responder_vocabulary()),
        "police_escalation": names_police(escalation_vocabulary()),
        "police_integration": names_police(integration_vocabulary()),
    }
