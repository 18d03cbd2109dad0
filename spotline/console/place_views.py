"""An incident's place in the console: finding it from words, and setting or moving its
point (a place found, or a click on the map); never typed coordinates.

The search runs on this machine (``places.geocode``) and is never logged. Both ways
end in one action, ``incident_relocate``: while the incident is still looking for a
responder, its offers are withdrawn and made again from the new point.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from spotline.console.access import dispatcher_required
from spotline.console.forms import PlaceForm
from spotline.console.replies import reply
from spotline.core.candidates import Candidate
from spotline.core.geo import Point
from spotline.core.policy import Actor
from spotline.dispatch.actions.relocate import incident_relocate
from spotline.dispatch.models import LocatedBy
from spotline.errors import ActionError
from spotline.places.centre import organization_centre
from spotline.places.geocode import geocode

MAX_QUERY = 500  # as the API's search: longer than any place a person describes
SHOWN = 8  # candidates listed: enough to tell two shops of one brand apart


@dataclass(frozen=True)
class Found:
    """What a search found, for a page to list (``searched``: a search was asked)."""

    text: str = ""
    searched: bool = False
    too_long: bool = False
    candidates: list[Candidate] = field(default_factory=list)


def find(text: str | None) -> Found:
    """The places ``text`` may mean, best first; nothing searched for no text."""
    text = (text or "").strip()
    if not text:
        return Found()
    if len(text) > MAX_QUERY:
        return Found(text=text[:MAX_QUERY], searched=True, too_long=True)
    return Found(text=text, searched=True,
                 candidates=geocode(text, near=organization_centre(), limit=SHOWN))


def _answer(request: HttpRequest, incident_id: int, *, ok: bool, detail: str,
            status: int = 200) -> HttpResponse:
    """JSON to the page's script; a message and the incident's page to a plain form (as
    the console's other actions answer)."""
    if request.headers.get("X-Requested-With") == "fetch":
        return JsonResponse({"detail": detail}, status=status)
    (messages.success if ok else messages.error)(request, detail)
    return redirect("console:detail", incident_id=incident_id)


@require_POST
@dispatcher_required
def place(request: HttpRequest, incident_id: int) -> HttpResponse:
    """Put the incident at a place found from words or clicked on the map."""
    form = PlaceForm(request.POST)
    if not form.is_valid():
        return _answer(request, incident_id, ok=False, status=400,
                       detail=_("Choose a place from the list, or click the map."))
    data = form.cleaned_data
    how = LocatedBy(data["how"])
    try:
        # The person's own words stay as they are: the point is what changes.
        incident_relocate(
            incident_id=incident_id, point=Point(data["lat"], data["lon"]), located_by=how,
            radius_m=data["radius_m"] if how is LocatedBy.WORDS else None,
            actor=Actor.DISPATCHER, user_id=request.user.pk, now=timezone.now())
    except ActionError as exc:
        return _answer(request, incident_id, ok=False, detail=reply(exc),
                       status=exc.status)
    return _answer(request, incident_id, ok=True, detail=_("Place set."))
