"""Community drug alerts in the console (coordinators): the review page, composing and
editing a draft, publishing (the two-person rule), updating, cancelling, dismissing a
report or a signal, and entering a drug-checking result.

Each POST makes one action call (``alerts.actions``); a refusal is said in the
coordinator's language (``alert_words.reply``) and nothing is written.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from spotline.alerts.actions.reports import report_dismiss, report_receive
from spotline.alerts.actions.review import (
    AlertFields,
    alert_cancel,
    alert_draft,
    alert_edit,
    alert_publish,
    alert_revise,
)
from spotline.alerts.actions.spikes import signal_dismiss
from spotline.alerts.models import Alert, AlertStatus, Report, Signal
from spotline.console.access import coordinator_required
from spotline.console.alert_forms import AlertForm, DrugCheckForm
from spotline.console.alert_review import review
from spotline.console.alert_words import reply
from spotline.core.alerts import Sign
from spotline.errors import ActionError

DEFAULT_HOURS = 24  # a new alert's expiry, to change


def _uid(request: HttpRequest) -> int:
    """The signed-in coordinator (the decorator let only a signed-in user through)."""
    return int(request.user.pk or 0)


def _review_url(anchor: str = "") -> str:
    return reverse("console:alerts") + (f"#{anchor}" if anchor else "")


@coordinator_required
def alerts(request: HttpRequest) -> HttpResponse:
    return render(request, "console/alerts.html", {
        **review(user_id=_uid(request)), "coordinator": True})


def _next_hour(now: datetime, hours: int) -> datetime:
    local = timezone.localtime(now) + timedelta(hours=hours)
    return local.replace(minute=0, second=0, microsecond=0)


def _prefill(request: HttpRequest, now: datetime) -> dict[str, Any]:
    """A new alert's form from the reports (and the signal) it starts from."""
    # ASCII digits of a size an id can have: "²" is a digit to isdigit(), and an id
    # past 2**63 is an overflow to the database, not a report that is not there.
    ids = [int(v) for v in request.GET.getlist("report")
           if v.isascii() and v.isdigit() and len(v) <= 18][:50]
    reports = list(Report.objects.filter(pk__in=ids).select_related("area"))
    initial: dict[str, Any] = {"expires": _next_hour(now, DEFAULT_HOURS),
                               "reports": [r.pk for r in reports],
                               "areas": [r.area_id for r in reports if r.area_id]}
    substances = [s for r in reports for s in [r.substance, *r.found] if s]
    if substances:
        initial["substance"] = substances[0]
    signs = list(dict.fromkeys(s for r in reports for s in r.signs))
    if any(r.expected and r.found and r.expected not in r.found for r in reports):
        signs.append(Sign.UNEXPECTED_RESULT.value)
    initial["signs"] = list(dict.fromkeys(signs))
    return initial


def _fields(data: dict[str, Any]) -> AlertFields:
    return AlertFields(
        substance=data["substance"], severity=data["severity"], expires=data["expires"],
        area_ids=[a.pk for a in data["areas"]], signs=data["signs"], advice=data["advice"],
        advice_text=data["advice_text"], text=data["text"],
        report_ids=[r.pk for r in data["reports"]])


def _compose(request: HttpRequest, form: AlertForm, alert: Alert | None,
             status: int = 200) -> HttpResponse:
    return render(request, "console/alert_form.html", {
        "form": form, "alert": alert, "coordinator": True}, status=status)


@coordinator_required
def alert_new(request: HttpRequest) -> HttpResponse:
    """GET: a blank draft (or one from the reports ticked). POST: save the draft."""
    now = timezone.now()
    if request.method != "POST":
        return _compose(request, AlertForm(initial=_prefill(request, now)), None)
    form = AlertForm(request.POST)
    if not form.is_valid():
        return _compose(request, form, None, status=400)
    try:
        alert = alert_draft(fields=_fields(form.cleaned_data), user_id=_uid(request),
                            now=now)
    except ActionError as exc:
        form.add_error(None, reply(exc))
        return _compose(request, form, None, status=exc.status)
    messages.success(request, _("Draft %(n)s saved. A coordinator may publish it now.")
                     % {"n": alert.pk})
    return redirect(_review_url(f"alert-{alert.pk}"))


def _alert(alert_id: int) -> Alert:
    alert = Alert.objects.filter(pk=alert_id).first()
    if alert is None:
        raise Http404("no such alert")
    return alert


def _initial(alert: Alert) -> dict[str, Any]:
    return {"substance": alert.substance, "signs": alert.signs, "advice": alert.advice,
            "advice_text": alert.advice_text, "text": alert.text, "severity": alert.severity,
            "expires": timezone.localtime(alert.expires),
            "areas": list(alert.areas.values_list("pk", flat=True)),
            "reports": list(alert.reports.values_list("pk", flat=True))}


