"""The dispatcher console: the live queue, the map, an incident and its actions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from spotline.accounts.models import Role
from spotline.audit.actions import atomic as audit_atomic
from spotline.audit.actions import record
from spotline.checkins.models import CheckIn, CheckInDeadline
from spotline.console.access import coordinator_required, dispatcher_required
from spotline.console.alert_review import counts as alert_counts
from spotline.console.forms import CallerIncidentForm, GuidanceForm, LandmarkForm
from spotline.console.place_views import find
from spotline.console.replies import reply
from spotline.core.checkin import OPEN_STATES
from spotline.core.lifecycle import OPEN, State
from spotline.core.policy import Actor, EscalationTarget
from spotline.dispatch.actions.dispatcher import (
    incident_assign,
    incident_cancel,
    incident_escalate,
    incident_note,
)
from spotline.dispatch.actions.opening import incident_open
from spotline.dispatch.actions.reports import incident_report
from spotline.dispatch.models import Incident, SafetyTimer, Source, Timer
from spotline.dispatch.presenters import (
    assign_choices,
    responder_busy_map,
    responders_roster,
)
from spotline.dispatch.words import event_sentence, word
from spotline.errors import ActionError
from spotline.intake.forms import request_from
from spotline.intake.models import Guidance
from spotline.places.models import Landmark
from spotline.responders.models import Responder
from spotline.timers import engine

# How long an incident closed as "could not find them" stays on the console's front page.
NOT_FOUND_SHOWN = timedelta(hours=1)


def _map_settings() -> dict[str, str]:
    return {"tiles": settings.SPOTLINE_TILE_URL,
            "attribution": settings.SPOTLINE_TILE_ATTRIBUTION,
            "centre": settings.SPOTLINE_MAP_CENTRE}


def _is_coordinator(request: HttpRequest) -> bool:
    profile = getattr(request.user, "profile", None)
    return request.user.is_superuser or (profile is not None
                                         and profile.role == Role.COORDINATOR)


@dispatcher_required
def index(request: HttpRequest) -> HttpResponse:
    incidents = list(
        Incident.objects.filter(state__in=[s.value for s in OPEN])
        .select_related("assigned_responder__user")
        .order_by("priority", "opened_at")
    )
    # The queue shows the words of a place not found yet (so someone can find it): a
    # look at the location, audited like the incident's page, names of fields only.
    unplaced = [i.pk for i in incidents
                if i.location_status == "unknown" and i.location_description]
    if unplaced:
        looked_at = timezone.now()
        with audit_atomic():
            for pk in unplaced:
                record("incident.view", object_type="incident", object_id=pk,
                       now=looked_at, actor="user", actor_user_id=request.user.pk,
                       fields=["location"])
    # Closed as "could not find them" lately: the person may still need help, and a
    # closed incident leaves the queue, so it is shown apart (core.unserved).
    not_found = list(Incident.objects.filter(
        state=State.UNABLE_TO_LOCATE.value,
        closed_at__gte=timezone.now() - NOT_FOUND_SHOWN)
        .only("id", "priority", "kind", "closed_at").order_by("-closed_at")[:20])
    busy = responder_busy_map()
    roster = [(r, busy.get(r.pk)) for r in responders_roster()]
    running = [s.value for s in OPEN_STATES]
    checkins = list(CheckIn.objects.filter(state__in=running).order_by("next_at")
                    .values("pk", "state", "next_at")[:50])
    safety = list(SafetyTimer.objects.filter(state__in=running).order_by("next_at")
                  .select_related("responder__user")[:50])
    return render(request, "console/index.html", {
        # Timer rows the engine keeps retrying after repeated failures (its alert).
        "failing_timers": (engine.failing_count(Timer)
                           + engine.failing_count(CheckInDeadline)),
        "checkins": checkins, "safety": safety,
        "incidents": incidents, "roster": roster, "now": timezone.now(),
        "not_found": not_found,
        "caller_form": CallerIncidentForm(), "map": _map_settings(),
        "coordinator": _is_coordinator(request),
        "alert_counts": alert_counts() if _is_coordinator(request) else None,
    })


def _incident(incident_id: int) -> Incident:
    incident = (Incident.objects.select_related("assigned_responder__user")
                .filter(pk=incident_id).first())
    if incident is None:
        raise Http404("no such incident")
    return incident


@dispatcher_required
def detail(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = _incident(incident_id)
    notes = list(incident.notes.all())
    # Every look at the sensitive fields is audited, live refreshes included: the
    # names of the fields on the page, never their values.
    shown = [name for name, value in (
        ("location", incident.lat is not None or incident.location_description),
        ("details", incident.details), ("callback_phone", incident.callback_phone),
        ("notes", notes)) if value]
    with audit_atomic():
        record("incident.view", object_type="incident", object_id=incident.pk,
               now=timezone.now(), actor="user", actor_user_id=request.user.pk, fields=shown)
    # "Assign" preselects the nearest free responder; nobody off shift, ever.
    groups, best = assign_choices(incident) if incident.is_open else ([], None)
    return render(request, "console/detail.html", {
        "incident": incident, "now": timezone.now(),
        "timeline": _timeline(incident),
        "notes": notes,
        "offers": incident.offers.select_related("responder__user").order_by("round", "id"),
        "assign_groups": groups, "assign_best": best,
        "targets": [t.value for t in EscalationTarget],
        "map": _map_settings(),
        "found": find(request.GET.get("q")) if incident.is_open else None,
    })


def _timeline(incident: Incident) -> list[tuple[datetime, str, str]]:
    """The incident's events as (when, who, what happened) in the reader's words."""
    events = list(incident.events.all())
    ids = {i for e in events for i in (e.data.get("responder_ids") or [])}
    ids |= {e.data["responder_id"] for e in events if e.data.get("responder_id")}
    names = {r.pk: r.display_name
             for r in Responder.objects.filter(pk__in=ids).select_related("user")}
    return [(e.at, word("actor", e.actor), event_sentence(e.type, e.data, names))
            for e in events]


def _act(request: HttpRequest, incident_id: int, fn: Callable[[], object], done: str
         ) -> HttpResponse:
    """Run one action. Script-driven forms get JSON; plain forms get a redirect."""
    is_fetch = request.headers.get("X-Requested-With") == "fetch"
    try:
        fn()
    except ActionError as exc:
        if is_fetch:
            return JsonResponse({"detail": reply(exc)}, status=exc.status)
        messages.error(request, reply(exc))
    else:
        if is_fetch:
            return JsonResponse({"detail": done})
        messages.success(request, done)
    return redirect("console:detail", incident_id=incident_id)


def _bad(request: HttpRequest, incident_id: int, message: str) -> HttpResponse:
    if request.headers.get("X-Requested-With") == "fetch":
        return JsonResponse({"detail": message}, status=400)
    messages.error(request, message)
    return redirect("console:detail", incident_id=incident_id)


@require_POST
@dispatcher_required
def assign(request: HttpRequest, incident_id: int) -> HttpResponse:
    try:
        responder_id = int(request.POST.get("responder_id", ""))
    except ValueError:
        return _bad(request, incident_id, _("Choose a responder."))
    return _act(request, incident_id, lambda: incident_assign(
        incident_id=incident_id, responder_id=responder_id, user_id=request.user.pk,
        now=timezone.now()), _("Assigned."))


@require_POST
@dispatcher_required
def escalate(request: HttpRequest, incident_id: int) -> HttpResponse:
    try:
        target = EscalationTarget(request.POST.get("to", ""))
    except ValueError:
        return _bad(request, incident_id, _("Choose what to escalate to."))
    return _act(request, incident_id, lambda: incident_escalate(
        incident_id=incident_id, to=target, user_id=request.user.pk, now=timezone.now()),
        _("Escalated to %(target)s.") % {"target": word("target", target)})


@require_POST
@dispatcher_required
def cancel(request: HttpRequest, incident_id: int) -> HttpResponse:
    return _act(request, incident_id, lambda: incident_cancel(
        incident_id=incident_id, actor=Actor.DISPATCHER, user_id=request.user.pk,
        now=timezone.now()), _("Cancelled."))


@require_POST
@dispatcher_required
def note(request: HttpRequest, incident_id: int) -> HttpResponse:
    return _act(request, incident_id, lambda: incident_note(
        incident_id=incident_id, text=request.POST.get("text", ""), user_id=request.user.pk,
        now=timezone.now()), _("Note added."))


@require_POST
@dispatcher_required
def report(request: HttpRequest, incident_id: int) -> HttpResponse:
    """A status change on the responder's behalf (they phoned it in)."""
    return _act(request, incident_id, lambda: incident_report(
        incident_id=incident_id, type=request.POST.get("type", ""), responder=None,
        user_id=request.user.pk, now=timezone.now()), _("Updated."))


