"""Staff sign-in: Argon2 passwords, then a second factor for the roles that need one."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, override_settings
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from spotline.accounts import twofactor
from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.conftest import CENTRE, HANG_SECONDS, T0, login_staff, totp_code
from spotline.core.triage import Kind
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.intake.models import SmsConversation
from spotline.intake.sms import sms_receive
from spotline.worker.management.commands.demo import DEMO_TOTP_SECRET, demo_code

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password-42"


def make(name: str, role: Role) -> User:
    return user_create(name=name, role=role, password=PASSWORD)


def sign_in(name: str, next_url: str = "") -> tuple[Client, Any]:
    """The password step only; returns the client and the answer to it."""
    client = Client()
    data = {"username": name, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client, client.post("/accounts/login/", data)


def enrolled(user: User) -> TOTPDevice:
    return twofactor.authenticator_set(user=user, secret_b32="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")


def staff_pages(role: Role = Role.DISPATCHER) -> list[str]:
    """Every staff page of ``role``, an incident's page first."""
    incident = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE), now=T0).incident
    sms_receive(sid="SM1", from_number="+15550100155", body="my friend needs help", now=T0)
    conversation = SmsConversation.objects.get()
    pages = [f"/console/incidents/{incident.pk}/", "/console/", "/console/new/",
             "/console/sms/", f"/console/sms/{conversation.pk}/"]
    return [*pages, "/console/setup/"] if role is Role.COORDINATOR else pages


# -- passwords ---------------------------------------------------------------------------


def test_it_hashes_new_passwords_with_argon2() -> None:
    user = make("dana", Role.DISPATCHER)
    assert user.password.startswith("argon2$")


def test_it_still_accepts_an_old_hash_and_upgrades_it_at_sign_in() -> None:
    user = user_create(name="sam", role=Role.RESPONDER, password=None)
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    _, r = sign_in("sam")
    assert r.status_code == 302 and r["Location"] == "/accounts/home/"
    user.refresh_from_db()
    assert user.password.startswith("argon2$")


# -- who must use a second factor --------------------------------------------------------


@pytest.mark.parametrize("role", [Role.DISPATCHER, Role.COORDINATOR])
def test_it_sends_staff_without_a_verified_code_to_the_code_page_from_every_page(
        role: Role) -> None:
    user = make("dana", role)
    pages = staff_pages(role)
    for has_device in (False, True):
        if has_device:
            enrolled(user)
        client = Client()
        client.force_login(user)  # the password step, without the code
        for page in pages:
            r = client.get(page)
            assert r.status_code == 302, page
            assert r["Location"].startswith("/accounts/two-factor/?next="), page
        r = client.post(pages[0] + "note/", {"text": "hello"})
        assert r.status_code == 302 and r["Location"].startswith("/accounts/two-factor/")
        # Nor through the API with the session, nor the console's live updates.
        assert client.get("/api/v1/incidents").status_code == 401
        assert client.get("/responder/").status_code == 302


def test_it_lets_a_verified_coordinator_in() -> None:
    client = login_staff(Client(), make("cora", Role.COORDINATOR))
    for page in staff_pages(Role.COORDINATOR):
        assert client.get(page).status_code == 200, page
    assert client.get("/api/v1/incidents").status_code == 200


def test_it_asks_a_responder_for_no_code_by_default() -> None:
    make("sam", Role.RESPONDER)
    client, r = sign_in("sam")
    assert r["Location"] == "/accounts/home/"
    assert client.get("/responder/").status_code == 200
    assert client.get("/api/v1/me").status_code == 200


def test_it_asks_responders_too_when_the_organization_says_so() -> None:
    make("sam", Role.RESPONDER)
    with override_settings(SPOTLINE_2FA_ROLES=frozenset({"responder", "dispatcher"})):
        client, r = sign_in("sam", next_url="/responder/")
        assert r["Location"] == "/accounts/two-factor/?next=%2Fresponder%2F"
        assert client.get("/responder/").status_code == 302
        assert client.get("/api/v1/me").status_code == 401


