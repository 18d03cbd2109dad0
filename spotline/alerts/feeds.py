"""Alerts for other systems: each alert's CAP 1.2 message, and an Atom feed of them.

- ``/alerts/<id>.cap.xml``: the alert's latest message (Alert or Update) exactly as it
  was validated and stored, never rebuilt. A draft or an unknown id: 404. A cancelled
  alert: 410 Gone, and its Cancel message at ``/alerts/<id>.cancel.cap.xml``. A
  superseded one: 301 to the alert that replaces it now.
- ``/alerts/feed.atom``: Atom 1.0 (RFC 4287), one entry per current alert (its latest
  message) and per Cancel of an alert whose expiry has not passed, so a system that took
  the alert in also learns it was withdrawn. Each entry links its CAP message
  (``type="application/cap+xml"``) and the alert's page.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.utils import timezone
from django.views.decorators.http import require_safe

from spotline.alerts import cap
from spotline.alerts.actions.areas import current_alerts
from spotline.alerts.models import Alert, AlertStatus, CapMessage, MsgType
from spotline.alerts.shown import newest
from spotline.alerts.views import published

CAP_TYPE = "application/cap+xml; charset=utf-8"
ATOM = "http://www.w3.org/2005/Atom"


def _cap_response(message: CapMessage) -> HttpResponse:
    response = HttpResponse(message.xml.encode(), content_type=CAP_TYPE)
    response["Cache-Control"] = "public, max-age=60"
    return response


def _latest(alert: Alert, *msg_types: str) -> CapMessage:
    message = (alert.cap_messages.filter(msg_type__in=msg_types).order_by("-sent", "-pk")
               .first())
    if message is None:
        raise Http404("no such message")
    return message


@require_safe
def cap_xml(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = published(alert_id)
    if alert.status == AlertStatus.CANCELLED:
        return HttpResponse(
            f"Alert {alert.pk} was withdrawn (cancelled). Its CAP Cancel message is at "
            f"{settings.SPOTLINE_SITE_URL}/alerts/{alert.pk}.cancel.cap.xml\n",
            status=410, content_type="text/plain; charset=utf-8")
    if alert.status == AlertStatus.SUPERSEDED:
        newer = newest(alert)
        if newer.pk != alert.pk:
            return HttpResponsePermanentRedirect(f"/alerts/{newer.pk}.cap.xml")
    return _cap_response(_latest(alert, MsgType.ALERT, MsgType.UPDATE))


@require_safe
def cancel_cap_xml(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = published(alert_id)
    if alert.status != AlertStatus.CANCELLED:
        raise Http404("not cancelled")
    return _cap_response(_latest(alert, MsgType.CANCEL))


# -- the Atom feed ---------------------------------------------------------------------------


def atom_time(moment: datetime) -> str:
    return cap.cap_time(moment)  # RFC 3339 with an explicit offset, as Atom wants


def _entry_id(message: CapMessage) -> str:
    """A tag: URI (RFC 4151) naming this CAP message for good."""
    host = urlsplit(settings.SPOTLINE_SITE_URL).hostname or "localhost"
    return f"tag:{host},{message.sent:%Y-%m-%d}:alerts/cap/{message.identifier}"


def _add(parent: ET.Element, tag: str, text: str = "", **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text:
        element.text = text
    return element


def _entries(now: datetime) -> list[tuple[Alert, CapMessage]]:
    """(alert, message): the current alerts' latest messages, then recent Cancels."""
    found = []
    for alert in current_alerts(now).prefetch_related("areas"):
        message = (alert.cap_messages.exclude(msg_type=MsgType.CANCEL)
                   .order_by("-sent", "-pk").first())
        if message is not None:
            found.append((alert, message))
    for message in (CapMessage.objects.filter(msg_type=MsgType.CANCEL,
                                              alert__status=AlertStatus.CANCELLED,
                                              alert__expires__gt=now)
                    .select_related("alert").order_by("-sent", "-pk")):
        found.append((message.alert, message))
    return found


def _entry(feed: ET.Element, alert: Alert, message: CapMessage, language: str) -> None:
    site = settings.SPOTLINE_SITE_URL
    entry = _add(feed, "entry")
    cancelled = message.msg_type == MsgType.CANCEL
    title = cap.headline(alert, language)
    _add(entry, "title", f"[{message.msg_type}] {title}" if cancelled else title)
    _add(entry, "id", _entry_id(message))
    _add(entry, "updated", atom_time(message.sent))
    _add(entry, "published", atom_time(message.sent))
    summary = cap.description(alert, language)
    if not cancelled:
        summary = " ".join(s for s in (summary, cap.instruction(alert, language)
                                       .replace("\n", " ")) if s)
    _add(entry, "summary", ("Withdrawn. " if cancelled else "") + summary)
    cap_path = f"/alerts/{alert.pk}.cancel.cap.xml" if cancelled else f"/alerts/{alert.pk}.cap.xml"
    _add(entry, "link", rel="alternate", type="application/cap+xml", href=site + cap_path)
    _add(entry, "link", rel="alternate", type="text/html", href=cap.alert_url(alert.pk))
    _add(entry, "category", term="Health")


@require_safe
def feed(request: HttpRequest) -> HttpResponse:
    """Atom 1.0 of CAP: English, as the CAP messages carry every language inside."""
    now = timezone.now()
    site = settings.SPOTLINE_SITE_URL
    entries = _entries(now)
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed")
    _add(root, "title", f"{settings.SPOTLINE_ORG_NAME}: drug alerts (CAP 1.2)")
    _add(root, "id", f"{site}/alerts/feed.atom")
    latest = CapMessage.objects.order_by("-sent").values_list("sent", flat=True).first()
    _add(root, "updated", atom_time(max([m.sent for _, m in entries] + [latest or now])))
    author = _add(root, "author")
    _add(author, "name", settings.SPOTLINE_ORG_NAME)
    _add(root, "link", rel="self", type="application/atom+xml", href=f"{site}/alerts/feed.atom")
    _add(root, "link", rel="alternate", type="text/html", href=f"{site}/alerts/")
    for alert, message in entries:
        _entry(root, alert, message, "en")
    body = ET.tostring(root, encoding="unicode")
    response = HttpResponse(('<?xml version="1.0" encoding="utf-8"?>\n' + body).encode(),
                            content_type="application/atom+xml; charset=utf-8")
    response["Cache-Control"] = "public, max-age=60"
    return response
