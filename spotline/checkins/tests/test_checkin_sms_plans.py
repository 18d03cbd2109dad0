"""Saved places by text: SPOT SAVE keeps the place for this phone, SPOT alone starts
there again, FORGET deletes it, and no answer ever tells whether a number was known.
Nothing a text says, and no phone number, reaches the logs."""

from __future__ import annotations

import itertools
import logging
from datetime import timedelta

import pytest

from spotline.checkins.deadlines import fire_due as fire_due_checkins
from spotline.checkins.models import CheckIn, SavedPlan
from spotline.checkins.plans import plan_for_phone
from spotline.conftest import T0
from spotline.dispatch.models import Incident
from spotline.intake.sms import sms_receive
from spotline.privacy.crypto import phone_digest

PHONE = "+15550100166"
OTHER = "+15550100155"
PLACE = "room 12 at the Star motel, door unlocked"
S = timedelta(seconds=1)
_sids = itertools.count()

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def grace(settings):
    settings.SPOTLINE_CHECKIN_GRACE_SECONDS = 60


def text(body: str, *, at: int = 0, phone: str = PHONE) -> str:
    [reply] = sms_receive(sid=f"SMplan{next(_sids)}", from_number=phone, body=body,
                          now=T0 + at * S)
    return reply


def test_it_starts_and_saves_in_one_text() -> None:
    reply = text(f"SPOT SAVE 5 {PLACE}")
    assert reply.startswith("Check-in started. Place saved: next time text just SPOT")
    assert "We never send police" in reply
    checkin = CheckIn.objects.get()
    assert (checkin.state, checkin.minutes, checkin.language) == ("active", 5, "en")
    row = SavedPlan.objects.get()
    assert row.phone_digest == phone_digest(PHONE) and row.created_at == T0
    plan = plan_for_phone(PHONE)
    assert plan is not None
    assert (plan.description, plan.minutes, plan.phone, plan.location) == (PLACE, 5, PHONE,
                                                                           None)


def test_ending_says_the_saved_place_is_kept() -> None:
    text(f"SPOT SAVE 5 {PLACE}")
    reply = text("DONE", at=60)
    assert reply == ("Check-in ended. Your saved place is kept for next time: text FORGET to "
                     "delete it. Take care.")
    assert SavedPlan.objects.count() == 1


def test_spot_alone_starts_from_the_saved_place() -> None:
    text(f"SPOT SAVE 7 {PLACE}")
    text("DONE", at=60)
    reply = text("SPOT", at=3600)
    assert reply.startswith(f"Check-in started at your saved place: {PLACE}. We will text "
                            "you in 7 min")
    latest = CheckIn.objects.latest("id")
    assert (latest.state, latest.minutes, latest.language) == ("active", 7, "en")
    assert SavedPlan.objects.get().used_at == T0 + 3600 * S
    # Silence sends responders to the saved place, with the phone to call back.
    for seconds in (420, 480, 540):
        fire_due_checkins(now=T0 + (3600 + seconds) * S)
    incident = Incident.objects.get()
    assert incident.location_description == PLACE and incident.callback_number == PHONE


def test_spot_with_minutes_overrides_the_saved_minutes() -> None:
    text(f"SPOT SAVE 5 {PLACE}")
    text("DONE", at=60)
    assert "in 10 min" in text("SPOT 10", at=120)
    assert CheckIn.objects.latest("id").minutes == 10
    assert "in 30 min" in text("SPOT 99", at=180)  # kept in range


def test_it_saves_and_reuses_in_spanish() -> None:
    reply = text("CUIDA GUARDAR 5 Calle Mayor 3, puerta abierta")
    assert reply.startswith("Empezamos a cuidarte. Lugar guardado: la próxima vez escribe "
                            "solo CUIDA (OLVIDAR lo borra).")
    assert text("listo", at=60).startswith("Terminamos. Tu lugar guardado sigue")
    reply = text("Cuídame", at=120)
    assert reply.startswith("Empezamos a cuidarte en tu lugar guardado: Calle Mayor 3, "
                            "puerta abierta.")
    assert CheckIn.objects.latest("id").language == "es"


def test_a_new_save_replaces_the_old_one() -> None:
    text("SPOT SAVE 5 the old place")
    text("DONE", at=10)
    text(f"SPOT SAVE 5 {PLACE}", at=20)
    assert SavedPlan.objects.count() == 1
    plan = plan_for_phone(PHONE)
    assert plan is not None and plan.description == PLACE


def test_a_saved_place_belongs_to_its_phone_only() -> None:
    text(f"SPOT SAVE 5 {PLACE}")
    reply = text("SPOT", phone=OTHER)
    assert reply.startswith("To start a check-in, text SPOT")
    assert CheckIn.objects.count() == 1


def test_forget_deletes_the_saved_place() -> None:
    text(f"SPOT SAVE 5 {PLACE}")
    text("DONE", at=10)
    reply = text("FORGET", at=20)
    assert reply == ("Done: this number has no saved place with us now. SPOT SAVE saves one "
                     "again.")
    assert not SavedPlan.objects.exists()
    assert text("SPOT", at=30).startswith("To start a check-in, text SPOT")
    assert CheckIn.objects.count() == 1


@pytest.mark.parametrize(("word", "spanish"), [("FORGET", False), ("olvidar", True),
                                               ("Olvídame", True), ("spot forget", False)])
def test_forget_answers_the_same_for_a_known_and_an_unknown_number(word: str,
                                                                    spanish: bool) -> None:
    text(f"SPOT SAVE 5 {PLACE}")
    known = text(word, at=10)
    unknown = text(word, at=10, phone=OTHER)
    assert known == unknown
    assert known.startswith("Listo: este número" if spanish else "Done: this number")
    assert not SavedPlan.objects.exists()


def test_forget_leaves_a_running_check_in_running() -> None:
    text(f"SPOT SAVE 5 {PLACE}")
    text("FORGET", at=10)
    assert CheckIn.objects.get().state == "active"
    assert text("DONE", at=20).startswith("Check-in ended. Where you were has been deleted.")


def test_a_bare_save_explains_how_and_writes_nothing() -> None:
    assert text("SAVE").startswith("To keep your place for next time, start your check-in "
                                   "with SPOT SAVE")
    assert text("guardar", at=1).startswith("Para guardar tu lugar")
    assert not SavedPlan.objects.exists() and not CheckIn.objects.exists()


def test_spot_save_without_a_place_saves_nothing() -> None:
    assert text("SPOT SAVE 5").startswith("To start a check-in, text SPOT")
    assert not SavedPlan.objects.exists() and not CheckIn.objects.exists()


def test_nothing_said_reaches_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    text(f"SPOT SAVE 5 {PLACE}")
    text("ok", at=10)
    text("DONE", at=20)
    text("SPOT 10", at=30)
    text("FORGET", at=40)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "check-in started" in logged
    for secret in (PHONE, PHONE[2:], "Star motel", phone_digest(PHONE)):
        assert secret not in logged
