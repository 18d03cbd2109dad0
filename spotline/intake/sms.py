"""Help requests by SMS: the shell around ``core.sms``.

``core.sms`` decides what a text means and what to answer; this module keeps the
conversation between texts and makes the one write that matters, ``incident_open``.
The webhook (``intake/twilio/webhooks.py``) translates Twilio's request and calls
``sms_receive`` once.

``sms_receive`` runs in one transaction:

1. Deduplicate by the provider's message id: a retried webhook gets the stored answer
   and changes nothing.
2. Compliance keywords first (``keyword_texts``, decided by ``core.sms.compliance``):
   STOP records the opt-out, START removes it, HELP says who we are. HELP is answered
   even after STOP (carriers expect it); a repeated STOP is not confirmed twice. While
   the phone's request (or check-in) is open, STOP, CANCEL, END and QUIT first ask
   "cancel your request?": a YES cancels it (step 5), a second STOP opts out and says
   the request is still open. A lone HELP from someone not yet talking with us also
   starts a request. Every keyword ends a drug-alert conversation (step 4); the opt-out
   also deletes the number's alert subscription.
3. A number that texted STOP gets no answer to anything else.
4. Responders and check-ins by text: a responder's "OK" to their running safety timer
   (``responder_texts``), then a person's SPOT / CUIDA, OK, DONE, SAVE and FORGET
   (``checkins.sms``), then a responder's answer to an offer ("YES 42"), then drug
   alerts (``alerts.sms``): ALERTS / ALERTAS asks for an area and subscribes, ALERTS
   STOP unsubscribes, REPORT / REPORTE takes an anonymous report, a question at a time.
   A text that does not answer the alert conversation's question ends it and goes on
   to step 5, so a call for help is never held there.
5. Load (or start) the phone's open conversation, and start over if its incident has
   closed. A YES to "cancel your request?" cancels it; anything else drops that
   question. ``converse`` gives the replies and, once kind and place are known, the
   incident to open: the reply then carries the tracking link. A place in words is
   looked up on the local map first (``sms_places``): the incident opens at it when
   the geocoder is sure, without a point otherwise, and the reply says where we
   understood or asks which one. A detail sent later is attached to the incident as a
   note; a pick ("2") or a new place moves the incident.

What is kept, and for how long:

- ``InboundSms``: the message id, the sender's digest and the sealed answer (it may
  hold the place and the tracking link). The answer is there for the provider's retries
  only: it is blanked after ``REPLY_KEEP`` (or the retention, if shorter), and at once
  when the incident it spoke of is purged (``conversations_purge``); the row goes after
  ``INBOUND_KEEP`` (``inbound_expire``).
- ``SmsConversation``: the phone (digest + sealed) and the sealed state (with the
  places offered in "Which one?", if any). Deleted with
  its incident's personal data (``conversations_purge``), or after ``INBOUND_KEEP`` of
  silence when no incident came of it (``inbound_expire``).
- The opt-out (``notify.SmsOptOut``, the outbox's): only the phone's digest, until START.
- An alert conversation (``alerts.AlertConversation``): the digest and the sealed answers,
  until it ends or after 30 minutes of silence (``alerts.sms``); a filed report never
  holds the phone.

Nothing here logs a phone number or a message body: IDs and steps only.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError
from django.db.models import Q

from spotline.alerts.sms import alerts_by_text
from spotline.audit.actions import atomic as audit_atomic
from spotline.checkins.models import CheckIn
from spotline.checkins.sms import checkin_by_text
from spotline.core.sms.checkin import parse_safety_ok
from spotline.core.sms.compliance import confirms_cancel
from spotline.core.sms.converse import OpenIncident, Step, converse
from spotline.core.sms.keywords import classify_keyword
from spotline.core.sms.responder import parse_responder_reply
from spotline.dispatch.actions.dispatcher import incident_note
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.models import Incident, LocatedBy, Source
from spotline.errors import ActionError
from spotline.intake.conversations import (
    INBOUND_KEEP,
    changed,
    conversation_for,
    conversation_save,
    state_dump,
    state_load,
    transcript_add,
)
from spotline.intake.keyword_texts import cancel_by_text, keyword_by_text
from spotline.intake.models import InboundSms, SmsConversation
from spotline.intake.responder_texts import offer_answer_by_text, safety_ok_by_text
from spotline.intake.sms_places import (
    after_dispatch,
    find_for_opening,
    opening_reply,
    with_choices,
)
from spotline.notify.actions import is_opted_out
from spotline.places.finding import Found
from spotline.privacy.crypto import normalize_phone, phone_digest, seal, unseal
from spotline.responders.models import Responder

log = logging.getLogger(__name__)
# How long a stored answer is kept for a retried webhook: Twilio retries within seconds
# (its request times out after 15 s); later, a retry changes nothing and gets no answer.
REPLY_KEEP = timedelta(minutes=10)
MAX_SID = 64
MAX_BODY = 4000  # carriers deliver at most 1600 characters; anything longer is cut
MAX_DETAILS = 2000  # what the incident keeps of the texts that opened it

# When the person gave nothing usable as a place (``OpenIncident.place`` is None):
# incident_open needs a description, and the dispatcher needs to know to call back.
NO_PLACE = "Location not given by SMS: text or call back"

# Answered when a request cannot be read at all (no sender, no message id) or an
# unexpected error happened: the person must never be left without an answer.
TRY_AGAIN = ("Sorry, we could not read your text. Please send it again. / "
             "Perdón, no pudimos leer tu mensaje. Envíalo de nuevo.")

_TRACK = {"en": "Track your request: {link}", "es": "Sigue tu solicitud: {link}"}

# Characters XML 1.0 cannot carry (TwiML is XML) and NUL, which PostgreSQL text cannot:
# C0 controls other than tab, line feed and carriage return, lone surrogates, U+FFFE/F.
_UNSENDABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class BadInbound(ValueError):
    """The webhook did not carry what every real inbound text has."""


# -- small helpers -----------------------------------------------------------------------


def _sendable(text: str) -> str:
    return _UNSENDABLE.sub("", text)


def _replies(inbound: InboundSms) -> list[str]:
    if not inbound.reply_sealed:
        return []
    return list(json.loads(unseal(inbound.reply_sealed, context="sms.reply")))


def _digest(phone: str) -> str:
    number = normalize_phone(phone)
    if not number.lstrip("+"):
        raise BadInbound("no sender number")
    return phone_digest(number)


# -- the write path ----------------------------------------------------------------------


def sms_receive(*, sid: str, from_number: str, body: str, now: datetime) -> list[str]:
    """One inbound text; returns the SMS replies to send back, in order (maybe none).

    Safe to repeat: the same ``sid`` returns the first answer and changes nothing.
    Raises ``BadInbound`` when there is no message id or no sender.
    """
    sid = sid.strip()
    if not sid or len(sid) > MAX_SID:
        raise BadInbound("no usable message id")
    digest = _digest(from_number)
    body = _sendable(body[:MAX_BODY])
    done = InboundSms.objects.filter(sid=sid).first()
    if done is not None:
        return _retried(done, digest=digest, sid=sid)
    try:
        with audit_atomic():
            # 1. The id first: a concurrent copy of this text waits here, then fails.
            inbound = InboundSms.objects.create(sid=sid, received_at=now,
                                                sender_digest=digest)
            replies = _respond(digest=digest, phone=normalize_phone(from_number), body=body,
                               sid=sid, now=now)
            if replies:
                inbound.reply_sealed = seal(json.dumps(replies), context="sms.reply")
                inbound.save(update_fields=["reply_sealed"])
    except IntegrityError:
        done = InboundSms.objects.filter(sid=sid).first()
        if done is None:
            raise
        return _retried(done, digest=digest, sid=sid)  # the copy that won answered
    return replies


def _retried(done: InboundSms, *, digest: str, sid: str) -> list[str]:
    """A message id seen before: its answer again, to its own sender only. Another
    number reusing the id is not a retry (a real provider never does it) and must not
    read what we answered someone else: it gets nothing, and nothing changes."""
    if done.sender_digest != digest:
        log.warning("sms id reused by another sender sid=%s: not answered", sid)
        return []
    log.info("sms retried sid=%s", sid)
    return _replies(done)


def _respond(*, digest: str, phone: str, body: str, sid: str, now: datetime) -> list[str]:
    # 2. Compliance keywords.
    keyword = classify_keyword(body)
    if keyword is not None:
        return [_sendable(r) for r in keyword_by_text(keyword, digest=digest, phone=phone,
                                                       body=body, sid=sid, now=now)]
    # 3. A stopped number gets nothing more.
    if is_opted_out(phone):
        log.info("sms from an opted-out number sid=%s", sid)
        return []
    # 4. A responder's "OK" / "OK 12" while their safety timer runs: never read as a
    #    person's check-in, and without a running timer it goes on as before.
    reply = parse_responder_reply(body)
    # Whether the sender is a responder matters only for what a responder would text.
    responder = (Responder.objects.filter(phone_digest=digest).first()
                 if reply is not None or parse_safety_ok(body) is not None else None)
    answer = safety_ok_by_text(responder=responder, body=body, sid=sid, now=now)
    if answer is not None:
        return [_sendable(answer)]
    # 4a. Check-ins by text: "SPOT 5 <where>", then "OK" / "DONE" while one is open.
    answer = checkin_by_text(digest=digest, phone=phone, body=body, sid=sid, now=now,
                             language_hint=lambda: _conversation_language(digest))
    if answer is not None:
        return [_sendable(answer)]
    # 4b. A responder answering an offer ("Y", "YES 42"). Anything else from a
    #    responder's phone is a request for help like anyone's.
    if reply is not None and responder is not None:
        return [_sendable(offer_answer_by_text(responder, reply, sid=sid, now=now))]
    # 4c. Drug alerts: ALERTS, ALERTS STOP, REPORT and their conversations. A text that
    #    is not about alerts ends any such conversation and goes on.
    answer = alerts_by_text(digest=digest, phone=phone, body=body, sid=sid, now=now)
    if answer is not None:
        return [_sendable(answer)]
    # 5. The conversation.
    conversation = conversation_for(digest=digest, phone=phone, now=now)
    transcript_add(conversation, "person", body, now=now)
    state, texts = state_load(conversation)
    if conversation.incident_id is not None and confirms_cancel(state, body, now=now):
        # YES to "cancel your request?" (the incident is open: the conversation is not over).
        replies = [cancel_by_text(incident_id=conversation.incident_id,
                                  language=state.language, sid=sid, now=now)]
        conversation_save(conversation, replace(state, stop_asked_at=None), texts,
                          replies=replies, now=now)
        return [_sendable(r) for r in replies]
    state = replace(state, stop_asked_at=None)  # anything else: the question is dropped
    if conversation.taken_over_at is not None:
        # A dispatcher is answering by hand: no automatic reply, but they see it live,
        # and after dispatch it still reaches the incident as a note.
        if conversation.incident_id is not None:
            _note(conversation.incident_id, body, now=now)
        conversation.state_sealed = state_dump(state, texts)
        conversation.updated_at = now
        conversation.save(update_fields=["transcript_sealed", "state_sealed", "updated_at"])
        changed(conversation)
        return []
    turn = converse(state, body, now=now)
    if conversation.incident_id is None and turn.state.step is not Step.DISPATCHED:
        texts.append(body)
    if conversation.incident_id is not None:
        # A pick from "Which one?" or a new place: the incident moves (sms_places).
        turn = after_dispatch(turn, incident_id=conversation.incident_id, now=now)
    replies = list(turn.replies)
    kept = turn.state
    if turn.action is not None and conversation.incident_id is None:
        found = find_for_opening(turn.action)
        link = _open(conversation, turn.action, found, details=[*texts, body], now=now)
        opening_reply(turn.action, found, replies)
        replies.insert(1, _TRACK[turn.action.language].format(link=link))
        kept = with_choices(kept, found)
        texts = []  # now the incident's details: the conversation need not keep them
    elif turn.note and conversation.incident_id is not None:
        _note(conversation.incident_id, turn.note, now=now)
    conversation_save(conversation, kept, texts, replies=replies, now=now)
    log.info("sms conversation=%s sid=%s step=%s incident=%s", conversation.pk, sid,
             turn.state.step.value, conversation.incident_id)
    return [_sendable(r) for r in replies]


def _conversation_language(digest: str) -> str | None:
    """The language of this phone's latest SMS conversation, if it had one."""
    return (SmsConversation.objects.filter(phone_digest=digest).exclude(language="")
            .order_by("-updated_at").values_list("language", flat=True).first())


