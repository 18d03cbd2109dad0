"""Sending a published (updated, cancelled) alert to everyone who should have it.

A ``Fanout`` row per CAP message is a durable timer (``timers.engine``). Each firing
queues outbox messages for the next ``BATCH`` subscribers of the alert's areas, in
their language, moves its cursor and re-arms itself, all in one transaction; then the
on-shift responders in those areas. The outbox key is
``alert:<cap message>:<s|r><recipient>``: a batch that fires again after a crash queues
nothing twice, and the outbox sends each key once. Texts are spaced at
``SPOTLINE_SMS_PER_SECOND`` from one pace all fan-outs share (``SmsPace``: their first
attempt is scheduled ahead), so two alerts at once, or a worker back from a stop, never
outrun the carrier; and every alert message is bulk (``Message.priority``), so the
sender takes offers and replies queued meanwhile first. An update or a cancel stops the
earlier message's fan-out (``review``), and a Cancel goes only to those who got it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import override

from spotline.alerts.actions.review import chain_message_ids, event
from spotline.alerts.actions.subscribers import unsubscribe_token
from spotline.alerts.cap import alert_url
from spotline.alerts.models import (
    Alert,
    AlertStatus,
    CapMessage,
    Fanout,
    MsgType,
    SmsPace,
    Subscriber,
)
from spotline.alerts.words import ADVICE, SUBSTANCES
from spotline.core.alerts import sms_body
from spotline.core.geo import Point, area_cell
from spotline.live.publish import alert_changed
from spotline.notify.actions import messages_queue, sent_keys
from spotline.notify.models import Message
from spotline.privacy.crypto import unseal
from spotline.responders.models import Responder
from spotline.timers import engine

log = logging.getLogger(__name__)

BATCH = 1000  # recipients per transaction: short enough not to hold up a help request


def lead(alert: Alert, msg_type: str, language: str) -> str:
    """The text message without its link, in ``language``."""
    areas = ", ".join(alert.areas.order_by("name").values_list("name", flat=True))
    with override(language):
        what = {"substance": SUBSTANCES[alert.substance], "areas": areas,
                "org": settings.SPOTLINE_ORG_NAME}
        if msg_type == MsgType.CANCEL:
            return _("%(org)s: the drug alert about %(substance)s in %(areas)s is "
                     "withdrawn.") % what
        head = (_("%(org)s UPDATED drug alert: %(substance)s in %(areas)s.")
                if msg_type == MsgType.UPDATE
                else _("%(org)s drug alert: %(substance)s in %(areas)s.")) % what
        advice = [str(ADVICE[a]) for a in alert.advice[:1] if a in ADVICE]
    return " ".join([head, *advice])


def _bodies(alert: Alert, msg_type: str) -> dict[tuple[str, str], str]:
    """(channel, language) -> body."""
    link = alert_url(alert.pk)
    out = {}
    for language in ("en", "es"):
        text = lead(alert, msg_type, language)
        out[("sms", language)] = sms_body(lead=text, link=link)
        out[("push", language)] = f"{text} {link}"
        out[("email", language)] = f"{text}\n\n{link}"
    return out


def unsubscribe_line(subscriber: Subscriber) -> str:
    """An email's own unsubscribe link: signed for this subscriber, so nobody else can
    stop someone's alerts by typing their address."""
    with override(subscriber.language):
        return "\n\n" + _("To stop these emails: %(link)s") % {
            "link": f"{settings.SPOTLINE_SITE_URL}/alerts/unsubscribe/"
                    f"{unsubscribe_token(subscriber)}/"}


def recipients(keys: Iterable[str], kind: str) -> set[int]:
    """The recipient ids in outbox keys ``alert:<cap message>:<kind><id>`` (``kind`` "s":
    subscribers, "r": responders); other keys are skipped."""
    ids = set()
    for key in keys:
        tail = key.rsplit(":", 1)[-1]
        if tail[:1] == kind and tail[1:].isdigit():
            ids.add(int(tail[1:]))
    return ids


def received(message: CapMessage, kind: str) -> set[int]:
    """Who (``kind`` "s": subscribers, "r": responders) got an earlier message about
    this alert: a Cancel goes to them, not to people who never heard of it."""
    earlier = [pk for pk in chain_message_ids(message.alert) if pk != message.pk]
    return recipients(sent_keys(key_prefixes=[f"alert:{pk}:{kind}" for pk in earlier]), kind)


def _next_batch(message: CapMessage, after_id: int) -> tuple[list[Subscriber], int | None]:
    """The next batch of recipients after ``after_id``, and where the cursor moves to
    (None: nobody is left)."""
    rows = Subscriber.objects.filter(confirmed_at__isnull=False)
    if message.msg_type == MsgType.CANCEL:
        # Those who got it, as ids: a short IN list whatever the total; the cursor moves
        # over the ids, so someone who unsubscribed since does not end the fan-out.
        ids = sorted(i for i in received(message, "s") if i > after_id)[:BATCH]
        if not ids:
            return [], None
        return list(rows.filter(pk__in=ids).order_by("pk")), (
            ids[-1] if len(ids) == BATCH else None)
    area_ids = list(message.alert.areas.values_list("pk", flat=True))
    batch = list(rows.filter(pk__gt=after_id).filter(Q(all_areas=True) | Q(areas__in=area_ids))
                 .distinct().order_by("pk")[:BATCH])
    return batch, (batch[-1].pk if len(batch) == BATCH else None)


