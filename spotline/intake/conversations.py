"""An SMS conversation: finding the phone's current one, its sealed memory, and the
dispatcher's part in it.

The conversation's state (what the person said so far, sealed as a whole) and its
transcript (both ways, sealed) are what the console's SMS pages read; a dispatcher can
take a conversation over (Spotline then stops answering automatically) and reply by
hand through the outbox, where STOP still wins. Deleted with the conversation
(``sms.inbound_expire``, or the incident's purge).
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from typing import Any, NotRequired, TypedDict

from django.db import IntegrityError

from spotline.audit.actions import atomic as audit_atomic
from spotline.core.candidates import Candidate
from spotline.core.sms.converse import ConversationState, Step
from spotline.core.triage import Answer, Kind
from spotline.dispatch.models import Incident
from spotline.errors import Invalid
from spotline.intake.models import SmsConversation
from spotline.live.publish import sms_changed
from spotline.notify.actions import message_queue
from spotline.privacy.crypto import seal, unseal

INBOUND_KEEP = timedelta(hours=24)  # retries come within minutes; a day is plenty


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
    # ISO time the "cancel your request?" question was asked (absent before it existed)
    stop_asked_at: NotRequired[str | None]
    # The places offered in "Which one?" (name, lat, lon, confidence, kind, radius_m,
    # reason): sealed like the rest, deleted with the conversation.
    choices: NotRequired[list[dict[str, Any]]]


def state_dump(state: ConversationState, texts: list[str]) -> str:
    asked = state.stop_asked_at
    data: SealedState = {
        "step": state.step.value,
        "language": state.language,
        "kind": state.kind.value if state.kind else None,
        "place": state.place,
        "breathing": state.breathing.value if state.breathing else None,
        "conscious": state.conscious.value if state.conscious else None,
        "attempts": state.attempts,
        "texts": texts,
        "stop_asked_at": asked.isoformat() if asked else None,
        "choices": [asdict(c) for c in state.choices],
    }
    return seal(json.dumps(data), context="sms.state")


def state_load(conversation: SmsConversation) -> tuple[ConversationState, list[str]]:
    data: SealedState = json.loads(unseal(conversation.state_sealed, context="sms.state"))
    state = ConversationState(
        step=Step(data["step"]),
        language=data["language"],
        kind=Kind(data["kind"]) if data["kind"] else None,
        place=data["place"],
        breathing=Answer(data["breathing"]) if data["breathing"] else None,
        conscious=Answer(data["conscious"]) if data["conscious"] else None,
        attempts=data["attempts"],
        stop_asked_at=_when(data.get("stop_asked_at")),
        choices=tuple(Candidate(**c) for c in data.get("choices", [])),
    )
    return state, list(data["texts"])


def _when(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso) if iso else None


# -- the phone's current conversation ------------------------------------------------------


def conversation_current(*, digest: str, now: datetime) -> SmsConversation | None:
    """The phone's open conversation, locked; None when it has none. One that is over
    (its incident closed, or a question left unanswered for a day) is closed here."""
    return _current(digest=digest, now=now)[0]


def conversation_for(*, digest: str, phone: str, now: datetime) -> SmsConversation:
    """The phone's open conversation, locked; a new one when the last is over."""
    current, language = _current(digest=digest, now=now)
    if current is not None:
        return current
    try:
        with audit_atomic():
            return SmsConversation.objects.create(
                phone_digest=digest, phone_sealed=seal(phone, context="sms.phone"),
                state_sealed=state_dump(ConversationState(language=language), []),
                language=language or "", created_at=now, updated_at=now,
            )
    except IntegrityError:
        # Another text from this phone started one at the same moment: use that one.
        return SmsConversation.objects.select_for_update().get(
            phone_digest=digest, closed_at__isnull=True)


def _current(*, digest: str, now: datetime) -> tuple[SmsConversation | None, str | None]:
    """The open conversation (None if there is none or it was over), and the language
    of the one just closed, for the next to start in."""
    current = (SmsConversation.objects.select_for_update()
               .filter(phone_digest=digest, closed_at__isnull=True).first())
    if current is None or not _is_over(current, now=now):
        return current, None
    state, _ = state_load(current)
    # Its incident closed (or it went quiet): close it; the next text starts over.
    current.state_sealed = state_dump(
        replace(state, step=Step.CLOSED, stop_asked_at=None, choices=()), [])
    current.closed_at = current.updated_at = now
    current.save(update_fields=["state_sealed", "closed_at", "updated_at"])
    return None, state.language


def _is_over(conversation: SmsConversation, *, now: datetime) -> bool:
    if conversation.incident_id is not None:
        closed = (Incident.objects.filter(pk=conversation.incident_id)
                  .values_list("closed_at", flat=True).first())
        return closed is not None
    if now - conversation.updated_at >= INBOUND_KEEP:
        return True  # a question left unanswered for a day: a new text is a new request
    state, _ = state_load(conversation)
    return state.step is Step.DISPATCHED  # its incident was deleted


def conversation_save(conversation: SmsConversation, state: ConversationState,
                      texts: list[str], *, replies: list[str], now: datetime) -> None:
    """Keep the state after a turn and what Spotline answered (the caller added the
    person's text to the transcript), and tell the console."""
    conversation.state_sealed = state_dump(state, texts)
    conversation.language = state.language or ""
    conversation.updated_at = now
    for sent in replies:
        transcript_add(conversation, "spotline", sent, now=now)
    conversation.save(update_fields=["state_sealed", "language", "updated_at", "incident",
                                     "transcript_sealed"])
    changed(conversation)


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


def changed(conversation: SmsConversation) -> None:
    """The console's conversation pages look again (after commit)."""
    sms_changed(conversation.pk)


def conversation_take_over(*, conversation_id: int, user_id: int | None, take: bool,
                           now: datetime) -> SmsConversation:
    with audit_atomic():
        conversation = SmsConversation.objects.select_for_update().get(pk=conversation_id)
        conversation.taken_over_at = now if take else None
        conversation.taken_over_by_user_id = user_id if take else None
        conversation.save(update_fields=["taken_over_at", "taken_over_by_user_id"])
        changed(conversation)
    return conversation


def conversation_reply(*, conversation_id: int, text: str, user_id: int | None,
                       now: datetime) -> SmsConversation:
    """A dispatcher's own text to the person, through the outbox (STOP still wins)."""
    text = text.strip()
    if not text or len(text) > 640 or "\x00" in text:
        raise Invalid("a reply is 1 to 640 characters of text")
    with audit_atomic():
        conversation = SmsConversation.objects.select_for_update().get(pk=conversation_id)
        count = len(transcript(conversation))
        transcript_add(conversation, "dispatcher", text, now=now)
        # The dispatcher asked last: a YES now answers them, never "cancel your request?".
        state, texts = state_load(conversation)
        conversation.state_sealed = state_dump(replace(state, stop_asked_at=None), texts)
        conversation.updated_at = now
        conversation.save(update_fields=["transcript_sealed", "state_sealed", "updated_at"])
        message_queue(
            key=f"sms-reply:{conversation.pk}:{count}", purpose="sms_reply", body=text,
            channels=["sms"], to=unseal(conversation.phone_sealed, context="sms.phone"),
            incident_id=conversation.incident_id, now=now,
        )
        changed(conversation)
    return conversation
