"""Who may use each page and API operation, on whose objects: the authorization matrix.

Issue 6, item 2. ``MATRIX`` below is the decision: one row per request, one column per
role. Every URL pattern and every API operation must have a row, so a new endpoint
without an authorization decision fails ``test_it_has_a_decision_for_every_route``.

What a cell says:

- ``ok``    2xx, or a redirect that is not to sign-in: the role gets through. (A page
            form refused for the object's *state* also redirects, with a message: there
            ``ok`` means "past the authorization check", and the API rows below give
            the exact status.)
- ``login`` not signed in: a page redirects to sign-in, the API answers 401.
- ``404``   hidden: the route or the object is not theirs. The same answer as for an
            object that does not exist, so a 404 never tells anyone that it does.
- ``403``   only Twilio's webhooks: their caller is Twilio, not a user, and without
            Twilio's signature they refuse whoever is signed in.
- ``409``   the role may, but the object's state refuses (a closed incident, a
            responder off shift).

A ``!`` after a cell marks a known gap: the rule says that outcome, the code answers
otherwise, and the fix belongs to a change owned elsewhere (``GAPS``). The test insists
the gap is still there, so closing it fails the build with "remove the !".

Besides the status, every answer to someone who may not see an incident's exact place
(anyone but staff, and the responder holding it) is searched for its coordinates,
description, details and call-back number; and likewise for the check-in, the saved
plan and the text conversation, which only their own token (or staff) may open.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from twilio.request_validator import RequestValidator

from spotline.accounts.actions import token_create, user_create
from spotline.accounts.models import Profile, Role
from spotline.alerts.actions.areas import area_create
from spotline.alerts.actions.reports import report_receive
from spotline.alerts.actions.review import AlertFields, alert_cancel, alert_draft, alert_publish
from spotline.alerts.actions.subscribers import subscribe_email, unsubscribe_token
from spotline.alerts.models import Signal
from spotline.alerts.subscribe_views import confirm_token
from spotline.api.api import api
from spotline.checkins.actions import checkin_start
from spotline.checkins.plans import Plan, plan_save
from spotline.conftest import CENTRE, T0, login_staff
from spotline.core.checkin import OnMiss
from spotline.core.geo import Point
from spotline.core.lifecycle import State
from spotline.core.policy import OfferStatus
from spotline.core.triage import Answer, Kind
from spotline.dispatch.actions.offers import offer_accept
from spotline.dispatch.actions.opening import IncidentRequest, Opened, incident_open
from spotline.dispatch.actions.reports import incident_report
from spotline.dispatch.models import Incident, Offer
from spotline.intake.models import SmsConversation
from spotline.intake.sms import sms_receive
from spotline.planner.tests.planjobs import done as planjob_done
from spotline.privacy.crypto import normalize_phone, phone_digest, seal
from spotline.responders.models import Responder

ROLES = ("anon", "r1", "r2", "r3", "disp", "coord", "admin")
STAFF = frozenset({"disp", "coord", "admin"})

# -- the matrix ----------------------------------------------------------------------------
#
# Placeholders in paths: {A} {B} {C} an incident's id; {offer:A} the offer of incident A
# (to R1), {offer:B} R2's accepted offer, {offer:C} R1's accepted offer of closed C;
# {track:A} A's tracking token; {checkin} a check-in's token; {plan} a saved plan's
# token; {sms} a text conversation's id; {nope} an id or token that exists nowhere.
# POST+sig: signed with Twilio's auth token, as Twilio sends it.

MATRIX = """
method    path                                      anon   r1     r2     r3     disp   coord  admin

# -- public pages: no sign-in, nothing personal ------------------------------------------
GET       /                                         ok     ok     ok     ok     ok     ok     ok
GET       /transparency/                            ok     ok     ok     ok     ok     ok     ok
GET       /transparency/data.json                   ok     ok     ok     ok     ok     ok     ok
GET       /dashboard/                               ok     ok     ok     ok     ok     ok     ok
GET       /dashboard/data.json                      ok     ok     ok     ok     ok     ok     ok
GET       /dashboard/data.csv                       ok     ok     ok     ok     ok     ok     ok
POST      /i18n/setlang/                            ok     ok     ok     ok     ok     ok     ok

# -- operations: liveness and readiness for probes (counts and class names only); metrics
# for this machine only without SPOTLINE_METRICS_TOKEN (the test client is 127.0.0.1),
# and for the token's holder only with it (spotline/ops/tests)
GET       /healthz                                  ok     ok     ok     ok     ok     ok     ok
GET       /readyz                                   ok     ok     ok     ok     ok     ok     ok
GET       /metrics                                  ok     ok     ok     ok     ok     ok     ok

# -- the person who asked: their tracking token is the only key -----------------------------
GET       /t/{track:A}/                             ok     ok     ok     ok     ok     ok     ok
GET       /t/{nope}/                                404    404    404    404    404    404    404
POST      /t/{track:A}/cancel/                      ok     ok     ok     ok     ok     ok     ok
POST      /t/{nope}/cancel/                         404    404    404    404    404    404    404
# asking again: only a request its person cancelled (otherwise back to the help page)
POST      /t/{track:A}/again/                       ok     ok     ok     ok     ok     ok     ok
POST      /t/{nope}/again/                          404    404    404    404    404    404    404
# telling more after sending: the form on a page of its own, and its answers
GET       /t/{track:A}/more/                        ok     ok     ok     ok     ok     ok     ok
GET       /t/{nope}/more/                           404    404    404    404    404    404    404
POST      /t/{track:A}/more/                        ok     ok     ok     ok     ok     ok     ok
POST      /t/{nope}/more/                           404    404    404    404    404    404    404
# where they are, when the words they gave were not enough: the question, and its answer
GET       /t/{track:A}/place/                       ok     ok     ok     ok     ok     ok     ok
GET       /t/{nope}/place/                          404    404    404    404    404    404    404
POST      /t/{track:A}/place/                       ok     ok     ok     ok     ok     ok     ok
POST      /t/{nope}/place/                          404    404    404    404    404    404    404
# the help page's suggestions as a person types: place names only, no coordinates
GET       /places/suggest                           ok     ok     ok     ok     ok     ok     ok

