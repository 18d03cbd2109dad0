"""The minimal dispatcher console: the queue, an incident, and its actions."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from spotline.accounts.models import Role
from spotline.core.lifecycle import OPEN
from spotline.core.policy import Actor, EscalationTarget
from spotline.dispatch import actions
from spotline.dispatch.errors import ActionError
from spotline.dispatch.models import Incident
from spotline.dispatch.presenters import responder_busy_map, responders_roster

View = Callable[..., HttpResponse]


def dispatcher_required(view: View) -> View:
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        profile = getattr(request.user, "profile", None)
        if profile is None or profile.role not in (Role.DISPATCHER, Role.COORDINATOR):
            raise Http404("not found")
        return view(request, *args, **kwargs)

    return wrapped


@dispatcher_required
def index(request: HttpRequest) -> HttpResponse:
    incidents = (
        Incident.objects.filter(state__in=[s.value for s in OPEN])
        .select_related("assigned_responder")
        .order_by("priority", "opened_at")
    )
    busy = responder_busy_map()
    roster = [(r, busy.get(r.pk)) for r in responders_roster()]
    return render(request, "console/index.html",
                  {"incidents": incidents, "roster": roster, "now": timezone.now()})


def _incident(incident_id: int) -> Incident:
    incident = Incident.objects.select_related("assigned_responder").filter(pk=incident_id).first()
    if incident is None:
        raise Http404("no such incident")
    return incident


@dispatcher_required
def detail(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = _incident(incident_id)
    busy = responder_busy_map()
    return render(request, "console/detail.html", {
        "incident": incident,
        "events": incident.events.all(),
        "offers": incident.offers.select_related("responder").order_by("round", "id"),
        "roster": [(r, busy.get(r.pk)) for r in responders_roster()],
        "targets": [t.value for t in EscalationTarget],
    })


def _act(request: HttpRequest, incident_id: int, fn: Callable[[], object], done: str
         ) -> HttpResponse:
    try:
        fn()
        messages.success(request, done)
    except ActionError as exc:
        messages.error(request, exc.message)
    return redirect("console:detail", incident_id=incident_id)


@require_POST
@dispatcher_required
def assign(request: HttpRequest, incident_id: int) -> HttpResponse:
    try:
        responder_id = int(request.POST.get("responder_id", ""))
    except ValueError:
        messages.error(request, "Choose a responder.")
        return redirect("console:detail", incident_id=incident_id)
    return _act(request, incident_id, lambda: actions.incident_assign(
        incident_id=incident_id, responder_id=responder_id, user_id=request.user.pk,
        now=timezone.now()), "Assigned.")


@require_POST
@dispatcher_required
def escalate(request: HttpRequest, incident_id: int) -> HttpResponse:
    try:
        target = EscalationTarget(request.POST.get("to", ""))
    except ValueError:
        messages.error(request, "Choose what to escalate to.")
        return redirect("console:detail", incident_id=incident_id)
    return _act(request, incident_id, lambda: actions.incident_escalate(
        incident_id=incident_id, to=target, user_id=request.user.pk, now=timezone.now()),
        f"Escalated: {target.value}.")


@require_POST
@dispatcher_required
def cancel(request: HttpRequest, incident_id: int) -> HttpResponse:
    return _act(request, incident_id, lambda: actions.incident_cancel(
        incident_id=incident_id, actor=Actor.DISPATCHER, user_id=request.user.pk,
        now=timezone.now()), "Cancelled.")
