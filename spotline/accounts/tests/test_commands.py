"""The management commands an organizer runs: createuser, token, demo and worker."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from spotline.accounts.models import ApiToken, Profile, Role
from spotline.alerts.actions.areas import areas_named
from spotline.alerts.models import Area
from spotline.conftest import CENTRE, totp_code
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.models import Timer
from spotline.responders.models import Responder

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def users() -> int:
    return get_user_model().objects.count()


# -- createuser ----------------------------------------------------------------------------


def test_it_creates_a_responder_with_skills() -> None:
    out = run("createuser", "sam", "--role", "responder", "--skills", "naloxone, first_aid",
              "--alias", "Sam", "--mode", "bike")
    assert "created responder sam" in out
    responder = Responder.objects.get(user__username="sam")
    assert responder.skills == ["first_aid", "naloxone"]
    assert responder.alias == "Sam"
    assert responder.mode == "bike"
    assert responder.on_shift_since is None
    assert Profile.objects.get(user__username="sam").role == Role.RESPONDER


def test_it_creates_a_dispatcher_without_a_responder_row() -> None:
    run("createuser", "dana", "--role", "dispatcher")
    assert Profile.objects.get(user__username="dana").role == Role.DISPATCHER
    assert not Responder.objects.exists()


def test_it_creates_a_user_who_cannot_sign_in_without_a_password() -> None:
    out = run("createuser", "dana", "--role", "dispatcher")
    assert "no password set" in out
    assert not get_user_model().objects.get(username="dana").has_usable_password()


def test_it_refuses_an_unknown_skill() -> None:
    with pytest.raises(CommandError, match=r"unknown skill.*arresting"):
        run("createuser", "sam", "--role", "responder", "--skills", "naloxone,arresting")
    assert users() == 0


def test_it_refuses_skills_for_a_dispatcher() -> None:
    with pytest.raises(CommandError, match="skills are for responders"):
        run("createuser", "dana", "--role", "dispatcher", "--skills", "naloxone")
    assert users() == 0


def test_it_refuses_an_unknown_role() -> None:
    with pytest.raises(CommandError):
        run("createuser", "pat", "--role", "police")
    assert users() == 0


def test_it_refuses_a_duplicate_name() -> None:
    run("createuser", "sam", "--role", "responder")
    with pytest.raises(CommandError, match="already exists"):
        run("createuser", "sam", "--role", "dispatcher")
    assert users() == 1
    assert Profile.objects.get(user__username="sam").role == Role.RESPONDER


def test_it_reads_the_password_from_stdin_and_the_user_can_sign_in(monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    run("createuser", "dana", "--role", "dispatcher", "--password-stdin")
    client = Client()
    r = client.post("/accounts/login/", {"username": "dana", "password": PASSWORD})
    assert r.status_code == 302
    # A dispatcher's password is only the first step: then an authenticator app.
    assert r["Location"] == "/accounts/two-factor/?next=%2Faccounts%2Fhome%2F"
    assert client.get(r["Location"]).status_code == 200  # the set-up page
    device = TOTPDevice.objects.get(user__username="dana", confirmed=False)
    r = client.post("/accounts/two-factor/", {"code": totp_code(device),
                                              "next": "/accounts/home/"})
    assert r.status_code == 200 and "recovery-codes" in r.content.decode()
    r = client.get("/accounts/home/")
    assert r["Location"] == "/console/"
    assert client.get("/console/").status_code == 200


def test_it_sends_a_responder_to_the_responder_page_after_sign_in(monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    run("createuser", "sam", "--role", "responder", "--password-stdin")
    client = Client()
    client.post("/accounts/login/", {"username": "sam", "password": PASSWORD})
    assert client.get("/accounts/home/")["Location"] == "/responder/"


def test_it_does_not_sign_in_with_a_wrong_password(monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    run("createuser", "dana", "--role", "dispatcher", "--password-stdin")
    r = Client().post("/accounts/login/", {"username": "dana", "password": "wrong" + PASSWORD})
    assert r.status_code == 200
    assert "did not match" in r.content.decode()


@pytest.mark.parametrize("stdin", ["\n", "", "short\n", "password123\n"])
def test_it_refuses_a_missing_or_weak_password(monkeypatch, stdin: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    with pytest.raises(CommandError):
        run("createuser", "dana", "--role", "dispatcher", "--password-stdin")
    assert users() == 0


# -- token -----------------------------------------------------------------------------------


def test_it_prints_a_token_that_authenticates_the_api() -> None:
    run("createuser", "sam", "--role", "responder", "--skills", "naloxone")
    token = run("token", "sam").strip()
    assert re.fullmatch(r"sl_[A-Za-z0-9_-]{20,}", token)
    assert ApiToken.objects.filter(user__username="sam").count() == 1
    assert not ApiToken.objects.filter(digest=token).exists()  # only the digest is kept
    r = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.content
    # No --alias: the public never sees the login name (they see "a responder").
    assert r.json()["alias"] == ""
    assert r.json()["skills"] == ["naloxone"]


def test_it_rejects_a_made_up_token() -> None:
    run("createuser", "sam", "--role", "responder")
    run("token", "sam")
    r = Client().get("/api/v1/me", headers={"Authorization": "Bearer sl_madeup"})
    assert r.status_code == 401


def test_it_prints_a_new_token_each_time() -> None:
    run("createuser", "sam", "--role", "responder")
    assert run("token", "sam") != run("token", "sam")


def test_it_refuses_a_token_for_an_unknown_user() -> None:
    with pytest.raises(CommandError, match="no user named"):
        run("token", "nobody")
    assert not ApiToken.objects.exists()


# -- demo ------------------------------------------------------------------------------------


def test_it_seeds_a_demo_organization_and_prints_logins() -> None:
    out = run("demo")
    assert "Demo logins" in out
    assert "dispatcher" in out and "coordinator" in out
    roles = dict(Profile.objects.values_list("user__username", "role"))
    assert roles["dispatcher"] == Role.DISPATCHER
    assert roles["coordinator"] == Role.COORDINATOR
    responders = Responder.objects.all()
    assert responders.count() >= 3
    assert sum(1 for r in responders if r.on_shift) >= 1
    for r in responders:
        assert r.alias in out or r.user.username in out
        # Location only while on shift.
        assert (r.lat is not None) == r.on_shift
    client = Client()
    password = re.search(r"password for all: ([^)\s]+)", out)
    assert password, out
    r = client.post("/accounts/login/", {"username": "dispatcher",
                                         "password": password.group(1)})
    assert r.status_code == 302
    # Drug-alert areas to subscribe to, named as people text them.
    assert "/alerts/" in out
    assert [a.name for a in areas_named("00530")] == ["Kallio"]
    assert Client().get("/alerts/").content.decode().count('name="areas"') == 3


def test_it_adds_nothing_when_demo_runs_again() -> None:
    run("demo")
    before = (users(), Responder.objects.count(), Profile.objects.count(),
              Area.objects.count())
    out = run("demo")
    assert "Demo logins" in out
    assert (users(), Responder.objects.count(), Profile.objects.count(),
            Area.objects.count()) == before


def test_it_leaves_a_real_organization_alone() -> None:
    run("createuser", "sam", "--role", "responder")
    out = run("demo", "--if-empty")
    assert "Demo logins" not in out
    assert users() == 1


def test_it_makes_demo_responders_that_get_offers() -> None:
    run("demo")
    opened = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE, breathing=Answer.NO
             ), now=timezone.now())
    assert opened.incident.offers.count() >= 1


# -- worker ----------------------------------------------------------------------------------
# transaction=True: a worker pass starts with close_old_connections(), which closes a
# connection left inside a transaction, as the test-case transaction would be.


@pytest.mark.django_db(transaction=True)
def test_it_runs_one_worker_pass_when_nothing_is_due() -> None:
    assert re.search(r"fired 0 timer", run("worker", "--once"))


@pytest.mark.django_db(transaction=True)
def test_it_fires_due_timers_in_one_worker_pass() -> None:
    now = timezone.now()
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE,
                   breathing=Answer.NO), now=now).incident
    with time_machine.travel(now + timedelta(minutes=3), tick=False):
        out = run("worker", "--once")
    fired = re.search(r"fired (\d+) timer", out)
    assert fired and int(fired.group(1)) >= 2  # the round expiry and the deadline
    assert not Timer.objects.filter(incident=incident, fired_at__isnull=True,
                                    due_at__lte=now + timedelta(minutes=3)).exists()
    incident.refresh_from_db()
    assert incident.unanswered_at is not None
