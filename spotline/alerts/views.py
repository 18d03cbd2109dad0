"""The public alert pages: the current alerts, one alert, and the anonymous report.

Every page works without JavaScript. With it, ``live.js`` keeps the list current: the
``ws/alerts/`` socket says "changed" (ids only) and the page fetches the list again
(``?fragment=1`` or the ``X-Live`` header answer the list alone); while the socket is
down it polls. ``alerts.js`` adds Web Push (``subscribe_views``).

Nothing here keeps who asked: no address, no cookie of ours, no log line with words.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from spotline.alerts.actions.areas import current_alerts
from spotline.alerts.actions.reports import report_receive
from spotline.alerts.forms import AreasForm, EmailForm, ReportForm
from spotline.alerts.models import Alert, AlertStatus, ReportSource
from spotline.alerts.shown import shown
from spotline.errors import Invalid

LIVE_POLL_MS = 30_000  # while the socket is down: alerts change in hours, not seconds


def _language(request: HttpRequest) -> str:
    return getattr(request, "LANGUAGE_CODE", "") or "en"


def current(request: HttpRequest) -> list[Any]:
    language = _language(request)
    return [shown(alert, language)
            for alert in current_alerts(timezone.now()).prefetch_related("areas")]


def index_page(request: HttpRequest, *, email_form: EmailForm | None = None,
               status: int = 200) -> HttpResponse:
    """The alerts page; ``email_form`` bound: shown again with what needs fixing."""
    form = email_form or EmailForm()
    return render(request, "alerts/index.html", {
        "alerts": current(request), "form": form,
        "vapid": settings.SPOTLINE_VAPID_PUBLIC_KEY,
        "sms_number": settings.TWILIO_FROM_NUMBER,
        "org": settings.SPOTLINE_ORG_NAME, "poll_ms": LIVE_POLL_MS,
    }, status=status)


@require_safe
def index(request: HttpRequest) -> HttpResponse:
    if request.GET.get("fragment") == "1" or request.headers.get("X-Live") == "1":
        response = render(request, "alerts/_list.html", {"alerts": current(request)})
        response["Cache-Control"] = "no-store"
        return response
    return index_page(request)


def published(alert_id: int) -> Alert:
    """An alert that was ever published (drafts and discarded drafts: 404)."""
    alert = (Alert.objects.filter(pk=alert_id, published_at__isnull=False)
             .exclude(status=AlertStatus.DRAFT).prefetch_related("areas").first())
    if alert is None:
        raise Http404("no such alert")
    return alert


@require_safe
def detail(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = published(alert_id)
    view = shown(alert, _language(request))
    now = timezone.now()
    return render(request, "alerts/detail.html", {
        "a": view, "expired": alert.status == AlertStatus.PUBLISHED and alert.expires <= now,
        "cap_url": (f"/alerts/{alert.pk}.cancel.cap.xml" if view.cancelled
                    else f"/alerts/{alert.pk}.cap.xml"),
        "org": settings.SPOTLINE_ORG_NAME,
    })


# Like the help form, the report form is exempt from CSRF: it acts for nobody signed
# in, so a forged post can do nothing the forger could not do directly, while a phone
# that drops cookies would otherwise get a 403 instead of being heard.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    """An anonymous report of a bad supply: a plain form, no JavaScript needed."""
    form = ReportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            report_receive(source=ReportSource.WEB, substance=data["substance"],
                           signs=data["signs"], looked_like=data["looked_like"],
                           what_happened=data["what_happened"],
                           area_id=data["area"].pk if data["area"] else None,
                           now=timezone.now())
        except Invalid as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("alerts:report_thanks")
    return render(request, "alerts/report.html", {
        "form": form, "org": settings.SPOTLINE_ORG_NAME,
        "sms_number": settings.TWILIO_FROM_NUMBER,
    }, status=400 if request.method == "POST" else 200)


@require_safe
def report_thanks(request: HttpRequest) -> HttpResponse:
    return render(request, "alerts/report_thanks.html", {"org": settings.SPOTLINE_ORG_NAME})


def areas_chosen(form: AreasForm) -> str:
    """What a subscription covers, in words: for the answer after subscribing."""
    if form.cleaned_data.get("all"):
        return gettext("all areas")
    return ", ".join(area.name for area in form.cleaned_data.get("areas") or [])
