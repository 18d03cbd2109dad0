"""Help requests by SMS: the shell around ``core.sms``.

``core.sms`` decides what a text means and what to answer; this module keeps the
conversation between texts and makes the one write that matters, ``incident_open``.
The webhook (``notify/providers/twilio/webhooks.py``) translates Twilio's request and
calls ``sms_receive`` once.

``sms_receive`` runs in one transaction:

1. Deduplicate by the provider's message id: a retried webhook gets the stored answer
   and changes nothing.
2. Compliance keywords first: STOP records the opt-out, START removes it, HELP says
   who we are. HELP is answered even after STOP (carriers expect it); a repeated STOP
   is not confirmed twice.
3. A number that texted STOP gets no answer to anything else.
4. Check-ins by text (``core.sms.checkin``): a responder's "OK" to their running safety
   timer, then a person's SPOT / CUIDA, OK, DONE, SAVE and FORGET; then a responder's
   answer to an offer ("YES 42").
5. Load (or start) the phone's open conversation, and start over if its incident has
   closed. ``converse`` gives the replies and, once kind and place are known, the
   incident to open: the reply then carries the tracking link. A detail sent later is
   attached to the incident as a note.

What is kept, and for how long:

- ``InboundSms``: the message id and the sealed answer (it may hold the place and the
  tracking link), deleted after ``INBOUND_KEEP`` by ``inbound_expire``.
- ``SmsConversation``: the phone (digest + sealed) and the sealed state. Deleted with
  its incident's personal data (``conversations_purge``), or after ``INBOUND_KEEP`` of
  silence when no incident came of it (``inbound_expire``).
- ``SmsOptOut``: only the phone's digest, until START.

Nothing here logs a phone number or a message body: IDs and steps only.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TypedDict

from django.conf import settings
from django.db import IntegrityError
from django.db.models import Q

from spotline.audit.actions import atomic as audit_atomic
from spotline.checkins.actions import checkin_done, checkin_ok, checkin_start, checkin_start_plan
from spotline.checkins.plans import Plan, plan_delete, plan_for_phone, plan_save, plan_used
from spotline.core.sms.checkin import (
    SpotRequest,
    checkin_say,
    checkin_word,
    clamp_minutes,
    forget_language,
    parse_safety_ok,
    parse_spot,
    save_language,
)
from spotline.core.sms.converse import ConversationState, OpenIncident, Step, converse
from spotline.core.sms.keywords import Keyword, classify_keyword, keyword_language, keyword_reply
from spotline.core.sms.responder import ResponderReply, parse_responder_reply
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.dispatcher import incident_note
from spotline.dispatch.actions.offers import offer_accept, offer_decline
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.actions.safety_timers import safety_current, safety_ok
from spotline.dispatch.models import Incident, Source
from spotline.errors import ActionError
from spotline.intake.models import InboundSms, SmsConversation, SmsOptOut
from spotline.privacy.crypto import normalize_phone, phone_digest, seal, unseal
from spotline.responders.models import Responder

log = logging.getLogger(__name__)

INBOUND_KEEP = timedelta(hours=24)  # retries come within minutes; a day is plenty
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


class SealedState(TypedDict):
    """What ``SmsConversation.state_sealed`` holds, once opened."""

    step: str
    language: str | None
    kind: str | None
    place: str | None
    breathing: str | None
    conscious: str | None
    attempts: int
    texts: list[str]  # what was written until dispatch: the incident's details


# -- small helpers -----------------------------------------------------------------------


def _sendable(text: str) -> str:
    return _UNSENDABLE.sub("", text)


def _dump(state: ConversationState, texts: list[str]) -> str:
    data: SealedState = {
        "step": state.step.value,
        "language": state.language,
        "kind": state.kind.value if state.kind else None,
        "place": state.place,
        "breathing": state.breathing.value if state.breathing else None,
        "conscious": state.conscious.value if state.conscious else None,
        "attempts": state.attempts,
        "texts": texts,
    }
    return seal(json.dumps(data), context="sms.state")


def _load(conversation: SmsConversation) -> tuple[ConversationState, list[str]]:
    data: SealedState = json.loads(unseal(conversation.state_sealed, context="sms.state"))
    state = ConversationState(
        step=Step(data["step"]),
        language=data["language"],
        kind=Kind(data["kind"]) if data["kind"] else None,
        place=data["place"],
        breathing=Answer(data["breathing"]) if data["breathing"] else None,
        conscious=Answer(data["conscious"]) if data["conscious"] else None,
        attempts=data["attempts"],
    )
    return state, list(data["texts"])


def _replies(inbound: InboundSms) -> list[str]:
    if not inbound.reply_sealed:
        return []
    return list(json.loads(unseal(inbound.reply_sealed, context="sms.reply")))


def _digest(phone: str) -> str:
    number = normalize_phone(phone)
    if not number.lstrip("+"):
        raise BadInbound("no sender number")
    return phone_digest(number)


def is_opted_out(phone: str) -> bool:
    """True when this number texted STOP (and not START since): send it nothing."""
    number = normalize_phone(phone)
    if not number.lstrip("+"):
        return False
    return SmsOptOut.objects.filter(phone_digest=phone_digest(number)).exists()


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
        log.info("sms retried sid=%s", sid)
        return _replies(done)
    try:
        with audit_atomic():
            # 1. The id first: a concurrent copy of this text waits here, then fails.
            inbound = InboundSms.objects.create(sid=sid, received_at=now)
            replies = _respond(digest=digest, phone=normalize_phone(from_number), body=body,
                               sid=sid, now=now)
            if replies:
                inbound.reply_sealed = seal(json.dumps(replies), context="sms.reply")
                inbound.save(update_fields=["reply_sealed"])
    except IntegrityError:
        done = InboundSms.objects.filter(sid=sid).first()
        if done is None:
            raise
        return _replies(done)  # the copy that won answered; so do we
    return replies


def _respond(*, digest: str, phone: str, body: str, sid: str, now: datetime) -> list[str]:
    # 2. Compliance keywords.
    keyword = classify_keyword(body)
    org = settings.SPOTLINE_ORG_NAME
    if keyword is not None:
        language = keyword_language(body)
        log.info("sms keyword sid=%s keyword=%s", sid, keyword.value)
        if keyword is Keyword.STOP:
            _, created = SmsOptOut.objects.get_or_create(phone_digest=digest,
                                                         defaults={"at": now})
            return [keyword_reply(keyword, language=language, org=org)] if created else []
        if keyword is Keyword.START:
            SmsOptOut.objects.filter(phone_digest=digest).delete()
            return [keyword_reply(keyword, language=language, org=org)]
        return [f"{keyword_reply(keyword, language=language, org=org)} "
                f"{settings.SPOTLINE_SITE_URL}/"]
    # 3. A stopped number gets nothing more.
    if SmsOptOut.objects.filter(phone_digest=digest).exists():
        log.info("sms from an opted-out number sid=%s", sid)
        return []
    # 4. A responder's "OK" / "OK 12" while their safety timer runs: never read as a
    #    person's check-in, and without a running timer it goes on as before.
    answer = _safety_by_text(digest=digest, body=body, sid=sid, now=now)
    if answer is not None:
        return [_sendable(answer)]
    # 4a. Check-ins by text: "SPOT 5 <where>", then "OK" / "DONE" while one is open.
    answer = _checkin_by_text(digest=digest, phone=phone, body=body, sid=sid, now=now)
    if answer is not None:
        return [_sendable(answer)]
    # 4b. A responder answering an offer ("Y", "YES 42"). Anything else from a
    #    responder's phone is a request for help like anyone's.
    reply = parse_responder_reply(body)
    if reply is not None:
        responder = Responder.objects.filter(phone_digest=digest).first()
        if responder is not None:
            return [_sendable(_answer_offer(responder, reply, sid=sid, now=now))]
    # 5. The conversation.
    conversation = _conversation(digest=digest, phone=phone, now=now)
    transcript_add(conversation, "person", body, now=now)
    if conversation.taken_over_at is not None:
        # A dispatcher is answering by hand: no automatic reply, but they see it live,
        # and after dispatch it still reaches the incident as a note.
        if conversation.incident_id is not None:
            _note(conversation.incident_id, body, now=now)
        conversation.updated_at = now
        conversation.save(update_fields=["transcript_sealed", "updated_at"])
        _changed(conversation)
        return []
    state, texts = _load(conversation)
    turn = converse(state, body, now=now)
    if conversation.incident_id is None and turn.state.step is not Step.DISPATCHED:
        texts.append(body)
    replies = list(turn.replies)
    if turn.action is not None and conversation.incident_id is None:
        link = _open(conversation, turn.action, details=[*texts, body], now=now)
        replies.insert(1, _TRACK[turn.action.language].format(link=link))
        texts = []  # now the incident's details: the conversation need not keep them
    elif turn.note and conversation.incident_id is not None:
        _note(conversation.incident_id, turn.note, now=now)
    conversation.state_sealed = _dump(turn.state, texts)
    conversation.language = turn.state.language or ""
    conversation.updated_at = now
    for sent in replies:
        transcript_add(conversation, "spotline", sent, now=now)
    conversation.save(update_fields=["state_sealed", "language", "updated_at", "incident",
                                     "transcript_sealed"])
    _changed(conversation)
    log.info("sms conversation=%s sid=%s step=%s incident=%s", conversation.pk, sid,
             turn.state.step.value, conversation.incident_id)
    return [_sendable(r) for r in replies]


def _conversation(*, digest: str, phone: str, now: datetime) -> SmsConversation:
    """The phone's open conversation, locked; a new one when the last is over."""
    language: str | None = None
    current = (SmsConversation.objects.select_for_update()
               .filter(phone_digest=digest, closed_at__isnull=True).first())
    if current is not None:
        if not _is_over(current, now=now):
            return current
        state, _ = _load(current)
        language = state.language
        # 5. Its incident closed (or it went quiet): close it and start over.
        current.state_sealed = _dump(replace(state, step=Step.CLOSED), [])
        current.closed_at = current.updated_at = now
        current.save(update_fields=["state_sealed", "closed_at", "updated_at"])
    try:
        with audit_atomic():
            return SmsConversation.objects.create(
                phone_digest=digest, phone_sealed=seal(phone, context="sms.phone"),
                state_sealed=_dump(ConversationState(language=language), []),
                language=language or "", created_at=now, updated_at=now,
            )
    except IntegrityError:
        # Another text from this phone started one at the same moment: use that one.
        return SmsConversation.objects.select_for_update().get(
            phone_digest=digest, closed_at__isnull=True)


