"""One community drug alert to 10,000 subscribers: the publish request, the fan-out to
the outbox, and the sending, against a floor measured in the same run (issue 16).

The world: one area with SUBSCRIBERS text subscribers (bulk-created with the real
sealing and digest: ``privacy.crypto.seal`` under ``subscriber.address``, and
``phone_digest``), a few Web Push subscribers made by ``subscribe_push``, a few who
chose all areas, and 1,000 text subscribers of another area who must get nothing.
``SPOTLINE_SMS_PER_SECOND=0`` (no spacing at the carrier's rate) and the console
provider (nothing leaves the machine).

What is measured, in this one process (the worker's steps are called as the worker
calls them, back to back as a busy worker does, with ``now`` read once a pass):

(a) ``publish``: ``POST /api/v1/alerts/{id}/publish`` through Django's test client and
    the whole stack (middleware, token, the action with its CAP build and XSD check),
    a second coordinator publishing each draft; the median over PUBLISHES alerts. Only
    RUNS of them are fanned out; the others' fan-out rows are marked done unfired.
(b) ``queued``: from the start of the publish request until every message is in the
    outbox, calling ``alerts.actions.fanout.fire_due`` in a loop (1,000 a batch).
(c) ``sent``: from then until the outbox sender (``notify.sender.send_due``, the
    worker's batch of 50) has sent them all.
(d) the floors: one message queued with ``notify.actions.message_queue`` in its own
    transaction; one message sent by ``send_one`` (medians).

The check, each run: exactly one outbox message per expected subscriber, keyed
``alert:<cap message>:s<subscriber>``, none for the other area, each sent with exactly
one delivery. Exit 1 when it fails (the goals, 200 ms and 5 s, are reported, not
enforced: a loaded machine is not a lost message).

Prints one JSON object per line. Usage (``make bench`` runs both databases):
    python bench/alerts_fanout.py            # SQLite in a temporary data dir
    DATABASE_URL=postgres://.../spotline_bench python bench/alerts_fanout.py

Knobs: BENCH_SUBSCRIBERS (10000), BENCH_RUNS (3), BENCH_PUBLISHES (9),
BENCH_FLOOR_SAMPLES (200).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import setup_django

SUBSCRIBERS = int(os.environ.get("BENCH_SUBSCRIBERS", "10000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
PUBLISHES = max(RUNS, int(os.environ.get("BENCH_PUBLISHES", "9")))
FLOOR_SAMPLES = int(os.environ.get("BENCH_FLOOR_SAMPLES", "200"))
PUSH, EVERYWHERE, ELSEWHERE = 5, 10, 1000
GOAL_PUBLISH_MS, GOAL_QUEUED_S = 200.0, 5.0


def say(text: str) -> None:
    print(f"[alerts_fanout] {text}", file=sys.stderr, flush=True)


def box(west: float, south: float, east: float, north: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north],
                                                [west, north], [west, south]]]}


def main() -> int:
    # Before Django reads its settings: no spacing of texts, and only the console.
    os.environ["SPOTLINE_SMS_PER_SECOND"] = "0"
    os.environ["SPOTLINE_SMS_PROVIDER"] = "console"
    for name in ("EMAIL_HOST", "SPOTLINE_VAPID_PUBLIC_KEY", "SPOTLINE_VAPID_PRIVATE_KEY",
                 "SPOTLINE_ALERTS_TWO_PERSON"):
        os.environ.pop(name, None)
    db = setup_django()

    from django.conf import settings
    from django.db import transaction
    from django.db.models import Count
    from django.test import Client
    from django.utils import timezone

    from spotline.accounts.actions import token_create, user_create
    from spotline.accounts.models import Role
    from spotline.alerts.actions import fanout
    from spotline.alerts.actions.areas import area_create
    from spotline.alerts.actions.review import AlertFields, alert_draft
    from spotline.alerts.actions.subscribers import subscribe_push
    from spotline.alerts.models import CapMessage, Fanout, Subscriber
    from spotline.notify.actions import message_queue
    from spotline.notify.models import Delivery, Message
    from spotline.notify.sender import send_due, send_one
    from spotline.privacy.crypto import phone_digest, seal

    if settings.SPOTLINE_SMS_PER_SECOND != 0 or settings.SPOTLINE_PROVIDERS != ["console"]:
        sys.exit("the benchmark needs SPOTLINE_SMS_PER_SECOND=0 and the console provider only")
    now = timezone.now()

    # -- the world ----------------------------------------------------------------------
    say(f"seeding {SUBSCRIBERS} text subscribers ({db})")
    here = area_create(name="Bench town", geometry=box(24.90, 60.15, 24.98, 60.19), now=now)
    there = area_create(name="Elsewhere", geometry=box(25.12, 60.195, 25.17, 60.22), now=now)
    Through = Subscriber.areas.through

    def texters(n: int, first: int, area_id: int | None) -> list[int]:
        rows = []
        for i in range(first, first + n):
            number = f"+1555{i:07d}"  # area code 555 is not assigned: nobody's number
            rows.append(Subscriber(
                channel="sms", digest=phone_digest(number),
                address_sealed=seal(number, context="subscriber.address"),
                language="es" if i % 4 == 0 else "en", all_areas=area_id is None,
                created_at=now, confirmed_at=now))
        with transaction.atomic():
            made = Subscriber.objects.bulk_create(rows, batch_size=2000)
            if area_id is not None:
                Through.objects.bulk_create(
                    [Through(subscriber_id=s.pk, area_id=area_id) for s in made],
                    batch_size=2000)
        return [s.pk for s in made]

    expected = set(texters(SUBSCRIBERS, 0, here.pk))
    others = set(texters(ELSEWHERE, SUBSCRIBERS, there.pk))
    expected |= set(texters(EVERYWHERE, SUBSCRIBERS + ELSEWHERE, None))
    for i in range(PUSH):
        expected.add(subscribe_push(
            endpoint=f"https://updates.push.services.mozilla.com/wpush/v2/bench{i}",
            p256dh="B" * 87, auth="A" * 22,
            area_ids=[here.pk], all_areas=False, language="en", now=now).pk)
    author = user_create(name="bench-author", role=Role.COORDINATOR, password=None)
    user_create(name="bench-publisher", role=Role.COORDINATOR, password=None)
    client = Client()
    headers = {"Authorization": f"Bearer {token_create(name='bench-publisher', now=now)}"}

    # -- (d) the floors -----------------------------------------------------------------
    say("floors")
    floor_queue: list[float] = []
    floor_ids: list[int] = []
    for k in range(FLOOR_SAMPLES):
        t = time.perf_counter()
        with transaction.atomic():
            floor_ids.append(message_queue(
                key=f"bench-floor:{k}", purpose="bench_floor", channels=["sms"],
                body="Bench drug alert: fentanyl in Bench town. Carry naloxone. "
                     "https://example.org/alerts/1/",
                to=f"+1555{k:07d}", now=timezone.now()).pk)
        floor_queue.append((time.perf_counter() - t) * 1000)
    floor_send: list[float] = []
    for message_id in floor_ids[:50]:
        t = time.perf_counter()
        send_one(message_id, now=timezone.now())
        floor_send.append((time.perf_counter() - t) * 1000)
    Message.objects.filter(key__startswith="bench-floor:").delete()

    # -- (a) (b) (c) ----------------------------------------------------------------------
    def draft() -> int:
        return alert_draft(fields=AlertFields(
            substance="fentanyl", severity="severe", expires=timezone.now() + timedelta(days=1),
            area_ids=[here.pk], signs=["several_doses"],
            text="Stronger than usual; several doses of naloxone needed."),
            user_id=author.pk, now=timezone.now()).pk

    def publish(alert_id: int) -> float:
        t = time.perf_counter()
        response = client.post(f"/api/v1/alerts/{alert_id}/publish", "",
                               content_type="application/json", headers=headers)
        elapsed = (time.perf_counter() - t) * 1000
        if response.status_code != 200:
            sys.exit(f"publish answered {response.status_code}: {response.content[:200]!r}")
        return elapsed

    # One API request first, so the first publish measures the publish (and the CAP
    # schema's one-time load), not the process's first request through the URL map.
    if client.get("/api/v1/areas", headers=headers).status_code != 200:
        sys.exit("the areas list did not answer 200")
    publish_ms: list[float] = []
    queued_s: list[float] = []
    fanout_s: list[float] = []
    sent_s: list[float] = []
    failures: list[str] = []
    # Publish-only samples first: their fan-out is marked done, never fired.
    for _ in range(PUBLISHES - RUNS):
        alert_id = draft()
        publish_ms.append(publish(alert_id))
        Fanout.objects.filter(cap_message__alert_id=alert_id).update(
            fired_at=timezone.now(), done_at=timezone.now())
    for run in range(RUNS):
        alert_id = draft()
        t0 = time.perf_counter()
        publish_ms.append(publish(alert_id))
        t1 = time.perf_counter()
        passes = 0
        while fanout.fire_due(now=timezone.now()):
            passes += 1
        t2 = time.perf_counter()
        sends = 0
        while send_due(now=timezone.now()):
            sends += 1
        t3 = time.perf_counter()
        queued_s.append(t2 - t0)
        fanout_s.append(t2 - t1)
        sent_s.append(t3 - t2)
        say(f"run {run + 1}: publish {publish_ms[-1]:.0f} ms, queued {t2 - t0:.2f} s "
            f"({passes} batches), sent {t3 - t2:.2f} s")

        # The check: everyone expected once, nobody else, each sent once.
        message = CapMessage.objects.get(alert_id=alert_id)
        prefix = f"alert:{message.pk}:s"
        rows = Message.objects.filter(key__startswith=prefix)
        keys = list(rows.values_list("key", flat=True))
        got = [int(k[len(prefix):]) for k in keys]
        if len(got) != len(set(got)):
            failures.append(f"run {run + 1}: {len(got) - len(set(got))} doubled")
        if set(got) - expected:
            failures.append(f"run {run + 1}: {len(set(got) & others)} to the other area, "
                            f"{len(set(got) - expected)} unexpected in all")
        if expected - set(got):
            failures.append(f"run {run + 1}: {len(expected - set(got))} lost")
        unsent = rows.filter(sent_at__isnull=True).count()
        if unsent:
            failures.append(f"run {run + 1}: {unsent} queued but not sent")
        deliveries = Delivery.objects.filter(message__key__startswith=prefix)
        if deliveries.count() != len(expected):
            failures.append(f"run {run + 1}: {deliveries.count()} deliveries for "
                            f"{len(expected)} subscribers")
        twice = (deliveries.values("message_id").annotate(n=Count("id")).filter(n__gt=1)
                 .count())
        if twice:
            failures.append(f"run {run + 1}: {twice} messages delivered more than once")
        row = Fanout.objects.get(cap_message=message)
        if row.done_at is None or row.queued != len(expected):
            failures.append(f"run {run + 1}: fan-out says queued={row.queued} "
                            f"done={row.done_at is not None}")

    # -- the answer ---------------------------------------------------------------------
    def ms(values: list[float]) -> float:
        return round(statistics.median(values), 2)

    n = len(expected)
    floor_q, floor_s = statistics.median(floor_queue), statistics.median(floor_send)
    result = {
        "name": "alerts_fanout", "db": db, "subscribers": n, "texts": SUBSCRIBERS + EVERYWHERE,
        "push": PUSH, "other_area": ELSEWHERE, "runs": RUNS, "publishes": PUBLISHES,
        "publish_p50_ms": ms(publish_ms), "publish_max_ms": round(max(publish_ms), 2),
        "queued_p50_s": round(statistics.median(queued_s), 3),
        "fanout_p50_s": round(statistics.median(fanout_s), 3),
        "sent_p50_s": round(statistics.median(sent_s), 3),
        "floor_queue_one_ms": round(floor_q, 3), "floor_send_one_ms": round(floor_s, 3),
        # Per message, against the floor of doing it one at a time in its own transaction.
        "queue_per_message_ms": round(statistics.median(fanout_s) * 1000 / n, 4),
        "ratio_queue": round(statistics.median(fanout_s) * 1000 / n / floor_q, 3),
        "send_per_message_ms": round(statistics.median(sent_s) * 1000 / n, 4),
        "ratio_send": round(statistics.median(sent_s) * 1000 / n / floor_s, 3),
        "ratio_publish": round(statistics.median(publish_ms) / floor_q, 1),
        "goal_publish_ms": GOAL_PUBLISH_MS, "goal_queued_s": GOAL_QUEUED_S,
        "goals_met": (statistics.median(publish_ms) <= GOAL_PUBLISH_MS
                      and statistics.median(queued_s) <= GOAL_QUEUED_S),
        "lost_or_doubled": len(failures),
    }
    print(json.dumps(result), flush=True)
    for failure in failures:
        say(f"FAILED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