# -- check-ins: the check-in's or the plan's token is the only key ----------------------------
GET       /checkin/                                 ok     ok     ok     ok     ok     ok     ok
GET       /checkin/p/{plan}/                        ok     ok     ok     ok     ok     ok     ok
GET       /checkin/p/{nope}/                        404    404    404    404    404    404    404
POST      /checkin/p/{plan}/delete/                 ok     ok     ok     ok     ok     ok     ok
# the token in the body (a saved link's fragment, posted by the page): no token, no plan
POST      /checkin/plan/                            404    404    404    404    404    404    404
POST      /checkin/plan/delete/                     ok     ok     ok     ok     ok     ok     ok
# the same answer whether or not the plan existed: deleting tells nothing
POST      /checkin/p/{nope}/delete/                 ok     ok     ok     ok     ok     ok     ok
GET       /c/{checkin}/                             ok     ok     ok     ok     ok     ok     ok
GET       /c/{nope}/                                404    404    404    404    404    404    404
POST      /c/{checkin}/ok/                          ok     ok     ok     ok     ok     ok     ok
POST      /c/{nope}/ok/                             404    404    404    404    404    404    404

# -- community drug alerts, the public side: no sign-in; {public:published} a published alert,
# {public:cancelled} a withdrawn one (its .cap.xml answers 410 Gone, spotline/alerts/tests),
# {public:confirm} an email subscription's confirmation token
GET       /alerts/                                  ok     ok     ok     ok     ok     ok     ok
GET       /alerts/{public:published}/               ok     ok     ok     ok     ok     ok     ok
GET       /alerts/{public:cancelled}/               ok     ok     ok     ok     ok     ok     ok
GET       /alerts/{alert}/                          404    404    404    404    404    404    404
GET       /alerts/{nope}/                           404    404    404    404    404    404    404
GET       /alerts/{public:published}.cap.xml        ok     ok     ok     ok     ok     ok     ok
GET       /alerts/{alert}.cap.xml                   404    404    404    404    404    404    404
GET       /alerts/{nope}.cap.xml                    404    404    404    404    404    404    404
GET       /alerts/{public:cancelled}.cancel.cap.xml ok     ok     ok     ok     ok     ok     ok
GET       /alerts/{public:published}.cancel.cap.xml 404    404    404    404    404    404    404
GET       /alerts/feed.atom                         ok     ok     ok     ok     ok     ok     ok
GET       /alerts/report                            ok     ok     ok     ok     ok     ok     ok
POST      /alerts/report                            ok     ok     ok     ok     ok     ok     ok
GET       /alerts/report/thanks                     ok     ok     ok     ok     ok     ok     ok
POST      /alerts/push                              ok     ok     ok     ok     ok     ok     ok
POST      /alerts/push/delete                       ok     ok     ok     ok     ok     ok     ok
POST      /alerts/email                             ok     ok     ok     ok     ok     ok     ok
GET       /alerts/confirm/{public:confirm}/         ok     ok     ok     ok     ok     ok     ok
POST      /alerts/confirm/{public:confirm}/         ok     ok     ok     ok     ok     ok     ok
GET       /alerts/confirm/{nope}/                   404    404    404    404    404    404    404
GET       /alerts/unsubscribe/                      ok     ok     ok     ok     ok     ok     ok
POST      /alerts/unsubscribe/                      ok     ok     ok     ok     ok     ok     ok
GET       /alerts/unsubscribe/{public:unsubscribe}/ ok     ok     ok     ok     ok     ok     ok
POST      /alerts/unsubscribe/{public:unsubscribe}/ ok     ok     ok     ok     ok     ok     ok
GET       /alerts/sw.js                             ok     ok     ok     ok     ok     ok     ok

# -- signing in ------------------------------------------------------------------------------
GET       /accounts/login/                          ok     ok     ok     ok     ok     ok     ok
GET       /accounts/two-factor/                     login  ok     ok     ok     ok     ok     ok
POST      /accounts/logout/                         ok     ok     ok     ok     ok     ok     ok
GET       /accounts/home/                           login  ok     ok     ok     ok     ok     ok

# -- Twilio's webhooks: Twilio's signature is the only key (a session is none) ---------------
POST      /hooks/twilio/sms                         403    403    403    403    403    403    403
POST+sig  /hooks/twilio/sms                         ok     ok     ok     ok     ok     ok     ok
POST      /hooks/twilio/status                      403    403    403    403    403    403    403
POST+sig  /hooks/twilio/status                      ok     ok     ok     ok     ok     ok     ok
POST      /hooks/twilio/offer-call/{offer:A}        403    403    403    403    403    403    403
POST+sig  /hooks/twilio/offer-call/{offer:A}        ok     ok     ok     ok     ok     ok     ok
POST      /hooks/twilio/voice                       403    403    403    403    403    403    403
POST+sig  /hooks/twilio/voice                       ok     ok     ok     ok     ok     ok     ok
POST      /hooks/twilio/voice-missed                403    403    403    403    403    403    403
POST+sig  /hooks/twilio/voice-missed                ok     ok     ok     ok     ok     ok     ok
POST      /hooks/twilio/voice-recorded              403    403    403    403    403    403    403
POST+sig  /hooks/twilio/voice-recorded              ok     ok     ok     ok     ok     ok     ok

# -- the responder app: responders only, their own offers and incident -----------------------
# the app's shell (no data in it) is public, so it installs and works offline
GET       /responder/manifest.webmanifest           ok     ok     ok     ok     ok     ok     ok
GET       /responder/sw.js                          ok     ok     ok     ok     ok     ok     ok
GET       /responder/offline/                       ok     ok     ok     ok     ok     ok     ok
GET       /responder/                               login  ok     ok     ok     404    404    404
POST      /responder/shift/                         login  ok     ok     ok     404    404    404
POST      /responder/offers/{offer:A}/accept/       login  ok     404    404    404    404    404
POST      /responder/offers/{offer:A}/decline/      login  ok     404    404    404    404    404
POST      /responder/offers/{offer:B}/accept/       login  404    ok     404    404    404    404
POST      /responder/offers/{offer:C}/accept/       login  ok     404    404    404    404    404
POST      /responder/offers/{nope}/accept/          login  404    404    404    404    404    404
POST      /responder/incidents/{A}/report/          login  404    404    404    404    404    404
POST      /responder/incidents/{B}/report/          login  404    ok     404    404    404    404
POST      /responder/incidents/{C}/report/          login  ok     404    404    404    404    404
POST      /responder/incidents/{B}/outcome/         login  404    ok     404    404    404    404
POST      /responder/incidents/{C}/outcome/         login  ok     404    404    404    404    404
GET       /responder/incidents/{B}/outcome/         login  404    ok     404    404    404    404
GET       /responder/incidents/{C}/outcome/         login  ok     404    404    404    404    404
GET       /responder/incidents/{nope}/outcome/      login  404    404    404    404    404    404

