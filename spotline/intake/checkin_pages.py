"""The check-in pages: start one (or reuse a saved plan), and a page with one big
"I'm OK" button."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from spotline.checkins import actions, plans
from spotline.core.checkin import OnMiss, Send
from spotline.core.geo import Point
from spotline.core.lifecycle import State
from spotline.core.stage import Stage
from spotline.dispatch.presenters import tracking
from spotline.errors import ActionError, NotFound
from spotline.intake.checkin_forms import StartForm
from spotline.intake.guidance import steps_for

# Stages in which someone has accepted: only then is help "on the way".
COMING = frozenset({Stage.ACCEPTED, Stage.EN_ROUTE, Stage.ON_SCENE})


def _initial(plan: plans.Plan) -> dict[str, Any]:
    sends = {s.value for s in (plan.send or {Send.RESPONDERS})}
    if plan.on_miss is OnMiss.RESPONDERS_AND_EMS:
        sends.add(Send.EMS.value)
    trusted = plan.trusted
    return {"where": plan.description, "access": plan.access, "minutes": plan.minutes,
            "lat": plan.location.lat if plan.location else None,
            "lon": plan.location.lon if plan.location else None,
            "send": sorted(sends), "phone": plan.phone,
            "trusted_name": trusted.name if trusted else "",
            "trusted_phone": trusted.phone if trusted else "",
            "from_name": trusted.from_name if trusted else ""}


def _start(request: HttpRequest, form: StartForm, *, plan_token: str = "") -> HttpResponse:
    d = form.cleaned_data
    point = Point(d["lat"], d["lon"]) if d.get("lat") is not None else None
    send = frozenset(Send(v) for v in d["send"])
    trusted = (plans.Trusted(phone=d["trusted_phone"], name=d.get("trusted_name") or "",
                               from_name=d.get("from_name") or "")
               if Send.TRUSTED in send else None)
    now = timezone.now()
    started = actions.checkin_start(
        location=point, description=d.get("where") or "", access=d.get("access") or "",
        minutes=d["minutes"], on_miss=OnMiss.RESPONDERS, send=send, trusted=trusted,
        phone=d.get("phone") or "", language=request.LANGUAGE_CODE or "en", now=now,
        save_plan=bool(d.get("save_plan")) and not plan_token)
    if plan_token:
        plans.plan_used(token=plan_token, now=now)
    url = reverse("checkins:page", args=[started.token])
    if started.plan_token:
        # In the fragment, which never reaches a server or its logs: the page's script
        # keeps it on this phone and shows the link to reuse the plan.
        url += f"#plan={started.plan_token}"
    return redirect(url)


@csrf_exempt  # a public page acting for no signed-in user (see intake.views)
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    form = StartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        return _start(request, form)
    return render(request, "checkins/start.html", {"form": form},
                  status=400 if request.method == "POST" else 200)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def plan(request: HttpRequest, plan_token: str) -> HttpResponse:
    """A saved plan: the start form filled in from it, and a way to delete it."""
    return _plan_form(request, plan_token, submitted=request.method == "POST")


def _plan_form(request: HttpRequest, plan_token: str, *, submitted: bool) -> HttpResponse:
    """The start form filled in from the saved plan; ``submitted``: the form came back
    filled, and starts the check-in if it is valid."""
    try:
        saved = plans.plan_load(plan_token)
    except NotFound:
        return render(request, "checkins/plan_gone.html", status=404)
    form = StartForm(request.POST if submitted else None, initial=_initial(saved))
    if submitted and form.is_valid():
        return _start(request, form, plan_token=plan_token)
    return render(request, "checkins/start.html", {"form": form, "plan_token": plan_token},
                  status=400 if submitted else 200)


@csrf_exempt
@require_POST
def plan_delete(request: HttpRequest, plan_token: str) -> HttpResponse:
    plans.plan_delete(token=plan_token)
    # The same answer whether or not it existed.
    return render(request, "checkins/plan_gone.html", {"deleted": True})


# The saved plan's token travels in the URL fragment (``/checkin/#plan=…``), which no
# browser sends to a server, and reaches us only in a POST body (checkin.js sends it,
# or the person pastes the link without JavaScript): never in a path or a log line.
_PLAN_TOKEN = re.compile(r"(?:plan=|/p/)?([A-Za-z0-9_-]{16,64})/?\s*$")


def _posted_plan_token(request: HttpRequest) -> str:
    raw = (request.POST.get("plan_token") or request.POST.get("plan_link") or "").strip()
    found = _PLAN_TOKEN.search(raw[-200:])
    return found.group(1) if found else ""


@csrf_exempt
@require_POST
def plan_posted(request: HttpRequest) -> HttpResponse:
    """A saved plan by the token in the POST body: ``open`` shows the start form filled
    in from it; the filled form sent back starts the check-in."""
    plan_token = _posted_plan_token(request)
    if not plan_token:
        return render(request, "checkins/plan_gone.html", status=404)
    return _plan_form(request, plan_token, submitted=request.POST.get("step") != "open")


@csrf_exempt
@require_POST
def plan_posted_delete(request: HttpRequest) -> HttpResponse:
    plan_token = _posted_plan_token(request)
    if plan_token:
        plans.plan_delete(token=plan_token)
    return render(request, "checkins/plan_gone.html", {"deleted": True})


def page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        checkin = actions.checkin_by_token(token)
    except NotFound:
        raise Http404("no such check-in") from None
    now = timezone.now()
    context = {"checkin": checkin, "token": token, "now": now,
               "grace": settings.SPOTLINE_CHECKIN_GRACE_SECONDS,
               "trusted_texted": Send.TRUSTED.value in checkin.send}
    if checkin.incident is not None:
        t = tracking(checkin.incident, now=now)
        context["t"] = t
        context["coming"] = t.stage in COMING
        context["can_call_off"] = not t.closed and t.stage != Stage.ON_SCENE
        context["called_off"] = checkin.incident.state == State.CANCELLED
        context["guidance"] = steps_for(checkin.incident.kind, request.LANGUAGE_CODE or "en")
    return render(request, "checkins/page.html", context)


@csrf_exempt
@require_POST
def answer(request: HttpRequest, token: str, what: str) -> HttpResponse:
    try:
        checkin = actions.checkin_by_token(token)
        if what == "ok":
            actions.checkin_ok(checkin_id=checkin.pk, now=timezone.now())
        elif what == "done":
            actions.checkin_done(checkin_id=checkin.pk, now=timezone.now())
        elif what == "call-off":
            if request.POST.get("confirm") != "yes":
                # Asked first (a stray tap must not send help away), without JavaScript.
                return render(request, "checkins/call_off.html", {"token": token})
            actions.checkin_call_off(checkin_id=checkin.pk, now=timezone.now())
        else:
            raise Http404("no such answer")
    except NotFound:
        raise Http404("no such check-in") from None
    except ActionError:
        pass  # help was already sent: the page says so
    return redirect("checkins:page", token=token)
