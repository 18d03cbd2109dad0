"""The worker's steps: one function per app, listed in the order a pass runs them.

Each takes ``now`` and returns how much it did (rows fired, sent or deleted), so the
loop knows whether to look again at once. Adding background work to an app means
writing one such function there and listing it here; nothing else imports the worker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from django.utils import timezone

from spotline.alerts.actions import fanout, spikes
from spotline.alerts.actions.reports import reports_purge
from spotline.alerts.sms import conversations_expire
from spotline.api.housekeeping import idempotency_expire
from spotline.checkins import deadlines
from spotline.checkins.plans import plans_expire
from spotline.dispatch import timers
from spotline.dispatch.actions.coverage import coverage_count
from spotline.figures.releases import release_due
from spotline.intake.sms import inbound_expire
from spotline.intake.submissions import submissions_expire
from spotline.notify.sender import send_due
from spotline.planner.jobs import JobStarter, jobs_expire
from spotline.worker.retention import ResidueCleaner

HOUSEKEEPING_EVERY_SECONDS = 60.0


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[..., int]  # run(now=...) -> how much it did
    every: float = 0.0  # seconds between runs; 0: every pass


def default_steps() -> list[Step]:
    """A fresh list (the residue cleaner remembers when it last looked)."""
    return [
        Step("dispatch timers", timers.fire_due),
        Step("check-in deadlines", deadlines.fire_due),
        # Batches of a published alert's messages: short transactions, offers first.
        Step("alert fan-out", fanout.fire_due),
        # After the timers: the offers a timer made are sent in the same pass. The
        # sender reads the real clock for each message it leases (a long pass must not
        # hand out leases that are already over); ``now`` picks what is due.
        Step("outbox", partial(send_due, clock=timezone.now)),
        Step("alert spikes", spikes.spikes_check, every=spikes.CHECK_EVERY_SECONDS),
        Step("alert report retention", reports_purge, every=HOUSEKEEPING_EVERY_SECONDS),
        Step("alert push subscriptions", fanout.forgotten_push_delete,
             every=HOUSEKEEPING_EVERY_SECONDS),
        Step("sms retention", inbound_expire, every=HOUSEKEEPING_EVERY_SECONDS),
        Step("alert sms conversations", conversations_expire,
             every=HOUSEKEEPING_EVERY_SECONDS),
        Step("help form retention", submissions_expire, every=HOUSEKEEPING_EVERY_SECONDS),
        Step("saved plan retention", plans_expire, every=HOUSEKEEPING_EVERY_SECONDS),
        Step("idempotency retention", idempotency_expire, every=HOUSEKEEPING_EVERY_SECONDS),
        Step("residue", ResidueCleaner(), every=HOUSEKEEPING_EVERY_SECONDS),
        # A month's public figures, once it has ended (at most once an hour: it is a
        # read of a month of the reporting store, and nothing is late by an hour).
        Step("dashboard release", release_due, every=3600.0),
        Step("responder coverage", coverage_count, every=60.0),
        # The planner's runs: claims one and starts it in a child process, never waits.
        Step("planner runs", JobStarter(), every=1.0),
        Step("planner retention", jobs_expire, every=HOUSEKEEPING_EVERY_SECONDS),
    ]