# -- the dispatcher console: dispatchers, coordinators, admins ----------------------------------
GET       /console/                                 login  404    404    404    ok     ok     ok
GET       /console/new/                             login  404    404    404    ok     ok     ok
GET       /console/setup/                           login  404    404    404    404    ok     ok
GET       /console/incidents/{A}/                   login  404    404    404    ok     ok     ok
GET       /console/incidents/{B}/                   login  404    404    404    ok     ok     ok
GET       /console/incidents/{C}/                   login  404    404    404    ok     ok     ok
GET       /console/incidents/{nope}/                login  404    404    404    404    404    404
POST      /console/incidents/{A}/assign/            login  404    404    404    ok     ok     ok
POST      /console/incidents/{A}/escalate/          login  404    404    404    ok     ok     ok
POST      /console/incidents/{A}/cancel/            login  404    404    404    ok     ok     ok
POST      /console/incidents/{B}/note/              login  404    404    404    ok     ok     ok
POST      /console/incidents/{B}/report/            login  404    404    404    ok     ok     ok
# setting or moving the place (a click on the map, a place found from words)
POST      /console/incidents/{A}/place/             login  404    404    404    ok     ok     ok
GET       /console/sms/                             login  404    404    404    ok     ok     ok
GET       /console/sms/{sms}/                       login  404    404    404    ok     ok     ok
GET       /console/sms/{nope}/                      login  404    404    404    404    404    404
POST      /console/sms/{sms}/take/                  login  404    404    404    ok     ok     ok
POST      /console/sms/{sms}/reply/                 login  404    404    404    ok     ok     ok
# community drug alerts (coordinators, admins): {alert} is the coordinator's draft, {area}
# its area, {report} a new report, {signal} an open spike signal. Deleting the area an
# alert names, or updating a draft, is refused with a message (past authorization: ok)
GET       /console/areas/                           login  404    404    404    404    ok     ok
POST      /console/areas/                           login  404    404    404    404    ok     ok
GET       /console/areas/{area}/                    login  404    404    404    404    ok     ok
POST      /console/areas/{area}/                    login  404    404    404    404    ok     ok
POST      /console/areas/{area}/delete/             login  404    404    404    404    ok     ok

# -- program reports: coordinators and admins (counts only, small cells hidden)
GET       /reports/                                 login  404    404    404    404    ok     ok
GET       /reports/export.csv                       login  404    404    404    404    ok     ok
GET       /reports/print/                           login  404    404    404    404    ok     ok
GET       /console/alerts/                          login  404    404    404    404    ok     ok
GET       /console/alerts/new/                      login  404    404    404    404    ok     ok
POST      /console/alerts/new/                      login  404    404    404    404    ok     ok
GET       /console/alerts/drug-check/               login  404    404    404    404    ok     ok
POST      /console/alerts/drug-check/               login  404    404    404    404    ok     ok
GET       /console/alerts/{alert}/                  login  404    404    404    404    ok     ok
POST      /console/alerts/{alert}/                  login  404    404    404    404    ok     ok
GET       /console/alerts/{nope}/                   login  404    404    404    404    404    404
POST      /console/alerts/{alert}/publish/          login  404    404    404    404    ok     ok
POST      /console/alerts/{alert}/update/           login  404    404    404    404    ok     ok
GET       /console/alerts/{alert}/cancel/           login  404    404    404    404    ok     ok
POST      /console/alerts/{alert}/cancel/           login  404    404    404    404    ok     ok
POST      /console/alerts/reports/{report}/dismiss/ login  404    404    404    404    ok     ok
POST      /console/alerts/signals/{signal}/dismiss/ login  404    404    404    404    ok     ok

# -- API: public --------------------------------------------------------------------------------
# ninja's root only names the docs (always 404); the docs and the OpenAPI description are
# public on purpose: they describe the API and hold no data
GET       /api/                                     404    404    404    404    404    404    404
GET       /api/openapi.json                         ok     ok     ok     ok     ok     ok     ok
GET       /api/docs                                 ok     ok     ok     ok     ok     ok     ok
POST      /api/v1/incidents                         ok     ok     ok     ok     ok     ok     ok
GET       /api/v1/track/{track:A}                   ok     ok     ok     ok     ok     ok     ok
GET       /api/v1/track/{nope}                      404    404    404    404    404    404    404
POST      /api/v1/track/{track:A}/cancel            ok     ok     ok     ok     ok     ok     ok
POST      /api/v1/track/{track:A}/details           ok     ok     ok     ok     ok     ok     ok
POST      /api/v1/track/{nope}/details              404    404    404    404    404    404    404
POST      /api/v1/checkins                          ok     ok     ok     ok     ok     ok     ok
GET       /api/v1/checkins/plans/{plan}             ok     ok     ok     ok     ok     ok     ok
GET       /api/v1/checkins/plans/{nope}             404    404    404    404    404    404    404
DELETE    /api/v1/checkins/plans/{plan}             ok     ok     ok     ok     ok     ok     ok
DELETE    /api/v1/checkins/plans/{nope}             404    404    404    404    404    404    404
GET       /api/v1/checkins/{checkin}                ok     ok     ok     ok     ok     ok     ok
GET       /api/v1/checkins/{nope}                   404    404    404    404    404    404    404
POST      /api/v1/checkins/{checkin}/ok             ok     ok     ok     ok     ok     ok     ok
POST      /api/v1/checkins/{checkin}/done           ok     ok     ok     ok     ok     ok     ok
# calling help off: only once help was sent (this check-in is still running)
POST      /api/v1/checkins/{checkin}/call-off       409    409    409    409    409    409    409

