"""Twilio: SMS and voice out, with the official library.

Settings: ``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN``, ``TWILIO_FROM_NUMBER``;
``TWILIO_API_BASE`` points the client elsewhere (the tests' local stub). Every request
carries ``I-Twilio-Idempotency-Token: <message key>:<channel>``, so a resend after a
worker crash is recognised as the same message. The library's own request logging is
replaced: it would log the To number and, for some calls, the body.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit
from xml.sax.saxutils import escape

from django.conf import settings
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.twiml.voice_response import Gather, VoiceResponse

from spotline.notify.providers.base import PermanentError, Sent, TransientError, Transport

_local = threading.local()
log = logging.getLogger(__name__)


class _HttpClient(TwilioHttpClient):  # type: ignore[misc]
    """Sends to TWILIO_API_BASE, adds the idempotency token, logs nothing personal."""

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        base = urlsplit(settings.TWILIO_API_BASE)
        parts = urlsplit(url)
        url = urlunsplit((base.scheme, base.netloc, parts.path, parts.query, parts.fragment))
        headers = dict(kwargs.pop("headers", None) or {})
        token = getattr(_local, "key", None)
        if token:
            headers["I-Twilio-Idempotency-Token"] = token
        return super().request(method, url, *args, headers=headers, **kwargs)

    def log_request(self, kwargs: dict[str, Any]) -> None:
        pass

    def log_response(self, status_code: int, response: Any) -> None:
        pass


def client() -> Client:
    return Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN,
                  http_client=_HttpClient(timeout=10))


def say_twiml(text: str, *, language: str = "en") -> str:
    voice_lang = "es-US" if language == "es" else "en-US"
    return (f'<?xml version="1.0" encoding="UTF-8"?><Response><Say language="{voice_lang}">'
            f"{escape(text)}</Say></Response>")


def offer_call_twiml(*, offer_id: int, text: str) -> str:
    response = VoiceResponse()
    gather = Gather(num_digits=1, timeout=10,
                    action=f"{settings.SPOTLINE_SITE_URL}/hooks/twilio/offer-call/{offer_id}")
    # The text's reply instructions and link mean nothing spoken: say the offer only.
    gather.say(re.split(r"\.? (?:Reply|Open) ", text)[0].rstrip(".") + ".")
    gather.say("Press 1 to accept. Press 2 to decline.")
    response.append(gather)
    response.say("No answer received. The offer stays open in the app.")
    return str(response)


class TwilioTransport(Transport):
    name: ClassVar[str] = "twilio"
    channels: ClassVar[frozenset[str]] = frozenset({"sms", "voice"})
    redact: ClassVar[frozenset[str]] = frozenset(
        {"To", "From", "Body", "Caller", "Called", "RecordingUrl", "TranscriptionText"}
    )

    def send(self, *, channel: str, to: str, body: str, key: str) -> Sent:
        callback = settings.SPOTLINE_SITE_URL + "/hooks/twilio/status"
        _local.key = key
        try:
            if channel == "sms":
                msg = client().messages.create(to=to, from_=settings.TWILIO_FROM_NUMBER,
                                               body=body, status_callback=callback)
                return Sent(ref=str(msg.sid))
            twiml = say_twiml(body)
            if key.startswith(("offer:", "offer-call:")):
                # "offer[-call]:<offer id>:<round>:voice": a call that accepts by keypad.
                twiml = offer_call_twiml(offer_id=int(key.split(":")[1]), text=body)
            call = client().calls.create(to=to, from_=settings.TWILIO_FROM_NUMBER,
                                         twiml=twiml, status_callback=callback)
            return Sent(ref=str(call.sid))
        except (TwilioRestException, TwilioServiceException) as exc:
            # 429 and 5xx pass. 401/403 are our configuration (a rotated token), not the
            # recipient: retry, loudly. Other 4xx (a bad or blocked number) will not pass.
            status = int(getattr(exc, "status", 0) or 0)
            if status in (401, 403):
                log.error("twilio rejected our credentials (%s): check TWILIO_*", status)
                raise TransientError(f"twilio {status}") from None
            if status == 429 or status >= 500:
                raise TransientError(f"twilio {status}") from None
            raise PermanentError(f"twilio {status} code {getattr(exc, 'code', '')}") from None
        except OSError as exc:
            raise TransientError(type(exc).__name__) from None
        except Exception as exc:  # requests' connection errors and timeouts
            raise TransientError(type(exc).__name__) from None
        finally:
            _local.key = None
