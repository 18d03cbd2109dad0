"""Where the time of one request-to-offers goes, in-process, with 10,000 responders.

Seeds the responders like request_to_offers.py, then opens BENCH_PROFILE_N incidents
through the same function the public POST calls (``dispatch.actions.opening.incident_open``)
under cProfile, and prints one JSON line per part: the cumulative milliseconds per
request spent in it (parts overlap: search contains _within and plan_round).

    python bench/profile_open.py                      # SQLite
    DATABASE_URL=postgres://.../..._bench python bench/profile_open.py
"""

from __future__ import annotations

import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# (label, file suffix, function name) of the parts worth knowing.
PARTS = [
    ("incident_open (whole)", "dispatch/actions/opening.py", "incident_open"),
    ("search (nearest responders)", "dispatch/actions/search.py", "search"),
    ("_everyone (load all on-shift)", "dispatch/actions/search.py", "_everyone"),
    ("_within (the banded index)", "dispatch/actions/search.py", "_within"),
    ("plan_round (filter + ETA + sort)", "core/policy.py", "plan_round"),
    ("offer_messages (outbox)", "dispatch/actions/rounds.py", "offer_messages"),
    ("messages_queue (outbox insert)", "notify/actions.py", "messages_queue"),
    ("seal (AES-GCM)", "privacy/crypto.py", "seal"),
    ("audit record", "audit/actions.py", "record"),
    ("live push on commit", "live/publish.py", "_push_incident"),
    ("QuerySet.create (every row made one by one)", "django/db/models/query.py", "create"),
    ("commit", "django/db/backends/base/base.py", "commit"),
    ("SQL execute (all)", "django/db/backends/utils.py", "_execute"),
]


def main() -> None:
    n = int(os.environ.get("BENCH_PROFILE_N", "100"))
    responders = int(os.environ.get("BENCH_RESPONDERS", "10000"))
    os.environ["SPOTLINE_DATA_DIR"] = tempfile.mkdtemp(prefix="spotline-prof-")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ.setdefault("SPOTLINE_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from bench.common import call_points, incident_bodies, seed_responders
    from spotline.core.geo import Point
    from spotline.core.triage import Answer, Kind
    from spotline.dispatch.actions.opening import IncidentRequest, incident_open
    from spotline.dispatch.models import Source

    db = connection.vendor
    if db == "postgresql" and not str(connection.settings_dict["NAME"]).endswith("bench"):
        sys.exit("refusing a database whose name does not end in 'bench'")
    call_command("migrate", interactive=False, verbosity=0)
    if db == "postgresql":
        call_command("flush", interactive=False, verbosity=0)
    points = call_points()
    seed_responders(responders, now=timezone.now(), points=points)
    bodies = [json.loads(b) for b in incident_bodies(n + 10, points)]

    def open_one(body: dict) -> None:  # type: ignore[type-arg]
        loc = body["location"]
        incident_open(IncidentRequest(kind=Kind(body["kind"]),
            location=Point(loc["lat"], loc["lon"]), accuracy_m=loc["accuracy_m"],
            description=loc["description"], details=body["details"],
            breathing=Answer(body["breathing"]), conscious=Answer(body["conscious"]),
            danger=Answer(body["danger"]), callback_phone=body["callback_phone"],
            language="en", source=Source.API), now=timezone.now())

    for body in bodies[:10]:  # warm caches and connections
        open_one(body)
    # Unprofiled first: the wall time and the statements of one request.
    from django.test.utils import CaptureQueriesContext

    plain = []
    with CaptureQueriesContext(connection) as queries:
        for body in bodies[10:]:
            t = time.perf_counter()
            open_one(body)
            plain.append((time.perf_counter() - t) * 1000)
    statements = len(queries.captured_queries) / n
    walls = []
    profile = cProfile.Profile()
    for body in bodies[10:]:
        t = time.perf_counter()
        profile.enable()
        open_one(body)
        profile.disable()
        walls.append((time.perf_counter() - t) * 1000)
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    print(json.dumps({"name": "profile_open", "db": db, "n": n, "responders": responders,
                      "wall_ms_p50": round(sorted(plain)[len(plain) // 2], 1),
                      "wall_ms_p99": round(sorted(plain)[int(len(plain) * 0.99) - 1], 1),
                      "statements_per_request": round(statements, 1),
                      "wall_ms_p50_profiled": round(sorted(walls)[len(walls) // 2], 1)}))
    for label, suffix, func in PARTS:
        total = sum(ct for (file, _, name), (_, _, _, ct, _) in stats.items()
                    if name == func and file.endswith(suffix))
        print(json.dumps({"part": label, "ms_per_request": round(total * 1000 / n, 2)}))
    if os.environ.get("BENCH_PROFILE_TOP"):
        st = pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative")
        st.print_callees("incident_open|search|_within|messages_queue|record|create|_push_incident|"
                         "_apply|_event")


if __name__ == "__main__":
    main()