# -- API: a responder's own things (R3 is off shift) ----------------------------------------------
GET       /api/v1/me                                login  ok     ok     ok     404    404    404
PUT       /api/v1/me/shift                          login  ok     ok     ok     404    404    404
PUT       /api/v1/me/channels                       login  ok     ok     ok     404    404    404
PUT       /api/v1/me/location                       login  ok     ok     409    404    404    404
GET       /api/v1/me/offers                         login  ok     ok     ok     404    404    404
GET       /api/v1/me/push/key                       login  ok     ok     ok     404    404    404
PUT       /api/v1/me/push                           login  ok     ok     ok     404    404    404
DELETE    /api/v1/me/push                           login  ok     ok     ok     404    404    404
GET       /api/v1/me/safety                         login  ok     ok     ok     404    404    404
# R1 and R3 are not on scene: they have no safety timer to answer
POST      /api/v1/me/safety/ok                      login  404    ok     404    404    404    404

# -- API: offers, and the place only between accepting and closing --------------------------------
POST      /api/v1/offers/{offer:A}/accept           login  ok     404    404    404    404    404
POST      /api/v1/offers/{offer:A}/decline          login  ok     404    404    404    404    404
# R2 holds B: a repeated accept answers with its place again
POST      /api/v1/offers/{offer:B}/accept           login  404    ok     404    404    404    404
# C is closed: no second look at its place
POST      /api/v1/offers/{offer:C}/accept           login  409    404    404    404    404    404
POST      /api/v1/offers/{offer:C}/decline          login  409    404    404    404    404    404
POST      /api/v1/offers/{nope}/accept              login  404    404    404    404    404    404
# reports and outcomes: the responder holding it, or staff on their behalf
POST      /api/v1/incidents/{A}/events              login  404    404    404    409    409    409
POST      /api/v1/incidents/{B}/events              login  404    ok     404    ok     ok     ok
POST      /api/v1/incidents/{C}/events              login  409    404    404    409    409    409
POST      /api/v1/incidents/{A}/outcome             login  404    404    404    409    409    409
POST      /api/v1/incidents/{B}/outcome             login  404    ok     404    ok     ok     ok
POST      /api/v1/incidents/{C}/outcome             login  ok     404    404    ok     ok     ok
POST      /api/v1/incidents/{nope}/outcome          login  404    404    404    404    404    404

# -- API: dispatchers, coordinators, admins -------------------------------------------------------
GET       /api/v1/incidents                         login  404    404    404    ok     ok     ok
GET       /api/v1/incidents/{A}                     login  404    404    404    ok     ok     ok
GET       /api/v1/incidents/{B}                     login  404    404    404    ok     ok     ok
GET       /api/v1/incidents/{C}                     login  404    404    404    ok     ok     ok
GET       /api/v1/incidents/{nope}                  login  404    404    404    404    404    404
POST      /api/v1/incidents/{A}/assign              login  404    404    404    ok     ok     ok
POST      /api/v1/incidents/{A}/escalate            login  404    404    404    ok     ok     ok
POST      /api/v1/incidents/{A}/cancel              login  404    404    404    ok     ok     ok
GET       /api/v1/responders                        login  404    404    404    ok     ok     ok
# finding a place from words (the gazetteer is public map data; the words are not)
GET       /api/v1/places/search                     login  404    404    404    ok     ok     ok
# duty rings a dispatcher's phone: an admin (no role, no phone) has no duty to take
PUT       /api/v1/me/duty                           login  404    404    404    ok     ok     404

# -- API: coordinators and admins: community drug alerts and their areas ----------------------
# {alert} is a draft the coordinator wrote (without the two-person rule, its author may
# publish it; cancelling a draft discards it)
POST      /api/v1/alerts                            login  404    404    404    404    ok     ok
POST      /api/v1/alerts/{alert}/publish            login  404    404    404    404    ok     ok
POST      /api/v1/alerts/{alert}/cancel             login  404    404    404    404    ok     ok
POST      /api/v1/alerts/{nope}/publish             login  404    404    404    404    404    404
POST      /api/v1/alerts/{nope}/cancel              login  404    404    404    404    404    404
GET       /api/v1/areas                             login  404    404    404    404    ok     ok
POST      /api/v1/areas                             login  404    404    404    404    ok     ok

