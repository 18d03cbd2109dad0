from __future__ import annotations

import base64
import math
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_otp.oath import TOTP

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.accounts.twofactor import authenticator_set, has_authenticator
from spotline.alerts.actions.areas import area_create
from spotline.alerts.models import Area
from spotline.core.geo import Mode, Point
from spotline.dispatch.actions.shifts import shift_set
from spotline.figures.releases import release_due
from spotline.places.actions import places_import
from spotline.places.models import Landmark, Place
from spotline.places.osmread import DEMO_EXTRACT
from spotline.responders.models import Responder
from spotline.tally import synthetic
from spotline.tally.models import CheckinFact, Coverage, IncidentFact

DEMO_PASSWORD = "spotline-demo"  # noqa: S105 - printed on purpose: demo data only
# The demo dispatcher's and coordinator's authenticator key (base32), published on
# purpose like the password: it reads "SPOTLINE DEMO ONLY". Never for real accounts.
DEMO_TOTP_SECRET = "SPOTLINEDEMOONLYSPOTLINEDEMOONLY"  # noqa: S105

# Central Helsinki, the city of the OpenStreetMap extract in shared/data/osm.
CITY = "Helsinki"
CENTRE = Point(60.1699, 24.9384)
# name, skills, mode, offset north (m), offset east (m), on shift
RESPONDERS: list[tuple[str, list[str], Mode, float, float, bool]] = [
    ("sam", ["naloxone", "first_aid"], Mode.BIKE, 300, -200, True),
    ("alex", ["naloxone", "de_escalation"], Mode.WALK, -150, 250, True),
    ("jo", ["naloxone", "crisis_intervention"], Mode.WALK, 600, 500, True),
    ("riley", ["crisis_intervention", "de_escalation"], Mode.CAR, -900, -700, True),
    ("kai", ["naloxone", "first_aid", "crisis_intervention"], Mode.CAR, 1500, 1200, True),
    ("noor", ["crisis_team", "crisis_intervention", "de_escalation"], Mode.CAR, -1200, 900,
     True),
    ("lee", ["naloxone"], Mode.WALK, 200, 1800, False),
]


# Public places people name when they cannot share GPS (coordinates from OpenStreetMap).
LANDMARKS: list[tuple[str, float, float]] = [
    ("Central Railway Station (Rautatientori)", 60.1710, 24.9414),
    ("Kamppi Centre", 60.1688, 24.9320),
    ("Kaisaniemi Park", 60.1747, 24.9466),
    ("Esplanadi Park", 60.1676, 24.9482),
    ("Hakaniemi Market Square", 60.1789, 24.9510),
]


# Drug-alert areas (docs/alerts.md): rough outlines of three neighbourhoods, with the
# postcodes people text. (west, south, east, north)
AREAS: list[tuple[str, list[str], tuple[float, float, float, float]]] = [
    ("Keskusta", ["00100", "centre", "center", "Kluuvi"], (24.925, 60.160, 24.960, 60.175)),
    ("Kallio", ["00530", "00500", "Sörnäinen"], (24.940, 60.178, 24.965, 60.192)),
    ("Töölö", ["00250", "00260", "Toolo"], (24.905, 60.172, 24.930, 60.192)),
]


def offset(p: Point, north_m: float, east_m: float) -> Point:
    return Point(p.lat + north_m / 111_320,
                 p.lon + east_m / (111_320 * math.cos(math.radians(p.lat))))