@coordinator_required
def alert_change(request: HttpRequest, alert_id: int) -> HttpResponse:
    """A draft's form (a proposed one, or an update of a published alert). Saving it
    makes the editor its author: under the two-person rule, someone else publishes."""
    alert = _alert(alert_id)
    if alert.status != AlertStatus.DRAFT:
        messages.error(request, reply(ActionError(
            "Only a draft can be edited; a published alert is updated with a new version.")))
        return redirect(_review_url(f"alert-{alert.pk}"))
    if request.method != "POST":
        return _compose(request, AlertForm(initial=_initial(alert), alert_id=alert.pk), alert)
    form = AlertForm(request.POST, alert_id=alert.pk)
    if not form.is_valid():
        return _compose(request, form, alert, status=400)
    try:
        alert_edit(alert_id=alert.pk, fields=_fields(form.cleaned_data),
                   user_id=_uid(request), now=timezone.now())
    except ActionError as exc:
        form.add_error(None, reply(exc))
        return _compose(request, form, alert, status=exc.status)
    messages.success(request, _("Draft %(n)s saved. A coordinator may publish it now.")
                     % {"n": alert.pk})
    return redirect(_review_url(f"alert-{alert.pk}"))


@require_POST
@coordinator_required
def publish(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = _alert(alert_id)
    try:
        alert_publish(alert_id=alert.pk, user_id=_uid(request), now=timezone.now())
    except ActionError as exc:
        messages.error(request, _("Not published: %(why)s") % {"why": reply(exc)})
    else:
        messages.success(request, _("Alert %(n)s published: it is on the public page now, "
                                    "and the messages are on their way.") % {"n": alert.pk})
    return redirect(_review_url(f"alert-{alert.pk}"))


@require_POST
@coordinator_required
def revise(request: HttpRequest, alert_id: int) -> HttpResponse:
    """Update a published alert: a draft copy to edit, published as its CAP Update."""
    alert = _alert(alert_id)
    try:
        draft = alert_revise(alert_id=alert.pk, user_id=_uid(request), now=timezone.now())
    except ActionError as exc:
        messages.error(request, reply(exc))
        return redirect(_review_url(f"alert-{alert.pk}"))
    messages.success(request, _("Edit the update, save it, then publish it: it replaces "
                                "alert %(n)s.") % {"n": alert.pk})
    return redirect("console:alert", alert_id=draft.pk)


@coordinator_required
def cancel(request: HttpRequest, alert_id: int) -> HttpResponse:
    """GET: are you sure? POST: withdraw a published alert (or discard a draft)."""
    alert = _alert(alert_id)
    if request.method != "POST":
        return render(request, "console/alert_cancel.html", {
            "alert": alert, "published": alert.status == AlertStatus.PUBLISHED,
            "coordinator": True})
    was_published = alert.status == AlertStatus.PUBLISHED
    try:
        alert_cancel(alert_id=alert.pk, user_id=_uid(request), now=timezone.now())
    except ActionError as exc:
        messages.error(request, reply(exc))
    else:
        messages.success(request, _("Alert %(n)s withdrawn: everyone who got it is told.")
                         % {"n": alert.pk} if was_published
                         else _("Draft %(n)s discarded.") % {"n": alert.pk})
    return redirect(_review_url("alerts-current"))


@require_POST
@coordinator_required
def dismiss_report(request: HttpRequest, report_id: int) -> HttpResponse:
    try:
        report_dismiss(report_id=report_id, user_id=_uid(request), now=timezone.now())
    except ActionError as exc:
        raise Http404(exc.message) from None
    messages.success(request, _("Report %(n)s dismissed.") % {"n": report_id})
    return redirect(_review_url("reports"))


@require_POST
@coordinator_required
def dismiss_signal(request: HttpRequest, signal_id: int) -> HttpResponse:
    if not Signal.objects.filter(pk=signal_id).exists():
        raise Http404("no such signal")
    signal_dismiss(signal_id=signal_id, user_id=_uid(request), now=timezone.now())
    messages.success(request, _("Signal dismissed."))
    return redirect(_review_url("signals"))


@coordinator_required
def drug_check(request: HttpRequest) -> HttpResponse:
    """A drug-checking result, entered by staff, in as a report (source drug_check)."""
    form = DrugCheckForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            found = list(data["found"])
            expected = data["expected"] or ""
            unexpected = bool(expected) and expected not in found
            try:
                report = report_receive(
                    source="drug_check", now=timezone.now(), expected=expected, found=found,
                    substance=found[0] if len(found) == 1 else "", method=data["method"],
                    signs=[Sign.UNEXPECTED_RESULT.value] if unexpected else [],
                    area_id=data["area"].pk if data["area"] else None,
                    what_happened=data["notes"])
            except ActionError as exc:
                form.add_error(None, reply(exc))
                status = exc.status
            else:
                messages.success(request, _("Drug-checking result saved as report %(n)s.")
                                 % {"n": report.pk})
                return redirect(_review_url("reports"))
    return render(request, "console/drug_check.html", {"form": form, "coordinator": True},
                  status=status)