# -- the planner: coordinators and admins, each seeing their own runs; {planjob} is the
# coordinator's run, done. Only the known output files, never the export
GET       /planner/                                 login  404    404    404    404    ok     ok
POST      /planner/                                 login  404    404    404    404    ok     ok
GET       /planner/{planjob}/                       login  404    404    404    404    ok     404
GET       /planner/{nope}/                          login  404    404    404    404    404    404
GET       /planner/{planjob}/status.json            login  404    404    404    404    ok     404
GET       /planner/{planjob}/files/report.html      login  404    404    404    404    ok     404
GET       /planner/{planjob}/files/upload.csv       login  404    404    404    404    404    404
POST      /planner/{planjob}/delete/                login  404    404    404    404    ok     404
POST      /planner/{nope}/delete/                   login  404    404    404    404    404    404
"""

GAPS = """
Not in the matrix (not URL patterns or not HTTP): /ws/console/ in live/consumers.py
refuses an admin without a dispatcher role, and accounts/views.py::home sends an admin
to the responder app.
"""


@dataclass(frozen=True)
class Row:
    method: str  # GET, POST, PUT, DELETE; POST+sig: signed by Twilio
    path: str  # with placeholders
    expect: dict[str, str]  # role -> ok, login, 404, 403, 409
    gaps: frozenset[str]  # roles whose cell carries a "!"

    @property
    def http_method(self) -> str:
        return self.method.split("+")[0]

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _parse(table: str) -> list[Row]:
    rows = []
    lines = [ln for ln in table.strip().splitlines() if ln.strip() and not ln.startswith("#")]
    assert lines[0].split() == ["method", "path", *ROLES]
    for line in lines[1:]:
        method, path, *cells = line.split()
        assert len(cells) == len(ROLES), line
        rows.append(Row(method, path,
                        {role: cell.rstrip("!") for role, cell in zip(ROLES, cells, strict=True)},
                        frozenset(r for r, c in zip(ROLES, cells, strict=True) if c.endswith("!"))))
    return rows


ROWS = _parse(MATRIX)


# -- what each request sends ------------------------------------------------------------------

P256DH = base64.urlsafe_b64encode(b"\x04" + bytes(range(64))).decode().rstrip("=")
PUSH_AUTH = base64.urlsafe_b64encode(bytes(16)).decode().rstrip("=")
PUSH_ENDPOINT = "https://push.example.net/send/matrix"
HERE = {"lat": CENTRE.lat, "lon": CENTRE.lon}
CALLER = "+15550100111"  # the hotline's caller: no secret of the standing world
# Alerts are for areas, and areas are polygons: one around the incidents' part of town.
ALERT_AREA = {"type": "Polygon", "coordinates": [[[24.90, 60.15], [24.98, 60.15],
                                                  [24.98, 60.19], [24.90, 60.19],
                                                  [24.90, 60.15]]]}

Body = dict[str, Any] | Callable[["World"], dict[str, Any]]

# Keyed by (method, the URL pattern's route). Requests with no entry send nothing (pages)
# or {} (the API).
BODIES: dict[tuple[str, str], Body] = {
    ("POST", "i18n/setlang/"): {"language": "es", "next": "/"},
    ("POST", "hooks/twilio/sms"): {"MessageSid": "SMmatrix", "From": CALLER, "Body": "hi"},
    ("POST", "hooks/twilio/status"): {"MessageSid": "SMnone", "MessageStatus": "delivered"},
    ("POST", "hooks/twilio/offer-call/<int:offer_id>"): {"To": CALLER, "Digits": "2"},
    ("POST", "hooks/twilio/voice"): {"CallSid": "CAmatrix1", "From": CALLER},
    ("POST", "hooks/twilio/voice-missed"): {"CallSid": "CAmatrix1",
                                            "DialCallStatus": "completed"},
    ("POST", "hooks/twilio/voice-recorded"): {"CallSid": "CAmatrix2", "From": CALLER},
    ("POST", "responder/shift/"): {"on_shift": "1", **HERE},
    ("POST", "responder/incidents/<int:incident_id>/report/"): {"type": "on_scene"},
    ("POST", "responder/incidents/<int:incident_id>/outcome/"): {
        "naloxone_doses": "1", "responsive_after": "yes", "ems": "not_needed"},
    ("POST", "console/incidents/<int:incident_id>/assign/"): lambda w: {
        "responder_id": w.responders["r1"].pk},
    ("POST", "console/incidents/<int:incident_id>/escalate/"): {"to": "crisis_team"},
    ("POST", "console/incidents/<int:incident_id>/note/"): {"text": "matrix note"},
    ("POST", "console/incidents/<int:incident_id>/report/"): {"type": "on_scene"},
    ("POST", "console/incidents/<int:incident_id>/place/"): {"how": "map", **HERE},
    ("POST", "console/sms/<int:conversation_id>/take/"): {"take": "1"},
    ("POST", "console/sms/<int:conversation_id>/reply/"): {"text": "matrix reply"},
    ("POST", "api/v1/incidents"): {"kind": "overdose", "location": HERE, "breathing": "no"},
    ("POST", "api/v1/track/<token>/details"): {"danger": "yes", "details": "matrix details"},
    ("POST", "t/<str:token>/more/"): {"conscious": "no", "details": "matrix details"},
    ("POST", "t/<str:token>/place/"): {"where": "Mannerheimintie 20"},
    ("POST", "api/v1/checkins"): {"location": HERE},
    ("PUT", "api/v1/me/shift"): {"on_shift": True, **HERE},
    ("PUT", "api/v1/me/channels"): {"channels": ["sms"]},
    ("PUT", "api/v1/me/location"): HERE,
    ("PUT", "api/v1/me/push"): {"endpoint": PUSH_ENDPOINT,
                                "keys": {"p256dh": P256DH, "auth": PUSH_AUTH}},
    ("DELETE", "api/v1/me/push"): {"endpoint": PUSH_ENDPOINT},
    ("PUT", "api/v1/me/duty"): {"on_duty": True},
    ("POST", "api/v1/incidents/<incident_id>/events"): {"type": "on_scene"},
    ("POST", "api/v1/incidents/<incident_id>/outcome"): {
        "naloxone_doses": 1, "responsive_after": "yes", "ems": "not_needed"},
    ("POST", "api/v1/incidents/<incident_id>/assign"): lambda w: {
        "responder_id": w.responders["r1"].pk},
    ("POST", "api/v1/incidents/<incident_id>/escalate"): {"to": "crisis_team"},
    ("POST", "api/v1/alerts"): lambda w: {
        "areas": [w.alert_area_id], "substance": "fentanyl", "severity": "severe",
        "expires": (T0 + timedelta(days=1)).isoformat()},
    ("POST", "api/v1/areas"): {"name": "Matrix area", "geometry": ALERT_AREA},
    ("POST", "console/areas/"): {"name": "Console area", "geojson": json.dumps(ALERT_AREA)},
    ("POST", "console/areas/<int:area_id>/"): {"name": "Matrix town", "aliases": "00100"},
    ("POST", "console/alerts/new/"): lambda w: console_alert(w),
    ("POST", "console/alerts/<int:alert_id>/"): lambda w: console_alert(w),
    ("POST", "console/alerts/drug-check/"): {"found": "fentanyl", "method": "ftir"},
    ("POST", "alerts/report"): {"substance": "xylazine", "looked_like": "pink powder"},
    ("POST", "alerts/push"): {"endpoint": "https://fcm.googleapis.com/fcm/send/matrix",
                              "p256dh": P256DH, "auth": PUSH_AUTH, "all": "on"},
    ("POST", "alerts/push/delete"): {"endpoint": "https://fcm.googleapis.com/fcm/send/matrix"},
    ("POST", "alerts/email"): {"email": "matrix@example.org", "all": "on"},
    ("POST", "alerts/unsubscribe/"): {"email": "matrix@example.org"},
    ("POST", "planner/"): lambda w: {
        "calls": SimpleUploadedFile("calls.csv", b"time,nature\n2018-05-01 00:10,OD\n"),
        "time": "time", "type": "nature", "responders": 2, "target_median_minutes": 5,
        "target_served": 90, "max_responders": 3},
}



def console_alert(w: World) -> dict[str, Any]:
    """The console's alert form (one value per field: the page rows post plain strings)."""
    return {"substance": "fentanyl", "severity": "severe", "areas": w.alert_area_id,
            "expires": (NOW + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")}


TWILIO_TOKEN = "matrix-twilio-auth-token-0123456789"
SITE = "https://help.example.org"
NOPE_ID = "987654321"
NOPE_TOKEN = "no-such-token-0000000000"


# -- the standing world -------------------------------------------------------------------------

# Distinct places and words per object, so an answer carrying one is caught. Coordinates
# have five decimals: that is how the pages print them, and JSON prints them whole.
PLACES = {
    "A": Point(60.17311, 24.94123),
    "B": Point(60.16811, 24.93211),
    "C": Point(60.17177, 24.93577),
    "checkin": Point(60.16677, 24.94477),
    "plan": Point(60.17477, 24.93077),
}
WORDS = {
    "A": ("behind the blue sauna door", "Anna took two pills", "+15550100121"),
    "B": ("stairwell of Kallio library", "Bertil is not waking up", "+15550100122"),
    "C": ("bench by the tram depot", "Carl used alone", "+15550100123"),
    "checkin": ("under the railway arch", "side gate code 4411", "+15550100124"),
    "plan": ("flat 9 of the yellow house", "key under the mat", "+15550100125"),
    "sms": ("hello quokka", "", "+15550100126"),
}

# Whose places each role may see; staff see every one (that is the job).
SEES: dict[str, frozenset[str]] = {
    "anon": frozenset(), "r1": frozenset(), "r2": frozenset({"B"}), "r3": frozenset()}


def secrets_of(name: str) -> list[str]:
    found = [w for w in WORDS[name][:2] if w]
    found.append(WORDS[name][2].lstrip("+"))  # however the number is formatted
    if name in PLACES:
        found += [f"{PLACES[name].lat:.5f}", f"{PLACES[name].lon:.5f}"]
    return found


@dataclass
class World:
    incidents: dict[str, Incident]
    tracking: dict[str, str]
    offers: dict[str, Offer]
    responders: dict[str, Responder]
    checkin_token: str
    plan_token: str
    conversation: SmsConversation
    sessions: dict[str, str] = field(default_factory=dict)  # role -> session key
    tokens: dict[str, str] = field(default_factory=dict)  # role -> API token
    alert_area_id: int = 0
    alert_id: int = 0  # a draft alert the coordinator wrote
    report_id: int = 0  # a new report (the console's review)
    signal_id: int = 0  # an open spike signal (the console's review)
    planjob_id: int = 0  # the coordinator's planner run, done
    # The public alerts pages: a published and a cancelled alert's ids, a confirmation token.
    public: dict[str, str] = field(default_factory=dict)

    def values(self) -> dict[str, str]:
        found = {k: str(v.pk) for k, v in self.incidents.items()}
        found |= {f"offer:{k}": str(v.pk) for k, v in self.offers.items()}
        found |= {f"track:{k}": v for k, v in self.tracking.items()}
        return found | {"checkin": self.checkin_token, "plan": self.plan_token,
                        "sms": str(self.conversation.pk), "alert": str(self.alert_id),
                        "area": str(self.alert_area_id), "report": str(self.report_id),
                        "signal": str(self.signal_id),
                        "planjob": str(self.planjob_id)} | {
                            f"public:{k}": v for k, v in self.public.items()}


def _open(name: str, *, now: Any) -> Opened:
    description, details, phone = WORDS[name]
    return incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=PLACES[name],
               description=description, details=details, callback_phone=phone,
               breathing=Answer.NO), now=now)


