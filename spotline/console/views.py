"""The dispatcher console: the live queue, the map, an incident and its actions."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from spotline.accounts import twofactor
from spotline.accounts.models import Role
from spotline.audit.actions import atomic as audit_atomic
from spotline.audit.actions import record
from spotline.checkins.models import CheckIn
from spotline.console.forms import CallerIncidentForm, GuidanceForm, LandmarkForm
from spotline.core.checkin import OPEN_STATES
from spotline.core.lifecycle import OPEN
from spotline.core.policy import Actor, EscalationTarget
from spotline.dispatch.actions.dispatcher import (
    incident_assign,
    incident_cancel,
    incident_escalate,
    incident_note,
)
from spotline.dispatch.actions.opening import incident_open
from spotline.dispatch.actions.reports import incident_report
from spotline.dispatch.models import Incident, SafetyTimer, Source
from spotline.dispatch.presenters import responder_busy_map, responders_roster
from spotline.errors import ActionError
from spotline.intake.forms import request_from
from spotline.intake.models import Guidance, Landmark

View = Callable[..., HttpResponse]


def _role_required(*roles: str) -> Callable[[View], View]:
    """Signed in with one of ``roles`` (anyone else: 404), and with a verified second
    factor where SPOTLINE_2FA_ROLES asks for one (else: the code page, then back)."""

    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            profile = getattr(request.user, "profile", None)
            # An admin (superuser) may do whatever a coordinator may.
            if not request.user.is_superuser and (profile is None or profile.role not in roles):
                raise Http404("not found")
            if not twofactor.may_use_staff_pages(request):
                return redirect(twofactor.verify_url(request.get_full_path()))
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


dispatcher_required = _role_required(Role.DISPATCHER, Role.COORDINATOR)
coordinator_required = _role_required(Role.COORDINATOR)


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
    incidents = (
        Incident.objects.filter(state__in=[s.value for s in OPEN])
        .select_related("assigned_responder__user")
        .order_by("priority", "opened_at")
    )
    busy = responder_busy_map()
    roster = [(r, busy.get(r.pk)) for r in responders_roster()]
    running = [s.value for s in OPEN_STATES]
    checkins = list(CheckIn.objects.filter(state__in=running).order_by("next_at")
                    .values("pk", "state", "next_at")[:50])
    safety = list(SafetyTimer.objects.filter(state__in=running).order_by("next_at")
                  .select_related("responder__user")[:50])
    return render(request, "console/index.html", {
        "checkins": checkins, "safety": safety,
        "incidents": incidents, "roster": roster, "now": timezone.now(),
        "caller_form": CallerIncidentForm(), "map": _map_settings(),
        "coordinator": _is_coordinator(request),
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
    busy = responder_busy_map()
    return render(request, "console/detail.html", {
        "incident": incident,
        "events": incident.events.all(),
        "notes": notes,
        "offers": incident.offers.select_related("responder__user").order_by("round", "id"),
        "roster": [(r, busy.get(r.pk)) for r in responders_roster()],
        "targets": [t.value for t in EscalationTarget],
        "map": _map_settings(),
    })


def _act(request: HttpRequest, incident_id: int, fn: Callable[[], object], done: str
         ) -> HttpResponse:
    """Run one action. Script-driven forms get JSON; plain forms get a redirect."""
    is_fetch = request.headers.get("X-Requested-With") == "fetch"
    try:
        fn()
    except ActionError as exc:
        if is_fetch:
            return JsonResponse({"detail": exc.message}, status=exc.status)
        messages.error(request, exc.message)
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
        return _bad(request, incident_id, "Choose a responder.")
    return _act(request, incident_id, lambda: incident_assign(
        incident_id=incident_id, responder_id=responder_id, user_id=request.user.pk,
        now=timezone.now()), "Assigned.")


@require_POST
@dispatcher_required
def escalate(request: HttpRequest, incident_id: int) -> HttpResponse:
    try:
        target = EscalationTarget(request.POST.get("to", ""))
    except ValueError:
        return _bad(request, incident_id, "Choose what to escalate to.")
    return _act(request, incident_id, lambda: incident_escalate(
        incident_id=incident_id, to=target, user_id=request.user.pk, now=timezone.now()),
        f"Escalated: {target.value}.")


@require_POST
@dispatcher_required
def cancel(request: HttpRequest, incident_id: int) -> HttpResponse:
    return _act(request, incident_id, lambda: incident_cancel(
        incident_id=incident_id, actor=Actor.DISPATCHER, user_id=request.user.pk,
        now=timezone.now()), "Cancelled.")


@require_POST
@dispatcher_required
def note(request: HttpRequest, incident_id: int) -> HttpResponse:
    return _act(request, incident_id, lambda: incident_note(
        incident_id=incident_id, text=request.POST.get("text", ""), user_id=request.user.pk,
        now=timezone.now()), "Note added.")


@require_POST
@dispatcher_required
def report(request: HttpRequest, incident_id: int) -> HttpResponse:
    """A status change on the responder's behalf (they phoned it in)."""
    return _act(request, incident_id, lambda: incident_report(
        incident_id=incident_id, type=request.POST.get("type", ""), responder=None,
        user_id=request.user.pk, now=timezone.now()), "Updated.")


