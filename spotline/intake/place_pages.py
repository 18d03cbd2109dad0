"""The help page's place in words: found at send, asked about after, suggested while
typing.

1. At send (``located``): a typed place without the phone's location is looked up on
   the local map; when the geocoder is sure, the request opens at that point
   (approximate, with its radius). When it is not, it opens without a point, as
   before: help is never held up by a question.
2. After (``place_question`` on the status page, ``place`` for the answer): while the
   request has no point, "Which of these is it?" with the places the words may mean
   as buttons, and "Tell us a street corner or a place nearby" on a page of its own
   (the status page reloads itself without JavaScript, which would lose what is
   typed). A button sends back the words and the chosen name, never a point: the
   server looks the words up again and moves the request (``incident_relocate``).
3. While typing, with JavaScript (``suggest``): at most five names, no coordinates.
   The chosen name only fills the text field; the server looks it up again at send.

Nothing is stored here: the words and the point live in the incident (sealed, purged
with it). Nothing is logged but codes.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, replace

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from spotline.core.policy import Actor
from spotline.dispatch.actions.opening import IncidentRequest, incident_by_token
from spotline.dispatch.actions.relocate import incident_relocate
from spotline.dispatch.models import Incident, LocatedBy, Source
from spotline.errors import ActionError, NotFound
from spotline.intake.sms import NO_PLACE
from spotline.places.finding import choose, place_find, suggestions

MAX_WHERE = 500  # the help form's limit for the place in words


def located(wanted: IncidentRequest) -> IncidentRequest:
    """The request at the place its words name, when the geocoder is sure; as it was
    otherwise (or when it already has a point from the phone or a landmark)."""
    if wanted.location is not None or not wanted.description.strip():
        return wanted
    best = place_find(wanted.description, language=wanted.language).best
    if best is None:
        return wanted
    return replace(wanted, location=best.point, located_by=LocatedBy.WORDS,
                   accuracy_m=best.radius_m)


def _asks(incident: Incident) -> bool:
    """Whether the person is asked where: an open request without a point, that they
    described in words (a hotline call or a console entry is the dispatcher's)."""
    return (incident.lat is None and incident.is_open and incident.purged_at is None
            and incident.source in (Source.WEB, Source.SMS)
            and incident.location_description.strip() not in ("", NO_PLACE))


@dataclass(frozen=True)
class Question:
    """"Which of these is it?": the person's words and the names they may mean (none:
    only "Tell us a street corner or a place nearby")."""

    where: str
    choices: list[str]


def place_question(incident: Incident, *, language: str) -> Question | None:
    """What the status page asks about the place, or None."""
    if not _asks(incident):
        return None
    where = incident.location_description
    found = place_find(where, language=language)
    return Question(where, [c.name for c in found.choices])


@csrf_exempt  # a public page acting for no signed-in user (see views.help_form)
@require_http_methods(["GET", "POST"])
def place(request: HttpRequest, token: str) -> HttpResponse:
    """The answer to "Which of these is it?" (``pick``: a name from the question, with
    the words it came from) or a new place in words; a page of its own to type one."""
    try:
        incident = incident_by_token(token)
    except NotFound:
        raise Http404("no such request") from None
    status_url = reverse("intake:status", args=[token])
    language = request.LANGUAGE_CODE or "en"
    where = " ".join(request.POST.get("where", "").split())[:MAX_WHERE]
    if request.method == "GET" or not incident.is_open:
        return _page(request, token, incident, choices=None, where="")
    if not where:
        return _page(request, token, incident, choices=None, where="", missing=True)
    pick = request.POST.get("pick", "")
    # A name from the question, if the words still mean it; else what the words mean.
    best = choose(where, pick, language=language) if pick else None
    found_choices: list[str] = []
    if best is None:
        found = place_find(where, language=language)
        best = None if pick else found.best
        found_choices = [c.name for c in found.choices]
    if best is None:
        # Not sure yet: ask again about these words (or for a street corner).
        return _page(request, token, incident, choices=found_choices, where=where)
    with suppress(ActionError):  # closed meanwhile: the status page says so
        incident_relocate(incident_id=incident.pk, point=best.point,
                          located_by=LocatedBy.WORDS, radius_m=best.radius_m,
                          description=where, actor=Actor.PERSON, now=timezone.now())
    return redirect(status_url + "?placed=1")


def _page(request: HttpRequest, token: str, incident: Incident, *,
          choices: list[str] | None, where: str, missing: bool = False) -> HttpResponse:
    if choices is None:
        question = place_question(incident, language=request.LANGUAGE_CODE or "en")
        choices = question.choices if question else []
        where = question.where if question else ""
    return render(request, "intake/place.html", {
        "token": token, "org": settings.SPOTLINE_ORG_NAME, "choices": choices,
        "where": where, "missing": missing, "open": incident.is_open,
    }, status=400 if missing else 200)


@require_GET
def suggest(request: HttpRequest) -> JsonResponse:
    """``GET /places/suggest?q=``: at most five place names for the text typed so far,
    without coordinates. Public and rate-limited; the query is never logged."""
    q = request.GET.get("q", "")[:200]
    names = suggestions(q, language=request.LANGUAGE_CODE or None) if len(q.strip()) >= 3 else []
    response = JsonResponse({"names": names})
    response["Cache-Control"] = "no-store"  # what someone typed stays off shared caches
    return response