def _public_alerts(area_id: int, user_id: int) -> dict[str, str]:
    """A published alert, a withdrawn one, and an email subscription waiting for its link."""
    ids = []
    for substance in ("fentanyl", "medetomidine"):
        ids.append(alert_draft(fields=AlertFields(
            substance=substance, severity="severe", expires=NOW + timedelta(days=1),
            area_ids=[area_id]), user_id=user_id, now=T0).pk)
        alert_publish(alert_id=ids[-1], user_id=user_id, now=T0)
    alert_cancel(alert_id=ids[1], user_id=user_id, now=T0)
    subscriber = subscribe_email(email="waiting@example.org", area_ids=[], all_areas=True,
                                 language="en", now=T0).subscriber
    return {"published": str(ids[0]), "cancelled": str(ids[1]),
            "confirm": confirm_token(subscriber), "unsubscribe": unsubscribe_token(subscriber)}


def _offer(incident: Incident, responder: Responder) -> Offer:
    return Offer.objects.get(incident=incident, responder=responder)


def _session(user: Any, *, staff: bool) -> str:
    client = Client()
    if staff:
        login_staff(client, user)
    else:
        client.force_login(user)
    return str(client.cookies[settings.SESSION_COOKIE_NAME].value)


NOW = T0 + timedelta(minutes=1)  # when the requests are made