@dispatcher_required
def new_incident(request: HttpRequest) -> HttpResponse:
    form = CallerIncidentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        opened = incident_open(request_from(form.cleaned_data, source=Source.OPERATOR,
                                            opened_by_user_id=request.user.pk),
                               now=timezone.now())
        messages.success(request, f"Incident {opened.incident.pk} opened for the caller.")
        return redirect("console:detail", incident_id=opened.incident.pk)
    return render(request, "console/new.html", {"form": form},
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
                messages.success(request, "Guidance saved.")
                return redirect("console:setup")
        else:
            landmark_form = LandmarkForm(request.POST, prefix="l")
            if landmark_form.is_valid():
                landmark_form.save()
                messages.success(request, "Landmark added.")
                return redirect("console:setup")
    return render(request, "console/setup.html", {
        "guidance": Guidance.objects.order_by("kind", "language"),
        "landmarks": Landmark.objects.all(),
        "guidance_form": guidance_form, "landmark_form": landmark_form,
    }, status=400 if request.method == "POST" else 200)


# -- SMS conversations ------------------------------------------------------------------


@dispatcher_required
def sms_list(request: HttpRequest) -> HttpResponse:
    from spotline.intake.models import SmsConversation

    conversations = SmsConversation.objects.filter(closed_at__isnull=True).order_by(
        "-updated_at")[:200]
    return render(request, "console/sms_list.html", {"conversations": conversations})


def _conversation(conversation_id: int) -> Any:
    from spotline.intake.models import SmsConversation

    conversation = SmsConversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        raise Http404("no such conversation")
    return conversation


@dispatcher_required
def sms_detail(request: HttpRequest, conversation_id: int) -> HttpResponse:
    from spotline.intake.sms import transcript
    from spotline.privacy.crypto import unseal

    conversation = _conversation(conversation_id)
    with audit_atomic():
        record("conversation.view", object_type="sms_conversation",
               object_id=conversation.pk, now=timezone.now(), actor="user",
               actor_user_id=request.user.pk, fields=["phone", "transcript"])
    return render(request, "console/sms_detail.html", {
        "conversation": conversation, "transcript": transcript(conversation),
        "phone": unseal(conversation.phone_sealed, context="sms.phone"),
    })


@require_POST
@dispatcher_required
def sms_take(request: HttpRequest, conversation_id: int) -> HttpResponse:
    from spotline.intake.sms import conversation_take_over

    conversation = _conversation(conversation_id)
    take = request.POST.get("take") == "1"
    conversation_take_over(conversation_id=conversation.pk, user_id=request.user.pk,
                           take=take, now=timezone.now())
    messages.success(request, "You are answering this conversation." if take
                     else "Spotline answers this conversation again.")
    return redirect("console:sms-detail", conversation_id=conversation.pk)


@require_POST
@dispatcher_required
def sms_reply(request: HttpRequest, conversation_id: int) -> HttpResponse:
    from spotline.intake.sms import conversation_reply

    conversation = _conversation(conversation_id)
    try:
        conversation_reply(conversation_id=conversation.pk, text=request.POST.get("text", ""),
                           user_id=request.user.pk, now=timezone.now())
        messages.success(request, "Reply queued.")
    except ActionError as exc:
        messages.error(request, exc.message)
    return redirect("console:sms-detail", conversation_id=conversation.pk)
