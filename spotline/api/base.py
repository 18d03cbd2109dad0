"""The JSON API, version 1: the ``NinjaAPI`` object, its parser and its error answers.

Endpoints live in ``incidents`` (public and dispatcher), ``responders``, ``checkins``,
``safety``, ``push`` and ``duty``; ``api`` puts them together. Each endpoint translates
input, makes one action call, and translates the result or the ``ActionError`` into an
answer. Errors are ``{"detail": "..."}`` with a 4xx code.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.schema import OpenAPISchema
from ninja.parser import Parser

from spotline.api.openapi import declare_common_answers
from spotline.errors import ActionError


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


class StrictJSONParser(Parser):
    """JSON without NaN/Infinity (Python's json module accepts them by default)."""

    def parse_body(self, request: HttpRequest) -> Any:
        return json.loads(request.body, parse_constant=_reject_constant)


class SpotlineAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix: str | None = None,
                           path_params: dict[str, Any] | None = None) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        declare_common_answers(schema)
        return schema


api = SpotlineAPI(
    title="Spotline API",
    version="1",
    description="Police-free overdose and crisis response. There is no police endpoint.",
    urls_namespace="api",
    parser=StrictJSONParser(),
    openapi_url="/openapi.json",
    docs_url="/docs",
)


@api.exception_handler(ActionError)
def _action_error(request: HttpRequest, exc: ActionError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.message, "code": exc.code},
                               status=exc.status)


@api.exception_handler(OperationalError)
def _database_unavailable(request: HttpRequest, exc: OperationalError) -> HttpResponse:
    # A restarting database or a conflict that outlived its retries: nothing was
    # written (the transaction rolled back), so the client can simply try again.
    response = api.create_response(
        request, {"detail": "the service is busy or restarting: try again in a moment"},
        status=503,
    )
    response["Retry-After"] = "2"
    return response


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    # Say what is wrong and where, but never echo the input back: it may hold a
    # phone number or coordinates, and error bodies end up in client logs.
    errors = [
        {"loc": [str(p) for p in e.get("loc", ()) if p not in ("body", "payload")],
         "msg": str(e.get("msg", "invalid"))}
        for e in exc.errors
    ]
    detail = "; ".join(
        f"{'.'.join(e['loc']) or 'body'}: {e['msg']}" for e in errors
    )
    return api.create_response(request, {"detail": detail, "errors": errors}, status=422)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = api.create_response(
        request, {"detail": "sign in, or send an API token as 'Authorization: Bearer ...'"},
        status=401,
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


def int_id(value: int) -> int:
    # Path ids beyond a 64-bit integer would overflow the database driver.
    if not 0 < value < 2**63:
        raise HttpError(404, "not found")
    return value
