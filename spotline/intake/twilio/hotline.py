"""The hotline: a call to the organization's number.

``voice`` rings the phones of every dispatcher on duty at once (one TwiML ``<Dial>``
with a ``<Number>`` each: Twilio connects the first to answer and drops the others).
When nobody answers, or nobody is on duty, the caller hears that nobody could answer
and can leave a message (``voice_missed``); ``voice_recorded`` then opens an incident
flagged ``attention="call_back"`` (through the one door, ``incident_open``) with the
caller's number as the sealed call-back number. All three are Twilio-signed webhooks
(``signed_by_twilio``).

Privacy: logs carry the CallSid and incident id only, never From, To or the
recording's URL. The recording itself stays at the provider and its URL is not stored
(a voice is personal data); the dispatcher calls the person back instead.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils import timezone
from twilio.twiml.voice_response import Dial, VoiceResponse

from spotline.accounts.models import Profile, Role
from spotline.audit.actions import atomic as audit_atomic
from spotline.core.triage import Kind
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.models import Source
from spotline.intake.models import InboundSms
from spotline.intake.sms import MAX_SID
from spotline.intake.twilio.webhooks import twiml
from spotline.notify.providers.twilio.signature import signed_by_twilio
from spotline.privacy.crypto import SealError, normalize_phone, unseal

log = logging.getLogger(__name__)

RING_SECONDS = 20
RECORD_SECONDS = 120
NOBODY = ("Nobody could answer. After the tone, say where you are and what is happening. "
          "We will call you back. We never send police.")
THANKS = "Thank you. We will call you back."
CALL_BACK = "call_back"  # the incident's attention flag


def _url(name: str) -> str:
    return f"{settings.SPOTLINE_SITE_URL}/hooks/twilio/{name}"


def on_duty_numbers() -> list[str]:
    """The phones of the dispatchers and coordinators on duty, longest on duty first."""
    numbers = []
    for sealed in (Profile.objects.filter(role__in=[Role.DISPATCHER, Role.COORDINATOR],
                                          on_duty_since__isnull=False,
                                          user__is_active=True)
                   .exclude(phone_sealed="")
                   .order_by("on_duty_since", "pk")
                   .values_list("phone_sealed", flat=True)):
        try:
            number = unseal(sealed, context="profile.phone")
        except SealError:
            continue
        if number and number not in numbers:
            numbers.append(number)
    return numbers


def _leave_a_message(response: VoiceResponse) -> VoiceResponse:
    response.say(NOBODY)
    response.record(max_length=RECORD_SECONDS, play_beep=True, action=_url("voice-recorded"))
    # No message at all (silence): Twilio goes on to the next verb. We still call back.
    response.redirect(_url("voice-recorded"))
    return response


@signed_by_twilio
def voice(request: HttpRequest) -> HttpResponse:
    """An inbound call: ring everyone on duty at once, or go straight to the message."""
    response = VoiceResponse()
    numbers = on_duty_numbers()
    if not numbers:
        return twiml(str(_leave_a_message(response)))
    dial = Dial(timeout=RING_SECONDS, action=_url("voice-missed"))
    for number in numbers:
        dial.number(number)
    response.append(dial)
    log.info("hotline call sid=%s ringing %d", request.POST.get("CallSid", "")[:64],
             len(numbers))
    return twiml(str(response))


@signed_by_twilio
def voice_missed(request: HttpRequest) -> HttpResponse:
    """The ``<Dial>`` ended: done if a dispatcher answered, else take a message."""
    response = VoiceResponse()
    if request.POST.get("DialCallStatus", "") == "completed":
        response.hangup()
        return twiml(str(response))
    return twiml(str(_leave_a_message(response)))


@signed_by_twilio
def voice_recorded(request: HttpRequest) -> HttpResponse:
    """The caller left a message (or hung up silent): open an incident to call back.

    Once per CallSid: its id is kept like an inbound text's (``InboundSms``, a day), so
    a retried webhook opens nothing; every real call has one, and a request without it
    is refused (400) rather than open an incident each time. The id, the incident and
    its flag commit together. A caller whose number is withheld (or is not a phone
    number) still gets an incident, without a number to call back.
    """
    sid = request.POST.get("CallSid", "").strip()
    if not sid or len(sid) > MAX_SID:
        return HttpResponseBadRequest("A call needs its CallSid.", content_type="text/plain")
    response = VoiceResponse()
    response.say(THANKS)
    response.hangup()
    if InboundSms.objects.filter(sid=sid).exists():
        return twiml(str(response))
    now = timezone.now()
    number = callable_number(request.POST.get("From", ""))
    details = "Voicemail left on the hotline (recording at the provider; call back)"
    if not number:
        details = ("Voicemail left on the hotline (recording at the provider). The "
                   "caller's number was withheld: it cannot be called back.")
    try:
        with audit_atomic():
            # First: a concurrent copy of this webhook waits here, then fails.
            InboundSms.objects.create(sid=sid, received_at=now)
            incident = incident_open(IncidentRequest(
                kind=Kind.OTHER, source=Source.OPERATOR,
                description="Unknown: caller left a voicemail", details=details,
                callback_phone=number, attention=CALL_BACK,
            ), now=now).incident
    except IntegrityError:  # the same CallSid at the same moment: the other one won
        return twiml(str(response))
    log.info("hotline voicemail sid=%s incident=%s callable=%s", sid, incident.pk,
             bool(number))
    return twiml(str(response))


def callable_number(raw: str) -> str:
    """The caller's number, normalized, if it is one a phone can call back: E.164 has
    at most 15 digits. Withheld numbers arrive as words ("anonymous", "Restricted") or
    as Twilio's placeholders for them, which are not callable either."""
    number = normalize_phone(raw[:64])
    digits = number.lstrip("+")
    if not 5 <= len(digits) <= 15 or digits in _WITHHELD:
        return ""
    return number


# Twilio's stand-ins for a withheld caller id: +266696687 spells ANONYMOUS, +86282452253
# UNAVAILABLE, +7378742833 RESTRICTED, +2562533 BLOCKED.
_WITHHELD = {"266696687", "86282452253", "7378742833", "2562533"}
