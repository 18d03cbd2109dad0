"""The audit log appends hash-chained entries, in the caller's transaction, and never
changes one in code."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction

from spotline.audit.actions import record
from spotline.audit.models import GENESIS, AuditEntry, AuditHead, AuditImmutable
from spotline.audit.verify import verify
from spotline.conftest import CENTRE, T0
from spotline.core.triage import Kind
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.models import Incident

pytestmark = pytest.mark.django_db

S = timedelta(seconds=1)


class Boom(Exception):
    pass


def test_it_chains_each_entry_to_the_one_before() -> None:
    first = record("incident.view", object_type="incident", object_id=7, now=T0,
                   actor="user", actor_user_id=3, fields=["location", "details"])
    second = record("incident.cancel", object_type="incident", object_id=7, now=T0 + S)
    assert (first.id, second.id) == (1, 2)
    assert first.prev_hash == GENESIS
    assert second.prev_hash == first.hash
    assert len(second.hash) == 64 and second.hash != first.hash
    head = AuditHead.objects.get()
    assert (head.last_id, head.last_hash) == (2, second.hash)
    stored = AuditEntry.objects.get(pk=1)
    assert (stored.actor, stored.actor_user_id, stored.fields) == ("user", 3, ["location",
                                                                             "details"])
    assert stored.compute_hash() == stored.hash


def test_it_verifies_an_intact_log(capsys: pytest.CaptureFixture[str]) -> None:
    for n in range(25):
        record("incident.view", object_type="incident", object_id=n, now=T0 + n * S,
               actor="user", actor_user_id=1, fields=["location"])
    verdict = verify()
    assert verdict.ok and verdict.count == 25
    call_command("audit", "verify")
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "audit log OK: 25 entries"
    assert AuditHead.objects.get().last_hash in out


def test_an_empty_log_verifies() -> None:
    assert verify().ok and verify().count == 0


def test_it_refuses_to_change_or_delete_an_entry_in_code() -> None:
    entry = record("incident.view", object_type="incident", object_id=1, now=T0)
    entry.action = "incident.nothing"
    with pytest.raises(AuditImmutable):
        entry.save()
    with pytest.raises(AuditImmutable):
        entry.delete()
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.filter(pk=entry.pk).update(action="incident.nothing")
    with pytest.raises(AuditImmutable):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get().action == "incident.view"
    assert verify().ok


@pytest.mark.parametrize("bad", [
    {"action": "+15550100123"},
    {"action": "Incident.View"},
    {"action": "incident"},
    {"object_type": "Jane Doe"},
    {"actor": "dispatcher jane"},
    {"fields": ["location", "Behind the library"]},
    {"fields": ["555-0100"]},
])
def test_it_takes_codes_only_never_values(bad: dict[str, object]) -> None:
    kwargs: dict[str, object] = {"action": "incident.view", "object_type": "incident",
                                 "actor": "user", "fields": ["location"], **bad}
    action = kwargs.pop("action")
    with pytest.raises(ValueError, match="lower-case code"):
        record(action, object_id=1, now=T0, **kwargs)  # type: ignore[arg-type]
    assert not AuditEntry.objects.exists()


def test_a_state_change_and_its_entry_commit_together() -> None:
    opened = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE), now=T0)
    entries = AuditEntry.objects.filter(object_type="incident", object_id=opened.incident.pk)
    assert list(entries.order_by("id").values_list("action", "actor")) == [
        ("incident.opened", "person"), ("incident.dispatch", "system"),
        ("incident.no_offers", "system"),
        # An overdose nobody can reach in 8 minutes: the policy proposes an ambulance.
        ("incident.ems_proposed", "policy")]
    assert verify().ok


def test_a_state_change_and_its_entry_roll_back_together() -> None:
    record("incident.view", object_type="incident", object_id=99, now=T0)
    head = AuditHead.objects.get()
    with pytest.raises(Boom), transaction.atomic():
        incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE), now=T0)
        assert AuditEntry.objects.count() > 1
        raise Boom
    assert not Incident.objects.exists()
    assert AuditEntry.objects.count() == 1
    assert AuditHead.objects.get().last_hash == head.last_hash
    # The chain goes on from where the rolled-back entries would have been.
    nxt = record("incident.view", object_type="incident", object_id=99, now=T0 + S)
    assert nxt.id == 2 and nxt.prev_hash == head.last_hash
    assert verify().ok


# A real transaction: inside the test's own, the failed opening would doom it (opening
# joins its caller's transaction without a savepoint).
@pytest.mark.django_db(transaction=True)
def test_a_failed_audit_append_fails_the_change(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise Boom

    monkeypatch.setattr("spotline.dispatch.actions.records.record", broken)
    with pytest.raises(Boom):
        incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE), now=T0)
    assert not Incident.objects.exists()
