"""An alert from draft to published to cancelled: the review a person does.

- ``alert_draft`` / ``alert_edit``: a coordinator writes it (or edits one Spotline
  proposed from a spike); the editor becomes its author.
- ``alert_publish``: under ``SPOTLINE_ALERTS_TWO_PERSON`` the publisher must be a
  coordinator or admin other than the author, and a draft Spotline proposed must have
  been edited (read and saved) by a person first. The CAP message is built, validated
  and stored, and its fan-out is queued for the worker: the request does not wait for
  ten thousand texts.
- ``alert_revise``: a new draft that replaces a published alert; publishing it sends
  an Update (CAP ``references`` the one before) and supersedes the old one.
- ``alert_cancel``: one person may withdraw an alert at once (a wrong warning must come
  down fast); a Cancel goes out to everyone who got it, and the texts still waiting for
  the carrier's rate are dropped (so do an update's).
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from spotline.alerts import cap
from spotline.alerts.models import (
    Alert,
    AlertEvent,
    AlertStatus,
    Area,
    CapMessage,
    Fanout,
    MsgType,
    Report,
    ReportSource,
    ReportStatus,
    Signal,
    SignalStatus,
)
from spotline.audit.actions import atomic, record
from spotline.core.alerts import (
    ADVICE_FOR,
    MAX_TEXT,
    Advice,
    Severity,
    Sign,
    Substance,
    codes,
    disclosures,
    meaningful,
    printable,
)
from spotline.errors import Conflict, Invalid, NotFound
from spotline.live.publish import alert_changed
from spotline.notify.actions import messages_withdraw

log = logging.getLogger(__name__)

MAX_DAYS = 30  # an alert that must last longer is published again, with fresh facts

_WHY = {
    "phone": "a phone number", "email": "an email address", "coordinates": "coordinates",
    "time": "a time finer than the hour", "incident": "an incident or case number",
    "address": "a street address", "link": "a web link",
}


@dataclass(frozen=True)
class AlertFields:
    substance: str
    severity: str
    expires: datetime
    area_ids: Sequence[int]
    signs: Sequence[str] = ()
    advice: Sequence[str] | None = None  # None: the substance's usual advice
    advice_text: str = ""
    text: str = ""
    report_ids: Sequence[int] = field(default_factory=tuple)


def _said(text: str, what: str, limit: int) -> str:
    text = " ".join(printable(unicodedata.normalize("NFKC", text or "")).split())
    if len(text) > limit:
        raise Invalid(f"{what} is at most {limit} characters.")
    if text and not meaningful(text):
        raise Invalid(f"{what} needs words: letters or digits, not only symbols.")
    found = disclosures(text)
    if found:
        raise Invalid(f"{what} seems to hold {', '.join(_WHY[f] for f in found)}: an alert "
                      "may not point at a person, an incident, a place or a time finer "
                      "than the hour. Say it in the area's words.")
    return text


def checked(fields: AlertFields, *, now: datetime) -> dict[str, Any]:
    """The fields as stored, or ``Invalid`` saying what is wrong (nothing written)."""
    if fields.substance not in codes(Substance):
        raise Invalid(f"Substance is one of: {', '.join(codes(Substance))}.")
    if fields.severity not in codes(Severity):
        raise Invalid(f"Severity is one of: {', '.join(codes(Severity))}.")
    signs = [str(s) for s in fields.signs]
    if set(signs) - set(codes(Sign)):
        raise Invalid(f"Signs are among: {', '.join(codes(Sign))}.")
    advice = (list(ADVICE_FOR[Substance(fields.substance)]) if fields.advice is None
              else [str(a) for a in fields.advice])
    if set(advice) - set(codes(Advice)):
        raise Invalid(f"Advice is among: {', '.join(codes(Advice))}.")
    expires = fields.expires
    if expires.tzinfo is None:
        raise Invalid("The expiry needs a time zone (e.g. 2026-12-08T18:00:00+00:00).")
    if expires <= now:
        raise Invalid("The expiry is in the past.")
    if expires > now + timedelta(days=MAX_DAYS):
        raise Invalid(f"An alert lasts at most {MAX_DAYS} days.")
    area_ids = list(dict.fromkeys(int(a) for a in fields.area_ids))
    if not area_ids:
        raise Invalid("Choose at least one area.")
    if Area.objects.filter(pk__in=area_ids).count() != len(area_ids):
        raise Invalid("An area chosen does not exist.")
    text = _said(fields.text, "The alert's text", MAX_TEXT)
    advice_text = _said(fields.advice_text, "The advice", MAX_TEXT)
    if not text and not signs and fields.substance == Substance.UNKNOWN:
        raise Invalid("Say what the alert is about: a substance, a sign, or a few words.")
    return {"substance": fields.substance, "severity": fields.severity, "signs": signs,
            "advice": list(dict.fromkeys(advice)), "advice_text": advice_text, "text": text,
            "expires": hour_up(expires), "area_ids": area_ids}


def hour_up(moment: datetime) -> datetime:
    """The hour is the finest time an alert says: an expiry is rounded up to the next
    whole hour of the organization's clock."""
    local = timezone.localtime(moment)
    whole = local.replace(minute=0, second=0, microsecond=0)
    return whole if whole == local else whole + timedelta(hours=1)