def _address(subscriber: Subscriber) -> str:
    address = unseal(subscriber.address_sealed, context="subscriber.address")
    return f"subscription:{address}" if subscriber.channel == "push" else address


def _sms_slots(count: int, now: datetime) -> list[datetime | None]:
    """``count`` moments to hand texts to the carrier, from the one pace every fan-out
    shares (locked until this transaction ends)."""
    rate = settings.SPOTLINE_SMS_PER_SECOND
    if rate <= 0 or count == 0:
        return [None] * count
    pace, _ = SmsPace.objects.select_for_update().get_or_create(pk=1, defaults={"next_at": now})
    start = max(pace.next_at, now)
    slots: list[datetime | None] = [start + timedelta(seconds=i / rate) for i in range(count)]
    pace.next_at = start + timedelta(seconds=count / rate)
    pace.save(update_fields=["next_at"])
    return slots


def _queue_subscribers(row: Fanout, now: datetime) -> bool:
    """One batch; True when there may be more."""
    message = row.cap_message
    batch, cursor = _next_batch(message, row.after_id)
    bodies = _bodies(message.alert, message.msg_type)
    slots = iter(_sms_slots(sum(s.channel == "sms" for s in batch), now))
    items = []
    for subscriber in batch:
        body = bodies[(subscriber.channel, subscriber.language)]
        if subscriber.channel == "email":
            body += unsubscribe_line(subscriber)
        items.append({
            "key": f"alert:{message.pk}:s{subscriber.pk}", "purpose": f"alert_{subscriber.channel}",
            "body": body, "channels": [subscriber.channel], "to": _address(subscriber),
            "not_before": next(slots) if subscriber.channel == "sms" else None, "bulk": True,
        })
    messages_queue(items, now=now)
    row.queued += len(batch)
    row.sms_queued += sum(s.channel == "sms" for s in batch)
    if cursor is not None:
        row.after_id = cursor
    return cursor is not None


def _responders_in(alert: Alert) -> list[Responder]:
    cells = {c for area in alert.areas.all() for c in area.cells}
    return [r for r in Responder.objects.filter(on_shift_since__isnull=False,
                                                lat__isnull=False, lon__isnull=False)
            if r.lat is not None and r.lon is not None
            and area_cell(Point(lat=r.lat, lon=r.lon)) in cells]


def _queue_responders(row: Fanout, now: datetime) -> list[int]:
    message = row.cap_message
    responders = (list(Responder.objects.filter(pk__in=received(message, "r")))
                  if message.msg_type == MsgType.CANCEL else _responders_in(message.alert))
    link = alert_url(message.alert_id)
    items = [{
        "key": f"alert:{message.pk}:r{r.pk}", "purpose": "alert_responder", "responder_id": r.pk,
        "body": sms_body(lead=lead(message.alert, message.msg_type, "en"), link=link),
        "channels": r.channels or settings.DEFAULT_OFFER_CHANNELS, "bulk": True,
    } for r in responders]
    messages_queue(items, now=now)
    row.queued += len(items)
    return [r.pk for r in responders]


def _still_current(message: CapMessage) -> bool:
    """An Alert or Update goes out only while its alert stands (a cancel or an update
    also stops the fan-out row; this is the second lock on the door)."""
    return (message.msg_type == MsgType.CANCEL
            or message.alert.status == AlertStatus.PUBLISHED)


def fanout_fire(row: Fanout, now: datetime) -> None:
    """One firing (in the engine's transaction): a batch, then re-arm or finish."""
    if row.done_at is not None:
        return
    if not _still_current(row.cap_message):
        row.done_at = now
        row.save()
        return
    if row.phase == "subscribers":
        if _queue_subscribers(row, now):
            row.fired_at = None  # more to come: due again at once
        else:
            row.phase, row.fired_at = "responders", None
        row.attempts, row.last_error = 0, ""  # a batch went through: not failing now
        row.save()
        return
    responder_ids = _queue_responders(row, now)
    row.done_at = now
    row.save()
    message = row.cap_message
    event(message.alert, "sent", now=now, user_id=None, cap=message.identifier,
          messages=row.queued, sms=row.sms_queued, responders=len(responder_ids))
    alert_changed(message.alert_id, responders=responder_ids)
    log.info("alert fan-out done alert=%s cap_message=%s queued=%d", message.alert_id,
             message.pk, row.queued)


def fire_due(*, now: datetime) -> int:
    """The worker's step: every due fan-out batch."""
    return engine.fire_due(Fanout, fanout_fire, now=now)


def forgotten_push_delete(*, now: datetime) -> int:
    """Delete push subscribers whose browser the push service no longer knows (their
    alert message failed with 404 or 410): the housekeeping step."""
    keys = Message.objects.filter(purpose="alert_push", failed_at__gte=now - timedelta(days=1),
                                  last_error__in=["push 404", "push 410", "push gone"]
                                  ).values_list("key", flat=True)
    _, by_table = Subscriber.objects.filter(pk__in=recipients(keys, "s"), channel="push").delete()
    return by_table.get("alerts.Subscriber", 0)  # not their area rows, deleted with them


def progress(message: CapMessage) -> dict[str, object]:
    row = message.fanouts.order_by("pk").first()
    if row is None:
        return {"queued": 0, "done": False}
    return {"queued": row.queued, "done": row.done_at is not None}
