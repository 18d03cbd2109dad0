"""Prometheus metrics: counts and timings only.

Two kinds:

- Request counts and latencies, recorded by ``middleware.MetricsMiddleware`` in each web
  process. Labelled by the URL *pattern* a request matched (``t/<str:token>/``), never
  by its path: paths carry tracking and check-in tokens. With several web processes set
  ``PROMETHEUS_MULTIPROC_DIR`` (``spotline run --workers N`` does it when unset): each
  process then writes its counts to a file there and a scrape of any one of them adds
  up all of them.
- Gauges of the dispatch state (open incidents, pending offers, the outbox, due and late
  timers, active check-ins), computed from the database at scrape time, so every web
  process answers the same and nothing is kept in memory.

No label ever holds an id, a token, an address or a name.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime

from django.db.models import Count, Min, Q
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from spotline.checkins.models import CheckIn
from spotline.core.lifecycle import State
from spotline.core.triage import Priority
from spotline.dispatch.models import Incident, Offer
from spotline.notify.models import Message
from spotline.ops.health import due_work, failing_timers

# The "_created" twin of every series only doubles the output (and multiprocess mode has
# none): counters reset with a process anyway, and Prometheus handles resets.
disable_created_metrics()  # type: ignore[no-untyped-call]

OPEN_STATES = (State.NEW, State.DISPATCHING, State.ASSIGNED, State.EN_ROUTE, State.ON_SCENE)
ACTIVE_CHECKIN_STATES = ("active", "asked", "warned")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "spotline_http_requests", "HTTP requests answered, by URL pattern, method and status class",
    ["route", "method", "status"])
LATENCY = Histogram(
    "spotline_http_request_duration_seconds",
    "Time from a request entering Django to its answer leaving, by URL pattern and method",
    ["route", "method"],
    # Help requests aim at 100 ms; the long tail shows a database in trouble.
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))


def observe(route: str, method: str, status: int, seconds: float) -> None:
    method = method if method in METHODS else "OTHER"
    REQUESTS.labels(route, method, f"{status // 100}xx").inc()
    LATENCY.labels(route, method).observe(seconds)


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


class DispatchState(Collector):
    """Gauges read from the database when scraped. A failing database gives
    ``spotline_database_up 0`` and no gauges, not a failed scrape."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("spotline_database_up",
                               "1 if the database answered this scrape's queries")
        try:
            gauges = list(self._gauges())
        except Exception:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from gauges

    def _gauges(self) -> Iterator[Metric]:
        now = self.now
        incidents = GaugeMetricFamily("spotline_incidents_open",
                                      "Open incidents by state and priority",
                                      labels=["state", "priority"])
        counts = {(row["state"], row["priority"]): row["n"] for row in
                  Incident.objects.filter(closed_at__isnull=True)
                  .values("state", "priority").annotate(n=Count("id")).order_by()}
        # Every combination, zeros included: a series that vanishes at 0 breaks alerts.
        for state in OPEN_STATES:
            for priority in Priority:
                incidents.add_metric([state.value, priority.value],
                                     counts.get((state.value, priority.value), 0))
        yield incidents

        yield GaugeMetricFamily("spotline_offers_pending", "Offers waiting for an answer",
                                value=Offer.objects.filter(status="pending").count())

        pending = Message.objects.filter(sent_at__isnull=True, failed_at__isnull=True,
                                         cancelled_at__isnull=True)
        found = pending.aggregate(n=Count("id"), oldest=Min("created_at"))
        yield GaugeMetricFamily("spotline_outbox_pending",
                                "Outbound messages not yet sent, failed or cancelled",
                                value=found["n"])
        oldest = found["oldest"]
        yield GaugeMetricFamily(
            "spotline_outbox_oldest_pending_age_seconds",
            "Age of the oldest outbound message not yet sent (0 when none)",
            value=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)

        queues = due_work(now=now)
        due = GaugeMetricFamily(
            "spotline_work_due", "Timers, check-in deadlines and outbox messages due now "
            "and not yet done", labels=["queue"])
        late = GaugeMetricFamily(
            "spotline_work_late", "Of those, due for more than 30 s (no worker is keeping up)",
            labels=["queue"])
        lateness = GaugeMetricFamily(
            "spotline_work_oldest_lateness_seconds",
            "How long the oldest due item has been waiting (0 when none)", labels=["queue"])
        for q in queues:
            due.add_metric([q.name], q.due)
            late.add_metric([q.name], q.late)
            lateness.add_metric([q.name], q.oldest_lateness_seconds)
        yield from (due, late, lateness)

        failing = GaugeMetricFamily(
            "spotline_timers_failing",
            "Timer rows that failed repeatedly and are retried with backoff (0 expected)",
            labels=["queue"])
        for name, count in failing_timers().items():
            failing.add_metric([name], count)
        yield failing

        yield GaugeMetricFamily(
            "spotline_checkins_active", "Check-ins running (waiting, asked or warned)",
            value=CheckIn.objects.filter(Q(state__in=ACTIVE_CHECKIN_STATES)).count())


def scrape(*, now: datetime, accept: str) -> tuple[bytes, str]:
    """The exposition text and its content type (as the scraper's Accept header asks)."""
    encoder, content_type = choose_encoder(accept)
    if multiprocess_dir():
        # Every web process's counts, summed from their files in the directory.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    state = CollectorRegistry(auto_describe=False)
    state.register(DispatchState(now))
    text = encoder(registry)
    # OpenMetrics ends with "# EOF": the second part goes before it.
    eof = b"# EOF\n"
    if text.endswith(eof):
        return text[: -len(eof)] + encoder(state), content_type
    return text + encoder(state), content_type
