"""Check-ins by text in Spanish: CUIDA (CUÍDAME, VIGILA) starts one, the check-in keeps
its language, and every answer, "¿Está bien?" included, is in Spanish. SPOT answers in
the language the phone already uses with us, else English."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from spotline.checkins.deadlines import fire_due as fire_due_checkins
from spotline.checkins.models import CheckIn
from spotline.conftest import T0
from spotline.dispatch.models import Incident
from spotline.intake.sms import sms_receive
from spotline.notify.models import Message
from spotline.privacy.crypto import unseal

PHONE = "+15550100177"
S = timedelta(seconds=1)
_sids = itertools.count()

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def grace(settings):
    settings.SPOTLINE_CHECKIN_GRACE_SECONDS = 60


def text(body: str, *, at: int = 0, phone: str = PHONE) -> str:
    [reply] = sms_receive(sid=f"SMes{next(_sids)}", from_number=phone, body=body,
                          now=T0 + at * S)
    return reply


def asked() -> list[str]:
    return [unseal(m.body_sealed, context="message.body")
            for m in Message.objects.filter(purpose="checkin").order_by("id")]


def test_it_runs_a_whole_check_in_in_spanish() -> None:
    reply = text("CUIDA 5 Calle Mayor 3, puerta abierta")
    assert reply.startswith("Empezamos a cuidarte. Te escribiremos en 5 min: responde OK.")
    assert "Nunca enviamos a la policía" in reply and "LISTO" in reply and "/c/" in reply
    checkin = CheckIn.objects.get()
    assert (checkin.language, checkin.state, checkin.minutes) == ("es", "active", 5)
    fire_due_checkins(now=T0 + 300 * S)
    assert asked() == ["Spotline: ¿Está bien? Responda OK."]
    assert text("bien", at=320) == ("Gracias. Te volvemos a escribir en 5 min. Responde LISTO "
                                    "para terminar.")
    checkin.refresh_from_db()
    assert checkin.state == "active"
    assert text("Listo", at=400) == "Terminamos. Borramos dónde estabas. Cuídate."
    checkin.refresh_from_db()
    assert checkin.state == "ended" and checkin.place_sealed == ""


@pytest.mark.parametrize("body", ["CUÍDAME 5 Calle Mayor 3", "cuidame 5 Calle Mayor 3",
                                  "Vigila: 5 - Calle Mayor 3"])
def test_it_takes_every_spanish_start_word(body: str) -> None:
    assert text(body).startswith("Empezamos a cuidarte")
    checkin = CheckIn.objects.get()
    assert (checkin.language, checkin.minutes) == ("es", 5)


def test_the_louder_second_ask_and_the_incident_are_in_spanish() -> None:
    text("CUIDA 2 cuarto 12 del motel Estrella")
    for seconds in (120, 180):
        fire_due_checkins(now=T0 + seconds * S)
    assert asked()[1].startswith("Spotline: no respondió.")
    fire_due_checkins(now=T0 + 240 * S)
    incident = Incident.objects.get()
    assert incident.language == "es"
    assert incident.location_description == "cuarto 12 del motel Estrella"


def test_spot_answers_in_spanish_when_the_phone_already_writes_in_spanish() -> None:
    replies = sms_receive(sid="SMconv", from_number=PHONE, body="ayuda por favor", now=T0)
    assert replies[0].startswith("Aquí Spotline")
    assert text("SPOT 5 Calle Mayor 3", at=10).startswith("Empezamos a cuidarte")
    assert CheckIn.objects.get().language == "es"


def test_spot_answers_in_english_for_a_phone_we_do_not_know() -> None:
    assert text("SPOT 5 Calle Mayor 3").startswith("Check-in started.")
    assert CheckIn.objects.get().language == "en"


def test_spot_follows_the_open_spanish_check_in() -> None:
    text("CUIDA 5 Calle Mayor 3")
    assert text("SPOT", at=10).startswith("Para empezar, escribe CUIDA")


def test_a_check_in_answers_in_its_own_language_whatever_the_word() -> None:
    text("SPOT 5 123 Main St")
    assert text("estoy bien", at=30).startswith("Thanks. Next check in 5 min.")
    assert text("listo", at=60).startswith("Check-in ended.")


def test_it_explains_how_to_start_in_spanish_and_starts_nothing() -> None:
    reply = text("CUIDA 5")
    assert reply.startswith("Para empezar, escribe CUIDA, los minutos y dónde estás")
    assert not CheckIn.objects.exists()


def test_cuidado_is_an_ordinary_request_for_help() -> None:
    replies = sms_receive(sid="SMx", from_number=PHONE,
                          body="cuidado, hay una sobredosis en el parque", now=T0)
    assert not CheckIn.objects.exists()
    assert replies[0].startswith("Tenemos tu pedido por una sobredosis")