@dispatcher_required
def new_incident(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and "find" in request.POST:
        # "Find" (the way without JavaScript): the form again as it was, with the places
        # its words may mean to choose from; nothing is checked or opened yet.
        return render(request, "console/new.html", {
            "form": CallerIncidentForm(initial=request.POST.dict()),
            "found": find(request.POST.get("where")), "map": _map_settings()})
    form = CallerIncidentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        opened = incident_open(replace(
            request_from(data, source=Source.OPERATOR, opened_by_user_id=request.user.pk),
            located_by=data["located_by"], accuracy_m=data["radius_m"]), now=timezone.now())
        messages.success(request, _("Incident %(n)s opened for the caller.")
                         % {"n": opened.incident.pk})
        return redirect("console:detail", incident_id=opened.incident.pk)
    return render(request, "console/new.html", {"form": form, "map": _map_settings()},
                  status=400 if request.method == "POST" else 200)


@coordinator_required
def setup(request: HttpRequest) -> HttpResponse:
    """Coordinator settings: first-aid guidance and named landmarks."""
    guidance_form = GuidanceForm(prefix="g")
    landmark_form = LandmarkForm(prefix="l")
    if request.method == "POST":
        if "g-kind" in request.POST:
            existing = Guidance.objects.filter(
                kind=request.POST.get("g-kind", ""),
                language=request.POST.get("g-language", "")).first()
            guidance_form = GuidanceForm(request.POST, prefix="g", instance=existing)
            if guidance_form.is_valid():
                guidance_form.save()
                messages.success(request, _("Guidance saved."))
                return redirect("console:setup")
        else:
            landmark_form = LandmarkForm(request.POST, prefix="l")
            if landmark_form.is_valid():
                landmark_form.save()
                messages.success(request, _("Landmark added."))
                return redirect("console:setup")
    return render(request, "console/setup.html", {
        "guidance": Guidance.objects.order_by("kind", "language"),
        "landmarks": Landmark.objects.all(),
        "guidance_form": guidance_form, "landmark_form": landmark_form,
    }, status=400 if request.method == "POST" else 200)
