"""Drug alerts by text: the shell around ``core.sms.alerts``.

SMS intake (``intake.sms``) asks ``alerts_by_text`` after check-ins and responders and
before the help conversation: it answers ALERTS, ALERTS STOP and REPORT and the
conversations they start, or returns None when the text is about something else (and
then any alert conversation of this phone is over: the help conversation reads it).
``alerts_stop`` is what the compliance STOP does here; ``conversation_end`` what HELP
does.

The conversation (``AlertConversation``) holds the phone's digest and the answers so
far, sealed; it is deleted when it ends, when the report is filed (the report never
holds the phone), and after ``CONVERSATION_KEEP`` of silence (``conversations_expire``,
a worker step). Nothing here logs a phone number or a message body: ids and steps only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime

from spotline.alerts.actions.areas import areas_named
from spotline.alerts.actions.reports import report_receive
from spotline.alerts.actions.subscribers import subscribe_sms, unsubscribe_phone
from spotline.alerts.models import AlertConversation, Area, ReportSource
from spotline.core.sms.alerts import (
    CONVERSATION_KEEP,
    AreaChoice,
    Do,
    Step,
    Talk,
    Topic,
    Turn,
    alert_say,
    alert_turn,
)
from spotline.errors import Invalid
from spotline.privacy.crypto import SealError, seal, unseal

log = logging.getLogger(__name__)

CONTEXT = "alerts.conversation"
EXAMPLES = 3  # area names offered in a question


def _find(text: str) -> list[AreaChoice]:
    return [AreaChoice(a.pk, a.name) for a in areas_named(text)]


def _examples() -> Sequence[str]:
    return list(Area.objects.order_by("name").values_list("name", flat=True)[:EXAMPLES])


def _talk(conversation: AlertConversation) -> Talk | None:
    """The conversation as the core sees it; None for a row it cannot read."""
    try:
        answers = (json.loads(unseal(conversation.answers_sealed, context=CONTEXT))
                   if conversation.answers_sealed else {})
        return Talk(topic=Topic(conversation.topic), step=Step(conversation.step),
                    language=conversation.language, tries=conversation.tries,
                    looked_like=str(answers.get("looked_like", "")),
                    what_happened=str(answers.get("what_happened", "")))
    except (SealError, ValueError, TypeError, AttributeError):
        return None


def _keep(digest: str, talk: Talk, *, now: datetime) -> AlertConversation:
    answers = {k: v for k, v in (("looked_like", talk.looked_like),
                                 ("what_happened", talk.what_happened)) if v}
    conversation, _ = AlertConversation.objects.update_or_create(
        phone_digest=digest,
        defaults={"topic": talk.topic.value, "step": talk.step.value,
                  "language": talk.language, "tries": talk.tries, "updated_at": now,
                  "answers_sealed": seal(json.dumps(answers), context=CONTEXT)
                  if answers else ""})
    return conversation


def conversation_end(*, digest: str) -> bool:
    """Forget this phone's alert conversation (HELP, STOP, or it ended). True if one was."""
    deleted, _ = AlertConversation.objects.filter(phone_digest=digest).delete()
    return bool(deleted)


def alerts_stop(*, digest: str, phone: str, now: datetime) -> bool:
    """The compliance STOP: no more alerts to this number, and no conversation about
    them, at once. True when the number was subscribed."""
    conversation_end(digest=digest)
    return unsubscribe_phone(phone=phone, now=now)


def alerts_by_text(*, digest: str, phone: str, body: str, sid: str,
                   now: datetime) -> str | None:
    """ALERTS, ALERTS STOP, REPORT and the conversations they start; the answer, or
    None when the text is not about alerts (go on)."""
    conversation = AlertConversation.objects.filter(phone_digest=digest).first()
    talk = None
    if conversation is not None:
        if conversation.updated_at >= now - CONVERSATION_KEEP:
            talk = _talk(conversation)
        if talk is None:  # silent too long (the worker had not come by yet) or unreadable
            conversation.delete()
            conversation = None
    turn = alert_turn(talk, body, find=_find, examples=_examples)
    if turn.do is Do.NOT_ALERTS:
        if conversation is not None:
            log.info("sms alerts conversation=%s sid=%s ended: not about alerts",
                     conversation.pk, sid)
            conversation.delete()
        return None
    reply, keep = _carry_out(turn, phone=phone, sid=sid, now=now)
    if keep is not None:
        conversation = _keep(digest, keep, now=now)
        log.info("sms alerts conversation=%s sid=%s topic=%s step=%s tries=%s",
                 conversation.pk, sid, keep.topic.value, keep.step.value, keep.tries)
    else:
        conversation_end(digest=digest)
    return reply


def _carry_out(turn: Turn, *, phone: str, sid: str, now: datetime) -> tuple[str, Talk | None]:
    """The write a turn asks for; the reply to send and the conversation to keep."""
    if turn.do is Do.ASK:
        return turn.reply, turn.talk
    if turn.do is Do.SUBSCRIBE and turn.talk is not None:
        try:
            subscriber = subscribe_sms(
                phone=phone, now=now, language=turn.talk.language, all_areas=turn.all_areas,
                area_ids=[turn.area.id] if turn.area is not None else [])
        except Invalid:  # the area was deleted a moment ago: ask again
            log.info("sms alerts not subscribed sid=%s", sid)
            return alert_say("area_again", turn.talk.language, choices=_examples()), turn.talk
        log.info("sms alerts subscribed sid=%s subscriber=%s all=%s area=%s", sid,
                 subscriber.pk, turn.all_areas, turn.area.id if turn.area else None)
    elif turn.do is Do.UNSUBSCRIBE:
        gone = unsubscribe_phone(phone=phone, now=now)
        log.info("sms alerts unsubscribed sid=%s was_subscribed=%s", sid, gone)
    elif turn.do is Do.REPORT and turn.talk is not None:
        return _file(turn.talk, turn.area, sid=sid, now=now) or turn.reply, None
    return turn.reply, None


def _file(talk: Talk, area: AreaChoice | None, *, sid: str, now: datetime) -> str | None:
    """File the report; None when it went in, else the reply saying it did not."""
    try:
        report_receive(source=ReportSource.SMS, looked_like=talk.looked_like,
                       what_happened=talk.what_happened,
                       area_id=area.id if area is not None else None, now=now)
    except Invalid:
        log.info("sms alerts report refused sid=%s", sid)
        return alert_say("report_failed", talk.language)
    # No report id: the same request logs its message id, which the provider's log maps
    # to the number that sent it, and a report must not be traced to a number.
    log.info("sms alerts report filed area=%s", area.id if area is not None else None)
    return None


def conversations_expire(*, now: datetime) -> int:
    """Delete alert conversations silent for ``CONVERSATION_KEEP`` (a worker step):
    answers to a report nobody finished are not kept. Returns rows deleted."""
    deleted, _ = AlertConversation.objects.filter(
        updated_at__lt=now - CONVERSATION_KEEP).delete()
    return deleted