def event(alert: Alert, kind: str, *, now: datetime, user_id: int | None, **data: Any) -> None:
    AlertEvent.objects.create(alert=alert, kind=kind, at=now, user_id=user_id, data=data)
    record(f"alert.{kind}", object_type="alert", object_id=alert.pk, now=now,
           actor="user" if user_id else "system", actor_user_id=user_id)


def _use_reports(alert: Alert, report_ids: Sequence[int]) -> None:
    if report_ids:
        Report.objects.filter(pk__in=report_ids).update(alert=alert, status=ReportStatus.USED)


def alert_draft(*, fields: AlertFields, user_id: int | None, now: datetime,
                replaces: Alert | None = None) -> Alert:
    """A new draft. ``user_id`` None: Spotline proposes it (a spike)."""
    values = checked(fields, now=now)
    area_ids = values.pop("area_ids")
    with atomic():
        alert = Alert.objects.create(**values, author_id=user_id, created_at=now,
                                     updated_at=now, replaces=replaces)
        alert.areas.set(area_ids)
        _use_reports(alert, fields.report_ids)
        event(alert, "drafted", now=now, user_id=user_id,
              reports=len(fields.report_ids), replaces=replaces.pk if replaces else None)
    return alert


def _locked(alert_id: int) -> Alert:
    alert = Alert.objects.select_for_update().filter(pk=alert_id).first()
    if alert is None:
        raise NotFound("No such alert.")
    return alert


def alert_edit(*, alert_id: int, fields: AlertFields, user_id: int, now: datetime) -> Alert:
    values = checked(fields, now=now)
    area_ids = values.pop("area_ids")
    with atomic():
        alert = _locked(alert_id)
        if alert.status != AlertStatus.DRAFT:
            raise Conflict("Only a draft can be edited; a published alert is updated with "
                           "a new version.")
        for name, value in values.items():
            setattr(alert, name, value)
        alert.author_id, alert.updated_at = user_id, now
        alert.save()
        alert.areas.set(area_ids)
        _use_reports(alert, fields.report_ids)
        event(alert, "edited", now=now, user_id=user_id)
    return alert


def alert_revise(*, alert_id: int, user_id: int, now: datetime) -> Alert:
    """A draft copy of a published alert, to edit and publish as its Update."""
    with atomic():
        old = _locked(alert_id)
        if old.status != AlertStatus.PUBLISHED:
            raise Conflict("Only a published alert can be updated.")
        existing = Alert.objects.filter(replaces=old).first()
        if existing is not None:
            return existing  # one update at a time: the draft already started
        fields = AlertFields(substance=old.substance, severity=old.severity,
                             expires=max(old.expires, now + timedelta(hours=1)),
                             area_ids=list(old.areas.values_list("pk", flat=True)),
                             signs=old.signs, advice=old.advice, advice_text=old.advice_text,
                             text=old.text)
        return alert_draft(fields=fields, user_id=user_id, now=now, replaces=old)


def _publish_check(alert: Alert, user_id: int) -> None:
    if alert.status != AlertStatus.DRAFT:
        raise Conflict(f"This alert is {alert.status}, not a draft.")
    if settings.SPOTLINE_ALERTS_TWO_PERSON:
        if alert.author_id is None:
            raise Conflict("A person must read and save this proposed draft before a "
                           "second person publishes it.")
        if alert.author_id == user_id:
            raise Conflict("Two-person rule: a coordinator other than the author must "
                           "publish this alert.")
    if alert.replaces is not None and alert.replaces.status != AlertStatus.PUBLISHED:
        raise Conflict("The alert this draft updates is no longer published.")


def _certainty(alert: Alert) -> str:
    # A drug-checking result is an observation; reports and spikes make it likely.
    checked_by_lab = alert.reports.filter(source=ReportSource.DRUG_CHECK).exists()
    return "Observed" if checked_by_lab else "Likely"