@pytest.fixture
def world(db: Any, settings: Any, make_responder: Callable[..., Responder],
          tmp_path: Any) -> Iterator[World]:
    """Everything the matrix asks about, made through the actions at T0:

    - incident A: dispatching, offered to responder R1 (pending);
    - incident B: accepted by R2, who is on scene (holds it, with its place);
    - incident C: resolved, once held by R1 (accepted, on scene, resolved);
    - R3: a responder off shift, with no offers;
    - a check-in and a saved plan (each with its token), and a text conversation;
    - a dispatcher, a coordinator and an admin (a superuser, with no role profile),
      signed in with a verified second factor; responders with a password session.
      Every role also has an API token.
    """
    settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
    settings.SPOTLINE_SITE_URL = SITE
    settings.SPOTLINE_PROVIDERS = ["webpush", "console"]
    settings.SPOTLINE_VAPID_PUBLIC_KEY = P256DH
    # The limits are for floods, not for this table: 0 turns each one off.
    settings.SPOTLINE_RATE_LIMITS = dict.fromkeys(
        getattr(settings, "SPOTLINE_RATE_LIMITS", {}), (0, 0))
    settings.SPOTLINE_METRICS_TOKEN = ""  # /metrics: loopback only, whatever the env says
    settings.SPOTLINE_PLANNER_DIR = tmp_path / "planner"
    s = timedelta(seconds=1)
    with time_machine.travel(NOW, tick=False):
        # B: accepted by R2, who is on scene (and so holds it, with its place).
        r2 = make_responder("rtwo", north_m=100)
        b = _open("B", now=T0)
        offer_accept(offer_id=_offer(b.incident, r2).pk, responder=r2, now=T0 + 5 * s)
        incident_report(incident_id=b.incident.pk, type="on_scene", responder=r2,
                                user_id=r2.user_id, now=T0 + 10 * s)
        # C: accepted by R1, on scene, resolved: closed, once held by R1.
        r1 = make_responder("rone", north_m=150)
        c = _open("C", now=T0 + 15 * s)
        offer_accept(offer_id=_offer(c.incident, r1).pk, responder=r1, now=T0 + 20 * s)
        for at, report in ((25, "on_scene"), (30, "resolved")):
            incident_report(incident_id=c.incident.pk, type=report, responder=r1,
                                    user_id=r1.user_id, now=T0 + at * s)
        # A: offered to R1, not yet answered.
        a = _open("A", now=T0 + 35 * s)
        r3 = make_responder("rthree", on_shift=False)

        description, access, phone = WORDS["checkin"]
        started = checkin_start(
            location=PLACES["checkin"], description=description, access=access, minutes=5,
            on_miss=OnMiss.RESPONDERS, phone=phone, language="en", now=T0)
        description, access, phone = WORDS["plan"]
        plan_token = plan_save(Plan(
            location=PLACES["plan"], description=description, access=access, phone=phone),
            now=T0)
        text, _, phone = WORDS["sms"]
        sms_receive(sid="SMworld", from_number=phone, body=text, now=T0)

        incidents = {k: Incident.objects.get(pk=o.incident.pk)
                     for k, o in (("A", a), ("B", b), ("C", c))}
        w = World(
            incidents=incidents,
            tracking={"A": a.tracking_token},
            offers={"A": _offer(incidents["A"], r1), "B": _offer(incidents["B"], r2),
                    "C": _offer(incidents["C"], r1)},
            responders={"r1": r1, "r2": r2, "r3": r3},
            checkin_token=started.token, plan_token=plan_token,
            conversation=SmsConversation.objects.get(),
        )
        users = {"r1": r1.user, "r2": r2.user, "r3": r3.user,
                 "disp": user_create(name="dana", role=Role.DISPATCHER, password=None),
                 "coord": user_create(name="cory", role=Role.COORDINATOR, password=None),
                 "admin": get_user_model().objects.create_superuser(
                     username="root", email=None, password=None)}
        for role, user in users.items():
            w.sessions[role] = _session(user, staff=role in STAFF)
            w.tokens[role] = token_create(name=user.get_username(), now=T0)
        w.alert_area_id = area_create(name="Matrix town", geometry=ALERT_AREA, now=T0).pk
        w.alert_id = alert_draft(fields=AlertFields(
            substance="xylazine", severity="severe", expires=NOW + timedelta(days=1),
            area_ids=[w.alert_area_id]), user_id=users["coord"].pk, now=T0).pk
        w.report_id = report_receive(source="web", now=T0, substance="fentanyl",
                                     area_id=w.alert_area_id).pk
        w.signal_id = Signal.objects.create(
            area_id=w.alert_area_id, window_hours=6, observed=5, expected=0.8, p_value=0.001,
            detected_at=T0, updated_at=T0).pk
        w.public = _public_alerts(w.alert_area_id, users["coord"].pk)
        w.planjob_id = planjob_done(users["coord"], now=T0, files={
            "report.html": b"<!doctype html><title>plan</title>"}).pk
        yield w


def test_the_world_is_the_one_the_matrix_describes(world: World) -> None:
    a, b, c = (world.incidents[k] for k in "ABC")
    r1, r2, r3 = (world.responders[k] for k in ("r1", "r2", "r3"))
    assert (a.state, a.assigned_responder_id) == (State.DISPATCHING, None)
    assert list(a.offers.values_list("responder_id", "status")) == [
        (r1.pk, OfferStatus.PENDING)]
    assert (b.state, b.assigned_responder_id) == (State.ON_SCENE, r2.pk)
    assert (c.state, c.assigned_responder_id) == (State.RESOLVED, r1.pk)
    assert c.closed_at is not None and c.purged_at is None  # its place is still held
    assert world.offers["C"].status == OfferStatus.ACCEPTED
    assert not Offer.objects.filter(responder=r3).exists()
    assert Incident.objects.count() == 3  # the text opened nothing
    assert not Profile.objects.filter(user__username="root").exists()  # a bare superuser


def test_a_responder_sees_the_place_only_while_holding_it(world: World) -> None:
    """The rule the leak check enforces, the other way round: R2 holds B and sees its
    place; R1, offered A and done with C, sees neither place, and A's offer only."""

    def page(role: str) -> str:
        client = Client()
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
        return client.get("/responder/").content.decode()

    with time_machine.travel(NOW, tick=False):
        held, done = page("r2"), page("r1")
        offers = Client().get("/api/v1/me/offers", headers={
            "Authorization": f"Bearer {world.tokens['r1']}"}).json()
    description, details, _ = WORDS["B"]
    for shown in (description, details, f"{PLACES['B'].lat:.5f}", f"{PLACES['B'].lon:.5f}"):
        assert shown in held
    assert [o["incident_id"] for o in offers] == [world.incidents["A"].pk]
    for secret in secrets_of("A") + secrets_of("C"):
        assert secret not in done + json.dumps(offers)


