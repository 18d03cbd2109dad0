"""A place texted in words, on the demo map (central Helsinki): found, asked about, or
corrected, through the real signed Twilio webhook.

Real places of the extract: "Alepa, Mannerheimintie 20" (a shop; "the Alepa on
Mannerheimintie" is sure), two Alepas ("the alepa" alone is a question), Stockmann.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from spotline.conftest import T0, offset, raw_rows
from spotline.core.geo import Point, distance_m
from spotline.core.policy import Actor, OfferStatus
from spotline.dispatch.actions.dispatcher import incident_cancel
from spotline.dispatch.actions.timed import incident_purge
from spotline.dispatch.models import Incident, LocatedBy, Offer, Timer, TimerKind
from spotline.intake.models import SmsConversation
from spotline.intake.sms import sms_receive
from spotline.intake.tests.test_sms_intake import text, twilio_settings  # noqa: F401
from spotline.places.tests.conftest import gazetteer  # noqa: F401
from spotline.responders.models import Responder

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("gazetteer")]

ALEPA = Point(60.169178, 24.938563)  # Alepa, Mannerheimintie 20
STOCKMANN = Point(60.167704, 24.942772)
PHONE = "+15550108080"
WHICH = re.compile(r"[Ww]hich one is it\? 1 (.+?) 2 (.+?)(?: 3 (.+?))? "
                   r"- or tell us a street corner")


def offered(incident: Incident) -> set[int]:
    return set(Offer.objects.filter(incident=incident, status=OfferStatus.PENDING)
               .values_list("responder_id", flat=True))


def around(make_responder: Callable[..., Responder], where: Point,
           metres: tuple[float, ...]) -> list[Responder]:
    return [make_responder(at=offset(where, m)) for m in metres]


def test_it_sends_help_to_the_shop_named_and_offers_the_nearest_responders(
        make_responder: Callable[..., Responder]) -> None:
    # The end-to-end story: the first responders made (lowest ids) are the farthest.
    far = around(make_responder, ALEPA, (2500, 2000, 1500))
    near = around(make_responder, ALEPA, (400, 60, 200))
    replies = text("my friend isn't breathing behind the Alepa on Mannerheimintie",
                   phone=PHONE)
    assert replies[0].startswith("Sending a responder for an overdose to Alepa, "
                                 "Mannerheimintie 20. Reply with a better place if "
                                 "that's wrong.")
    incident = Incident.objects.get()
    assert distance_m(Point(incident.lat, incident.lon), ALEPA) <= 150
    assert incident.located_by == LocatedBy.WORDS
    assert incident.location_status == "approximate" and incident.accuracy_m
    assert incident.location_description == "behind the Alepa on Mannerheimintie"
    assert offered(incident) == {r.pk for r in near}
    assert not offered(incident) & {r.pk for r in far}


def test_it_answers_in_spanish_where_it_understood() -> None:
    replies = text("mi amigo no respira detrás del Alepa en Mannerheimintie", phone=PHONE)
    assert replies[0].startswith("Enviamos a una persona de apoyo por una sobredosis a "
                                 "Alepa, Mannerheimintie 20. Responde con un lugar mejor")
    assert Incident.objects.get().lat is not None


def test_an_ambiguous_place_opens_without_a_point_asks_and_a_number_moves_it(
        make_responder: Callable[..., Responder]) -> None:
    around(make_responder, ALEPA, (100, 300, 500, 700))
    replies = text("overdose at the alepa", phone=PHONE)
    asked = WHICH.search(replies[0])
    assert asked, replies[0]
    assert replies[0].startswith("We have your request for an overdose. To send someone we "
                                 "need the place")
    assert replies[1].startswith("Track your request:")  # the request was not held up
    incident = Incident.objects.get()
    assert incident.lat is None and incident.location_status == "unknown"
    assert "Alepa" not in " ".join(raw_rows(SmsConversation))  # the choices are sealed

    second = asked.group(2)
    moved = text("2", phone=PHONE)
    assert moved == [f"Thanks, the responder is now sent to {second}. Reply with a better "
                     "place if that's wrong."]
    incident.refresh_from_db()
    assert incident.lat is not None and incident.located_by == LocatedBy.WORDS
    assert offered(incident)  # offers made from the new point
    # The question is answered: a "2" now is only a detail.
    assert text("2", phone=PHONE)[0].startswith("Thanks, we added that")


def test_a_number_out_of_range_or_without_a_question_is_a_detail() -> None:
    text("overdose at the alepa", phone=PHONE)
    assert text("7", phone=PHONE)[0].startswith("Thanks, we added that")
    assert Incident.objects.get().lat is None


def test_a_new_place_after_dispatch_moves_the_incident_and_re_ranks_the_offers(
        make_responder: Callable[..., Responder]) -> None:
    by_alepa = around(make_responder, ALEPA, (50, 80, 110))
    by_stockmann = around(make_responder, STOCKMANN, (50, 80, 110))
    text("overdose behind the alepa on mannerheimintie", phone=PHONE)
    incident = Incident.objects.get()
    assert offered(incident) == {r.pk for r in by_alepa}
    replies = text("no sorry, we're behind the Stockmann", phone=PHONE)
    assert replies == ["Thanks, the responder is now sent to Stockmann. Reply with a better "
                       "place if that's wrong."]
    incident.refresh_from_db()
    assert distance_m(Point(incident.lat, incident.lon), STOCKMANN) <= 150
    assert offered(incident) == {r.pk for r in by_stockmann}
    assert Offer.objects.filter(incident=incident, responder__in=by_alepa,
                                status=OfferStatus.WITHDRAWN).count() == 3


def test_a_correction_that_could_be_several_places_asks_which() -> None:
    text("overdose behind the stockmann", phone=PHONE)
    replies = text("at the alepa", phone=PHONE)
    assert WHICH.search(replies[0]), replies
    incident = Incident.objects.get()
    assert distance_m(Point(incident.lat, incident.lon), STOCKMANN) <= 150  # not moved yet
    assert text("1", phone=PHONE)[0].startswith("Thanks, the responder is now sent to Alepa")


def test_a_place_nobody_can_find_asks_for_a_street_corner_and_still_opens() -> None:
    replies = text("overdose at the blue door of zyxwq", phone=PHONE)
    assert replies[0].startswith("We have your request for an overdose at: the blue door of "
                                 "zyxwq, but could not find it on our map. To send someone, "
                                 "reply with a street corner")
    assert Incident.objects.get().location_status == "unknown"


@pytest.mark.parametrize("body", [
    ("overdose at " + "mannerheimintie " * 100)[:1600],  # 1,600 characters
    "\U0001F198\U0001F691\U0001F494" * 5,  # only emoji
    'overdose at "alepa" OR NEAR(x*) AND -- ;DROP',  # FTS and SQL syntax
    "overdose at ***",
])
def test_bad_input_gets_a_clear_reply_never_an_error(body: str) -> None:
    assert 0 < len(body) <= 1600
    replies = text(body, phone=PHONE)  # asserts a 200 with valid TwiML
    assert replies and all(r.strip() for r in replies)


def test_the_choices_go_with_the_conversation_when_the_incident_is_purged() -> None:
    sms_receive(sid="SM1", from_number=PHONE, body="overdose at the alepa", now=T0)
    assert SmsConversation.objects.count() == 1
    incident = Incident.objects.get()
    incident_cancel(incident_id=incident.pk, actor=Actor.PERSON, user_id=None, now=T0)
    timer = Timer.objects.get(incident=incident, kind=TimerKind.PURGE)
    incident_purge(timer=timer, now=timer.due_at)
    assert not SmsConversation.objects.exists()
    incident.refresh_from_db()
    assert incident.location_description == "" and incident.lat is None
