"""A worker killed between handing a message to Twilio and recording it: after the
restart the message is recorded as sent and Twilio delivered it once.

Real ``spotline worker`` processes on the test database, the real Twilio provider and
library, and the local Twilio stub, which deduplicates by the idempotency token the
way the outbox relies on.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.conftest import CENTRE, HANG_SECONDS, offset
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.actions.shifts import shift_set
from spotline.dispatch.models import Timer
from spotline.notify.actions import message_queue
from spotline.notify.models import Message
from spotline.notify.tests.twilio_stub import TwilioStub
from spotline.responders.models import Responder

REPO = Path(__file__).resolve().parents[3]
KILLED = 9
LEASE_SECONDS = 1
ACCOUNT_SID = "AC" + "7" * 32
AUTH_TOKEN = "stub-auth-token-crash"
FROM = "+15550009999"
TO = "+15550100100"
LATER_TO = "+15550100101"

# The real provider sends (the stub has the message), then the process dies before
# send() returns: the outbox never learns that the send happened.
CRASH_SHIM = """
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spotline.settings")
import django
django.setup()
from spotline.notify.providers.twilio.transport import TwilioTransport
real_send = TwilioTransport.send
def send_then_die(self, **kwargs):
    real_send(self, **kwargs)
    os._exit(9)
TwilioTransport.send = send_then_die
from django.core.management import call_command
call_command("worker")
"""


def wait_until(predicate: Callable[[], bool], *, what: str, logs: Callable[[], str] = str,
               timeout: float = HANG_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{logs()}")


def worker_env(stub: TwilioStub) -> dict[str, str]:
    """A worker on this test's database, with this process's keys, texting via the stub."""
    db = settings.DATABASES["default"]
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "SPOTLINE_SQLITE_PATH", "DJANGO_SETTINGS_MODULE")
           and not k.startswith(("TWILIO_", "SPOTLINE_KEK", "SPOTLINE_HASH_KEY"))}
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = (
            f"postgres://{quote(db['USER'], safe='')}:{quote(db['PASSWORD'], safe='')}"
            f"@{db['HOST']}:{db['PORT']}/{quote(db['NAME'], safe='')}"
        )
    else:
        env["SPOTLINE_SQLITE_PATH"] = str(db["NAME"])
    env.update({
        # Sealed bodies and numbers must open in the worker too.
        "SPOTLINE_KEK": base64.urlsafe_b64encode(settings.SPOTLINE_KEK).decode(),
        "SPOTLINE_HASH_KEY": base64.urlsafe_b64encode(settings.SPOTLINE_HASH_KEY).decode(),
        "SPOTLINE_SMS_PROVIDER": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": FROM,
        "TWILIO_API_BASE": stub.url,
        "SPOTLINE_OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
        "SPOTLINE_WORKER_POLL_SECONDS": "0.1",
        "SPOTLINE_LOG_LEVEL": "INFO",
    })
    return env


class WorkerProcess:
    def __init__(self, log: Path, env: dict[str, str], *, crash: bool) -> None:
        self.log = log
        cmd = ([sys.executable, "-c", CRASH_SHIM] if crash
               else [sys.executable, "-m", "spotline", "worker"])
        with log.open("wb") as out:
            self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and code
                cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL)

    def output(self) -> str:
        return f"--- {self.log.name}\n{self.log.read_text(errors='replace')}"

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=HANG_SECONDS)


@pytest.fixture
def stub() -> Iterator[TwilioStub]:
    with TwilioStub(ACCOUNT_SID, AUTH_TOKEN) as running:
        yield running


@pytest.fixture
def workers(transactional_db: Any, tmp_path: Path, stub: TwilioStub
            ) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(*, crash: bool = False) -> WorkerProcess:
        w = WorkerProcess(tmp_path / f"worker{len(started) + 1}.log", worker_env(stub),
                          crash=crash)
        started.append(w)
        return w

    yield start
    # Before the test database is flushed (or dropped): no worker may outlive its test.
    for w in started:
        if w.proc.poll() is None:
            w.proc.kill()
        w.proc.wait(timeout=HANG_SECONDS)


def queue_an_offer_text() -> Message:
    user = user_create(name="sam", role=Role.RESPONDER, password=None, skills=("naloxone",),
                       phone=TO)
    responder = Responder.objects.get(user=user)
    Responder.objects.filter(pk=responder.pk).update(channels=["sms"])
    now = timezone.now()
    shift_set(responder=responder, on_shift=True, location=offset(CENTRE, 100), now=now)
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE,
                                             breathing=Answer.NO), now=now).incident
    # The workers only send: its timers (45 s and more away) are put off for a day, so
    # that however slowly the processes start, no offer expires under the test.
    Timer.objects.filter(incident=incident).update(due_at=F("due_at") + timedelta(days=1))
    return Message.objects.get(purpose="offer", incident=incident)


@pytest.mark.django_db(transaction=True)
def test_it_delivers_once_after_a_crash_between_sending_and_recording(workers, stub):
    message = queue_an_offer_text()
    token = f"{message.key}:sms"

    doomed = workers(crash=True)
    wait_until(lambda: doomed.proc.poll() is not None, what="the worker to crash mid-send",
               logs=doomed.output)
    assert doomed.proc.returncode == KILLED, doomed.output()

    # Twilio has it; the outbox only knows that a send began.
    assert [r.token for r in stub.requests] == [token]
    assert len(stub.deliveries) == 1
    message.refresh_from_db()
    assert message.sent_at is None
    assert message.body_sealed != ""
    assert list(message.deliveries.values_list("status", "provider_ref")) == [("sending", None)]

    survivor = workers()
    wait_until(lambda: Message.objects.filter(pk=message.pk, sent_at__isnull=False).exists(),
               what="the restarted worker to record the send", logs=survivor.output)

    # Sent again with the same token, delivered once.
    assert [r.token for r in stub.requests] == [token, token]
    assert [r.form["To"] for r in stub.requests] == [TO, TO]
    [delivered] = stub.deliveries
    assert delivered["To"] == TO
    message.refresh_from_db()
    assert message.failed_at is None
    assert (message.to_sealed, message.body_sealed) == ("", "")
    assert list(message.deliveries.order_by("id").values_list("attempt", "status")) == [
        (1, "sending"), (2, "sent")]
    assert message.deliveries.get(status="sent").provider_ref == delivered["sid"]

    # Nothing more goes out for it. A message that only falls due once the recorded
    # one's lease would have run out proves that the survivor made such a pass (a fixed
    # sleep would only hope so).
    now = timezone.now()
    later = message_queue(key="after-the-crash", purpose="test", body="later",
                          channels=["sms"], to=LATER_TO, now=now,
                          not_before=now + timedelta(seconds=2 * LEASE_SECONDS))
    wait_until(lambda: Message.objects.filter(pk=later.pk, sent_at__isnull=False).exists(),
               what="the survivor to send a later message", logs=survivor.output)
    assert [r.token for r in stub.requests] == [token, token, f"{later.key}:sms"]
    assert survivor.stop() == 0
