"""The check-in ("never use alone") pages speak Spanish, picked as on the help page: the
browser's Accept-Language, or the language switch (a cookie)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from spotline.checkins.actions import checkin_start
from spotline.checkins.deadlines import fire_due as fire_due_checkins
from spotline.checkins.models import CheckIn
from spotline.checkins.plans import Plan, Trusted, plan_save
from spotline.conftest import CENTRE, T0
from spotline.core.checkin import OnMiss, Send

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)
DUE = T0 + timedelta(minutes=5)
ES = {"Accept-Language": "es"}


@pytest.fixture(autouse=True)
def grace(settings):
    settings.SPOTLINE_CHECKIN_GRACE_SECONDS = 60


def spanish() -> Client:
    return Client(headers=ES)


def started(**kwargs) -> str:
    return checkin_start(location=CENTRE, description="Cuarto 12", minutes=5,
                                 on_miss=OnMiss.RESPONDERS, phone="", language="es", now=T0,
                                 **kwargs).token


def page(token: str, *, at=T0 + 10 * S) -> str:
    with time_machine.travel(at, tick=False):
        r = spanish().get(f"/c/{token}/")
    assert r.status_code == 200
    return r.content.decode()


def says(html: str, *spanish: str, never: tuple[str, ...] = ()) -> None:
    assert '<html lang="es">' in html
    for text in spanish:
        assert text in html, text
    for text in never:
        assert text not in html, text


def test_the_start_page_speaks_spanish_and_offers_the_language_switch() -> None:
    html = spanish().get("/checkin/").content.decode()
    says(html, "Cuídenme", "¿Va a consumir a solas?", "Nunca enviamos a la policía.",
         "¿Dónde está? Dirección o lugar", "Si no respondo, enviar",
         "personas de la comunidad con formación", "una ambulancia",
         "Usar mi plan guardado", "Olvidarlo en este teléfono", "Empezar el acompañamiento",
         'id="language-switch"',
         never=("Check on me", "Using alone?", "We never send the police",
                "Start check-in", "Use my saved plan", "an ambulance"))
    # The ids and values the script and the tests rely on are untouched.
    for needle in ('id="saved-plan-link"', 'id="plan-forget-here"', 'value="responders"',
                   'value="trusted"', 'value="ems"', 'name="save_plan"'):
        assert needle in html


def test_the_language_switch_sets_spanish_for_the_check_in_pages() -> None:
    client = Client()
    assert "Check on me" in client.get("/checkin/").content.decode()
    r = client.post("/i18n/setlang/", {"language": "es", "next": "/checkin/"})
    assert r.status_code == 302 and r["Location"] == "/checkin/"
    says(client.get("/checkin/").content.decode(), "Cuídenme", never=("Check on me",))


def test_a_saved_plan_is_offered_in_spanish() -> None:
    plan = Plan(location=CENTRE, description="Cuarto 12")
    token = plan_save(plan, now=T0)
    html = spanish().get(f"/checkin/p/{token}/").content.decode()
    says(html, "Este es su plan guardado. Revíselo y empiece.", "Borrar mi plan guardado",
         never=("This is your saved plan", "Delete my saved plan"))
    assert 'id="saved-plan"' in html and 'id="plan-delete"' in html


def test_a_form_error_comes_in_spanish() -> None:
    r = spanish().post("/checkin/", {"minutes": "5"})
    assert r.status_code == 400
    says(r.content.decode(), "Díganos dónde está para que la ayuda pueda encontrarle.",
         never=("Say where you are",))
    r = spanish().post("/checkin/", {"where": "Cuarto 12", "minutes": "5",
                                     "send": ["responders", "trusted"]})
    assert r.status_code == 400
    says(r.content.decode(), "Escriba el teléfono de esa persona para que podamos mandarle "
         "un mensaje.", never=("Give their phone",))
    assert not CheckIn.objects.exists()


def test_a_check_in_started_in_spanish_is_kept_in_spanish() -> None:
    r = spanish().post("/checkin/", {"where": "Cuarto 12", "minutes": "5"})
    assert r.status_code == 302
    assert CheckIn.objects.get().language == "es"  # its texts and calls follow


def test_an_active_check_in_says_when_we_will_ask() -> None:
    html = page(started())
    says(html, "Estamos pendientes de usted", "Le preguntaremos cómo está en",
         "4\xa0minutos", "Estoy bien", "Ya terminé: cerrar el acompañamiento",
         "Esta página se actualiza sola",
         never=("We will check on you", "Next check in", "I'm OK", "I'm done"))
    for needle in ('id="checkin-state" data-state="active"', 'id="im-ok"', 'id="done"',
                   'class="countdown" data-until="2026-11-27T03:05:00+00:00"',
                   'id="plan-saved"', 'id="plan-link"'):
        assert needle in html


def test_an_asked_check_in_asks_if_they_are_ok() -> None:
    token = started()
    fire_due_checkins(now=DUE)
    html = page(token, at=DUE + 5 * S)
    says(html, "¿Está bien? Toque el botón. Quedan", "Estoy bien",
         never=("Are you OK", "left."))
    assert 'data-state="asked"' in html and "data-alarm" in html


def test_a_warned_check_in_says_help_is_coming_soon() -> None:
    token = started()
    fire_due_checkins(now=DUE)
    fire_due_checkins(now=DUE + 60 * S)
    html = page(token, at=DUE + 65 * S)
    says(html, "Enviaremos ayuda en", 'si está bien, toque "Estoy bien".',
         never=("Sending help in", "tap I'm OK"))
    assert 'data-state="warned"' in html and "data-alarm" in html


def test_an_escalated_check_in_says_help_is_being_sent(make_responder) -> None:
    make_responder("sam", north_m=100)
    token = started(send=frozenset({Send.RESPONDERS, Send.TRUSTED}),
                    trusted=Trusted(phone="+15550100177", name="Kim"))
    for after in (0, 60, 120):
        fire_due_checkins(now=DUE + after * S)
    html = page(token, at=DUE + 125 * S)
    # Nobody has accepted yet: not "on the way".
    says(html, "Estamos enviando ayuda", "No respondió, así que estamos pidiendo",
         "Le mandamos un mensaje a su persona de confianza.", "Si hay alguien con usted",
         "naloxona", "Estoy bien: cancelar la ayuda",
         never=("Help is on the way", "La ayuda va en camino", "You did not answer",
                "We texted the person you trust", "If someone is with you"))
    assert 'data-state="escalated"' in html


def test_an_ended_check_in_says_the_place_is_deleted() -> None:
    token = started()
    spanish().post(f"/c/{token}/done/")
    html = page(token)
    says(html, "Acompañamiento terminado", "Ya borramos dónde estaba. Cuídese.",
         never=("Check-in ended", "You ended it safely"))
    assert 'data-state="ended"' in html


def test_the_plan_gone_page_speaks_spanish() -> None:
    token = plan_save(Plan(location=CENTRE, description="Cuarto 12"), now=T0)
    html = spanish().post(f"/checkin/p/{token}/delete/").content.decode()
    says(html, "Borramos su plan guardado", "se borró de nuestro servidor para siempre",
         "Empezar un acompañamiento", never=("Saved plan deleted", "Start a check-in"))
    assert 'id="plan-gone" data-deleted="yes"' in html
    r = spanish().get(f"/checkin/p/{token}/")
    assert r.status_code == 404
    says(r.content.decode(), "Aquí no hay ningún plan guardado",
         "lo borramos para proteger su privacidad",
         never=("No saved plan here", "There is no saved plan"))


def test_english_stays_as_it_was() -> None:
    html = Client().get("/checkin/").content.decode()
    assert '<html lang="en">' in html
    assert "Check on me" in html and "We never send the police." in html
    assert "Cuídenme" not in html
