"""The OpenAPI schema declares the answers the layers around the endpoints give
(spotline/api/openapi.py), and the server gives them.

429 on exactly the operations the rate limiter counts, which are the public ones; 422
where a path id is an integer; 400, 413 and 422 where a body is JSON, 415 on every
POST, PUT and PATCH; 503 everywhere. For each, a request that gets it.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.test import Client, RequestFactory
from ninja.responses import NinjaJSONEncoder
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from spotline import ratelimit
from spotline.accounts.actions import token_create, user_create
from spotline.accounts.models import Role
from spotline.api.api import api
from spotline.conftest import T0

pytestmark = pytest.mark.django_db

BODY_METHODS = ("POST", "PUT", "PATCH")
PARAMETER = re.compile(r"{([^}]+)}")


@cache
def _rendered() -> str:
    return json.dumps(api.get_openapi_schema(), cls=NinjaJSONEncoder)


def _schema() -> dict[str, Any]:
    """The schema as /api/openapi.json serves it (a fresh copy each time)."""
    schema: dict[str, Any] = json.loads(_rendered())
    return schema


def _operations() -> list[tuple[str, str]]:
    return [(method.upper(), path) for path, operations in _schema()["paths"].items()
            for method in operations]


OPERATIONS = _operations()
IDS = [f"{method} {path}" for method, path in OPERATIONS]


def _operation(schema: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    operation: dict[str, Any] = schema["paths"][path][method.lower()]
    return operation


def _integer_ids(operation: dict[str, Any]) -> list[str]:
    return [p["name"] for p in operation.get("parameters", [])
            if p["in"] == "path" and p["schema"].get("type") == "integer"]


def _filled(path: str, value: str = "7") -> str:
    return PARAMETER.sub(value, path)


@pytest.fixture
def dispatcher_headers() -> dict[str, str]:
    # Past authentication (ninja reads the body and the path only then), whatever the
    # role: the role is the view's to check, after.
    user_create(name="answers-dispatcher", role=Role.DISPATCHER, password=None)
    return {"Authorization": f"Bearer {token_create(name='answers-dispatcher', now=T0)}"}


def _send(method: str, path: str, body: bytes, content_type: str,
          headers: dict[str, str]) -> Any:
    return Client().generic(method, path, body, content_type=content_type, headers=headers)


def test_the_api_has_public_and_signed_in_operations_and_integer_ids():
    # The tests below are parametrized over the schema: make sure they have something
    # to walk, and that it is the one served.
    schema = _schema()
    assert Client().get("/api/openapi.json").json() == schema
    public = [op for op in OPERATIONS if not _operation(schema, *op).get("security")]
    assert ("POST", "/api/v1/incidents") in public
    assert len(public) >= 9
    assert len(public) < len(OPERATIONS)
    assert any(_integer_ids(_operation(schema, *op)) for op in OPERATIONS)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=IDS)
def test_it_declares_429_on_exactly_the_operations_the_rate_limiter_counts(method, path):
    operation = _operation(_schema(), method, path)
    counted = ratelimit.rule_for(RequestFactory().generic(method, _filled(path))) is not None
    # The house rule (CONTRIBUTING, "Abuse limits"): every public endpoint has a limit
    # (a signed-in one may have one too: the dispatcher's place search).
    if not operation.get("security"):
        assert counted, "a public endpoint needs a RULES row"
    answers = operation["responses"]
    assert ("429" in answers) == counted
    if counted:
        assert answers["429"]["headers"]["Retry-After"]["required"] is True
        assert answers["429"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/TooManyOut"}


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=IDS)
def test_it_declares_the_answers_of_the_layers_around_each_operation(method, path):
    operation = _operation(_schema(), method, path)
    answers = set(operation["responses"])
    assert "503" in answers
    if _integer_ids(operation):
        assert "422" in answers
    if "requestBody" in operation:
        assert list(operation["requestBody"]["content"]) == ["application/json"]
        assert {"400", "413", "422"} <= answers
    if method in BODY_METHODS:
        assert {"413", "415"} <= answers


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=IDS)
def test_it_gives_the_answers_it_declares(method, path, dispatcher_headers):
    operation = _operation(_schema(), method, path)
    url = _filled(path)
    answers = []
    if method in BODY_METHODS:
        answers.append((415, _send(method, url, b"{}", "text/plain", dispatcher_headers)))
        limit = django_settings.SPOTLINE_MAX_BODY_BYTES
        answers.append((413, _send(method, url, b"[" + b" " * limit + b"]",
                                   "application/json", dispatcher_headers)))
    if "requestBody" in operation:
        answers.append((400, _send(method, url, b'{"unfinished": ', "application/json",
                                   dispatcher_headers)))
    if _integer_ids(operation):
        answers.append((422, _send(method, _filled(path, "seven"), b"{}", "application/json",
                                   dispatcher_headers)))
    for status, response in answers:
        assert response.status_code == status, (status, response.content)
        assert str(status) in operation["responses"]
        assert response["Content-Type"].startswith("application/json")
        assert response.json()["detail"]


PUBLIC = [op for op in OPERATIONS if not _operation(_schema(), *op).get("security")]


@pytest.mark.parametrize(("method", "path"), PUBLIC, ids=[f"{m} {p}" for m, p in PUBLIC])
def test_a_429_is_what_the_schema_says(settings, method, path):
    from spotline.wsgi import application  # noqa: PLC0415 (imported when the test runs: it builds the app)

    settings.SPOTLINE_RATE_LIMITS = dict.fromkeys(django_settings.SPOTLINE_RATE_LIMITS,
                                                  (1, 0))
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)
    found = schema.find_operation_by_path(method, path)
    assert found is not None
    tokens = dict.fromkeys(PARAMETER.findall(path), "no-such-token-0123")
    case = found.Case(path_parameters=tokens)
    case.call()  # the one this minute allows (whatever it answers)
    response = case.call()
    assert response.status_code == 429
    assert int(response.headers["retry-after"][0]) >= 1
    case.validate_response(response, checks=[
        status_code_conformance, content_type_conformance, response_headers_conformance,
        response_schema_conformance])
