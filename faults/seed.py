"""Seed responders for the fault tests: on shift around the map centre, SMS first.

Run by faults/run.py with the environment of the system under test:
``python -m faults.seed N OUT.json``. Writes {"<responder id>": "<API token>"} to
OUT.json (the load process accepts offers as these responders); prints nothing personal.
The phone numbers are fictional (555-01xx style, +1 555 01 plus digits).
"""

from __future__ import annotations

import json
import math
import os
import random
import sys

# Landmarks near the map centre that the soak's texts name, so an SMS request has a point.
LANDMARKS = ("Kamppi Chapel", "Old Church Park", "Central Library Oodi", "Sinebrychoff Park",
             "Hietalahti Market Hall")

# Every kind the load sends finds qualified responders (no crisis team: that is an
# escalation, not a first offer).
SKILLS = ("naloxone", "first_aid", "crisis_intervention", "de_escalation")


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spotline.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.utils import timezone

    from spotline.accounts.actions import token_create, user_create
    from spotline.accounts.models import Role
    from spotline.core.geo import Point
    from spotline.dispatch.actions.shifts import shift_set
    from spotline.places.models import Landmark
    from spotline.responders.actions import channels_set
    from spotline.responders.models import Responder

    count, out = int(sys.argv[1]), sys.argv[2]
    lat0, lon0 = (float(v) for v in settings.SPOTLINE_MAP_CENTRE.split(","))
    rng = random.Random(7)  # noqa: S311 - places, not secrets
    now = timezone.now()
    tokens: dict[str, str] = {}
    for n in range(count):
        name = f"faults{n}"
        user_create(name=name, role=Role.RESPONDER, password=None, skills=SKILLS,
                    alias=f"F{n}", phone=f"+1555{n:07d}")
        responder = Responder.objects.get(user__username=name)
        channels_set(responder=responder, channels=["sms"])
        # Within about 2 km of the centre, where the load asks for help.
        r, a = 2000 * math.sqrt(rng.random()), rng.random() * 2 * math.pi
        point = Point(lat0 + r * math.cos(a) / 111_320,
                      lon0 + r * math.sin(a) / (111_320 * math.cos(math.radians(lat0))))
        shift_set(responder=responder, on_shift=True, location=point, now=now)
        tokens[str(responder.pk)] = token_create(name=name, now=now)
    for n, name in enumerate(LANDMARKS):
        Landmark.objects.get_or_create(name=name, defaults={
            "lat": lat0 + 0.004 * math.cos(n), "lon": lon0 + 0.008 * math.sin(n)})
    with open(out, "w") as f:
        json.dump(tokens, f)


if __name__ == "__main__":
    main()