def test_it_gives_no_second_look_at_a_closed_incidents_place(world: World) -> None:
    """Accepting answers with the place, so repeating an accept after closing must not:
    not by the API (a row of the matrix), nor by text ("YES 2"), nor by a phone call."""
    r1, offer = world.responders["r1"], world.offers["C"]
    phone = "+15550100131"
    Responder.objects.filter(pk=r1.pk).update(
        phone_digest=phone_digest(phone),
        phone_sealed=seal(normalize_phone(phone), context="responder.phone"))
    with time_machine.travel(NOW, tick=False):
        replies = sms_receive(sid="SMyes", from_number=phone, body=f"YES {offer.pk}", now=NOW)
        path = f"/hooks/twilio/offer-call/{offer.pk}"
        params = {"To": phone, "Digits": "1"}
        call = Client().post(path, params, headers={
            "X-Twilio-Signature": RequestValidator(TWILIO_TOKEN).compute_signature(
                SITE + path, params)})
    assert replies == [f"Offer {offer.pk}: this incident is closed."]
    assert call.status_code == 200
    assert "this incident is closed" in call.content.decode()
    for secret in secrets_of("C"):
        assert secret not in replies[0] + call.content.decode()


# -- asking ---------------------------------------------------------------------------------------


def _fill(path: str, values: dict[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name == "nope":
            numbered = r"(incidents|offers|sms|offer-call|alerts|planner)/\{nope\}"
            return NOPE_ID if re.search(numbered, path) else NOPE_TOKEN
        return values[name]

    return re.sub(r"\{([^}]+)\}", one, path)


def _dummy(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def _route(row: Row) -> str:
    return resolve(_dummy(row.path)).route


def _body(row: Row, world: World) -> dict[str, Any] | None:
    body = BODIES.get((row.http_method, _route(row)))
    return body(world) if callable(body) else body


def _credentials(row: Row, role: str) -> list[str]:
    """How each role asks: pages with its session; the API with its token and with its
    session (the app's way), which must agree."""
    if role == "anon":
        return ["none"]
    return ["token", "session"] if row.is_api else ["session"]


def _ask(row: Row, world: World, role: str, credential: str) -> HttpResponse:
    client = Client(raise_request_exception=False)
    headers: dict[str, str] = {}
    if credential == "session":
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
    elif credential == "token":
        headers["Authorization"] = f"Bearer {world.tokens[role]}"
    path = _fill(row.path, world.values())
    body = _body(row, world)
    # Each request in a savepoint, rolled back: every cell sees the same world.
    with transaction.atomic():
        if row.is_api:
            data = json.dumps(body if body is not None else {})
            if row.http_method == "GET":
                response = client.get(path, headers=headers)
            else:
                response = client.generic(row.http_method, path, data,
                                          content_type="application/json", headers=headers)
        else:
            form: dict[str, Any] = {k: v if isinstance(v, SimpleUploadedFile) else str(v)
                    for k, v in (body or {}).items()}
            if row.method == "POST+sig":
                headers["X-Twilio-Signature"] = RequestValidator(
                    TWILIO_TOKEN).compute_signature(SITE + path, form)
            if row.http_method == "GET":
                response = client.get(path, headers=headers)
            else:
                response = client.post(path, form, headers=headers)
        transaction.set_rollback(True)
    return response


def _outcome(row: Row, response: HttpResponse) -> str:
    status = response.status_code
    if status in (301, 302, 303, 307, 308):
        if urlsplit(response["Location"]).path == settings.LOGIN_URL:
            return "login"
        return "ok"
    if row.is_api and status == 401:
        return "login"
    return "ok" if 200 <= status < 300 else str(status)


def _leaks(row: Row, role: str, response: HttpResponse) -> list[str]:
    if role in STAFF:
        return []
    may_see = set(SEES[role])
    may_see |= {name for name in ("checkin", "plan") if f"{{{name}}}" in row.path}
    accepted = re.search(r"/offers/\{offer:(\w)\}/accept", row.path)
    if accepted and response.status_code == 200:  # accepting is when the place is given
        may_see.add(accepted.group(1))
    text = response.content.decode(errors="replace")
    return [f"{name}: {secret!r}" for name in WORDS if name not in may_see
            for secret in secrets_of(name) if secret in text]


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_it_answers_each_role_as_the_matrix_says(world: World, row: Row) -> None:
    wrong, leaks, fixed = [], [], []
    with time_machine.travel(NOW, tick=False):
        for role in ROLES:
            for credential in _credentials(row, role):
                response = _ask(row, world, role, credential)
                got = _outcome(row, response)
                expected = row.expect[role]
                if role in row.gaps:
                    if got == expected:
                        fixed.append(f"{role}: now {got} as the rule says: remove the '!'")
                elif got != expected:
                    wrong.append(f"{role} ({credential}): expected {expected}, got {got} "
                                 f"{response.status_code} {response.content[:200]!r}")
                leaks += [f"{role} ({credential}) saw {leak}"
                          for leak in _leaks(row, role, response)]
    assert not (wrong + leaks + fixed), f"{row}:\n  " + "\n  ".join(wrong + leaks + fixed)


# -- every route has a decision -------------------------------------------------------------


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern)


def test_it_has_a_decision_for_every_route() -> None:
    # Static files are served by WhiteNoise's middleware, not by a URL pattern, so there
    # is nothing to exempt: the API's docs and description have rows of their own.
    routes = set(_walk(get_resolver().url_patterns))
    decided = {_route(row) for row in ROWS}
    assert routes - decided == set(), "URL patterns without a row in MATRIX"

    operations = {(method.upper(), path)
                  for path, item in api.get_openapi_schema()["paths"].items()
                  for method in item}
    decided_ops = {(row.http_method, "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", _route(row)))
                   for row in ROWS if row.is_api}
    assert operations - decided_ops == set(), "API operations without a row in MATRIX"


def test_every_row_names_a_real_route_and_method() -> None:
    allowed = {"GET", "POST", "PUT", "DELETE", "POST+sig"}
    assert {row.method for row in ROWS} <= allowed
    assert len({str(row) for row in ROWS}) == len(ROWS), "a row appears twice"
    for row in ROWS:
        assert set(row.expect.values()) <= {"ok", "login", "404", "403", "409"}, row
        assert "403" not in row.expect.values() or row.path.startswith("/hooks/"), (
            f"{row}: a forbidden object answers 404, not 403 (only webhooks say 403)")
