"""The indexed nearest-responder search gives exactly the brute-force scan's round.

Hypothesis builds rosters (clustered round a point or spread over tens of kilometres,
some without a shared location, some busy, mixed skills and modes), an incident point
(near, far away, or none) and offers already made, then compares ``plan_nearest`` with
``plan_round`` over ``candidates_all``: the same offers, in the same order, with the same
ETAs, and the same shortfall. Real database; each example rolls back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from spotline.conftest import CENTRE, T0
from spotline.core.geo import Mode, Point, StraightLineEstimator
from spotline.core.policy import OfferStatus, PastOffer, PriorityPolicy, plan_round
from spotline.core.triage import Kind, Skill
from spotline.dispatch.actions import search
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.dispatch.actions.search import candidates_all, plan_nearest
from spotline.dispatch.models import Incident, Offer
from spotline.responders.models import Responder

MILWAUKEE = Point(43.0389, -87.9065)


@dataclass(frozen=True)
class Spec:
    north_m: float
    east_m: float
    located: bool
    on_shift: bool
    busy: bool
    mode: Mode
    skills: frozenset[Skill]


# Distances on every scale the search works at: the first budgets reach a walker at
# ~56 m and a car at ~356 m, the last a car at ~11 km; past that the scan answers.
# The reaches of the first two budgets (walk, bike, car) are among them, and bearings
# favour the diagonals, where a box's corners reach farthest beyond its circle.
scales = st.sampled_from([20.0, 56.0, 111.0, 180.0, 356.0, 500.0, 711.0, 1_500.0,
                          5_000.0, 12_000.0, 60_000.0])


@st.composite
def specs(draw: st.DrawFn, scale: st.SearchStrategy[float]) -> Spec:
    r = draw(scale) * draw(st.floats(0.7, 1.3))
    bearing = draw(st.sampled_from([math.pi / 4 * i for i in range(8)])
                   | st.floats(0, 2 * math.pi))
    return Spec(
        north_m=r * math.cos(bearing), east_m=r * math.sin(bearing),
        located=draw(st.sampled_from([True, True, True, True, False])),
        on_shift=draw(st.sampled_from([True, True, True, False])),
        busy=draw(st.sampled_from([False, False, False, True])),
        mode=draw(st.sampled_from(Mode)),
        skills=draw(st.frozensets(st.sampled_from(Skill))),
    )


@st.composite
def scenes(draw: st.DrawFn) -> tuple[list[Spec], tuple[float, float] | None]:
    """A roster round the incident: clustered (one scale) or spread (every scale), and
    the incident at the centre, a little off it, far away, or without coordinates."""
    clustered = draw(st.booleans())
    scale = st.just(draw(scales)) if clustered else scales
    roster = draw(st.lists(specs(scale), max_size=40))
    point = draw(st.sampled_from([(0.0, 0.0), (30.0, -40.0), (-400.0, 250.0),
                                  (90_000.0, 10_000.0), None]))
    return roster, point


def at(north_m: float, east_m: float, centre: Point = MILWAUKEE) -> Point:
    return Point(centre.lat + north_m / 111_320,
                 centre.lon + east_m / (111_320 * math.cos(math.radians(centre.lat))))


def seed(roster: list[Spec], centre: Point = MILWAUKEE) -> list[int]:
    """Responders and busy incidents in bulk, as the index sees them; their ids."""
    users = User.objects.bulk_create(
        [User(username=f"r{i}", password="!") for i in range(len(roster))])
    made = Responder.objects.bulk_create([
        Responder(
            user=u, mode=s.mode.value, skills=sorted(s.skills),
            on_shift_since=T0 if s.on_shift else None,
            lat=at(s.north_m, s.east_m, centre).lat if s.on_shift and s.located else None,
            lon=at(s.north_m, s.east_m, centre).lon if s.on_shift and s.located else None,
        )
        for u, s in zip(users, roster, strict=True)
    ])
    Incident.objects.bulk_create([
        Incident(kind="overdose", priority="P1", state="assigned", assigned_responder=r,
                 tracking_digest=f"busy{r.pk}", opened_at=T0, updated_at=T0)
        for r, s in zip(made, roster, strict=True) if s.busy
    ])
    return [r.pk for r in made]


def both(*, location: Point | None, required: frozenset[Skill], past: list[PastOffer],
         k: int, estimator: StraightLineEstimator | None = None) -> tuple[object, object]:
    args = {
        "location": location, "required": required, "past_offers": past,
        "policy": PriorityPolicy(k, timezone.timedelta(seconds=45),
                                 timezone.timedelta(seconds=120)),
        "estimator": estimator or search.estimator(), "now": T0,
    }
    # The banded index itself, not the one read a small roster gets (which is the scan).
    saved, search.SCAN_ALL_BELOW = search.SCAN_ALL_BELOW, 0
    try:
        indexed = plan_nearest(**args)  # type: ignore[arg-type]
    finally:
        search.SCAN_ALL_BELOW = saved
    return (indexed,
            plan_round(candidates=candidates_all(required), **args))  # type: ignore[arg-type]


class TestIndexedEqualsBruteForce(TestCase):
    @settings(max_examples=150, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(
        scene=scenes(),
        required=st.frozensets(st.sampled_from(Skill), max_size=2),
        k=st.integers(1, 4),
        offered=st.lists(st.tuples(st.integers(0, 39), st.sampled_from(OfferStatus)),
                         max_size=8),
    )
    def test_it_gives_the_brute_force_round(
        self, scene: tuple[list[Spec], tuple[float, float] | None],
        required: frozenset[Skill], k: int, offered: list[tuple[int, OfferStatus]],
    ) -> None:
        roster, point = scene
        ids = seed(roster)
        past = [PastOffer(ids[i], status) for i, status in offered if i < len(ids)]
        location = at(*point) if point is not None else None
        indexed, brute = both(location=location, required=required, past=past, k=k)
        event(f"offers: {len(brute.offers)}")  # type: ignore[attr-defined]
        assert indexed == brute


class TestAtTheEdges(TestCase):
    def test_it_matches_across_the_antimeridian(self) -> None:
        # Responders on both sides of ±180°: the search must fall back to the scan.
        centre = Point(-17.0, 179.999)
        ids = seed([Spec(0, e, True, True, False, Mode.CAR, frozenset({Skill.NALOXONE}))
                    for e in (-300.0, 200.0, 500.0, -900.0)], centre=Point(-17.0, 179.99))
        assert len(ids) == 4
        indexed, brute = both(location=centre, required=frozenset({Skill.NALOXONE}),
                              past=[], k=3)
        assert indexed == brute
        assert len(brute.offers) == 3  # type: ignore[attr-defined]

    def test_it_matches_near_a_pole(self) -> None:
        seed([Spec(n, 0, True, True, False, Mode.WALK, frozenset()) for n in (0.0, 500.0)],
             centre=Point(89.995, 10.0))
        indexed, brute = both(location=Point(89.996, 10.0), required=frozenset(),
                              past=[], k=1)
        assert indexed == brute

    def test_it_gives_the_shortfall_when_nobody_qualifies(self) -> None:
        seed([Spec(10, 10, True, True, False, Mode.WALK, frozenset({Skill.NALOXONE}))])
        indexed, brute = both(location=MILWAUKEE, required=frozenset({Skill.CRISIS_TEAM}),
                              past=[], k=3)
        assert indexed == brute
        assert brute.shortfall is not None  # type: ignore[attr-defined]

    def test_it_prefers_a_far_car_to_a_near_walker_as_the_scan_does(self) -> None:
        # 300 m on foot is ~323 s; 2 km by car is ~337 s, 1.5 km by car ~253 s.
        seed([Spec(300, 0, True, True, False, Mode.WALK, frozenset()),
              Spec(1_500, 0, True, True, False, Mode.CAR, frozenset())])
        indexed, brute = both(location=MILWAUKEE, required=frozenset(), past=[], k=1)
        assert indexed == brute
        assert brute.offers[0].eta_seconds < 300  # type: ignore[attr-defined]

    def test_it_scans_for_an_estimator_without_a_reach(self) -> None:
        class Flat:
            """Everyone is a minute away: no bound on distance exists."""

            def eta_seconds(self, origin: Point, destination: Point, mode: Mode) -> float:
                return 60.0

        seed([Spec(n, 0, True, True, False, Mode.WALK, frozenset())
              for n in (50.0, 90_000.0)])
        indexed, brute = both(location=MILWAUKEE, required=frozenset(), past=[], k=2,
                              estimator=Flat())  # type: ignore[arg-type]
        assert indexed == brute
        assert len(brute.offers) == 2  # type: ignore[attr-defined]


def test_it_is_what_a_new_incident_is_offered_to(make_responder: Any) -> None:
    """The write path uses the search: the first round goes to the nearest three, by
    travel time, as the scan would choose them."""

    near = make_responder("near", north_m=100)
    mid = make_responder("mid", north_m=200)
    car = make_responder("car", north_m=1_200, mode=Mode.CAR)  # 202 s: before mid's 215 s
    make_responder("walker", north_m=300)
    make_responder("farther", north_m=5_000)
    opened = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE), now=T0)
    offered = list(Offer.objects.filter(incident=opened.incident)
                   .order_by("eta_seconds").values_list("responder_id", flat=True))
    assert offered == [near.pk, car.pk, mid.pk]
