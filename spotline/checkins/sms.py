"""Check-ins by text message: SPOT / CUIDA (start), OK, DONE, SAVE and FORGET.

``core.sms.checkin`` decides what a text says; this is the shell around it. SMS intake
(``intake.sms``) asks ``checkin_by_text`` first, before reading a text as a request
for help: it answers, or returns None when the text is about something else. Nothing
here logs a phone number or a message body: ids and steps only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from django.conf import settings

from spotline.checkins.actions import checkin_done, checkin_ok, checkin_start, checkin_start_plan
from spotline.checkins.models import CheckIn, SavedPlan
from spotline.checkins.plans import Plan, plan_delete, plan_for_phone, plan_save, plan_used
from spotline.core.checkin import DEFAULT_MINUTES, OPEN_STATES, OnMiss
from spotline.core.sms.checkin import (
    SpotRequest,
    checkin_say,
    checkin_word,
    clamp_minutes,
    forget_language,
    parse_spot,
    save_language,
)
from spotline.errors import ActionError

log = logging.getLogger(__name__)

# The language a phone last used with us elsewhere (its SMS conversation), asked only
# when a text does not say: the caller's, since that conversation is not ours to read.
LanguageHint = Callable[[], str | None]


def checkin_by_text(*, digest: str, phone: str, body: str, sid: str, now: datetime,
                    language_hint: LanguageHint) -> str | None:
    """Start, confirm or end a check-in by SMS, or forget a saved place; the answer,
    or None when the text is about something else."""
    forget = forget_language(body)
    if forget is not None:
        # The same answer whether there was a plan or not: a reply never tells whether
        # a number is known.
        plan_delete(phone=phone)
        log.info("sms saved place forget sid=%s", sid)
        return checkin_say("forgot", forget)
    spot = parse_spot(body)
    if spot is not None:
        return _start(spot, digest=digest, phone=phone, sid=sid, now=now,
                      language_hint=language_hint)
    save = save_language(body)
    if save is not None:
        return checkin_say("save_usage", save)
    word = checkin_word(body)
    if word is None:
        return None
    active = open_checkin(digest)
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


def open_checkin(digest: str) -> CheckIn | None:
    """This phone's running check-in (the latest, should there be several), or None."""
    return (CheckIn.objects.filter(phone_digest=digest,
                                   state__in=[s.value for s in OPEN_STATES])
            .order_by("-created_at").first())


def _language(digest: str, hint: LanguageHint) -> str:
    """The language this phone uses with us: its latest check-in's, else the hint's
    (its SMS conversation), else English."""
    language = (CheckIn.objects.filter(phone_digest=digest).order_by("-created_at")
                .values_list("language", flat=True).first()) or hint()
    return "es" if language == "es" else "en"


def _start(spot: SpotRequest, *, digest: str, phone: str, sid: str, now: datetime,
           language_hint: LanguageHint) -> str:
    """SPOT with a place starts there (and saves it for SPOT SAVE); SPOT alone starts
    from this phone's saved place, or explains how to start."""
    language = spot.language or _language(digest, language_hint)
    minutes = clamp_minutes(spot.minutes) if spot.minutes is not None else None
    plan = None if spot.place else plan_for_phone(phone)
    if not spot.place and plan is None:
        return checkin_say("usage", language)
    try:
        if plan is not None:
            started = checkin_start_plan(replace(plan, phone=phone), language=language,
                                         now=now, minutes=minutes, replace_running=True)
            plan_used(phone=phone, now=now)
            key = "started_plan"
        else:
            minutes = minutes or DEFAULT_MINUTES
            started = checkin_start(location=None, description=spot.place, minutes=minutes,
                                    on_miss=OnMiss.RESPONDERS, phone=phone,
                                    language=language, now=now, replace_running=True)
            if spot.save:
                plan_save(Plan(location=None, description=spot.place, minutes=minutes,
                               phone=phone), now=now, phone_key=phone)
            key = "started_saved" if spot.save else "started"
    except ActionError as exc:
        log.info("sms check-in not started sid=%s (%s)", sid, type(exc).__name__)
        return checkin_say("failed", language)
    log.info("sms check-in started sid=%s checkin=%s how=%s", sid, started.checkin.pk, key)
    return checkin_say(key, language, minutes=started.checkin.minutes,
                       place=plan.description if plan else "",
                       link=f"{settings.SPOTLINE_SITE_URL}/c/{started.token}/")
