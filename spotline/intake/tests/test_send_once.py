"""The help form opens one request however often it is sent (issue 13, item 5), and a
request the person cancelled can be asked again with the same details (item 4)."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from spotline.conftest import HANG_SECONDS, raw_rows
from spotline.dispatch.actions.timed import incident_purge
from spotline.dispatch.models import Incident, IncidentEvent, Timer, TimerKind
from spotline.intake.models import FormSubmission
from spotline.intake.submissions import SUBMISSION_KEEP, submissions_expire

pytestmark = pytest.mark.django_db

FORM = {"kind": "overdose", "breathing": "no", "conscious": "no", "danger": "unknown",
        "where": "behind the library, blue door", "details": "took something green",
        "lat": "60.1699", "lon": "24.9384"}


def form_key(client: Client) -> str:
    html = client.get("/").content.decode()
    found = re.search(r'name="submission" value="([^"]+)"', html)
    assert found, "the help form carries no key"
    return found.group(1)


def send(client: Client, **extra: str):
    return client.post("/", {**FORM, **extra})


def test_the_same_form_sent_again_shows_the_first_request() -> None:
    client = Client()
    key = form_key(client)
    first = send(client, submission=key)
    assert first.status_code == 302 and first["Location"].startswith("/t/")
    again = send(client, submission=key)  # Back, then Send
    assert again.status_code == 302 and again["Location"] == first["Location"]
    assert Incident.objects.count() == 1
    # The token is kept sealed, not in the clear.
    token = first["Location"].split("/")[2]
    assert not any(token in row for row in raw_rows(FormSubmission))
    # A fresh page is a fresh key: asking again on purpose opens a new request.
    other = send(client, submission=form_key(client))
    assert other["Location"] != first["Location"]
    assert Incident.objects.count() == 2
    assert form_key(client) != form_key(client)


def test_a_form_without_a_usable_key_is_still_sent() -> None:
    for key in ("", "short", "x" * 65, "bad key with spaces!!"):
        assert send(Client(), submission=key).status_code == 302
    assert Incident.objects.count() == 4
    assert not FormSubmission.objects.exists()


def test_an_invalid_form_keeps_its_key() -> None:
    client = Client()
    key = form_key(client)
    r = client.post("/", {**FORM, "kind": "", "submission": key})
    assert r.status_code == 400
    assert f'name="submission" value="{key}"' in r.content.decode()


@pytest.mark.django_db(transaction=True)
def test_copies_sent_at_once_open_one_request() -> None:
    key = form_key(Client())
    barrier = threading.Barrier(4)
    places: list[str] = []
    errors: list[BaseException] = []

    def post() -> None:
        try:
            barrier.wait(timeout=HANG_SECONDS)
            places.append(send(Client(), submission=key)["Location"])
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=HANG_SECONDS)
    assert not errors, errors
    assert len(places) == 4 and len(set(places)) == 1
    assert Incident.objects.count() == 1


def test_a_kept_form_key_is_destroyed_after_a_day_or_with_its_incident() -> None:
    client = Client()
    send(client, submission=form_key(client))
    send(client, submission=form_key(client))
    now = timezone.now()
    assert submissions_expire(now=now) == 0
    first, second = Incident.objects.order_by("id")
    first.state = "cancelled"
    first.closed_at = now
    first.save()
    timer = Timer.objects.create(incident=first, kind=TimerKind.PURGE, round=0, due_at=now)
    incident_purge(timer=timer, now=now)
    assert list(FormSubmission.objects.values_list("incident", flat=True)) == [second.pk]
    assert submissions_expire(now=now + SUBMISSION_KEEP + timedelta(seconds=1)) == 1
    assert not FormSubmission.objects.exists()


# -- asking again after cancelling -----------------------------------------------------


def cancelled(client: Client) -> str:
    status = send(client, submission=form_key(client))["Location"]
    token = status.split("/")[2]
    assert client.post(f"/t/{token}/cancel/", {"confirm": "yes"}).status_code == 302
    return token


def again_key(client: Client, token: str) -> str:
    html = client.get(f"/t/{token}/").content.decode()
    found = re.search(r'action="/t/[^"]+/again/".*?name="submission" value="([^"]+)"', html,
                      re.S)
    assert found, "no 'ask for help again' on the cancelled request's page"
    return found.group(1)


def test_a_cancelled_request_can_be_asked_again_with_the_same_details() -> None:
    client = Client()
    token = cancelled(client)
    old = Incident.objects.get()
    key = again_key(client, token)
    r = client.post(f"/t/{token}/again/", {"submission": key})
    assert r.status_code == 302 and r["Location"] != f"/t/{token}/"
    new = Incident.objects.exclude(pk=old.pk).get()
    assert new.state == "dispatching" and new.source == "web"
    assert (new.kind, new.priority, new.breathing, new.conscious) == (
        old.kind, old.priority, old.breathing, old.conscious)
    assert new.location_description == "behind the library, blue door"
    assert new.details == "took something green"
    assert (new.lat, new.lon) == (old.lat, old.lon)
    assert IncidentEvent.objects.get(incident=old, type="asked_again").data == {
        "incident_id": new.pk}
    # Sent twice (a double tap, Back then Send): still one new request.
    assert client.post(f"/t/{token}/again/", {"submission": key})["Location"] == r["Location"]
    assert Incident.objects.count() == 2
    html = client.get(r["Location"]).content.decode()
    assert 'data-status="dispatching"' in html


def test_a_request_not_cancelled_by_the_person_cannot_be_asked_again() -> None:
    client = Client()
    status = send(client, submission=form_key(client))["Location"]
    token = status.split("/")[2]
    r = client.post(f"/t/{token}/again/", {"submission": form_key(client)})
    assert r.status_code == 302 and r["Location"] == "/"
    assert Incident.objects.count() == 1


def test_once_its_details_are_destroyed_asking_again_starts_on_the_help_page() -> None:
    client = Client()
    token = cancelled(client)
    incident = Incident.objects.get()
    timer = Timer.objects.get(incident=incident, kind=TimerKind.PURGE)
    incident_purge(timer=timer, now=timer.due_at)
    html = client.get(f"/t/{token}/").content.decode()
    assert f'action="/t/{token}/again/"' not in html
    assert 'id="ask-again" href="/"' in html
    r = client.post(f"/t/{token}/again/", {"submission": form_key(client)})
    assert r["Location"] == "/" and Incident.objects.count() == 1


# -- switching language keeps the form (issue 13, item 6) -------------------------------


def test_switching_language_keeps_what_was_typed_and_sends_nothing() -> None:
    client = Client()
    key = form_key(client)
    html = client.get("/").content.decode()
    assert 'name="language" value="es"' in html and 'form="help-form"' in html
    r = client.post("/", {**FORM, "submission": key, "language": "es"})
    assert r.status_code == 200 and r["Content-Language"] == "es"
    page = r.content.decode()
    assert '<html lang="es">' in page and "Pedir ayuda ahora" in page
    assert ">\nbehind the library, blue door</textarea>" in page
    assert "took something green" in page
    assert re.search(r'value="overdose"[^>]*checked', page)
    assert f'name="submission" value="{key}"' in page  # still the same form
    assert "errorlist" not in page  # nothing was checked: nothing was sent
    assert not Incident.objects.exists()
    # The choice sticks, and the form sent now is a Spanish request.
    r = send(client, submission=key)
    assert r.status_code == 302
    assert Incident.objects.get().language == "es"
    back = client.post("/", {"language": "en"}).content.decode()
    assert '<html lang="en">' in back and "Get help now" in back


def test_the_status_page_has_a_language_switch() -> None:
    client = Client()
    status = send(client, submission=form_key(client))["Location"]
    html = client.get(status).content.decode()
    assert 'action="/i18n/setlang/"' in html
    assert f'name="next" type="hidden" value="{status}"' in html
    r = client.post("/i18n/setlang/", {"language": "es", "next": status})
    assert r.status_code == 302 and r["Location"] == status
    assert '<html lang="es">' in client.get(status).content.decode()
