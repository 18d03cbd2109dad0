"""Check-ins by text: SPOT starts one, OK answers the check, DONE ends it; silence
escalates exactly as on the web (the console provider stands in for Twilio)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from spotline.checkins.deadlines import fire_due as fire_due_checkins
from spotline.checkins.models import CheckIn
from spotline.conftest import T0
from spotline.core.sms.checkin import checkin_word, parse_spot
from spotline.dispatch.models import Incident
from spotline.intake.sms import sms_receive
from spotline.notify.models import Message
from spotline.privacy.crypto import unseal

PHONE = "+15550100188"
S = timedelta(seconds=1)


@pytest.mark.parametrize("text,minutes,place", [
    ("SPOT 5 123 Main St apt 4", 5, "123 Main St apt 4"),
    ("spot 10 back bedroom, door unlocked", 10, "back bedroom, door unlocked"),
    ("Spot: 3 - under the bridge", 3, "under the bridge"),
    ("SPOT the motel on 5th", None, "the motel on 5th"),
    ("spot", None, ""),
    # Three digits are a house number, never minutes.
    ("SPOT 123 Main St apt 4", None, "123 Main St apt 4"),
    ("CUIDA 5 Calle Mayor 3, puerta abierta", 5, "Calle Mayor 3, puerta abierta"),
])
def test_it_reads_a_spot_text(text: str, minutes: int | None, place: str) -> None:
    spot = parse_spot(text)
    assert spot is not None and spot.minutes == minutes and spot.place == place


@pytest.mark.parametrize("text", ["spotted him at the park", "my friend needs help", "",
                                  "cuidado, está en el parque"])
def test_it_leaves_other_texts_alone(text: str) -> None:
    assert parse_spot(text) is None


@pytest.mark.parametrize("text,word", [("OK", "ok"), ("ok!", "ok"), ("I'm ok", "ok"),
                                       ("Estoy bien", "ok"), ("DONE", "done"),
                                       ("listo", "done"), ("ok at the park", None)])
def test_it_reads_ok_and_done(text: str, word: str | None) -> None:
    assert checkin_word(text) == word


@pytest.fixture(autouse=True)
def grace(settings):
    settings.SPOTLINE_CHECKIN_GRACE_SECONDS = 60


@pytest.mark.django_db
def test_it_runs_a_whole_check_in_by_text() -> None:
    [reply] = sms_receive(sid="SM1", from_number=PHONE, body="SPOT 5 123 Main St apt 4",
                          now=T0)
    assert "Check-in started" in reply and "5 min" in reply and "never send police" in reply
    checkin = CheckIn.objects.get()
    assert checkin.next_at == T0 + timedelta(minutes=5)
    fire_due_checkins(now=T0 + 300 * S)
    ask = Message.objects.get(purpose="checkin")
    assert unseal(ask.to_sealed, context="message.to") == PHONE
    [reply] = sms_receive(sid="SM2", from_number=PHONE, body="ok", now=T0 + 320 * S)
    assert "Next check in 5 min" in reply
    checkin.refresh_from_db()
    assert checkin.state == "active" and checkin.next_at == T0 + 320 * S + timedelta(minutes=5)
    [reply] = sms_receive(sid="SM3", from_number=PHONE, body="DONE", now=T0 + 400 * S)
    assert "ended" in reply
    checkin.refresh_from_db()
    assert checkin.state == "ended" and checkin.place_sealed == "" and checkin.phone_sealed == ""


@pytest.mark.django_db
def test_it_sends_help_when_a_texted_check_in_goes_silent() -> None:
    sms_receive(sid="SM1", from_number=PHONE, body="SPOT 2 room 12 at the Star motel", now=T0)
    for seconds in (120, 180, 240):
        fire_due_checkins(now=T0 + seconds * S)
    incident = Incident.objects.get()
    assert incident.location_description == "room 12 at the Star motel"
    assert incident.callback_number == PHONE and incident.priority == "P1"


@pytest.mark.django_db
def test_it_asks_where_when_spot_has_no_place() -> None:
    [reply] = sms_receive(sid="SM1", from_number=PHONE, body="SPOT 5", now=T0)
    assert "where you are" in reply
    assert not CheckIn.objects.exists()


@pytest.mark.django_db
def test_an_iphones_curly_apostrophe_answers_the_check_and_sends_no_help() -> None:
    sms_receive(sid="SM1", from_number=PHONE, body="SPOT 5 123 Main St", now=T0)
    fire_due_checkins(now=T0 + 300 * S)  # "are you OK?"
    [reply] = sms_receive(sid="SM2", from_number=PHONE, body="I\u2019m OK", now=T0 + 310 * S)
    assert "Next check in 5 min" in reply
    for seconds in (360, 420, 480):  # the old deadlines: superseded
        fire_due_checkins(now=T0 + seconds * S)
    assert CheckIn.objects.get().state == "active"
    assert not Incident.objects.exists()


@pytest.mark.django_db
def test_it_treats_ok_without_a_check_in_as_an_ordinary_text() -> None:
    replies = sms_receive(sid="SM1", from_number=PHONE, body="ok", now=T0)
    assert replies and "Next check" not in " ".join(replies)
