"""The check-in pages: start one, and a page with one big "I'm OK" button."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from spotline.checkins import actions
from spotline.checkins.forms import StartForm
from spotline.core.checkin import OnMiss
from spotline.core.geo import Point
from spotline.dispatch.errors import ActionError, NotFound
from spotline.dispatch.presenters import tracking
from spotline.intake.guidance import steps_for


@csrf_exempt  # a public page acting for no signed-in user (see intake.views)
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest) -> HttpResponse:
    form = StartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        point = Point(d["lat"], d["lon"]) if d.get("lat") is not None else None
        started = actions.checkin_start(
            location=point, description=d.get("where") or "", minutes=d["minutes"],
            on_miss=OnMiss(d["on_miss"]), phone=d.get("phone") or "",
            language=request.LANGUAGE_CODE or "en", now=timezone.now())
        return redirect("checkins:page", token=started.token)
    return render(request, "checkins/start.html", {"form": form},
                  status=400 if request.method == "POST" else 200)


def page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        checkin = actions.checkin_by_token(token)
    except NotFound:
        raise Http404("no such check-in") from None
    now = timezone.now()
    context = {"checkin": checkin, "token": token, "now": now,
               "grace": settings.SPOTLINE_CHECKIN_GRACE_SECONDS}
    if checkin.incident is not None:
        context["t"] = tracking(checkin.incident, now=now)
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
        else:
            raise Http404("no such answer")
    except NotFound:
        raise Http404("no such check-in") from None
    except ActionError:
        pass  # help was already sent: the page says so
    return redirect("checkins:page", token=token)
