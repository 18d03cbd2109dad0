"""The minimal responder page: shift, offers, accept, status buttons, outcome."""

from __future__ import annotations

import math

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from spotline.accounts.twofactor import verified_required
from spotline.audit.actions import atomic as audit_atomic
from spotline.core.geo import Point
from spotline.core.lifecycle import HELD
from spotline.core.policy import OfferStatus
from spotline.core.triage import Kind
from spotline.dispatch.actions.offers import offer_accept, offer_decline
from spotline.dispatch.actions.reports import incident_outcome, incident_report
from spotline.dispatch.actions.shifts import OffersOpen, shift_set
from spotline.dispatch.models import Incident, Offer, Outcome
from spotline.dispatch.presenters import offer_area, offer_distance_m
from spotline.dispatch.words import word
from spotline.errors import ActionError
from spotline.field import outcomes
from spotline.field.alerts import alerts_for, unusual_report
from spotline.field.replies import reply
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
    for offer in offers:  # what the card may show before accepting: never the place
        offer.shown_distance_m = offer_distance_m(offer)  # type: ignore[attr-defined]
        offer.shown_area = offer_area(offer)  # type: ignore[attr-defined]
    current = (Incident.objects.filter(assigned_responder=responder)
               .filter(state__in=[s.value for s in HELD]).first())
    recent = list(Incident.objects.filter(assigned_responder=responder, closed_at__isnull=False,
                                      purged_at__isnull=True, on_scene_at__isnull=False)
              .order_by("-closed_at")[:3])
    saved = {o.incident_id: o for o in Outcome.objects.filter(incident__in=recent)}
    # Each closed incident shows its saved outcome (edited on a page of its own), or
    # one form to record it: never a form of defaults over a saved outcome.
    closed = [{"incident": i, "state": word("state", i.state),
               "saved": outcomes.summary(saved[i.pk]) if i.pk in saved else None,
               "form": None if i.pk in saved else outcomes.form_values(i, None)}
              for i in recent]
    return render(request, "field/index.html", {
        "responder": responder, "offers": offers, "current": current, "recent": closed,
        "alerts": alerts_for(responder, now=timezone.now()),
        "map": {"tiles": settings.SPOTLINE_TILE_URL,
                "attribution": settings.SPOTLINE_TILE_ATTRIBUTION},
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
        return JsonResponse({"detail": ok or _("Done.")})
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


def _offer_ids(text: str) -> frozenset[int]:
    """The offer ids a confirmation names; anything else in the list is ignored."""
    words = (w.strip() for w in text.split(",")[:100])
    return frozenset(int(w) for w in words if w.isascii() and w.isdigit() and len(w) <= 18)


@require_POST
@verified_required
def shift(request: HttpRequest) -> HttpResponse:
    """On or off shift. Off shift with offers open first shows what it withdraws and
    asks again (a page, so it works without scripts); the confirmation names the
    offers it was shown, so one made in between is asked about too."""
    responder = _responder(request)
    on = request.POST.get("on_shift") == "1"
    withdraw = _offer_ids(request.POST.get("withdraw", ""))
    try:
        shift_set(responder=responder, on_shift=on, location=_point(request),
                  now=timezone.now(), withdraw=None if on else withdraw)
    except OffersOpen as exc:
        if request.headers.get("X-Requested-With") == "fetch":
            return JsonResponse({"detail": reply(exc) + " " + _(
                "Tap 'Go off shift' again to confirm.")}, status=exc.status)
        offers = list(Offer.objects.filter(pk__in=exc.offer_ids).select_related("incident")
                      .order_by("incident__priority", "created_at"))
        return render(request, "field/shift_off.html", {
            "message": reply(exc), "withdraw": ",".join(str(i) for i in exc.offer_ids),
            "offers": offers,
        })
    except ActionError as exc:
        return _done(request, error=reply(exc), status=exc.status)
    if on:
        return _done(request, ok=_("You are on shift."))
    if withdraw:
        return _done(request, ok=_("You are off shift. Your open offers were withdrawn: "
                                   "their incidents are offered to other responders now."))
    return _done(request, ok=_("You are off shift."))


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
        return _done(request, error=reply(exc), status=exc.status)
    return _done(request, ok=_("Accepted. Go now: the location is below.")
                 if answer == "accept" else _("Declined."))


@require_POST
@verified_required
def report(request: HttpRequest, incident_id: int) -> HttpResponse:
    responder = _responder(request)
    try:
        incident_report(incident_id=incident_id, type=request.POST.get("type", ""),
                                responder=responder, user_id=request.user.pk,
                                now=timezone.now())
    except ActionError as exc:
        return _done(request, error=reply(exc), status=exc.status)
    # The page itself shows the new status; a message would only repeat it.
    return _done(request)


@never_cache
@require_http_methods(["GET", "POST"])
@verified_required
def outcome(request: HttpRequest, incident_id: int) -> HttpResponse:
    """GET: the outcome's own page, its form filled with the saved outcome (an edit) or
    blank. POST: record it, or save the edit; a mistake shows the form again as typed."""
    responder = _responder(request)
    incident = Incident.objects.filter(pk=incident_id, assigned_responder=responder).first()
    if incident is None:
        raise Http404("no such incident")
    if request.method == "GET":
        if incident.on_scene_at is None or incident.purged_at is not None:
            return _done(request, error=_("There is no outcome to record for this incident."))
        saved = Outcome.objects.filter(incident=incident).first()
        return render(request, "field/outcome.html",
                      {"form": outcomes.form_values(incident, saved), "edit": saved is not None})
    parsed = outcomes.parse(request.POST)
    if isinstance(parsed, str):
        if request.headers.get("X-Requested-With") == "fetch":
            return JsonResponse({"detail": parsed}, status=400)
        return render(request, "field/outcome.html", {
            "form": outcomes.form_values(incident, None, posted=request.POST),
            "edit": bool(request.POST.get("replaces")), "error": parsed}, status=400)
    now = timezone.now()
    report = parsed.has_unusual and not parsed.replaces and incident.kind == Kind.OVERDOSE.value
    try:
        # One transaction: the outcome and its "something unusual" report are both
        # recorded or neither is, so the responder can simply send the form again.
        with audit_atomic():
            incident_outcome(
                incident_id=incident_id, responder=responder, user_id=request.user.pk,
                now=now, naloxone_doses=parsed.naloxone_doses,
                responsive_after=parsed.responsive_after, ems=parsed.ems,
                referrals=parsed.referrals, notes=parsed.notes, replaces=parsed.replaces,
            )
            if report:
                unusual_report(incident, parsed, now=now)
    except ActionError as exc:
        return _done(request, error=reply(exc), status=exc.status)
    if report:
        return _done(request, ok=_("Outcome recorded, and the unusual signs reported for "
                                   "drug alerts. Thank you."))
    return _done(request, ok=_("Outcome updated.") if parsed.replaces
                 else _("Outcome recorded. Thank you."))
