"""The answers every operation can get besides its own, added to the OpenAPI schema in
one place, so that the schema says what the server does (schemathesis checks it
against the server: ``api/tests/test_schema_conformance.py``).

They come from layers no endpoint sees: the body-size middleware (413, 415), ninja's
body parser (400) and path validation (422), the rate limiter (429) and the database
handler in ``base`` (503). An operation's own declaration of a status wins.
"""

from __future__ import annotations

import re
from typing import Any

from spotline import ratelimit

ERROR = {"$ref": "#/components/schemas/ErrorOut"}
TOO_MANY = "TooManyOut"
BODY_METHODS = frozenset({"post", "put", "patch"})  # what BodySizeLimitMiddleware reads


def _retry_after(meaning: str) -> dict[str, Any]:
    return {"Retry-After": {"description": meaning, "required": True,
                            "schema": {"type": "integer", "minimum": 1}}}


def _error(description: str, schema: dict[str, Any] = ERROR, **extra: Any) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": schema}}, **extra}


TOO_MANY_SCHEMA = {
    "title": TOO_MANY, "type": "object", "required": ["detail", "retry_after"],
    "properties": {"detail": {"title": "Detail", "type": "string"},
                   "retry_after": {"title": "Retry After", "type": "integer", "minimum": 1}},
}

MALFORMED = _error("The body is not JSON (or not UTF-8), or another part of the request "
                   "cannot be read")
TOO_LARGE = _error("The body is over the size limit (SPOTLINE_MAX_BODY_BYTES)")
NOT_JSON = _error("A body sent as anything but Content-Type: application/json")
INVALID = _error("The request does not validate: a field missing or out of range, or a "
                 "path id that is not an integer (an id out of range is a 404)")
LIMITED = _error(
    "Too many requests from this address, or from everyone, in this minute: the limits "
    "stop floods, never a person, and the answer says when to try again",
    {"$ref": f"#/components/schemas/{TOO_MANY}"},
    headers=_retry_after("seconds until the limit lets this client through again"))
BUSY = _error("The database is busy or restarting: nothing was written, try again",
              headers=_retry_after("seconds to wait before trying again"))


def declare_common_answers(schema: dict[str, Any]) -> dict[str, Any]:
    """Add to each operation of ``schema`` (in place) the answers it can get from the
    layers around it:

    - 400 where it takes a JSON body (it may not parse), 413 where it takes a body or
      is a POST, PUT or PATCH, and 415 on those three methods;
    - 422 where it takes a body, or a path parameter is an integer;
    - 429 on the operations the rate limiter counts (``spotline/ratelimit.py``): every
      public one (no credentials), and a signed-in one that costs the server a search
      (``tests/test_openapi_answers.py`` holds the two lists to each other);
    - 503 on every operation.
    """
    schema.setdefault("components", {}).setdefault("schemas", {})[TOO_MANY] = TOO_MANY_SCHEMA
    for path, operations in schema["paths"].items():
        # A path parameter filled in, as a request would have it ("/t/{token}" → "/t/7").
        concrete = re.sub(r"\{[^}/]+\}", "7", path)
        for method, operation in operations.items():
            answers = operation["responses"]
            takes_body = "requestBody" in operation
            add = {
                400: MALFORMED if takes_body else None,
                413: TOO_LARGE if takes_body or method in BODY_METHODS else None,
                415: NOT_JSON if method in BODY_METHODS else None,
                422: INVALID if takes_body or _has_integer_path_id(operation) else None,
                429: LIMITED if ratelimit.counts(method.upper(), concrete) else None,
                503: BUSY,
            }
            for status, answer in add.items():
                if answer is not None and status not in answers and str(status) not in answers:
                    answers[status] = answer
            operation["responses"] = dict(sorted(answers.items(), key=lambda kv: int(kv[0])))
    return schema


def _has_integer_path_id(operation: dict[str, Any]) -> bool:
    return any(p.get("in") == "path" and p.get("schema", {}).get("type") == "integer"
               for p in operation.get("parameters", ()))
