"""Alerts as CAP 1.2 messages (OASIS Common Alerting Protocol), and their Atom feed.

One message per publish (``Alert``, or ``Update`` referencing the messages of the
alert it replaces) and per cancel (``Cancel``, referencing all before it). Each has an
``info`` block per language Spotline speaks, ``category`` Health, and one ``area`` per
alert area with its outer rings as CAP polygons ("lat,lon" pairs, closed). Every
message is validated against the OASIS schema (``schemas/CAP-v1.2.xsd``) before it is
stored: an invalid one is a bug, and publishing fails rather than sends it.

Nothing in a message names a person, an incident, a point or a time finer than the
hour: the description is built from the fixed codes and the checked free text
(``core.alerts.disclosures``); ``sent`` is when it was published.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import xmlschema
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from spotline.alerts.models import Alert, Area, MsgType
from spotline.alerts.words import ADVICE, SIGNS, SUBSTANCES
from spotline.core.alerts import CAP_SEVERITY, CAP_URGENCY, Severity
from spotline.core.areas import outer_rings

NS = "urn:oasis:names:tc:emergency:cap:1.2"
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "CAP-v1.2.xsd"
CAP_LANGUAGES = {"en": "en-US", "es": "es-US"}


@lru_cache(maxsize=1)
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMA_PATH))


def cap_time(moment: datetime) -> str:
    """CAP's dateTime: seconds and an explicit offset, never "Z" or fractions."""
    local = timezone.localtime(moment).replace(microsecond=0)
    text = local.isoformat()
    return text[:-6] + "+00:00" if text.endswith("-00:00") else text


@dataclass(frozen=True)
class Sent:
    """An earlier message this one references: CAP's "sender,identifier,sent"."""

    identifier: str
    sent: datetime

    def reference(self) -> str:
        return f"{settings.SPOTLINE_CAP_SENDER},{self.identifier},{cap_time(self.sent)}"


def identifier_for(alert_id: int, msg_type: str, sent: datetime) -> str:
    host = settings.SPOTLINE_CAP_SENDER.rpartition("@")[2] or "spotline"
    return f"{host}-alert-{alert_id}-{msg_type.lower()}-{sent.strftime('%Y%m%d%H%M%S')}"


def headline(alert: Alert, language: str) -> str:
    with override(language):
        return _("Drug alert: %(substance)s") % {"substance": SUBSTANCES[alert.substance]}


def description(alert: Alert, language: str) -> str:
    with override(language):
        parts = [_("Toxic drug alert: %(substance)s.") % {"substance": SUBSTANCES[alert.substance]}]
        if alert.signs:
            parts.append(_("Seen: %(signs)s.") % {
                "signs": ", ".join(str(SIGNS[s]) for s in alert.signs if s in SIGNS)})
        if alert.text:
            parts.append(alert.text)
    return " ".join(parts)


def instruction(alert: Alert, language: str) -> str:
    with override(language):
        lines = [str(ADVICE[a]) for a in alert.advice if a in ADVICE]
    if alert.advice_text:
        lines.append(alert.advice_text)
    return "\n".join(lines)


def alert_url(alert_id: int) -> str:
    return f"{settings.SPOTLINE_SITE_URL}/alerts/{alert_id}/"


def _text(parent: ET.Element, tag: str, value: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{NS}}}{tag}")
    element.text = value
    return element


def _polygon(ring: Sequence[tuple[float, float]]) -> str:
    points = list(ring)
    if points[0] != points[-1]:
        points.append(points[0])
    return " ".join(f"{lat:.6f},{lon:.6f}" for lat, lon in points)


def build(alert: Alert, *, msg_type: str, identifier: str, sent: datetime,
          references: Sequence[Sent], areas: Sequence[Area], certainty: str = "Likely",
          ) -> str:
    """The CAP 1.2 XML of one message about ``alert``."""
    ET.register_namespace("", NS)
    root = ET.Element(f"{{{NS}}}alert")
    _text(root, "identifier", identifier)
    _text(root, "sender", settings.SPOTLINE_CAP_SENDER)
    _text(root, "sent", cap_time(sent))
    _text(root, "status", "Actual")
    _text(root, "msgType", msg_type)
    _text(root, "scope", "Public")
    if references:
        _text(root, "references", " ".join(r.reference() for r in references))
    severity = Severity(alert.severity)
    for language in CAP_LANGUAGES:
        info = ET.SubElement(root, f"{{{NS}}}info")
        _text(info, "language", CAP_LANGUAGES[language])
        _text(info, "category", "Health")
        _text(info, "event", headline(alert, language))
        _text(info, "responseType", "Prepare" if msg_type != MsgType.CANCEL else "AllClear")
        _text(info, "urgency", CAP_URGENCY[severity] if msg_type != MsgType.CANCEL else "Past")
        _text(info, "severity", CAP_SEVERITY[severity])
        _text(info, "certainty", certainty)
        _text(info, "expires", cap_time(alert.expires))
        _text(info, "senderName", settings.SPOTLINE_ORG_NAME)
        _text(info, "headline", headline(alert, language)[:160])
        with override(language):
            lead = _("This alert has been withdrawn. ") if msg_type == MsgType.CANCEL else ""
        _text(info, "description", lead + description(alert, language))
        advice = instruction(alert, language)
        if advice and msg_type != MsgType.CANCEL:
            _text(info, "instruction", advice)
        _text(info, "web", alert_url(alert.pk))
        for area in areas:
            block = ET.SubElement(info, f"{{{NS}}}area")
            _text(block, "areaDesc", area.name)
            for ring in outer_rings(area.geometry):
                _text(block, "polygon", _polygon(ring))
    xml = ET.tostring(root, encoding="unicode", xml_declaration=False)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + xml


def validate(xml: str) -> None:
    """Raise ``xmlschema.XMLSchemaValidationError`` unless ``xml`` is valid CAP 1.2."""
    schema().validate(xml)
