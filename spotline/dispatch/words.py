"""Human words for the codes staff screens show, in the reader's language.

The database, the API and the audit log keep codes (``on_scene``, ``not_needed``): they
are what scripts and reports count. People read these words instead. A code with no
word here is shown as itself with the underscores taken out, so a new code is readable
on the day it is added, and a test lists the codes that still lack a word.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

WORDS: dict[str, dict[str, Promise]] = {
    "state": {
        "new": _("new"),
        "dispatching": _("finding a responder"),
        "assigned": _("responder assigned"),
        "en_route": _("on the way"),
        "on_scene": _("on scene"),
        "resolved": _("resolved"),
        "cancelled": _("cancelled"),
        "unable_to_locate": _("could not find them"),
    },
    "kind": {
        "overdose": _("overdose"),
        "mental_health": _("mental-health crisis"),
        "welfare_check": _("welfare check"),
        "medical": _("medical"),
        "conflict": _("conflict"),
        "other": _("other"),
    },
    "offer": {
        "pending": _("waiting for an answer"),
        "accepted": _("accepted"),
        "declined": _("declined"),
        "expired": _("no answer in time"),
        "withdrawn": _("withdrawn"),
        "released": _("given back"),
    },
    "target": {
        "more_responders": _("more responders (widen)"),
        "crisis_team": _("the crisis team"),
        "ems": _("an ambulance"),
    },
    "actor": {
        "person": _("the person"),
        "responder": _("responder"),
        "dispatcher": _("dispatcher"),
        "policy": _("automatic policy"),
        "system": _("Spotline"),
    },
    "answer": {
        "yes": _("yes"),
        "no": _("no"),
        "unknown": _("not known"),
        "": _("not asked"),
    },
    "ems": {
        "not_needed": _("not needed"),
        "requested": _("requested"),
        "declined": _("declined by the person"),
    },
    "reason": {  # why a request ended without a responder on scene
        "nobody_on_shift": _("nobody was on shift"),
        "no_one_qualified": _("nobody on shift could take it"),
        "all_busy": _("everyone was busy"),
        "all_declined": _("everyone declined"),
        "no_answer": _("nobody answered in time"),
        "cancelled_by_person": _("cancelled by the person"),
        "cancelled_by_dispatcher": _("cancelled by a dispatcher"),
        "unable_to_locate": _("could not find them"),
        "location_unknown": _("the place was not known"),
        "out_of_reach": _("nobody free was near enough"),
    },
    "attention": {  # why a dispatcher should look (Incident.attention)
        "unanswered": _("nobody accepted in time"),
        "widened": _("offered to more responders"),
        "released": _("the responder gave it back"),
        "ems_requested": _("ambulance requested"),
        "no_responders_wanted": _("the person asked for no responders"),
        "call_back": _("call the person back"),
        "need_backup": _("the responder asked for backup"),
        "missed_safety_check": _("a responder missed their safety check"),
        "nobody_on_shift": _("nobody on shift"),
        "no_one_qualified": _("nobody on shift can take it"),
        "all_busy": _("no one left to ask: everyone is busy"),
        "all_declined": _("no one left to ask: everyone declined"),
        "no_answer": _("no one left to ask: nobody answered"),
        "location_unknown": _("location unknown: choose responders or set the place"),
        "out_of_reach": _("no one within reach: widen, assign, or call an ambulance"),
    },
    "why": {  # why offers were withdrawn or a round widened
        "all_declined": _("everyone declined"),
        "no_answer": _("nobody answered"),
        "responder_busy": _("the responder took another incident"),
        "responder_left": _("the responder went off shift"),
        "need_backup": _("the responder asked for backup"),
        "missed_safety_check": _("a missed safety check"),
        "priority_raised": _("the priority was raised"),
        "relocated": _("the place was set or moved"),
        "responder_free": _("the responder just came free"),
        "beyond_target": _("nobody offered can be there in time"),
        "deadline": _("nobody accepted in time"),
    },
    "checkin": {
        "active": _("waiting for the next check"),
        "asked": _("asked “are you OK?”"),
        "warned": _("no answer: warned, help is sent next"),
        "escalated": _("help sent"),
        "ended": _("ended safely"),
    },
    "skill": {
        "naloxone": _("naloxone"),
        "crisis_intervention": _("crisis intervention"),
        "first_aid": _("first aid"),
        "de_escalation": _("de-escalation"),
        "crisis_team": _("crisis team"),
    },
    "referral": {
        "treatment": _("treatment"),
        "detox": _("detox"),
        "housing": _("housing"),
        "shelter": _("shelter"),
        "mental_health": _("mental health"),
        "medical_care": _("medical care"),
        "harm_reduction": _("harm reduction"),
        "peer_support": _("peer support"),
        "food": _("food"),
        "other": _("other"),
    },
    "who": {  # who wrote a line of a text conversation
        "person": _("person"),
        "spotline": _("Spotline"),
        "dispatcher": _("dispatcher"),
    },
    "location": {  # how sure the point is (Incident.location_status)
        "exact": _("exact"),
        "approximate": _("approximate"),
        "unknown": _("location unknown"),
    },
    "located_by": {  # how the point was found (dispatch.models.LocatedBy)
        "device": _("from the phone"),
        "map": _("picked on the map"),
        "words": _("found from the words given"),
        "": _("no point"),
    },
    "source": {
        "web": _("help page"),
        "api": _("app"),
        "sms": _("text message"),
        "operator": _("phone line"),
        "checkin": _("missed check-in"),
        "backup": _("backup for a responder"),
    },
    "priority": {  # shown after the code: "P1 · life at risk"
        "P1": _("life at risk"),
        "P2": _("urgent"),
        "P3": _("not urgent"),
    },
    "place_kind": {  # what a place found from words is (core.candidates.KINDS)
        "landmark": _("your landmark"),
        "address": _("address"),
        "intersection": _("street corner"),
        "poi": _("named place"),
        "street": _("street"),
        "relative": _("near a named place"),
    },
}


def word(group: str, code: Any) -> str:
    """The word for ``code`` in ``group``, in the active language."""
    code = "" if code is None else str(code)
    found = WORDS.get(group, {}).get(code)
    if found is not None:
        return str(found)
    return str(code).replace("_", " ")


def words(group: str, codes: Any) -> str:
    return ", ".join(word(group, c) for c in codes or ())


# The timeline: one sentence per event. Events hold IDs and codes only (never personal
# data), so the sentence is made here, with responders' names looked up by the caller.
EVENT_SENTENCES: dict[str, Promise] = {
    "opened": _("Request opened"),
    "offers_made": _("Offered to %(names)s"),
    "no_offers": _("Nobody to offer it to: %(shortfall)s"),
    "offers_expired": _("Offers ran out with no answer"),
    "offer_declined": _("%(name)s declined"),
    "offer_withdrawn": _("Offer to %(name)s withdrawn: %(why)s"),
    "widened": _("Widened to more responders: %(why)s"),
    "unanswered": _("Nobody accepted in time"),
    "ems_proposed": _("An ambulance is proposed"),
    "escalated": _("Escalated to %(to)s"),
    "expired_unserved": _("Closed: nobody could take it for too long"),
    "unserved": _("Not served: %(reason)s"),
    "note": _("Note added"),
    "need_backup": _("The responder asked for backup"),
    "backup_sent": _("Backup sent (incident #%(backup_id)s)"),
    "backup_again": _("Backup asked again; backup #%(backup_id)s is already open"),
    "outcome": _("Outcome recorded"),
    "asked_again": _("The person asked again (incident #%(incident_id)s)"),
    "told_more": _("The person told us more"),
    "relocated": _("Place set: %(location_status)s (%(located_by)s)"),
    "deadline_moved": _("Deadline brought forward: an alarm in %(due)s if nobody accepts"),
    "purged": _("Personal details destroyed (retention ended)"),
    # Lifecycle moves (the event is named after the move).
    "dispatch": _("Looking for a responder"),
    "accept": _("%(name)s accepted"),
    "assign": _("Assigned to %(name)s"),
    "release": _("%(name)s gave it back"),
    "en_route": _("On the way"),
    "on_scene": _("On scene"),
    "resolve": _("Resolved"),
    "unable_to_locate": _("Could not find them"),
    "cancel": _("Cancelled"),
}


def event_sentence(type: str, data: Mapping[str, Any], names: Mapping[int, str]) -> str:
    """One timeline line, e.g. "Offered to Ana, Ben", from an event's type and data."""
    def name(responder_id: Any) -> str:
        return names.get(responder_id) or str(_("responder #%(id)s") % {"id": responder_id})

    ids = data.get("responder_ids") or []
    values = {
        "names": ", ".join(name(i) for i in ids),
        "name": name(data.get("responder_id")) if data.get("responder_id") else
        str(_("a responder")),
        "why": word("why", data.get("why")),
        "shortfall": word("reason", data.get("shortfall")),
        "reason": word("reason", data.get("reason")),
        "to": word("target", data.get("to")),
        "backup_id": data.get("backup_id", "?"),
        "incident_id": data.get("incident_id", "?"),
        "location_status": word("location", data.get("now_status")),
        "located_by": word("located_by", data.get("located_by")),
        "due": gettext("%(n)s s") % {"n": data.get("due_in_seconds", "?")},
    }
    template = EVENT_SENTENCES.get(type)
    sentence = str(template) % values if template is not None else type.replace("_", " ")
    if type == "outcome" and "naloxone_doses" in data:
        sentence += ": " + ngettext("%(n)s naloxone dose", "%(n)s naloxone doses",
                                    int(data["naloxone_doses"] or 0)) % {
            "n": data["naloxone_doses"]} + ", " + str(_("ambulance %(ems)s") % {
                "ems": word("ems", data.get("ems"))})
    if type == "told_more" and data.get("priority_to"):
        sentence += ": " + str(_("priority %(old)s → %(new)s") % {
            "old": data.get("priority_from", "?"), "new": data["priority_to"]})
    if type == "no_offers" and data.get("nearest_minutes"):
        sentence += " " + str(_("(the nearest available is %(n)s min away)") % {
            "n": data["nearest_minutes"]})
    if type in ("offers_made", "ems_proposed") and data.get("why"):
        sentence += ": " + word("why", data["why"])
    if type == "escalated" and data.get("offers") is not None:
        sentence += " " + ngettext("(%(n)s offer)", "(%(n)s offers)",
                                   int(data["offers"] or 0)) % {"n": data["offers"]}
    return capfirst(sentence)


