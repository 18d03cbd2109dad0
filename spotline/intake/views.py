from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from spotline.core.geo import Point
from spotline.core.policy import Actor
from spotline.core.triage import Answer, Kind
from spotline.dispatch import actions
from spotline.dispatch.models import Source
from spotline.dispatch.presenters import tracking
from spotline.errors import ActionError, NotFound
from spotline.intake.forms import HelpForm
from spotline.intake.guidance import steps_for


# The public pages are exempt from CSRF on purpose: they act for no signed-in user, so
# a forged request can do nothing the forger could not do directly, while a cheap
# phone that drops cookies would otherwise get a 403 instead of help.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def help_form(request: HttpRequest) -> HttpResponse:
    """The public help page. A plain form POST: works with JavaScript off."""
    form = HelpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        point = Point(d["lat"], d["lon"]) if d.get("lat") is not None else None
        opened = actions.incident_open(
            kind=Kind(d["kind"]),
            location=point,
            description=d.get("where") or "",
            details=d.get("details") or "",
            breathing=Answer(d["breathing"]),
            conscious=Answer(d["conscious"]),
            danger=Answer(d.get("danger") or "unknown"),
            callback_phone=d.get("callback_phone") or "",
            language=request.LANGUAGE_CODE or "en",
            source=Source.WEB,
            now=timezone.now(),
        )
        return redirect("intake:status", token=opened.tracking_token)
    status = 400 if request.method == "POST" else 200
    return render(request, "intake/help.html", {
        "form": form, "org": settings.SPOTLINE_ORG_NAME,
        "tiles": settings.SPOTLINE_TILE_URL, "attribution": settings.SPOTLINE_TILE_ATTRIBUTION,
        "has_landmarks": form.fields["landmark"].queryset.exists(),  # type: ignore[attr-defined]
    }, status=status)


def status(request: HttpRequest, token: str) -> HttpResponse:
    try:
        incident = actions.incident_by_token(token)
    except NotFound:
        raise Http404("no such request") from None
    view = tracking(incident, now=timezone.now())
    return render(request, "intake/status.html", {
        "t": view, "token": token, "hotline": settings.SPOTLINE_HOTLINE,
        "org": settings.SPOTLINE_ORG_NAME,
        "guidance": steps_for(incident.kind, request.LANGUAGE_CODE or "en"),
    })


@csrf_exempt
@require_POST
def cancel(request: HttpRequest, token: str) -> HttpResponse:
    try:
        incident = actions.incident_by_token(token)
        actions.incident_cancel(incident_id=incident.pk, actor=Actor.PERSON, user_id=None,
                                now=timezone.now())
    except NotFound:
        raise Http404("no such request") from None
    except ActionError:
        pass  # a responder is already with them: the status page says so
    return redirect("intake:status", token=token)
