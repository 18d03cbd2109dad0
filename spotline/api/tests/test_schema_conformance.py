"""The OpenAPI schema says what the server does.

schemathesis runs every check it has (as ``st run --checks all`` does, with the
repository's ``schemathesis.toml``) against a real HTTP server, once for each who uses
the API: a person without an account, a responder, a dispatcher and a coordinator. It sends the
schema's examples, its boundary cases (the coverage phase), generated valid and invalid
requests, and chains of them (stateful: create, then read, cancel, delete), and checks
each answer: no 5xx; a status, content type, headers and body the schema declares;
valid data accepted and invalid data refused; credentials enforced; a deleted thing
gone and a created one there.

The examples are fixed (a seed, derandomized) and few per operation, so a run costs
seconds; ``st run`` against ``make run`` goes further.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.utils import timezone
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events

from spotline.accounts.actions import token_create, user_create
from spotline.accounts.models import Role
from spotline.alerts.actions.areas import area_create
from spotline.alerts.actions.review import AlertFields, alert_draft
from spotline.conftest import T0
from spotline.dispatch.models import Incident

ROOT = Path(__file__).resolve().parents[3]
# What `st run --checks all` runs (schemathesis 4). object_level_authorization needs two
# identities in one run, so it finds nothing to compare here.
ALL_CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
              "response_headers_conformance", "response_schema_conformance",
              "negative_data_rejection", "positive_data_acceptance", "missing_required_header",
              "unsupported_method", "allow_header_conformance", "use_after_free",
              "ensure_resource_availability", "ignored_auth", "object_level_authorization")
EXAMPLES = 10  # per operation and generation mode, in the fuzzing phase
PUBLIC = "anonymous"
AREA = {"type": "Polygon", "coordinates": [[[24.90, 60.15], [24.98, 60.15], [24.98, 60.19],
                                            [24.90, 60.19], [24.90, 60.15]]]}


class _Handler(WSGIRequestHandler):
    def setup(self) -> None:
        # Without it every answer on a kept-alive connection waits for the client's
        # delayed ACK (Nagle), 40 ms a request: the run would take minutes, not seconds.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    """The app (spotline.wsgi) served over HTTP on 127.0.0.1, in threads of this
    process: schemathesis's in-process WSGI transport cannot send its credential probes
    (``ignored_auth``)."""
    from spotline.wsgi import application  # noqa: PLC0415 (imported when the test runs: it builds the app)

    httpd = ThreadedWSGIServer(("127.0.0.1", 0), _Handler, allow_reuse_address=False)
    httpd.set_app(application)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _config(headers: dict[str, str]) -> SchemathesisConfig:
    config = SchemathesisConfig.from_path(ROOT / "schemathesis.toml")
    config.update(seed=19, max_failures=None)
    project = config.projects.override
    project.update(headers=headers, workers=1)
    project.checks.update(included_check_names=["all"])
    project.generation.update(max_examples=EXAMPLES, deterministic=True, database="none")
    return config


def _run(url: str, headers: dict[str, str]) -> tuple[list[str], dict[str, set[int]]]:
    """Every phase and check; the failures found, and the statuses each operation got."""
    schema = schemathesis.openapi.from_url(f"{url}/api/openapi.json", config=_config(headers))
    off = [name for name in ALL_CHECKS if not schema.config.checks.get_by_name(name=name).enabled]
    assert not off
    failures: list[str] = []
    seen: dict[str, set[int]] = {}
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            for case_id, checks in recorder.checks.items():
                failures.extend(
                    f"{recorder.label}: {check.name}: {check.failure_info.failure}\n"
                    f"{check.failure_info.code_sample}"
                    for check in checks if check.failure_info is not None)
                interaction = recorder.interactions.get(case_id)
                case = recorder.cases.get(case_id)
                if interaction is not None and interaction.response is not None and case:
                    label = f"{case.value.method.upper()} {case.value.path}"
                    seen.setdefault(label, set()).add(interaction.response.status_code)
        elif isinstance(event, events.NonFatalError):
            failures.append(f"{event.label}: error: {event.info.message}")
        elif isinstance(event, events.FatalError):
            failures.append(f"fatal: {event.exception!r}")
    return failures, seen


@pytest.fixture
def identities(make_responder: Any) -> dict[str, dict[str, str]]:
    responder = make_responder(north_m=150)
    user_create(name="schema-dispatcher", role=Role.DISPATCHER, password=None)
    user_create(name="schema-coordinator", role=Role.COORDINATOR, password=None)
    # An area and a draft for the alert operations to find (ids from 1 up are what
    # the generated requests name most).
    area = area_create(name="Schema town", geometry=AREA, now=T0)
    alert_draft(fields=AlertFields(substance="fentanyl", severity="severe",
                                   expires=timezone.now() + timedelta(days=7),
                                   area_ids=[area.pk]), user_id=None, now=timezone.now())
    return {
        PUBLIC: {},
        "responder": {"Authorization": "Bearer "
                      + token_create(name=responder.user.username, now=T0)},
        "dispatcher": {"Authorization": "Bearer "
                       + token_create(name="schema-dispatcher", now=T0)},
        "coordinator": {"Authorization": "Bearer "
                        + token_create(name="schema-coordinator", now=T0)},
    }


# What each identity must have reached: proof that the requests went in as who they
# claimed, and that valid ones got through to the code behind the checks.
REACHED = {
    PUBLIC: {("POST /api/v1/incidents", 201), ("POST /api/v1/checkins", 201),
             ("GET /api/v1/me/offers", 401)},
    "responder": {("GET /api/v1/me/offers", 200), ("GET /api/v1/me", 200),
                  ("GET /api/v1/responders", 404)},
    "dispatcher": {("GET /api/v1/responders", 200), ("GET /api/v1/incidents", 200),
                   ("GET /api/v1/me/offers", 404), ("GET /api/v1/areas", 404)},
    "coordinator": {("GET /api/v1/areas", 200), ("GET /api/v1/responders", 200)},
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("no_rate_limits")
@pytest.mark.parametrize("who", [PUBLIC, "responder", "dispatcher", "coordinator"])
def test_schemathesis_finds_nothing(server, identities, who):
    failures, seen = _run(server, identities[who])
    assert not failures, "\n\n".join(failures[:10])
    missing = {(label, status) for label, status in REACHED[who]
               if status not in seen.get(label, set())}
    assert not missing, (missing, seen)
    if who == "responder":
        assert seen["GET /api/v1/me/offers"] == {200}
    assert Incident.objects.exists()
