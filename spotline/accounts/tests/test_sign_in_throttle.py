"""Guessing passwords: after a few wrong ones a name is paused from that address."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.test import Client

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.conftest import T0

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password-42"


def attempt(name: str, password: str, *, ip: str = "192.0.2.10") -> object:
    return Client(REMOTE_ADDR=ip).post("/accounts/login/",
                                       {"username": name, "password": password})


def test_it_pauses_a_name_after_five_wrong_passwords_and_says_when_to_retry() -> None:
    assert settings.AXES_FAILURE_LIMIT == 5
    user_create(name="dana", role=Role.DISPATCHER, password=PASSWORD)
    with time_machine.travel(T0, tick=False):
        for _ in range(4):
            r = attempt("dana", "wrong-password")
            assert r.status_code == 200  # the form again, "did not match"
        r = attempt("dana", "wrong-password")
        assert r.status_code == 429
        assert r["Retry-After"] == str(15 * 60)
        html = r.content.decode()
        assert "Try again in 15 minutes, after 03:15 UTC" in html
        assert "dana" not in html
        # Even the right password is refused while paused, saying when again.
        r = attempt("dana", PASSWORD)
        assert r.status_code == 429 and "Try again in 15 minutes" in r.content.decode()
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        r = attempt("dana", PASSWORD)
        assert r.status_code == 429 and r["Retry-After"] == str(5 * 60)
        # Another address, or another name, is not paused.
        assert attempt("dana", PASSWORD, ip="192.0.2.99").status_code == 302
    with time_machine.travel(T0 + timedelta(minutes=15, seconds=1), tick=False):
        r = attempt("dana", PASSWORD)
        assert r.status_code == 302


def test_it_forgets_earlier_failures_after_a_good_sign_in() -> None:
    user_create(name="sam", role=Role.RESPONDER, password=PASSWORD)
    for _ in range(4):
        attempt("sam", "wrong-password")
    assert attempt("sam", PASSWORD).status_code == 302
    for _ in range(4):
        assert attempt("sam", "wrong-password").status_code == 200
    assert attempt("sam", PASSWORD).status_code == 302


def test_it_keeps_no_record_of_good_sign_ins_nor_any_password() -> None:

    user_create(name="sam", role=Role.RESPONDER, password=PASSWORD)
    attempt("sam", "a-wrong-secret-guess")
    attempt("sam", PASSWORD)
    assert not AccessLog.objects.exists()
    assert all("a-wrong-secret-guess" not in a.post_data for a in AccessAttempt.objects.all())
