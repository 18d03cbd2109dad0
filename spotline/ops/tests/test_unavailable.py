"""A database that cannot be reached answers 503 with Retry-After, on pages and the API.

"Down" here is Django's own query hook (``connection.execute_wrapper``) raising the
``OperationalError`` a refused or dropped connection raises, at the point where a
query would reach the server: everything above it (middleware, sessions, auth,
handler500) is the real stack. The real outage (a PostgreSQL restart under load) is
exercised by ``make faults`` (faults/).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory, override_settings

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.conftest import CENTRE, T0, login_staff
from spotline.core.triage import Kind
from spotline.dispatch.actions.opening import IncidentRequest, incident_open
from spotline.ops.unavailable import database_unavailable, server_error

pytestmark = pytest.mark.django_db

FIRST_AID = "If they are not breathing, give rescue"
PRIMEROS_AUXILIOS = "Si no respira, dele respiraciones de rescate"


@contextmanager
def database_down(error: type[Exception] = OperationalError) -> Iterator[list[str]]:
    tried: list[str] = []

    def refuse(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        tried.append(sql.split()[0])
        raise error("connection refused")

    with connection.execute_wrapper(refuse):
        yield tried


def assert_unavailable_page(response: HttpResponse) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "Try again in a moment" in html and "Inténtelo de nuevo" in html
    assert FIRST_AID in html.replace("\n", " ")
    assert PRIMEROS_AUXILIOS in html.replace("\n", " ")
    assert "police" not in html.lower() and "policía" not in html.lower()


def test_a_staff_page_answers_503_when_the_session_cannot_be_loaded() -> None:
    client = Client(raise_request_exception=False)
    login_staff(client, user_create(name="dispatcher", role=Role.DISPATCHER, password=None))
    assert client.get("/console/").status_code == 200

    with database_down() as tried:
        response = client.get("/console/")

    assert tried, "the page never reached the database"
    assert_unavailable_page(response)


def test_a_connection_that_died_midway_answers_503_too() -> None:
    client = Client(raise_request_exception=False)
    login_staff(client, user_create(name="dispatcher", role=Role.DISPATCHER, password=None))

    with database_down(InterfaceError):
        response = client.get("/console/")

    assert_unavailable_page(response)


def test_the_hotline_is_on_the_page_when_there_is_one() -> None:
    client = Client(raise_request_exception=False)
    login_staff(client, user_create(name="dispatcher", role=Role.DISPATCHER, password=None))

    with override_settings(SPOTLINE_HOTLINE="555 0100"), database_down():
        response = client.get("/console/")

    assert_unavailable_page(response)
    assert "call 555 0100" in response.content.decode()


def test_the_public_api_answers_503_json_with_retry_after() -> None:
    client = Client(raise_request_exception=False)
    body = {"kind": "overdose", "location": {"description": "behind the library"}}

    with database_down():
        response = client.post("/api/v1/incidents", body, content_type="application/json",
                               headers={"Idempotency-Key": "k-1"})

    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert "try again" in response.json()["detail"]


# Middleware that reads the signed-in user before the view runs, as many do (an audit
# trail, a "last seen" stamp). The session and the user load here, in the middleware
# chain: Django turns that exception into a response with handler500 as well.
def user_reading_middleware(get_response: Callable[[HttpRequest], HttpResponse],
                            ) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        request.user.is_authenticated  # noqa: B018 - loads the session and the user
        return get_response(request)

    return middleware


def test_an_outage_met_in_middleware_before_the_view_answers_503() -> None:

    stack = list(settings.MIDDLEWARE)
    stack.insert(stack.index("django_otp.middleware.OTPMiddleware") + 1,
                 f"{__name__}.user_reading_middleware")
    client = Client(raise_request_exception=False)
    login_staff(client, user_create(name="dispatcher", role=Role.DISPATCHER, password=None))

    with override_settings(MIDDLEWARE=stack):
        with database_down() as tried:
            # The public help page itself never touches the database on GET.
            response = client.get("/")
        assert client.get("/").status_code == 200

    assert tried
    assert_unavailable_page(response)


def test_any_other_error_is_still_a_plain_500() -> None:
    request = RequestFactory().get("/console/")
    try:
        raise ValueError("a bug, not an outage")
    except ValueError:
        response = server_error(request)
    assert response.status_code == 500
    assert not response.has_header("Retry-After")


def test_an_outage_wrapped_in_another_exception_is_recognised() -> None:
    try:
        try:
            raise OperationalError("server closed the connection unexpectedly")
        except OperationalError as exc:
            raise RuntimeError("while rendering") from exc
    except RuntimeError:
        assert database_unavailable(sys.exc_info()[1])
        response = server_error(RequestFactory().get("/"))
    assert_unavailable_page(response)
    assert not database_unavailable(ValueError("no"))
    assert not database_unavailable(None)


def test_the_public_status_page_answers_503_while_polled() -> None:

    opened = incident_open(IncidentRequest(kind=Kind.OVERDOSE, location=CENTRE), now=T0)
    client = Client(raise_request_exception=False)
    url = f"/t/{opened.tracking_token}/"
    assert client.get(url).status_code == 200

    with database_down():
        page = client.get(url)
        polled = client.get(url, headers={"X-Live": "1"})

    assert_unavailable_page(page)
    assert polled.status_code == 503 and polled["Retry-After"] == "2"