def _open(conversation: SmsConversation, action: OpenIncident, found: Found | None, *,
          details: list[str], now: datetime) -> str:
    """Open the incident, at the place the words name when the geocoder is sure; the
    tracking link to text back (the token is not kept)."""
    best = found.best if found is not None else None
    opened = incident_open(IncidentRequest(
        kind=action.kind, description=action.place or NO_PLACE,
        location=best.point if best else None,
        located_by=LocatedBy.WORDS if best else "",
        accuracy_m=best.radius_m if best else None,
        details="\n".join(t for t in details if t.strip())[-MAX_DETAILS:],
        breathing=action.breathing, conscious=action.conscious,
        callback_phone=unseal(conversation.phone_sealed, context="sms.phone"),
        language=action.language, source=Source.SMS), now=now)
    conversation.incident = opened.incident
    return f"{settings.SPOTLINE_SITE_URL}/t/{opened.tracking_token}/"


def _note(incident_id: int, text: str, *, now: datetime) -> None:
    try:
        incident_note(incident_id=incident_id, text=text, user_id=None, now=now)
    except ActionError as exc:  # blank, or the incident was purged meanwhile
        log.info("sms detail not attached incident=%s (%s)", incident_id, type(exc).__name__)


# -- retention -----------------------------------------------------------------------------


