"""What the organization holds right now: counts and ages, never a value.

Each category is a kind of record that still holds something personal (a precise
place, a phone number, free text, a way back to a request). ``holdings`` reads them
with one aggregate query per table (``COUNT`` and ``MIN`` of a timestamp), so no row
is loaded into Python and nothing personal can reach the page by accident.

An age says how long the oldest record of its category has held its data; next to
the retention settings it shows whether the purge is keeping up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypedDict, cast

from django.conf import settings
from django.db.models import Count, Min, Q

from spotline.api.housekeeping import IDEMPOTENCY_TTL
from spotline.api.models import IdempotentRequest
from spotline.checkins.models import CheckIn, SavedPlan
from spotline.core.triage import Priority
from spotline.dispatch.models import Incident
from spotline.intake.conversations import INBOUND_KEEP
from spotline.intake.models import FormSubmission, InboundSms, SmsConversation
from spotline.intake.sms import reply_keep
from spotline.notify.models import Message, SmsOptOut
from spotline.responders.models import Responder
from spotline.transparency.police import police_capabilities

# The order of the page's table and of the JSON object.
CATEGORIES = (
    "incidents_open",
    "incidents_closed_awaiting_purge",
    "checkins_holding_place",
    "saved_checkin_plans",
    "sms_conversations",
    "sms_inbound_dedup",
    "outbox_messages_unsent",
    "idempotency_answers",
    "responders_sharing_location",
    "sms_opt_outs",
)


@dataclass(frozen=True)
class Holding:
    count: int
    # When the oldest record of the category began holding its data (None: no record).
    oldest: datetime | None
    # Other "since" times a category reports, by JSON name less "_seconds".
    since: dict[str, datetime | None] = field(default_factory=dict)


def _counted(row: dict[str, Any]) -> Holding:
    return Holding(count=row["n"], oldest=row["oldest"])


def holdings() -> dict[str, Holding]:
    """Every category, from ten aggregate queries."""
    held: dict[str, Holding] = {}

    # 1. An incident holds a precise place, description, details, call-back number,
    #    outcome and dispatcher notes until its purge, RETENTION_HOURS after closing.
    #    Open ones have not started counting down; closed ones are waiting.
    is_open, is_closed = Q(closed_at__isnull=True), Q(closed_at__isnull=False)
    inc = Incident.objects.filter(purged_at__isnull=True).aggregate(
        open_n=Count("pk", filter=is_open),
        open_oldest=Min("opened_at", filter=is_open),
        closed_n=Count("pk", filter=is_closed),
        closed_oldest=Min("opened_at", filter=is_closed),
        closed_first=Min("closed_at", filter=is_closed),
    )
    held["incidents_open"] = Holding(count=inc["open_n"], oldest=inc["open_oldest"])
    held["incidents_closed_awaiting_purge"] = Holding(
        count=inc["closed_n"], oldest=inc["closed_oldest"],
        since={"longest_since_closed": inc["closed_first"]})

    # 2. A check-in's place, way in, phone and trusted person, forgotten together when
    #    it ends or escalates (exclude() with three fields: any of them still set).
    held["checkins_holding_place"] = _counted(
        CheckIn.objects.exclude(place_sealed="", phone_sealed="", trusted_sealed="")
        .aggregate(n=Count("pk"), oldest=Min("created_at")))

    # 3. Saved plans: kept because the person asked; deleted after PLAN_KEEP_DAYS unused.
    plans = SavedPlan.objects.aggregate(n=Count("pk"), oldest=Min("created_at"),
                                        unused=Min("used_at"))
    held["saved_checkin_plans"] = Holding(
        count=plans["n"], oldest=plans["oldest"], since={"longest_unused": plans["unused"]})

    # 4. Every SMS conversation holds a phone number and what was said. An inbound
    #    row holds the provider's message id (which the provider can tie to a number)
    #    and our sealed answer, to answer a retried webhook the same way.
    held["sms_conversations"] = _counted(
        SmsConversation.objects.aggregate(n=Count("pk"), oldest=Min("created_at")))
    held["sms_inbound_dedup"] = _counted(
        InboundSms.objects.aggregate(n=Count("pk"), oldest=Min("received_at")))

    # 5. Outbox: an address and a body until the message is sent, fails or is dropped.
    held["outbox_messages_unsent"] = _counted(
        Message.objects.exclude(to_sealed="", body_sealed="")
        .aggregate(n=Count("pk"), oldest=Min("created_at")))

    # 6. The stored first answer to a request sent with an Idempotency-Key (a help
    #    request or a check-in start), and to a help form sent with its key: each holds
    #    the tracking or check-in token it answered with.
    api = IdempotentRequest.objects.aggregate(n=Count("pk"), oldest=Min("created_at"))
    forms = FormSubmission.objects.aggregate(n=Count("pk"), oldest=Min("created_at"))
    held["idempotency_answers"] = Holding(
        count=api["n"] + forms["n"],
        oldest=min((at for at in (api["oldest"], forms["oldest"]) if at), default=None))

    # 7. Responders on shift with a location: the latest fix only, no history. The
    #    age is that of the stalest fix held.
    held["responders_sharing_location"] = _counted(
        Responder.objects.filter(on_shift_since__isnull=False, lat__isnull=False)
        .aggregate(n=Count("pk"), oldest=Min("located_at")))

    # 8. Numbers that texted STOP: a keyed digest, kept until START (carriers require it).
    held["sms_opt_outs"] = _counted(
        SmsOptOut.objects.aggregate(n=Count("pk"), oldest=Min("at")))
    return held


# -- retention settings -------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    key: str  # JSON name
    setting: str | None  # the environment variable that sets it; None: fixed in code
    value: int  # in ``unit``
    unit: str  # "minutes", "hours" or "days"

    @property
    def seconds(self) -> int:
        return self.value * {"minutes": 60, "hours": 3600, "days": 86400}[self.unit]


def _hours(d: timedelta) -> int:
    return int(d.total_seconds() // 3600)


def windows() -> list[Window]:
    return [
        Window("incident_after_close", "SPOTLINE_RETENTION_HOURS",
               settings.SPOTLINE_RETENTION_HOURS, "hours"),
        Window("unanswered_request_max_open", "SPOTLINE_MAX_OPEN_HOURS",
               settings.SPOTLINE_MAX_OPEN_HOURS, "hours"),
        Window("saved_plan_unused", "SPOTLINE_PLAN_KEEP_DAYS",
               settings.SPOTLINE_PLAN_KEEP_DAYS, "days"),
        Window("idempotency_answer", None, _hours(IDEMPOTENCY_TTL), "hours"),
        Window("sms_inbound", None, _hours(INBOUND_KEEP), "hours"),
        Window("sms_answer", None, int(reply_keep().total_seconds() // 60), "minutes"),
    ]


def auto_ems_priorities() -> list[str]:
    """Priorities for which the deadline records an ambulance request by itself
    (``SPOTLINE_AUTO_EMS``); a dispatcher still makes the call."""
    policy = settings.SPOTLINE_POLICY
    return [p.value for p in Priority if policy[p].auto_ems]


# -- the JSON document ----------------------------------------------------------------


class HeldOut(TypedDict, total=False):
    count: int
    oldest_age_seconds: int | None
    longest_since_closed_seconds: int | None  # incidents_closed_awaiting_purge
    longest_unused_seconds: int | None  # saved_checkin_plans


class WindowOut(TypedDict):
    seconds: int
    setting: str | None
    value: int
    unit: str


class PolicyOut(TypedDict):
    police_responder_kind: bool
    police_escalation: bool
    police_integration: bool
    last_escalation: str
    ems_auto_request_priorities: list[str]
    legal_demands: str


class TransparencyOut(TypedDict):
    generated_at: str
    holdings: dict[str, HeldOut]
    retention: dict[str, WindowOut]
    policy: PolicyOut


LEGAL_DEMANDS = ("A legal demand gets what this page shows: after the retention window, "
                 "nothing that identifies a person or a place.")


def age_seconds(at: datetime | None, *, now: datetime) -> int | None:
    if at is None:
        return None
    return max(0, int((now - at).total_seconds()))


def document(held: dict[str, Holding], *, now: datetime) -> TransparencyOut:
    out: dict[str, HeldOut] = {}
    for key in CATEGORIES:
        h = held[key]
        row: dict[str, Any] = {"count": h.count,
                               "oldest_age_seconds": age_seconds(h.oldest, now=now)}
        for name, at in h.since.items():
            row[f"{name}_seconds"] = age_seconds(at, now=now)
        out[key] = cast(HeldOut, row)
    police = police_capabilities()
    return {
        "generated_at": now.isoformat(),
        "holdings": out,
        "retention": {w.key: {"seconds": w.seconds, "setting": w.setting, "value": w.value,
                              "unit": w.unit} for w in windows()},
        "policy": {
            "police_responder_kind": police["police_responder_kind"],
            "police_escalation": police["police_escalation"],
            "police_integration": police["police_integration"],
            "last_escalation": "ambulance",
            "ems_auto_request_priorities": auto_ems_priorities(),
            "legal_demands": LEGAL_DEMANDS,
        },
    }
