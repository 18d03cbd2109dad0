"""Compliance keywords by text (STOP, START, HELP), and cancelling a request by text.

``core.sms.compliance`` decides what a keyword means for this phone right now; this is
the shell around it. ``intake.sms`` calls ``keyword_by_text`` for a keyword before
anything else, and ``cancel_by_text`` when a conversation's text answers YES to
"cancel your request?". The question is remembered in the conversation's sealed state
(``stop_asked_at``); for a phone with only a check-in open, in a conversation started
for it. Every keyword ends the phone's drug-alert conversation, if any, and the
opt-out also deletes its alert subscription (``alerts.sms.alerts_stop``). Nothing here
logs a phone number or a message body: ids and steps only.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from django.conf import settings

from spotline.alerts.sms import alerts_stop
from spotline.alerts.sms import conversation_end as alerts_conversation_end
from spotline.checkins.sms import open_checkin
from spotline.core.lifecycle import State
from spotline.core.policy import Actor
from spotline.core.sms.compliance import Do, Phone, cancel_reply, keyword_turn
from spotline.core.sms.converse import ConversationState, Step
from spotline.core.sms.keywords import Keyword
from spotline.dispatch.actions.dispatcher import incident_cancel
from spotline.dispatch.models import Incident
from spotline.errors import Conflict
from spotline.intake.conversations import (
    conversation_current,
    conversation_for,
    conversation_save,
    state_load,
    transcript_add,
)
from spotline.intake.models import SmsConversation
from spotline.notify.actions import is_opted_out, optout_record, optout_remove

log = logging.getLogger(__name__)


def keyword_by_text(keyword: Keyword, *, digest: str, phone: str, body: str, sid: str,
                    now: datetime) -> list[str]:
    """Carry out a compliance keyword (the whole of ``body``); the replies to send."""
    opted_out = is_opted_out(phone)
    # What is open matters only to a number we may still text.
    conversation = None if opted_out else conversation_current(digest=digest, now=now)
    state: ConversationState | None = None
    texts: list[str] = []
    if conversation is not None:
        state, texts = state_load(conversation)
    checkin = None if opted_out else open_checkin(digest)
    turn = keyword_turn(keyword, body, Phone(
        incident=_incident_state(conversation),
        checkin_open=checkin is not None,
        talking=state is not None and state.step in (Step.ASK_KIND, Step.ASK_PLACE),
        asked_at=state.stop_asked_at if state is not None else None,
        opted_out=opted_out,
        language=(state.language if state is not None else None)
        or (checkin.language if checkin is not None else None),
    ), now=now, org=settings.SPOTLINE_ORG_NAME, site=settings.SPOTLINE_SITE_URL)
    log.info("sms keyword sid=%s keyword=%s do=%s conversation=%s", sid, keyword.value,
             turn.do.value, conversation.pk if conversation is not None else None)
    replies = list(turn.replies)
    # Any keyword ends an alert conversation (ALERTS, REPORT): the text after HELP, or
    # after "cancel your request?", must reach the help conversation.
    alerts_conversation_end(digest=digest)
    if turn.do is Do.START:
        optout_remove(phone=phone)
    elif turn.do is Do.OPT_OUT:
        # No drug alerts either, at once (the subscriber row is deleted).
        alerts_stop(digest=digest, phone=phone, now=now)
        if not optout_record(phone=phone, now=now):
            replies = []  # already stopped: not confirmed twice
    if turn.do is Do.HELP_START and turn.state is not None:
        # A lone HELP starts a request: the conversation waits for what is happening.
        conversation = conversation_for(digest=digest, phone=phone, now=now)
        state, texts = turn.state, [body]
    elif turn.do is Do.ASK:
        # Where the question is remembered; for a check-in alone, a new conversation.
        conversation = conversation or conversation_for(digest=digest, phone=phone, now=now)
        if state is None:
            state, texts = state_load(conversation)
        # The answer to it comes in the language it was asked in.
        state = replace(state, stop_asked_at=turn.asked_at, language=turn.language)
    elif state is not None and (turn.do is Do.OPT_OUT or state.stop_asked_at is not None):
        state = replace(state, stop_asked_at=None)  # any other answer drops the question
    else:
        return replies  # START, HELP: nothing to remember
    if conversation is not None and state is not None:
        # The console shows the question and its answer with the rest.
        transcript_add(conversation, "person", body, now=now)
        conversation_save(conversation, state, texts, replies=replies, now=now)
    return replies


def _incident_state(conversation: SmsConversation | None) -> State | None:
    """The state of the conversation's incident (open: an over conversation was closed)."""
    if conversation is None or conversation.incident_id is None:
        return None
    state = (Incident.objects.filter(pk=conversation.incident_id)
             .values_list("state", flat=True).first())
    return State(state) if state else None


def cancel_by_text(*, incident_id: int, language: str | None, sid: str, now: datetime) -> str:
    """The person confirmed: cancel their request as the status page's button does
    (the responder is told as usual); the answer says whether it was cancelled."""
    try:
        incident_cancel(incident_id=incident_id, actor=Actor.PERSON, user_id=None, now=now)
    except Conflict as exc:  # a responder reached them meanwhile: only they close it
        log.info("sms cancel refused sid=%s incident=%s (%s)", sid, incident_id,
                 type(exc).__name__)
        return cancel_reply(language, cancelled=False)
    log.info("sms request cancelled by the person sid=%s incident=%s", sid, incident_id)
    return cancel_reply(language, cancelled=True)
