"""Shared by the benchmarks: real call locations, seeded responders, request bodies.

Run inside a process where Django is set up (``setup_django()`` or ``django.setup()``),
except ``call_points`` and ``incident_bodies``, which need no Django.
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CALLS_CSV = Path(os.environ.get(
    "BENCH_CALLS_CSV", REPO / "bench" / "data" / "milwaukee_call_points.csv"))


def setup_django() -> str:
    """Django for a benchmark process, migrated; returns the database vendor.

    SQLite in a throwaway data directory unless DATABASE_URL is set. On PostgreSQL only
    a database whose name ends in "bench": benchmarks write rows, and some empty it.
    """
    if not os.environ.get("DATABASE_URL"):
        os.environ["SPOTLINE_DATA_DIR"] = tempfile.mkdtemp(prefix="spotline-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spotline.settings")
    os.environ.setdefault("SPOTLINE_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    db = connection.vendor
    name = str(connection.settings_dict["NAME"])
    if db == "postgresql" and not name.endswith("bench"):
        sys.exit(f"refusing to benchmark database {name!r}: use one whose name ends in "
                 "'bench' (make bench creates spotline_bench)")
    call_command("migrate", interactive=False, verbosity=0)
    return db


def call_points(path: Path = CALLS_CSV) -> list[tuple[float, float]]:
    """(lat, lon) of every call for service with usable coordinates (Milwaukee, May 2018)."""
    points = []
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            try:
                lat, lon = float(row["latitude"]), float(row["longitude"])
            except (KeyError, TypeError, ValueError):
                continue
            if 42.8 < lat < 43.3 and -88.2 < lon < -87.8:  # the city, not geocoding misses
                points.append((lat, lon))
    if not points:
        raise SystemExit(f"no usable call locations in {path}")
    return points


def _jitter(rng: random.Random, lat: float, lon: float, sigma_m: float) -> tuple[float, float]:
    north, east = rng.gauss(0, sigma_m), rng.gauss(0, sigma_m)
    return (lat + north / 111_320,
            lon + east / (111_320 * math.cos(math.radians(lat))))


# Mixed so that every kind of request finds qualified responders, but not everyone
# qualifies for everything (the policy's filter has work to do).
SKILL_ODDS = {"naloxone": 0.8, "first_aid": 0.6, "crisis_intervention": 0.3,
              "de_escalation": 0.3, "crisis_team": 0.05}
MODE_ODDS = (("walk", 0.5), ("bike", 0.3), ("car", 0.2))


def seed_responders(n: int, *, now: datetime, points: list[tuple[float, float]],
                    seed: int = 7, prefix: str = "bench-r") -> list[int]:
    """``n`` on-shift responders (with their users and profiles), in bulk.

    Positions are spread around real call locations (about 800 m either way), so the
    nearest ones to a request are a realistic few hundred metres to a few km away. The
    one place that seeds responders for every benchmark: a column the dispatch query
    needs (a spatial index key, say) is filled here. Returns the responders' ids.
    """
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from spotline.accounts.models import Profile, Role
    from spotline.responders.models import Responder

    rng = random.Random(seed)  # noqa: S311 - seeded on purpose: the same data every run
    User = get_user_model()
    with transaction.atomic():
        users = User.objects.bulk_create(
            [User(username=f"{prefix}{i:06d}", password="!bench") for i in range(n)],
            batch_size=2000)
        Profile.objects.bulk_create(
            [Profile(user=u, role=Role.RESPONDER.value) for u in users], batch_size=2000)
        rows = []
        for i, user in enumerate(users):
            lat, lon = _jitter(rng, *rng.choice(points), 800)
            skills = sorted(s for s, p in SKILL_ODDS.items() if rng.random() < p)
            mode = rng.choices([m for m, _ in MODE_ODDS], [p for _, p in MODE_ODDS])[0]
            rows.append(Responder(user=user, alias=f"R{i}", skills=skills, mode=mode,
                                  on_shift_since=now, lat=lat, lon=lon, located_at=now))
        made = Responder.objects.bulk_create(rows, batch_size=2000)
    return [r.pk for r in made]


KINDS = (("overdose", 0.5), ("medical", 0.15), ("mental_health", 0.15),
         ("welfare_check", 0.1), ("conflict", 0.05), ("other", 0.05))
ANSWERS = ("yes", "no", "unknown")
DETAILS = (
    "Someone collapsed near the bus shelter, lips look blue, we have one naloxone kit.",
    "My friend took something and will not wake up properly, breathing is slow.",
    "A man is shouting and very distressed outside, he says he wants to hurt himself.",
    "An older woman has been sitting in the cold for hours and seems confused.",
    "Two people arguing loudly, one of them is bleeding from a cut on the hand.",
)
PLACES = ("side door of the corner store", "behind the laundromat, by the bins",
          "bus stop on the north side", "second floor, apartment at the back",
          "parking lot next to the church")


def incident_bodies(n: int, points: list[tuple[float, float]], *, seed: int = 11
                    ) -> list[str]:
    """``n`` public POST /api/v1/incidents bodies (JSON text) at real call locations."""
    rng = random.Random(seed)  # noqa: S311 - seeded on purpose: the same data every run
    bodies = []
    for i in range(n):
        lat, lon = rng.choice(points)
        kind = rng.choices([k for k, _ in KINDS], [p for _, p in KINDS])[0]
        body = {
            "kind": kind,
            "location": {"lat": lat, "lon": lon, "accuracy_m": rng.choice([8.0, 15.0, 40.0]),
                         "description": rng.choice(PLACES)},
            "details": rng.choice(DETAILS),
            "breathing": rng.choice(ANSWERS),
            "conscious": rng.choice(ANSWERS),
            "danger": rng.choice(ANSWERS),
            # Fictional numbers (555-01xx is reserved for fiction).
            "callback_phone": f"+1 414 555 01{i % 100:02d}",
            "language": "en",
        }
        bodies.append(json.dumps(body))
    return bodies


def checkin_facts(n: int, *, at: datetime, minutes: int = 5) -> list[Any]:
    """``n`` rows in the reporting store for check-ins made in bulk (a real check-in has
    one, and each of its moves updates it), started at ``at``."""
    from spotline.core.tally import hour_of
    from spotline.tally.actions import local_tz
    from spotline.tally.models import CheckinFact

    hour = hour_of(at, tz=local_tz())
    return CheckinFact.objects.bulk_create(
        [CheckinFact(started_hour=hour.start, day=hour.day, week_hour=hour.week_hour,
                     minutes=minutes) for _ in range(n)], batch_size=2000)
