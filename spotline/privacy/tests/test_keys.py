"""Data keys, crypto-shredding and rotating the key-encryption key."""

from __future__ import annotations

import base64
import io
import json
import secrets

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.management import call_command
from django.db import connection, transaction

from spotline.conftest import CENTRE, T0, raw_rows
from spotline.core.triage import Kind
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.models import Incident
from spotline.notify.actions import message_queue
from spotline.notify.models import Message
from spotline.privacy import keys
from spotline.privacy.crypto import SealError, seal, unseal
from spotline.privacy.models import DataKey

pytestmark = pytest.mark.django_db


def new_key() -> bytes:
    return secrets.token_bytes(32)


def open_incident(details: str = "behind the blue door") -> Incident:
    return incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE, description="Elm 5",
               details=details, callback_phone="+15550100999"), now=T0).incident


def test_each_incident_has_its_own_key_and_stores_only_ciphertext() -> None:
    a, b = open_incident("first secret"), open_incident("second secret")
    assert a.data_key_id and b.data_key_id and a.data_key_id != b.data_key_id
    rows = raw_rows(Incident)
    assert not any("secret" in r or "Elm 5" in r or "0100999" in r for r in rows)
    assert not any(repr(CENTRE.lat) in r for r in rows)
    fresh = Incident.objects.get(pk=a.pk)
    assert (fresh.details, fresh.lat, fresh.callback_number) == ("first secret", CENTRE.lat,
                                                                  "+15550100999")


def test_a_destroyed_key_makes_every_copy_unreadable() -> None:
    incident = open_incident()
    with connection.cursor() as cursor:
        cursor.execute("SELECT details FROM dispatch_incident WHERE id = %s", [incident.pk])
        (copy,) = cursor.fetchone()  # what a backup taken now would hold
    assert keys.unseal_under(copy, context="dispatch.incident.details") == "behind the blue door"
    assert keys.key_destroy(incident.data_key_id, now=T0)
    assert DataKey.objects.get(kid=incident.data_key_id).wrapped == ""
    with pytest.raises(keys.Shredded):
        keys.unseal_under(copy, context="dispatch.incident.details")
    # The live row still loads: shredded fields read as empty, not as an error.
    assert Incident.objects.get(pk=incident.pk).details == ""
    assert Incident.objects.get(pk=incident.pk).lat is None


def test_sealed_fields_refuse_a_bulk_update_with_plain_text() -> None:
    incident = open_incident()

    with pytest.raises(ValueError, match="sealed"), transaction.atomic():
        Incident.objects.filter(pk=incident.pk).update(details="plain text")
    Incident.objects.filter(pk=incident.pk).update(details="")  # blanking is fine


def test_a_value_sealed_for_one_use_does_not_open_for_another() -> None:
    incident = open_incident()
    with connection.cursor() as cursor:
        cursor.execute("SELECT details FROM dispatch_incident WHERE id = %s", [incident.pk])
        (copy,) = cursor.fetchone()
    with pytest.raises(SealError):
        keys.unseal_under(copy, context="dispatch.incident.location_description")


def test_rotating_the_kek_reseals_everything_and_the_old_key_can_go(settings,
                                                                     make_responder) -> None:
    old, new = new_key(), new_key()
    settings.SPOTLINE_KEK, settings.SPOTLINE_KEK_PREVIOUS = old, None
    keys._cache.clear()
    incident = open_incident("rotate me")
    message_queue(key="m1", purpose="test", body="a sealed body", channels=["sms"],
                  to="+15550100777", now=T0)

    settings.SPOTLINE_KEK, settings.SPOTLINE_KEK_PREVIOUS = new, old
    keys._cache.clear()
    out = io.StringIO()
    call_command("rotate-kek", stdout=out)
    counts = json.loads(out.getvalue().splitlines()[0])["resealed"]
    assert counts["DataKey.wrapped"] >= 1 and counts["Message.body_sealed"] == 1
    assert "remove SPOTLINE_KEK_PREVIOUS" in out.getvalue()
    # Again: nothing left to do.
    out = io.StringIO()
    call_command("rotate-kek", stdout=out)
    assert set(json.loads(out.getvalue().splitlines()[0])["resealed"].values()) == {0}

    settings.SPOTLINE_KEK_PREVIOUS = None
    keys._cache.clear()
    assert Incident.objects.get(pk=incident.pk).details == "rotate me"
    message = Message.objects.get(key="m1")
    assert unseal(message.body_sealed, context="message.body") == "a sealed body"


def test_without_rotation_values_under_a_removed_key_do_not_open(settings) -> None:
    settings.SPOTLINE_KEK, settings.SPOTLINE_KEK_PREVIOUS = new_key(), None
    sealed = seal("secret", context="t")
    settings.SPOTLINE_KEK = new_key()
    with pytest.raises(SealError, match="not configured"):
        unseal(sealed, context="t")


def test_values_sealed_before_versioned_keys_still_open(settings) -> None:

    settings.SPOTLINE_KEK = kek = new_key()
    nonce = secrets.token_bytes(12)
    v1 = "v1." + base64.urlsafe_b64encode(
        nonce + AESGCM(kek).encrypt(nonce, b"old", b"t")).decode()
    assert unseal(v1, context="t") == "old"


def test_rotate_kek_prints_a_new_key() -> None:
    out = io.StringIO()
    call_command("rotate-kek", "--new-key", stdout=out)
    assert len(base64.urlsafe_b64decode(out.getvalue().strip())) == 32
