"""Email through Django's SMTP backend (settings EMAIL_HOST, EMAIL_PORT, ...).

The message key becomes the Message-ID, so a resend after a crash is recognisably the
same message; mail servers and clients drop the duplicate.
"""

from __future__ import annotations

import hashlib
import secrets
import smtplib
from typing import ClassVar

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from spotline.notify.providers.base import PermanentError, Sent, TransientError, Transport


class EmailTransport(Transport):
    name: ClassVar[str] = "email"
    channels: ClassVar[frozenset[str]] = frozenset({"email"})
    redact: ClassVar[frozenset[str]] = frozenset({"to", "body", "subject"})

    def send(self, *, channel: str, to: str, body: str, key: str) -> Sent:
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        message_id = f"<{digest}@{settings.SPOTLINE_EMAIL_DOMAIN}>"
        mail = EmailMessage(
            subject=f"{settings.SPOTLINE_ORG_NAME}: {body[:60]}", body=body,
            from_email=settings.DEFAULT_FROM_EMAIL, to=[to],
            headers={"Message-ID": message_id},
            connection=get_connection(timeout=10),
        )
        try:
            mail.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused:
            raise PermanentError("recipient refused") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientError(type(exc).__name__) from None
        # The Message-ID repeats on a resend (that is the point); the delivery's own
        # reference must not, so it gets a random suffix.
        return Sent(ref=f"{message_id}#{secrets.token_hex(4)}")
