"""What the console says when an action refuses, in the dispatcher's language.

The write path raises its refusals in English for the API and the logs; the console
shows them in the page's language, as the responder app does (``field/replies.py``). A
message with no entry here is shown as it came, so a new one is never lost, only
untranslated (a test checks every entry against a message the code raises).
"""

from __future__ import annotations

import re

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from spotline.dispatch.words import refusal
from spotline.errors import ActionError

SAID: dict[str, Promise] = {
    "no such incident": _("There is no such incident."),
    "this incident is closed": _("This incident is closed."),
    "this incident's details were already destroyed":
        _("This incident's details were already destroyed."),
    "a note is 1 to 2000 characters of text": _("A note is 1 to 2000 characters of text."),
    "the incident changed meanwhile; reload and try again":
        _("The incident changed meanwhile: reload and try again."),
    "a reply is 1 to 640 characters of text": _("A reply is 1 to 640 characters of text."),
    "an outcome is recorded once a responder is on scene":
        _("An outcome is recorded once a responder is on scene."),
}

# Refusals that carry a name or a code, and their words (an illegal lifecycle move is
# said by ``refusal`` for every screen).
PATTERNS: list[tuple[re.Pattern[str], Promise]] = [
    (re.compile(r"(?P<name>.+) is off shift: ask them to go on shift first"),
     _("%(name)s is off shift: ask them to go on shift first.")),
    (re.compile(r"(?P<name>.+) already holds an open incident"),
     _("%(name)s already holds an open incident.")),
    (re.compile(r"only an incident still looking for a responder can get (?P<target>[a-z_]+); "
                r"this one is held: reassign it instead"),
     _("Only an incident still looking for a responder can get %(target)s; this one is "
       "held: reassign it instead.")),
]


def reply(exc: ActionError) -> str:
    return refusal(exc.message, SAID, PATTERNS)