def test_it_counts_superusers_and_staff_users_as_admins() -> None:
    admin = get_user_model().objects.create_user(username="root", is_superuser=True)
    assert twofactor.needs_2fa(admin)
    with override_settings(SPOTLINE_2FA_ROLES=frozenset({"dispatcher"})):
        assert not twofactor.needs_2fa(admin)


@pytest.mark.django_db(transaction=True)
def test_it_refuses_the_console_socket_to_a_session_without_its_code() -> None:
    from spotline.asgi import application  # noqa: PLC0415 (imported when the test runs: it builds the app)

    user = make("dana", Role.DISPATCHER)

    def connects(client: Client) -> bool:
        headers = [(b"origin", b"http://testserver"), (b"host", b"testserver"),
                   (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]

        async def go() -> bool:
            comm = WebsocketCommunicator(application, "/ws/console/", headers=headers)
            connected, _ = await comm.connect(timeout=HANG_SECONDS)
            await comm.disconnect(timeout=HANG_SECONDS)
            return bool(connected)

        return bool(async_to_sync(go)())

    unverified = Client()
    unverified.force_login(user)
    assert not connects(unverified)
    assert connects(login_staff(Client(), user))


# -- setting up the authenticator ----------------------------------------------------------


def test_it_shows_the_key_the_link_and_a_qr_code_to_set_up_an_authenticator() -> None:
    make("dana", Role.DISPATCHER)
    client, r = sign_in("dana", next_url="/console/")
    r = client.get(r["Location"])
    html = r.content.decode()
    device = TOTPDevice.objects.get(user__username="dana")
    assert not device.confirmed
    secret = twofactor.secret_b32(device)
    assert re.sub(r"\s", "", re.search(r'id="totp-secret">([^<]+)<', html)[1]) == secret
    assert "otpauth://totp/Spotline%3Adana?secret=" + secret in html.replace("&amp;", "&")
    assert 'src="data:image/svg+xml' in html
    # A reload shows the same key, so a half-done setup can be finished.
    client.get("/accounts/two-factor/")
    assert TOTPDevice.objects.get(user__username="dana").key == device.key


def test_it_turns_two_factor_on_with_a_right_code_and_shows_ten_recovery_codes_once(
        ) -> None:
    make("dana", Role.DISPATCHER)
    client, r = sign_in("dana", next_url="/console/")
    client.get(r["Location"])
    device = TOTPDevice.objects.get(user__username="dana")
    session_before = client.cookies["sessionid"].value
    r = client.post("/accounts/two-factor/", {"code": totp_code(device), "next": "/console/"})
    assert r.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", r.content.decode())
    assert len(set(codes)) == 10
    assert r["Cache-Control"].startswith("max-age=0")
    assert client.cookies["sessionid"].value != session_before  # a new session key
    assert client.get("/console/").status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    # Signed in again later: the code page, never the codes again.
    client.logout()
    client, r = sign_in("dana", next_url="/console/")
    html = client.get(r["Location"]).content.decode()
    assert "Enter your sign-in code" in html
    assert not any(code in html for code in codes)


def test_it_does_not_turn_two_factor_on_with_a_wrong_code() -> None:
    make("dana", Role.DISPATCHER)
    client, r = sign_in("dana", next_url="/console/")
    client.get(r["Location"])
    device = TOTPDevice.objects.get(user__username="dana")
    wrong = f"{(int(totp_code(device)) + 1) % 1_000_000:06d}"
    r = client.post("/accounts/two-factor/", {"code": wrong, "next": "/console/"})
    assert r.status_code == 400
    assert "did not match" in r.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert client.get("/console/").status_code == 302
    assert not StaticDevice.objects.exists()


# -- signing in with a code -------------------------------------------------------------------


def test_it_signs_in_with_a_code_from_the_app_and_goes_where_it_was_asked() -> None:
    device = enrolled(make("dana", Role.DISPATCHER))
    client, r = sign_in("dana", next_url="/console/sms/")
    assert r["Location"] == "/accounts/two-factor/?next=%2Fconsole%2Fsms%2F"
    r = client.post("/accounts/two-factor/", {"code": totp_code(device),
                                              "next": "/console/sms/"})
    assert r.status_code == 302 and r["Location"] == "/console/sms/"
    assert client.get("/console/sms/").status_code == 200


def test_it_refuses_a_wrong_code_and_the_same_code_twice() -> None:
    device = enrolled(make("dana", Role.DISPATCHER))
    client, _ = sign_in("dana")
    code = totp_code(device)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    r = client.post("/accounts/two-factor/", {"code": wrong, "next": "/console/"})
    assert r.status_code == 400 and "did not work" in r.content.decode()
    assert client.get("/console/").status_code == 302
    TOTPDevice.objects.update(throttling_failure_count=0)  # no waiting in a test
    assert client.post("/accounts/two-factor/", {"code": code}).status_code == 302
    # A code seen once is spent, even in another browser.
    other, _ = sign_in("dana")
    assert other.post("/accounts/two-factor/", {"code": code}).status_code == 400


def test_it_slows_down_guessing() -> None:
    device = enrolled(make("dana", Role.DISPATCHER))
    client, _ = sign_in("dana")
    code = totp_code(device)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    client.post("/accounts/two-factor/", {"code": wrong})
    r = client.post("/accounts/two-factor/", {"code": code})
    assert r.status_code == 400 and "Too many wrong codes" in r.content.decode()


def test_a_recovery_code_works_once() -> None:
    user = make("dana", Role.DISPATCHER)
    enrolled(user)
    codes = twofactor.recovery_codes_create(user=user)
    client, _ = sign_in("dana")
    r = client.post("/accounts/two-factor/", {"code": codes[0].upper(), "next": "/console/"})
    assert r.status_code == 302 and r["Location"] == "/console/"
    assert "9 left" in client.get("/console/").content.decode()
    assert StaticToken.objects.count() == 9
    again, _ = sign_in("dana")
    r = again.post("/accounts/two-factor/", {"code": codes[0], "next": "/console/"})
    assert r.status_code == 400
    assert again.get("/console/").status_code == 302


def test_it_sends_only_to_this_site_after_the_code() -> None:
    device = enrolled(make("dana", Role.DISPATCHER))
    client, _ = sign_in("dana")
    r = client.post("/accounts/two-factor/", {"code": totp_code(device),
                                              "next": "https://evil.example/"})
    assert r["Location"] == "/accounts/home/"


# -- a lost phone ------------------------------------------------------------------------------


def test_reset_2fa_removes_every_device_and_the_next_sign_in_sets_up_again() -> None:
    user = make("dana", Role.DISPATCHER)
    enrolled(user)
    twofactor.recovery_codes_create(user=user)
    verified = login_staff(Client(), user)
    out = io.StringIO()
    call_command("reset-2fa", "dana", stdout=out)
    assert "removed 2 two-factor device(s) of dana" in out.getvalue()
    assert not TOTPDevice.objects.exists() and not StaticDevice.objects.exists()
    assert verified.get("/console/").status_code == 302  # that session is no longer verified
    client, r = sign_in("dana")
    assert "Set up two-factor sign-in" in client.get(r["Location"]).content.decode()


def test_reset_2fa_names_an_unknown_user() -> None:
    with pytest.raises(CommandError, match="no user named 'nobody'"):
        call_command("reset-2fa", "nobody")


# -- the demo -----------------------------------------------------------------------------------


def test_the_demo_staff_sign_in_with_the_published_key_and_code() -> None:
    out = io.StringIO()
    call_command("demo", stdout=out)
    assert DEMO_TOTP_SECRET in out.getvalue()
    assert re.search(r"code right now: \d{6}", out.getvalue())
    device = TOTPDevice.objects.get(user__username="dispatcher", confirmed=True)
    assert twofactor.secret_b32(device) == DEMO_TOTP_SECRET
    client = Client()
    client.post("/accounts/login/", {"username": "dispatcher", "password": "spotline-demo"})
    r = client.post("/accounts/two-factor/", {"code": demo_code(), "next": "/console/"})
    assert r["Location"] == "/console/"
    assert client.get("/console/").status_code == 200