def relative(seconds: float) -> str:
    """A time from now in words: "in 40 s", "3 min ago", "now"."""
    ahead, span = seconds >= 0, round(abs(seconds))
    if span < 5:
        return gettext("now")
    if span < 60:
        amount = gettext("%(n)s s") % {"n": span}
    elif span < 3600:
        amount = gettext("%(n)s min") % {"n": span // 60}
    else:
        amount = gettext("%(h)s h %(m)s min") % {"h": span // 3600, "m": span % 3600 // 60}
    return (gettext("in %(time)s") if ahead else gettext("%(time)s ago")) % {"time": amount}


def ui_strings() -> dict[str, str]:
    """Words the pages' scripts say, handed over as JSON by ``{% ui_strings %}`` on the
    pages that run live.js, so a script speaks the page's language without a second
    catalogue (and pages without scripts carry none of it)."""
    return {
        "now": gettext("now"), "s": gettext("%(n)s s"), "min": gettext("%(n)s min"),
        "h": gettext("%(h)s h %(m)s min"), "in": gettext("in %(time)s"),
        "ago": gettext("%(time)s ago"),
        "live": gettext("Live"),
        "reconnecting": gettext("Reconnecting… (updating every few seconds meanwhile)"),
        "connection_problem": gettext("Connection problem: retrying…"),
        "unreachable": gettext("Could not reach the server: try again."),
        "done": gettext("Done."), "failed": gettext("That did not work."),
        # The console (console.js).
        "sound_on": gettext("Sound on"), "sound_off": gettext("Sound off"),
        "incident": gettext("Incident"),
        "incident_n": gettext("Incident %(n)s (%(priority)s)"),
        "responder_marker": gettext("%(name)s (responder)"),
        # Setting the place (console.js): a search as one types, a click on the map.
        "place_none": gettext("Nothing found for those words: try a street and number, "
                              "a street corner, or click the map."),
        "place_put": gettext("Put it here"),
        "place_within": gettext("within %(m)s m"),
        "place_clicked": gettext("Put the place where you clicked?"),
        "place_chosen_map": gettext("Place: picked on the map."),
        "place_chosen": gettext("Place: %(name)s (%(within)s)."),
        "place_proposed": gettext("Proposed place"),
        **{f"place_kind_{code}": str(label) for code, label in WORDS["place_kind"].items()},
        # -- the responder app (responder.js) --
        "new_offer_title": gettext("NEW OFFER · Spotline"),
        "safety_title": gettext("ARE YOU OK? · Spotline"),
        "safety_asked": gettext("Are you OK? Backup is sent in %(left)s. Tap I'm OK."),
        "safety_asked_sent": gettext("Are you OK? Backup is sent in %(left)s. Backup is "
                                     "on the way."),
        "safety_backup_coming": gettext("Backup is on the way."),
        "safety_at": gettext("(at %(time)s)"),
        "safety_due": gettext("due now"),
        "safety_thanks": gettext("Thanks. Next safety check at %(time)s."),
        "try_again": gettext("That did not work: try again."),
        "safety_unreachable": gettext("Could not reach the server: try again, or reply OK "
                                      "to the text."),
        "backup_sent": gettext("Backup is on the way. The dispatcher knows."),
        "backup_unreachable": gettext("Could not reach the server: try again, or call the "
                                      "dispatcher."),
    }


# core.lifecycle.IllegalTransition: "cannot en_route an incident that is resolved".
ILLEGAL_MOVE = re.compile(r"cannot [a-z_]+ an incident that is (?P<state>[a-z_]+)")


def refusal(message: str, said: Mapping[str, Promise],
            patterns: Sequence[tuple[re.Pattern[str], Promise]] = ()) -> str:
    """A write-path refusal (raised in English, for the API and the logs) in the
    reader's language: ``said`` by the exact message, else the first of ``patterns``
    that matches (a ``state`` or ``target`` group said in words), else an illegal
    lifecycle move; a message with no words here is shown as it came, never lost.
    Each screen keeps its own tables: a responder is told "you", a dispatcher a name."""
    found_words = said.get(message)
    if found_words is not None:
        return str(found_words)
    for pattern, words_for in (*patterns, (ILLEGAL_MOVE, _ILLEGAL_WORDS)):
        found = pattern.fullmatch(message)
        if found:
            values = found.groupdict()
            for group in ("state", "target"):
                if group in values:
                    values[group] = word(group, values[group])
            return str(words_for) % values
    return message


_ILLEGAL_WORDS = _("That cannot be done now: the incident is %(state)s.")
