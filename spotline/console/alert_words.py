"""What the console says about alerts: a spike in numbers, an alert's timeline, and the
alert actions' refusals in the coordinator's language (``console/replies.py`` does the
same for incidents; a message with no words here is shown as it came)."""

from __future__ import annotations

import re
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from spotline.alerts.models import AlertEvent, Signal
from spotline.dispatch.words import refusal
from spotline.errors import ActionError


def signal_sentence(signal: Signal) -> str:
    """"5 overdoses in area Kallio in 6 h; usual 0.8 (p = 0.0004)"."""
    return ngettext(
        "%(n)s overdose in area %(area)s in %(hours)s h; usual %(usual)s (p = %(p)s)",
        "%(n)s overdoses in area %(area)s in %(hours)s h; usual %(usual)s (p = %(p)s)",
        signal.observed) % {
        "n": signal.observed, "area": signal.area.name, "hours": signal.window_hours,
        "usual": f"{signal.expected:.1f}", "p": f"{signal.p_value:.2g}"}


EVENTS: dict[str, Promise] = {
    "drafted": gettext_lazy("drafted"),
    "edited": gettext_lazy("edited"),
    "published": gettext_lazy("published"),
    "sent": gettext_lazy("sent"),
    "superseded": gettext_lazy("replaced by an update"),
    "cancelled": gettext_lazy("withdrawn (CAP Cancel sent)"),
    "discarded": gettext_lazy("draft discarded"),
    "spike_grew": gettext_lazy("the spike grew"),
}


def event_sentence(event: AlertEvent, names: dict[int, str]) -> str:
    """One line of an alert's timeline: what happened, who did it, and its counts."""
    what = str(EVENTS.get(event.kind, event.kind))
    data: dict[str, Any] = event.data or {}
    if event.kind == "sent":
        what += " · " + ngettext("%(n)s message queued", "%(n)s messages queued",
                                 int(data.get("messages", 0))) % {"n": data.get("messages", 0)}
        what += " · " + ngettext("%(n)s responder", "%(n)s responders",
                                 int(data.get("responders", 0))) % {
            "n": data.get("responders", 0)}
    if event.kind == "spike_grew" and data.get("observed"):
        what += " · " + _("%(n)s overdoses") % {"n": data["observed"]}
    if event.user_id:
        what += " · " + names.get(event.user_id, "?")
    elif event.kind in ("drafted", "edited", "sent", "spike_grew"):
        what += " · " + _("Spotline")
    return what


SAID: dict[str, Promise] = {
    "Two-person rule: a coordinator other than the author must publish this alert.":
        gettext_lazy("Two-person rule: a coordinator other than the author must publish "
                     "this alert."),
    "A person must read and save this proposed draft before a second person publishes it.":
        gettext_lazy("A person must read and save this proposed draft before a second "
                     "person publishes it."),
    "The expiry is in the past.": gettext_lazy("The expiry is in the past."),
    "Choose at least one area.": gettext_lazy("Choose at least one area."),
    "This draft has expired; set a new expiry first.":
        gettext_lazy("This draft has expired: set a new expiry first."),
    "Only a draft can be edited; a published alert is updated with a new version.":
        gettext_lazy("Only a draft can be edited; a published alert is updated with a "
                     "new version."),
    "Only a published alert can be updated.":
        gettext_lazy("Only a published alert can be updated."),
    "The alert this draft updates is no longer published.":
        gettext_lazy("The alert this draft updates is no longer published."),
    "This alert was replaced by an update; cancel that one.":
        gettext_lazy("This alert was replaced by an update: cancel that one."),
    "Alerts name this area; it can be renamed or redrawn, not deleted.":
        gettext_lazy("Alerts name this area: it can be renamed or redrawn, not deleted."),
    "Say what the alert is about: a substance, a sign, or a few words.":
        gettext_lazy("Say what the alert is about: a substance, a sign, or a few words."),
    "The area must be a GeoJSON Polygon or MultiPolygon.":
        gettext_lazy("The area must be a GeoJSON Polygon or MultiPolygon."),
    "That is not an H3 cell index.": gettext_lazy("That is not an H3 cell index."),
    "The report is empty: say what it looked like or what happened.":
        gettext_lazy("The report is empty: say what it looked like or what happened."),
    "Please describe it in words (letters or numbers).":
        gettext_lazy("Please describe it in words (letters or numbers)."),
}

PATTERNS: list[tuple[re.Pattern[str], Promise]] = [
    (re.compile(r"There is already an area called (?P<name>.+)\."),
     gettext_lazy("There is already an area called %(name)s.")),
    (re.compile(r"The area \(or a part or hole of it\) is too small \((?P<km2>[\d.,]+) "
                r"km²\): each must be at least (?P<least>[\d.,]+) km² so that an alert never "
                r"points at one place\."),
     gettext_lazy("The area (or a part or hole of it) is too small (%(km2)s km²): each must "
                  "be at least %(least)s km² so that an alert never points at one place.")),
    (re.compile(r"The area is too large \((?P<km2>[\d.,]+) km²; at most (?P<most>[\d.,]+) "
                r"km²\)\."),
     gettext_lazy("The area is too large (%(km2)s km²; at most %(most)s km²).")),
    (re.compile(r"The area's outline is not valid \((?P<why>.*)\): a ring must not cross "
                r"itself\."),
     gettext_lazy("The area's outline is not valid (%(why)s): a ring must not cross "
                  "itself.")),
]


def reply(exc: ActionError) -> str:
    return refusal(exc.message, SAID, PATTERNS)
