"""The minimal responder page: shift, offers, accept, status buttons, outcome."""

from __future__ import annotations

import math

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from spotline.accounts.twofactor import verified_required
from spotline.core.geo import Point
from spotline.core.lifecycle import HELD
from spotline.core.outcome import Referral, parse_referrals
from spotline.core.policy import OfferStatus
from spotline.core.triage import Answer
from spotline.dispatch.actions.offers import offer_accept, offer_decline
from spotline.dispatch.actions.reports import incident_outcome, incident_report
from spotline.dispatch.actions.shifts import shift_set
from spotline.dispatch.models import EmsOutcome, Incident, Offer
from spotline.dispatch.presenters import eta_minutes, offer_distance_m
from spotline.errors import ActionError
from spotline.responders.models import Responder


def _responder(request: HttpRequest) -> Responder:
    responder = Responder.objects.filter(user_id=request.user.pk or 0).first()
    if responder is None:
        raise Http404("not a responder")
    return responder


@verified_required
def index(request: HttpRequest) -> HttpResponse:
    responder = _responder(request)
    offers = list(Offer.objects.filter(responder=responder, status=OfferStatus.PENDING)
                  .select_related("incident").order_by("incident__priority", "created_at"))
    for offer in offers:  # what the card may show before accepting (no exact distance)
        offer.shown_distance_m = offer_distance_m(offer)  # type: ignore[attr-defined]
        offer.shown_eta_minutes = eta_minutes(offer.eta_seconds)  # type: ignore[attr-defined]
    current = (Incident.objects.filter(assigned_responder=responder)
               .filter(state__in=[s.value for s in HELD]).first())
    recent = list(Incident.objects.filter(assigned_responder=responder, closed_at__isnull=False,
                                      purged_at__isnull=True, on_scene_at__isnull=False)
              .order_by("-closed_at")[:3])
    return render(request, "field/index.html", {
        "responder": responder, "offers": offers, "current": current, "recent": recent,
        "answers": [a.value for a in Answer], "ems_choices": [e.value for e in EmsOutcome],
        "referral_choices": [(r.value, r.value.replace("_", " ")) for r in Referral],
    })


def manifest(request: HttpRequest) -> HttpResponse:
    return render(request, "field/manifest.webmanifest",
                  content_type="application/manifest+json")


def service_worker(request: HttpRequest) -> HttpResponse:
    response = render(request, "field/sw.js", content_type="text/javascript")
    # Served from /responder/ so it controls exactly the responder app.
    response["Service-Worker-Allowed"] = "/responder/"
    response["Cache-Control"] = "no-cache"
    return response


def offline(request: HttpRequest) -> HttpResponse:
    return render(request, "field/offline.html")


def _done(request: HttpRequest, *, ok: str | None = None, error: str | None = None,
          status: int = 409) -> HttpResponse:
    """Script-driven forms get JSON; plain forms get a message and a redirect, except
    for someone else's offer or incident: a plain 404, as for one that does not exist."""
    if request.headers.get("X-Requested-With") == "fetch":
        if error is not None:
            return JsonResponse({"detail": error}, status=status)
        return JsonResponse({"detail": ok or "Done."})
    if error is not None and status == 404:
        raise Http404(error)
    if error is not None:
        messages.error(request, error)
    elif ok:
        messages.success(request, ok)
    return redirect("responder:index")


def _point(request: HttpRequest) -> Point | None:
    try:
        lat, lon = float(request.POST["lat"]), float(request.POST["lon"])
    except (KeyError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    try:
        return Point(lat, lon)
    except ValueError:
        return None


@require_POST
@verified_required
def shift(request: HttpRequest) -> HttpResponse:
    responder = _responder(request)
    on = request.POST.get("on_shift") == "1"
    try:
        shift_set(responder=responder, on_shift=on, location=_point(request),
                                    now=timezone.now())
    except ActionError as exc:
        return _done(request, error=exc.message, status=exc.status)
    return _done(request, ok="You are on shift." if on else "You are off shift.")


@require_POST
@verified_required
def answer(request: HttpRequest, offer_id: int, answer: str) -> HttpResponse:
    responder = _responder(request)
    now = timezone.now()
    if answer not in ("accept", "decline"):
        raise Http404("no such answer")
    try:
        if answer == "accept":
            offer_accept(offer_id=offer_id, responder=responder, now=now)
        else:
            offer_decline(offer_id=offer_id, responder=responder, now=now)
    except ActionError as exc:
        return _done(request, error=exc.message, status=exc.status)
    return _done(request, ok="Accepted. Go now: the location is below." if answer == "accept"
                 else "Declined.")


@require_POST
@verified_required
def report(request: HttpRequest, incident_id: int) -> HttpResponse:
    responder = _responder(request)
    try:
        incident_report(incident_id=incident_id, type=request.POST.get("type", ""),
                                responder=responder, user_id=request.user.pk,
                                now=timezone.now())
    except ActionError as exc:
        return _done(request, error=exc.message, status=exc.status)
    # The page itself shows the new status; a message would only repeat it.
    return _done(request)


@require_POST
@verified_required
def outcome(request: HttpRequest, incident_id: int) -> HttpResponse:
    responder = _responder(request)
    try:
        doses = int(request.POST.get("naloxone_doses", "0"))
    except ValueError:
        doses = -1
    if not 0 <= doses <= 20:
        return _done(request, error="Naloxone doses must be a number from 0 to 20.", status=400)
    referrals, unknown = parse_referrals(request.POST.getlist("referrals"))
    notes = request.POST.get("notes", "")
    if unknown:
        return _done(request, error="Unknown referral: " + ", ".join(unknown) + ". Choose "
                     "from: " + ", ".join(r.value for r in Referral) + ".", status=400)
    if "\x00" in notes or len(notes) > 2000:
        return _done(request, error="Notes are up to 2000 characters of text.", status=400)
    try:
        responsive_after = Answer(request.POST.get("responsive_after", "unknown"))
        ems = EmsOutcome(request.POST.get("ems", "not_needed"))
    except ValueError:
        return _done(request, error="Choose an answer for 'responsive afterwards' and "
                     "'ambulance'.", status=400)
    try:
        incident_outcome(
            incident_id=incident_id, responder=responder, user_id=request.user.pk,
            now=timezone.now(), naloxone_doses=doses,
            responsive_after=responsive_after, ems=ems, referrals=referrals, notes=notes,
        )
    except ActionError as exc:
        return _done(request, error=exc.message, status=exc.status)
    return _done(request, ok="Outcome recorded. Thank you.")
