"""The public alerts pages: the current alerts in English and Spanish without
JavaScript, one alert, the anonymous report form, and subscribing (Web Push, email)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.test import Client

from spotline.alerts.actions.review import (
    AlertFields,
    alert_cancel,
    alert_draft,
    alert_publish,
    alert_revise,
)
from spotline.alerts.actions.subscribers import subscribe_sms
from spotline.alerts.models import Alert, Area, Report, Subscriber
from spotline.alerts.subscribe_views import confirm_token
from spotline.conftest import T0, raw_rows
from spotline.notify.models import Message
from spotline.privacy.crypto import unseal

pytestmark = pytest.mark.django_db

NOW = T0 + timedelta(hours=1, minutes=10)
ES = {"Accept-Language": "es"}
PUSH = "https://fcm.googleapis.com/fcm/send/browser-abc123"
KEYS = {"p256dh": ("BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1Xbjhaz"
                   "Akj7I99e8QcYP7DkM"),
        "auth": "tBHItJI5svbpez7KI4CCXg"}


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def make_alert(area: Area, people: tuple[Any, Any], *, publish: bool = True,
               hours: int = 24, at: Any = T0, **changes: Any) -> Alert:
    author, second = people
    fields: dict[str, Any] = {
        "substance": "xylazine", "severity": "severe", "expires": at + timedelta(hours=hours),
        "area_ids": [area.pk], "signs": ["heavy_sedation"],
        "text": "Pink powder sold as heroin this week."}
    fields.update(changes)
    alert = alert_draft(fields=AlertFields(**fields), user_id=author.pk, now=at)
    if publish:
        alert_publish(alert_id=alert.pk, user_id=second.pk, now=at)
    return Alert.objects.get(pk=alert.pk)


def listed(html: str) -> list[int]:
    match = re.search(r'<ul id="alerts-list"[^>]*>(.*?)</ul>', html, re.S)
    assert match, "the list is on the page"
    return [int(n) for n in re.findall(r'<li data-alert-id="(\d+)"', match.group(1))]


# -- the list --------------------------------------------------------------------------------


def test_it_lists_only_current_alerts_in_plain_html(centre_area: Area, vuosaari_area: Area,
                                                    coordinators: tuple[Any, Any]) -> None:
    current = make_alert(centre_area, coordinators)
    make_alert(centre_area, coordinators, publish=False, substance="fentanyl")  # a draft
    make_alert(vuosaari_area, coordinators, hours=1)  # expired at T0 + 1 h
    cancelled = make_alert(vuosaari_area, coordinators, substance="medetomidine")
    alert_cancel(alert_id=cancelled.pk, user_id=coordinators[0].pk, now=T0)
    response = Client().get("/alerts/")
    html = response.content.decode()
    assert response.status_code == 200
    assert listed(html) == [current.pk]
    assert "Drug alert: xylazine (tranq)" in html
    assert "Keskusta" in html and "Severe" in html and "Heavy, long sedation" in html
    assert "Carry naloxone and know how to use it." in html
    assert "Pink powder sold as heroin this week." in html
    # The expiry to the hour: T0 (3:00 UTC) + 24 h.
    assert 'datetime="2026-11-28T03:00:00+00:00"' in html
    assert 'id="alerts-none"' not in html
    # Scripts only from static files (CSP), and none needed to read the alerts; the one
    # inline block is live.js's words as JSON data (json_script), which never runs.
    assert re.findall(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))", html) == []
    assert 'data-live-ws="/ws/alerts/"' in html


def test_it_says_so_when_there_is_none(centre_area: Area) -> None:
    html = Client().get("/alerts/").content.decode()
    assert listed(html) == []
    assert 'id="alerts-none"' in html and "No current alerts" in html


def test_it_speaks_spanish_by_header_and_by_cookie(centre_area: Area,
                                                   coordinators: tuple[Any, Any]) -> None:
    alert = make_alert(centre_area, coordinators)
    by_header = Client().get("/alerts/", headers=ES).content.decode()
    cookie = Client()
    cookie.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    by_cookie = cookie.get("/alerts/").content.decode()
    for html in (by_header, by_cookie):
        assert '<html lang="es">' in html
        assert listed(html) == [alert.pk]
        assert "Alerta de drogas: xilacina (tranq)" in html
        assert "Lleva naloxona y aprende a usarla." in html
        assert "Drug alert:" not in html and "Current alerts" not in html


def test_the_fragment_is_the_list_alone(centre_area: Area,
                                        coordinators: tuple[Any, Any]) -> None:
    alert = make_alert(centre_area, coordinators)
    for response in (Client().get("/alerts/?fragment=1"),
                     Client().get("/alerts/", headers={"X-Live": "1"})):
        html = response.content.decode()
        assert listed(html) == [alert.pk]
        assert "<html" not in html and "subscribe-form" not in html
        assert 'id="alerts-current" data-live' in html


# -- one alert -------------------------------------------------------------------------------


def test_one_alert_in_full_and_drafts_hidden(centre_area: Area,
                                            coordinators: tuple[Any, Any]) -> None:
    alert = make_alert(centre_area, coordinators)
    draft = make_alert(centre_area, coordinators, publish=False)
    page = Client().get(f"/alerts/{alert.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Drug alert: xylazine (tranq)" in html and "Keskusta" in html
    assert f'href="/alerts/{alert.pk}.cap.xml"' in html
    assert "withdrawn" not in html
    assert Client().get(f"/alerts/{draft.pk}/").status_code == 404
    assert Client().get("/alerts/987654/").status_code == 404
    # A draft discarded before publishing was never public either.
    alert_cancel(alert_id=draft.pk, user_id=coordinators[0].pk, now=T0)
    assert Client().get(f"/alerts/{draft.pk}/").status_code == 404


def test_a_withdrawn_or_updated_alert_says_so(centre_area: Area,
                                              coordinators: tuple[Any, Any]) -> None:
    author, second = coordinators
    old = make_alert(centre_area, coordinators)
    update = alert_revise(alert_id=old.pk, user_id=author.pk, now=T0)
    alert_publish(alert_id=update.pk, user_id=second.pk, now=T0 + timedelta(minutes=30))
    html = Client().get(f"/alerts/{old.pk}/").content.decode()
    assert 'id="alert-superseded"' in html
    assert f'href="/alerts/{update.pk}/"' in html
    alert_cancel(alert_id=update.pk, user_id=author.pk, now=T0 + timedelta(hours=1))
    html = Client().get(f"/alerts/{update.pk}/", headers=ES).content.decode()
    assert 'id="alert-withdrawn"' in html and "retirada" in html
    assert f'href="/alerts/{update.pk}.cancel.cap.xml"' in html
    assert listed(Client().get("/alerts/").content.decode()) == []


# -- reporting -------------------------------------------------------------------------------


def report(data: dict[str, Any], headers: dict[str, str] | None = None,
           ip: str = "127.0.0.1") -> Any:
    return Client(REMOTE_ADDR=ip).post("/alerts/report", data, headers=headers or {})


def test_a_report_is_received_without_keeping_who_sent_it(centre_area: Area) -> None:
    form = Client().get("/alerts/report").content.decode()
    names = set(re.findall(r'name="([^"]+)"', form))
    assert {"substance", "signs", "looked_like", "what_happened", "area"} <= names
    assert not names & {"address", "where", "lat", "lon", "phone", "email"}
    assert 'value="many_overdoses"' not in form and 'value="unexpected_result"' not in form
    response = report({"substance": "xylazine", "signs": ["heavy_sedation", "wounds"],
                       "looked_like": "pink powder", "what_happened": "slept for hours",
                       "area": centre_area.pk}, ip="203.0.113.77")
    assert response.status_code == 302 and response["Location"] == "/alerts/report/thanks"
    kept = Report.objects.get()
    assert (kept.source, kept.substance, kept.signs, kept.area_id) == (
        "web", "xylazine", ["heavy_sedation", "wounds"], centre_area.pk)
    assert kept.looked_like == "pink powder"
    assert kept.received_hour == NOW.replace(minute=0)
    rows = " ".join(raw_rows(Report))
    assert "pink powder" not in rows and "203.0.113.77" not in rows
    thanks = Client().get(response["Location"]).content.decode()
    assert 'id="report-thanks"' in thanks


@pytest.mark.parametrize(("data", "says"), [
    ({"looked_like": "x" * 1600}, "at most 1000 characters; it has 1600"),
    ({"what_happened": "💀💀🔥"}, "in words"),
    ({}, "The report is empty"),
    ({"looked_like": "   ", "what_happened": ""}, "The report is empty"),
    ({"signs": ["many_overdoses"]}, "not one of the available choices"),
    ({"looked_like": "blue pills", "area": "987654"}, "not one of the available choices"),
])
def test_a_bad_report_gets_a_clear_400_and_writes_nothing(data: dict[str, Any], says: str,
                                                          centre_area: Area) -> None:
    response = report(data)
    html = response.content.decode()
    assert response.status_code == 400
    assert says in html
    assert 'id="report-errors"' in html
    assert not Report.objects.exists()


def test_a_bad_report_is_answered_in_spanish(centre_area: Area) -> None:
    response = report({"looked_like": "x" * 1600}, ES)
    assert response.status_code == 400
    assert "como máximo 1000 caracteres" in response.content.decode()
    assert not Report.objects.exists()


def test_a_flood_of_reports_from_one_address_meets_429() -> None:
    answers = [report({"looked_like": f"blue pills {i}"}, ip="198.51.100.9").status_code
               for i in range(11)]
    assert answers == [302] * 10 + [429]
    assert Report.objects.count() == 10
    # Another address is counted on its own.
    assert report({"looked_like": "blue"}, ip="198.51.100.10").status_code == 302


# -- Web Push --------------------------------------------------------------------------------


def push(body: dict[str, Any], path: str = "/alerts/push", **headers: str) -> Any:
    return Client().post(path, json.dumps(body), content_type="application/json",
                         headers=headers)


def test_a_browser_subscribes_sealed_and_unsubscribes(centre_area: Area) -> None:
    response = push({"endpoint": PUSH, "keys": KEYS, "areas": [centre_area.pk], "all": False})
    assert response.status_code == 200
    assert "Keskusta" in response.json()["detail"]
    subscriber = Subscriber.objects.get()
    assert subscriber.channel == "push" and subscriber.confirmed_at is not None
    assert list(subscriber.areas.all()) == [centre_area]
    assert PUSH in unseal(subscriber.address_sealed, context="subscriber.address")
    rows = " ".join(raw_rows(Subscriber))
    assert "fcm.googleapis.com" not in rows and "browser-abc123" not in rows
    assert KEYS["auth"] not in rows
    gone = push({"endpoint": PUSH}, "/alerts/push/delete")
    assert gone.status_code == 200 and not Subscriber.objects.exists()
    # Forgetting a browser that is not subscribed answers the same.
    assert push({"endpoint": PUSH}, "/alerts/push/delete").json() == gone.json()


def test_a_push_subscription_needs_areas_and_a_real_push_service(centre_area: Area) -> None:
    no_areas = push({"endpoint": PUSH, "keys": KEYS, "areas": []})
    assert no_areas.status_code == 400
    assert "Choose at least one area" in no_areas.json()["detail"]
    elsewhere = push({"endpoint": "https://10.0.0.5/admin", "keys": KEYS, "all": True})
    assert elsewhere.status_code == 400 and "text or email" in elsewhere.json()["detail"]
    garbled = Client().post("/alerts/push", "{not json", content_type="application/json")
    assert garbled.status_code == 400
    assert not Subscriber.objects.exists()


def test_the_push_endpoint_wants_the_csrf_token() -> None:
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/alerts/push", json.dumps({"endpoint": PUSH, "keys": KEYS,
                                                       "all": True}),
                           content_type="application/json")
    assert response.status_code == 403
    assert not Subscriber.objects.exists()


def test_the_page_offers_push_only_with_a_key_and_serves_its_worker(
        centre_area: Area, settings: Any) -> None:
    settings.SPOTLINE_VAPID_PUBLIC_KEY = ""
    assert 'id="push-box"' not in Client().get("/alerts/").content.decode()
    settings.SPOTLINE_VAPID_PUBLIC_KEY = KEYS["p256dh"]
    html = Client().get("/alerts/").content.decode()
    assert f'data-vapid="{KEYS["p256dh"]}"' in html and "spotline/alerts.js" in html
    assert f'value="{centre_area.pk}"' in html
    worker = Client().get("/alerts/sw.js")
    assert worker["Content-Type"].startswith("text/javascript")
    assert worker["Service-Worker-Allowed"] == "/alerts/"
    assert "notificationclick" in worker.content.decode()


# -- email -----------------------------------------------------------------------------------


def confirm_link(address: str) -> str:
    (message,) = Message.objects.filter(purpose="alert_confirm")
    assert unseal(message.to_sealed, context="message.to") == address
    body = unseal(message.body_sealed, context="message.body")
    match = re.search(r"/alerts/confirm/([^/\s]+)/", body)
    assert match, body
    return match.group(0)


def test_email_waits_for_its_link_to_be_pressed(centre_area: Area) -> None:
    sent = Client().post("/alerts/email", {"email": "Reader@Example.org",
                                           "areas": [centre_area.pk]})
    assert sent.status_code == 200 and 'id="email-sent"' in sent.content.decode()
    subscriber = Subscriber.objects.get()
    assert subscriber.channel == "email" and subscriber.confirmed_at is None
    assert "reader@example.org" not in " ".join(raw_rows(Subscriber)).lower()
    link = confirm_link("reader@example.org")
    # Opening the link (a mail scanner does) confirms nothing; pressing the button does.
    opened = Client().get(link)
    assert opened.status_code == 200 and 'id="confirm-form"' in opened.content.decode()
    assert Subscriber.objects.get().confirmed_at is None
    pressed = Client().post(link)
    assert 'id="confirmed"' in pressed.content.decode()
    assert Subscriber.objects.get().confirmed_at == NOW


def test_a_bad_confirmation_link_says_so_and_confirms_nobody(centre_area: Area) -> None:
    Client().post("/alerts/email", {"email": "reader@example.org", "all": "on"})
    link = confirm_link("reader@example.org")
    token = link.split("/")[3]
    for bad in (token[:-2] + "xx", "nonsense", token.replace(":", ";")):
        response = Client().post(f"/alerts/confirm/{bad}/")
        assert response.status_code == 404
        assert "This confirmation link is not valid" in response.content.decode()
    with time_machine.travel(NOW + timedelta(days=8), tick=False):
        assert Client().post(link).status_code == 404
    # A token for a deleted subscriber confirms nobody, not even a new one with its id.
    subscriber = Subscriber.objects.get()
    stale = confirm_token(subscriber)
    subscriber.delete()
    assert Client().post(f"/alerts/confirm/{stale}/").status_code == 404
    assert not Subscriber.objects.filter(confirmed_at__isnull=False).exists()


def test_email_form_errors_come_back_on_the_page(centre_area: Area) -> None:
    for data, says in (({"email": "not an address", "all": "on"}, "not an email address"),
                       ({"email": "reader@example.org"}, "Choose at least one area")):
        response = Client().post("/alerts/email", data)
        assert response.status_code == 400
        assert says in response.content.decode()
    assert not Subscriber.objects.exists() and not Message.objects.exists()


def confirmed_reader(area: Area) -> Subscriber:
    Client().post("/alerts/email", {"email": "reader@example.org", "areas": [area.pk]})
    Client().post(confirm_link("reader@example.org"))
    Message.objects.all().delete()
    return Subscriber.objects.get(confirmed_at__isnull=False)


def emailed_link(purpose: str, pattern: str) -> str:
    (message,) = Message.objects.filter(purpose=purpose)
    match = re.search(pattern, unseal(message.body_sealed, context="message.body"))
    assert match
    return match.group(0)


def test_unsubscribing_an_email_takes_its_owner_and_tells_nobody_who_was_there(
        centre_area: Area) -> None:
    confirmed_reader(centre_area)
    # Typing someone's address stops nothing: a link goes to that address.
    gone = Client().post("/alerts/unsubscribe/", {"email": " READER@example.org "})
    never = Client().post("/alerts/unsubscribe/", {"email": "someone@example.org"})
    assert gone.status_code == never.status_code == 200
    assert 'id="unsubscribe-sent"' in gone.content.decode()

    def page(response: Any) -> str:  # without the form's one-time CSRF token
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "",
                      response.content.decode())

    assert page(gone) == page(never)
    assert Subscriber.objects.count() == 1
    link = emailed_link("alert_unsubscribe", r"/alerts/unsubscribe/[^/\s]+/")
    # Opening it (a mail scanner) stops nothing; pressing does, at once.
    assert 'id="unsubscribe-link-form"' in Client().get(link).content.decode()
    assert Subscriber.objects.count() == 1
    assert 'id="unsubscribed"' in Client().post(link).content.decode()
    assert not Subscriber.objects.exists()
    # A forged or altered link stops nobody and says the same.
    confirmed_reader(centre_area)
    forged = Client().post(link[:-3] + "xx/")
    assert forged.status_code == 200 and Subscriber.objects.count() == 1


def test_a_confirmed_address_changes_only_when_its_owner_presses(
        centre_area: Area, vuosaari_area: Area) -> None:
    reader = confirmed_reader(centre_area)
    # Someone who knows the address asks for Vuosaari only: nothing changes yet.
    sent = Client().post("/alerts/email", {"email": "reader@example.org",
                                           "areas": [vuosaari_area.pk]})
    assert 'id="email-sent"' in sent.content.decode()
    assert list(Subscriber.objects.get().areas.all()) == [centre_area]
    link = confirm_link("reader@example.org")
    assert list(Subscriber.objects.get().areas.all()) == [centre_area]
    Client().post(link)
    changed = Subscriber.objects.get()
    assert changed.pk == reader.pk and list(changed.areas.all()) == [vuosaari_area]
    assert changed.confirmed_at is not None


def test_no_page_shows_a_subscriber_or_a_point(centre_area: Area,
                                               coordinators: tuple[Any, Any]) -> None:
    alert = make_alert(centre_area, coordinators)
    subscribe_sms(phone="+358401110099", area_ids=[centre_area.pk], all_areas=False,
                  language="en", now=T0)
    Client().post("/alerts/email", {"email": "reader@example.org", "all": "on"})
    pages = "".join(Client().get(path).content.decode() for path in (
        "/alerts/", f"/alerts/{alert.pk}/", "/alerts/report", "/alerts/unsubscribe/"))
    for secret in ("358401110099", "401110099", "reader@example.org",
                   f"{centre_area.centre_lat:.4f}", f"{centre_area.centre_lon:.4f}"):
        assert secret not in pages
    assert re.findall(r"\d{2}\.\d{4,}", pages) == []  # no coordinates at all