class Command(BaseCommand):
    help = "Seed a demo organization (responders around central Helsinki) and print logins."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--if-empty", action="store_true",
                            help="seed only if the database has no users yet")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        User = get_user_model()
        if User.objects.exists():
            if not User.objects.filter(username="dispatcher").exists():
                self.stdout.write("The database already has users: no demo data added.")
                return
            self.stdout.write("Demo data is already there.")
            # Demo data seeded before two-factor sign-in existed: give it the demo key.
            for staff in User.objects.filter(username__in=["dispatcher", "coordinator"]):
                if not has_authenticator(staff):
                    authenticator_set(user=staff, secret_b32=DEMO_TOTP_SECRET)
        else:
            now = timezone.now()
            with transaction.atomic():
                for name, role in (("dispatcher", Role.DISPATCHER),
                                   ("coordinator", Role.COORDINATOR)):
                    staff = user_create(name=name, role=role, password=DEMO_PASSWORD)
                    authenticator_set(user=staff, secret_b32=DEMO_TOTP_SECRET)
                for name, lat, lon in LANDMARKS:
                    Landmark.objects.create(name=name, lat=lat, lon=lon)
                for name, skills, mode, north, east, on in RESPONDERS:
                    user = user_create(name=name, role=Role.RESPONDER, password=DEMO_PASSWORD,
                                       skills=skills, alias=name.capitalize(), mode=mode)
                    if on:
                        shift_set(responder=Responder.objects.get(user=user), on_shift=True,
                                  location=offset(CENTRE, north, east), now=now)
            self.stdout.write(f"Seeded a demo organization around central {CITY}.")
        if not Place.objects.exists():
            # The map the geocoder reads typed places from (OpenStreetMap, ODbL).
            counts = places_import(path=DEMO_EXTRACT)
            self.stdout.write(f"Imported the {CITY} map extract: {counts.addresses} "
                              f"addresses, {counts.places} places, {counts.streets} streets.")
        if not Area.objects.exists():
            for name, aliases, (west, south, east, north) in AREAS:
                ring = [[west, south], [east, south], [east, north], [west, north],
                        [west, south]]
                area_create(name=name, aliases=aliases, now=timezone.now(),
                            geometry={"type": "Polygon", "coordinates": [ring]})
            self.stdout.write(f"Added {len(AREAS)} drug-alert areas: "
                              + ", ".join(a[0] for a in AREAS) + ".")
        if not IncidentFact.objects.exists():
            self.stdout.write(history())
        self.stdout.write(
            "Demo logins (password for all: {pw}):\n"
            "  dispatcher   -> /console/\n"
            "  coordinator  -> /console/\n"
            "  {names} -> /responder/  (lee is off shift)\n"
            "Drug alerts: /alerts/ (public), /console/alerts/ (coordinator)\n"
            "Program reports: /reports/ (coordinator); public dashboard: /dashboard/\n"
            "Dispatcher and coordinator also enter a code (two-factor sign-in). Add this\n"
            "demo key to an authenticator app (\"enter a setup key\", time-based):\n"
            "  {secret}\n"
            "  or: oathtool --totp -b {secret}\n"
            "  code right now: {code} (changes every 30 s; run `spotline demo` again for "
            "a fresh one)".format(
                pw=DEMO_PASSWORD, names=", ".join(r[0] for r in RESPONDERS),
                secret=DEMO_TOTP_SECRET, code=demo_code())
        )


def history() -> str:
    """A made-up year of figures, so the reports and the dashboard have something to
    show (``tally.synthetic``); the ended months are released to the dashboard."""
    now = timezone.now()
    hours = 24 * 395
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours)
    cells = sorted({c for a in Area.objects.all() for c in a.cells})
    with transaction.atomic():
        IncidentFact.objects.bulk_create(
            synthetic.incident_facts(start=start, hours=hours, count=4500, areas=cells),
            batch_size=1000)
        CheckinFact.objects.bulk_create(
            synthetic.checkin_facts(start=start, hours=hours, count=900), batch_size=1000)
        Coverage.objects.bulk_create(
            synthetic.coverage(start=start, hours=hours, areas=cells[:6], responders=6),
            batch_size=1000)
    released = release_due(now=now)
    return (f"Added a made-up year of program figures (4,500 incidents) for the reports; "
            f"{released} months released to the public dashboard.")


def demo_code(at: float | None = None) -> str:
    """The demo authenticator's code at Unix time ``at`` (default: now)."""
    totp = TOTP(base64.b32decode(DEMO_TOTP_SECRET))
    if at is not None:
        totp.time = at
    return f"{totp.token():06d}"
