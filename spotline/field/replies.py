"""What the responder app says when an action refuses, in the responder's language.

The write path raises its errors in English for the API and the logs
(``spotline/errors.py``); the app shows the same refusal in the page's language. A
message with no entry here is shown as it came, so a new one is never lost, only
untranslated (a test checks that every entry still matches a message the code raises).
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from spotline.dispatch.actions.shifts import OffersOpen
from spotline.dispatch.words import refusal
from spotline.errors import ActionError

SAID: dict[str, Promise] = {
    "no such offer": _("This offer is not yours, or it is gone."),
    "no such incident": _("This incident is not yours, or it is gone."),
    "this incident is closed": _("This incident is closed."),
    "you declined this offer": _("You declined this offer."),
    "go on shift before accepting an offer": _("Go on shift before accepting an offer."),
    "you already hold an open incident: finish or release it first":
        _("You already hold an open incident: finish it or give it back first."),
    "you accepted this offer: release the incident instead":
        _("You accepted this offer: give the incident back instead."),
    "this incident is already taken or closed":
        _("This incident is already taken or closed."),
    "this incident is already taken": _("This incident is already taken."),
    "you hold an open incident: finish it, or release it so it can be offered to someone "
    "else, before going off shift":
        _("You hold an open incident: finish it, or give it back so it can be offered to "
          "someone else, before going off shift."),
    "the incident changed meanwhile; reload and try again":
        _("The incident changed meanwhile: reload and try again."),
    "an outcome is recorded once a responder is on scene":
        _("An outcome is recorded once you are on scene."),
    "this incident's details were already destroyed":
        _("This incident's details were already destroyed."),
    "an outcome is already saved for this incident: edit it instead of recording a new one":
        _("An outcome is already saved for this incident: edit it instead."),
    "the outcome was changed since you opened it: look at the saved one and edit it again":
        _("The outcome was changed since you opened it: look at the saved one and edit it "
          "again."),
}

def reply(exc: ActionError) -> str:
    if isinstance(exc, OffersOpen):
        n = len(exc.offer_ids)
        return ngettext(
            "You have an open offer: going off shift withdraws it, and its incident is "
            "offered to other responders at once.",
            "You have %(n)s open offers: going off shift withdraws them, and their "
            "incidents are offered to other responders at once.", n) % {"n": n}
    return refusal(exc.message, SAID)
