"""An SMS conversation's sealed memory, and the dispatcher's part in it.

The conversation's state (what the person said so far, sealed as a whole) and its
transcript (both ways, sealed) are what the console's SMS pages read; a dispatcher can
take a conversation over (Spotline then stops answering automatically) and reply by
hand through the outbox, where STOP still wins. Deleted with the conversation
(``sms.inbound_expire``, or the incident's purge).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TypedDict

from spotline.audit.actions import atomic as audit_atomic
from spotline.core.sms.converse import ConversationState, Step
from spotline.core.triage import Answer, Kind
from spotline.errors import Invalid
from spotline.intake.models import SmsConversation
from spotline.live.publish import sms_changed
from spotline.notify.actions import message_queue
from spotline.privacy.crypto import seal, unseal


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


def state_dump(state: ConversationState, texts: list[str]) -> str:
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
    )
    return state, list(data["texts"])


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
        conversation.updated_at = now
        conversation.save(update_fields=["transcript_sealed", "updated_at"])
        message_queue(
            key=f"sms-reply:{conversation.pk}:{count}", purpose="sms_reply", body=text,
            channels=["sms"], to=unseal(conversation.phone_sealed, context="sms.phone"),
            incident_id=conversation.incident_id, now=now,
        )
        changed(conversation)
    return conversation