def _message(alert: Alert, msg_type: str, now: datetime, references: Sequence[cap.Sent]
             ) -> CapMessage:
    identifier = cap.identifier_for(alert.pk, msg_type, now)
    xml = cap.build(alert, msg_type=msg_type, identifier=identifier, sent=now,
                    references=references, areas=list(alert.areas.order_by("name")),
                    certainty=_certainty(alert))
    try:
        cap.validate(xml)
    except Exception as exc:  # a bug: refuse clearly, send nothing, keep the draft
        log.error("CAP message for alert=%s is invalid (%s)", alert.pk, type(exc).__name__)
        raise Conflict("This alert could not be made into a valid CAP message, so nothing "
                       "was published. Please report this to whoever runs Spotline.") from None
    message = CapMessage.objects.create(alert=alert, identifier=identifier, msg_type=msg_type,
                                        sent=now, xml=xml)
    Fanout.objects.create(cap_message=message, due_at=now, started_at=now)
    return message


def _history(alert: Alert | None) -> list[cap.Sent]:
    """Every message sent about ``alert`` and the alerts it replaced, oldest first."""
    sent: list[cap.Sent] = []
    while alert is not None:
        sent[:0] = [cap.Sent(m.identifier, m.sent)
                    for m in alert.cap_messages.order_by("sent", "pk")]
        alert = alert.replaces
    return sent


def chain_message_ids(alert: Alert | None) -> list[int]:
    """The CAP messages sent about ``alert`` and the alerts it replaced."""
    ids: list[int] = []
    while alert is not None:
        ids += list(alert.cap_messages.values_list("pk", flat=True))
        alert = alert.replaces
    return ids


def _withdraw_pending(alert: Alert | None, *, now: datetime, why: str) -> None:
    """An update or a cancel replaces what was not sent yet: the earlier messages'
    fan-outs stop where they are, and their texts still waiting for the carrier's rate
    are dropped. Who had them gets the follow-up (``fanout.received``)."""
    ids = chain_message_ids(alert)
    Fanout.objects.filter(cap_message_id__in=ids, done_at__isnull=True).update(
        fired_at=now, done_at=now)
    messages_withdraw(key_prefixes=[f"alert:{pk}:" for pk in ids], why=why, now=now)


def alert_publish(*, alert_id: int, user_id: int, now: datetime) -> Alert:
    """Publish a draft: CAP Alert (or Update), then the worker's fan-out."""
    now = now.replace(microsecond=0)
    with atomic():
        alert = _locked(alert_id)
        _publish_check(alert, user_id)
        if alert.expires <= now:
            raise Conflict("This draft has expired; set a new expiry first.")
        old = alert.replaces
        if old is not None:
            _withdraw_pending(old, now=now, why="alert updated")
            Alert.objects.filter(pk=old.pk).update(status=AlertStatus.SUPERSEDED)
            event(old, "superseded", now=now, user_id=user_id, by=alert.pk)
        alert.status, alert.published_by_id, alert.published_at = (
            AlertStatus.PUBLISHED, user_id, now)
        alert.updated_at = now
        alert.save()
        message = _message(alert, MsgType.UPDATE if old else MsgType.ALERT, now,
                           _history(old))
        Signal.objects.filter(alert=alert).update(status=SignalStatus.DRAFTED)
        event(alert, "published", now=now, user_id=user_id, cap=message.identifier,
              msg_type=message.msg_type)
        alert_changed(alert.pk)
    return alert


def alert_cancel(*, alert_id: int, user_id: int, now: datetime) -> Alert:
    """Withdraw a published alert (CAP Cancel), or discard a draft."""
    now = now.replace(microsecond=0)
    with atomic():
        alert = _locked(alert_id)
        if alert.status == AlertStatus.CANCELLED:
            return alert  # a double-tap: already done
        if alert.status == AlertStatus.SUPERSEDED:
            raise Conflict("This alert was replaced by an update; cancel that one.")
        was_published = alert.status == AlertStatus.PUBLISHED
        alert.status, alert.cancelled_at, alert.updated_at = AlertStatus.CANCELLED, now, now
        alert.save()
        if was_published:
            _withdraw_pending(alert, now=now, why="alert cancelled")
            message = _message(alert, MsgType.CANCEL, now, _history(alert))
            event(alert, "cancelled", now=now, user_id=user_id, cap=message.identifier)
            alert_changed(alert.pk)
        else:
            event(alert, "discarded", now=now, user_id=user_id)
            Signal.objects.filter(alert=alert).update(status=SignalStatus.DISMISSED)
    return alert