def conversations_purge(*, incident_id: int, **signal: object) -> int:
    """Delete the conversations that led to this incident, and blank the stored answers
    that may have spoken of its place (``incident_purged``, sent in the purge's
    transaction): those to the person who asked (by text or by a check-in) and to the
    responders it was offered to, since it opened."""
    conversations = SmsConversation.objects.filter(incident_id=incident_id)
    senders = set(conversations.values_list("phone_digest", flat=True))
    senders |= set(CheckIn.objects.filter(incident_id=incident_id)
                   .values_list("phone_digest", flat=True))
    senders |= set(Responder.objects.filter(offers__incident_id=incident_id)
                   .values_list("phone_digest", flat=True))
    senders.discard("")
    opened_at = (Incident.objects.filter(pk=incident_id)
                 .values_list("opened_at", flat=True).first())
    if senders and opened_at is not None:
        (InboundSms.objects.filter(sender_digest__in=senders, received_at__gte=opened_at)
         .exclude(reply_sealed="").update(reply_sealed=""))
    deleted, _ = conversations.delete()
    return deleted


def reply_keep() -> timedelta:
    """How long a stored answer is kept: ``REPLY_KEEP``, or the retention if shorter."""
    return min(REPLY_KEEP, timedelta(hours=settings.SPOTLINE_RETENTION_HOURS))


def inbound_expire(*, now: datetime) -> int:
    """Delete what SMS intake no longer needs (the worker calls this now and then):
    message ids and their sealed answers after a day, conversations that led nowhere
    after a day of silence, and any whose incident was purged. Returns rows deleted."""
    cutoff = now - INBOUND_KEEP
    n, _ = InboundSms.objects.filter(received_at__lt=cutoff).delete()
    (InboundSms.objects.filter(received_at__lte=now - reply_keep()).exclude(reply_sealed="")
     .update(reply_sealed=""))
    m, _ = SmsConversation.objects.filter(
        Q(incident__isnull=True, updated_at__lt=cutoff) | Q(incident__purged_at__isnull=False)
    ).delete()
    return n + m