def _is_over(conversation: SmsConversation, *, now: datetime) -> bool:
    if conversation.incident_id is not None:
        closed = (Incident.objects.filter(pk=conversation.incident_id)
                  .values_list("closed_at", flat=True).first())
        return closed is not None
    if now - conversation.updated_at >= INBOUND_KEEP:
        return True  # a question left unanswered for a day: a new text is a new request
    state, _ = _load(conversation)
    return state.step is Step.DISPATCHED  # its incident was deleted


def _open(conversation: SmsConversation, action: OpenIncident, *, details: list[str],
          now: datetime) -> str:
    """Open the incident; the tracking link to text back (the token is not kept)."""
    opened = incident_open(IncidentRequest(kind=action.kind, location=None,
                 description=action.place or NO_PLACE,
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
    """Delete the conversations that led to this incident (``incident_purged``, sent
    in the purge's transaction)."""
    deleted, _ = SmsConversation.objects.filter(incident_id=incident_id).delete()
    return deleted


def inbound_expire(*, now: datetime) -> int:
    """Delete what SMS intake no longer needs (the worker calls this now and then):
    message ids and their sealed answers after a day, conversations that led nowhere
    after a day of silence, and any whose incident was purged. Returns rows deleted."""
    cutoff = now - INBOUND_KEEP
    n, _ = InboundSms.objects.filter(received_at__lt=cutoff).delete()
    m, _ = SmsConversation.objects.filter(
        Q(incident__isnull=True, updated_at__lt=cutoff) | Q(incident__purged_at__isnull=False)
    ).delete()
    return n + m



def _answer_offer(responder: Responder, reply: ResponderReply, *, sid: str, now: datetime
                  ) -> str:
    """Accept or decline by text, through the same actions as the app."""
    from spotline.core.policy import OfferStatus
    from spotline.dispatch.models import Offer

    pending = list(Offer.objects.filter(responder=responder, status=OfferStatus.PENDING)
                   .order_by("id").values_list("id", flat=True))
    if reply.offer_id is not None:
        offer_id = reply.offer_id
    elif len(pending) == 1:
        offer_id = pending[0]
    elif not pending:
        return "You have no open offer right now."
    else:
        return "You have several offers: reply YES and the number, e.g. YES " + \
            f"{pending[0]}. Open offers: {', '.join(str(p) for p in pending)}."
    log.info("sms responder answer sid=%s offer=%s accept=%s", sid, offer_id, reply.accept)
    try:
        if not reply.accept:
            offer_decline(offer_id=offer_id, responder=responder, now=now)
            return f"Declined offer {offer_id}. Thank you."
        offer = offer_accept(offer_id=offer_id, responder=responder, now=now)
    except ActionError as exc:
        return f"Offer {offer_id}: {exc.message}."
    incident = offer.incident
    incident.refresh_from_db()
    where = incident.location_description
    if incident.lat is not None and incident.lon is not None:
        where = (f"{where} https://www.openstreetmap.org/directions?to="
                 f"{incident.lat:.6f}%2C{incident.lon:.6f}").strip()
    return (f"Accepted: {incident.priority} {incident.kind.replace('_', ' ')}. "
            f"Go now: {where or 'see the app'}. Reply to the dispatcher through the app.")


# -- the dispatcher's view: transcript and take-over --------------------------------


def transcript(conversation: SmsConversation) -> list[dict[str, str]]:
    if not conversation.transcript_sealed:
        return []
    entries: list[dict[str, str]] = json.loads(
        unseal(conversation.transcript_sealed, context="sms.transcript"))
    return entries


def transcript_add(conversation: SmsConversation, who: str, text: str, *, now: datetime
                   ) -> None:
    """Append to the sealed transcript (the caller saves the conversation)."""
    entries = transcript(conversation)[-199:]  # a conversation, not an archive
    entries.append({"at": now.isoformat(), "who": who, "text": text[:1600]})
    conversation.transcript_sealed = seal(json.dumps(entries), context="sms.transcript")


def _changed(conversation: SmsConversation) -> None:
    from spotline.live.publish import sms_changed

    sms_changed(conversation.pk)


def conversation_take_over(*, conversation_id: int, user_id: int | None, take: bool,
                           now: datetime) -> SmsConversation:
    with audit_atomic():
        conversation = SmsConversation.objects.select_for_update().get(pk=conversation_id)
        conversation.taken_over_at = now if take else None
        conversation.taken_over_by_user_id = user_id if take else None
        conversation.save(update_fields=["taken_over_at", "taken_over_by_user_id"])
        _changed(conversation)
    return conversation


def conversation_reply(*, conversation_id: int, text: str, user_id: int | None,
                       now: datetime) -> SmsConversation:
    """A dispatcher's own text to the person, through the outbox (STOP still wins)."""
    from spotline.errors import Invalid
    from spotline.notify.actions import message_queue

    text = text.strip()
    if not text or len(text) > 640 or "\x00" in text:
        raise Invalid("a reply is 1 to 640 characters of text")
    with audit_atomic():
        conversation = SmsConversation.objects.select_for_update().get(pk=conversation_id)
        count = len(transcript(conversation))
        transcript_add(conversation, "dispatcher", text, now=now)
        conversation.updated_at = now
        conversation.save(update_fields=["transcript_sealed", "updated_at"])
        message_queue(
            key=f"sms-reply:{conversation.pk}:{count}", purpose="sms_reply", body=text,
            channels=["sms"], to=unseal(conversation.phone_sealed, context="sms.phone"),
            incident=conversation.incident, now=now,
        )
        _changed(conversation)
    return conversation


def _known_language(digest: str) -> str:
    """The language this phone uses with us: its open check-in's, else its latest
    conversation's, else English."""
    from spotline.checkins.models import CheckIn
    from spotline.core.checkin import Purpose

    language = (
        CheckIn.objects.filter(phone_digest=digest, purpose=Purpose.PERSON)
        .order_by("-created_at").values_list("language", flat=True).first()
        or SmsConversation.objects.filter(phone_digest=digest).exclude(language="")
        .order_by("-updated_at").values_list("language", flat=True).first()
    )
    return "es" if language == "es" else "en"


def _checkin_by_text(*, digest: str, phone: str, body: str, sid: str, now: datetime
                     ) -> str | None:
    """Start, confirm or end a check-in by SMS, or forget a saved place; None when the
    text is about something else."""
    from spotline.checkins.models import CheckIn, SavedPlan
    from spotline.core.checkin import OPEN_STATES, Purpose

    forget = forget_language(body)
    if forget is not None:
        # The same answer whether there was a plan or not: a reply never tells whether
        # a number is known.
        plan_delete(phone=phone)
        log.info("sms saved place forget sid=%s", sid)
        return checkin_say("forgot", forget)
    spot = parse_spot(body)
    if spot is not None:
        return _checkin_start(spot, digest=digest, phone=phone, sid=sid, now=now)
    save = save_language(body)
    if save is not None:
        return checkin_say("save_usage", save)
    word = checkin_word(body)
    if word is None:
        return None
    active = (CheckIn.objects.filter(phone_digest=digest, purpose=Purpose.PERSON,
                                     state__in=[s.value for s in OPEN_STATES])
              .order_by("-created_at").first())
    if active is None:
        return None
    language = active.language
    try:
        if word == "ok":
            checkin = checkin_ok(checkin_id=active.pk, now=now)
            return checkin_say("ok", language, minutes=checkin.minutes)
        checkin_done(checkin_id=active.pk, now=now)
    except ActionError as exc:
        log.info("sms check-in not updated sid=%s checkin=%s (%s)", sid, active.pk,
                 type(exc).__name__)
        return checkin_say("failed", language)
    saved = SavedPlan.objects.filter(phone_digest=digest).exists()
    return checkin_say("done_saved" if saved else "done", language)


def _checkin_start(spot: SpotRequest, *, digest: str, phone: str, sid: str, now: datetime
                   ) -> str:
    """SPOT with a place starts there (and saves it for SPOT SAVE); SPOT alone starts
    from this phone's saved place, or explains how to start."""
    from spotline.core.checkin import DEFAULT_MINUTES, OnMiss

    language = spot.language or _known_language(digest)
    minutes = clamp_minutes(spot.minutes) if spot.minutes is not None else None
    plan = None if spot.place else plan_for_phone(phone)
    if not spot.place and plan is None:
        return checkin_say("usage", language)
    try:
        if plan is not None:
            started = checkin_start_plan(replace(plan, phone=phone),
                                                  language=language, now=now, minutes=minutes,
                                                  replace_running=True)
            plan_used(phone=phone, now=now)
            key = "started_plan"
        else:
            minutes = minutes or DEFAULT_MINUTES
            started = checkin_start(location=None, description=spot.place,
                                             minutes=minutes, on_miss=OnMiss.RESPONDERS,
                                             phone=phone, language=language, now=now,
                                             replace_running=True)
            if spot.save:
                plan_save(Plan(location=None, description=spot.place,
                                                 minutes=minutes, phone=phone),
                                   now=now, phone_key=phone)
            key = "started_saved" if spot.save else "started"
    except ActionError as exc:
        log.info("sms check-in not started sid=%s (%s)", sid, type(exc).__name__)
        return checkin_say("failed", language)
    log.info("sms check-in started sid=%s checkin=%s how=%s", sid, started.checkin.pk, key)
    return checkin_say(key, language, minutes=started.checkin.minutes,
                       place=plan.description if plan else "",
                       link=f"{settings.SPOTLINE_SITE_URL}/c/{started.token}/")


def _safety_by_text(*, digest: str, body: str, sid: str, now: datetime) -> str | None:
    """A responder's "OK" or "OK <id>" extends their running safety timer. None when
    the sender is no responder, no timer runs, or the number is not that timer's (it
    may answer an offer): the text then goes on as before."""
    from django.utils import timezone

    from spotline.core.checkin import OPEN_STATES
    from spotline.errors import NotFound

    said = parse_safety_ok(body)
    if said is None:
        return None
    responder = Responder.objects.filter(phone_digest=digest).first()
    if responder is None:
        return None
    current = safety_current(responder)
    if current is None or current.state not in OPEN_STATES:
        return None
    if said.checkin_id is not None and said.checkin_id != current.pk:
        return None
    try:
        checkin = safety_ok(responder=responder, minutes=None, now=now)
    except NotFound:
        return None  # it ended meanwhile
    except ActionError as exc:
        log.info("sms safety ok failed sid=%s (%s)", sid, type(exc).__name__)
        return checkin_say("safety_failed", "en")
    log.info("sms safety ok sid=%s checkin=%s", sid, checkin.pk)
    at = timezone.localtime(checkin.next_at).strftime("%H:%M") if checkin.next_at else "?"
    # Responder texts are in English, like the safety check they answer.
    return checkin_say("safety_ok", "en", minutes=checkin.minutes, time=at)
