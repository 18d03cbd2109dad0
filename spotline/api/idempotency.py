"""A create sent again with the same ``Idempotency-Key`` header answers once.

A client that lost the answer to a create (a dropped connection, a web process killed
after its commit and before its answer) sends the same request again with the same
key, and gets the first answer: one incident, one check-in, one set of deadlines.

1. The key: at most 200 characters of printable text (400 otherwise); none, or only
   spaces, and the request is simply made (as it always was).
2. A stored answer for the key: the same request gets it again; a different request
   (the SHA-256 of its JSON body differs) gets 422 and changes nothing.
3. None: the create and the row that stores its answer commit in one transaction, so
   a crash leaves both or neither. A concurrent retry with the same key that committed
   first makes our insert fail: ours rolls back whole, and the answer is theirs.

The stored answer is JSON as ``DjangoJSONEncoder`` writes it (a time as ISO 8601 text),
and the first answer is that same stored JSON, so a replay is the same bytes. It holds
the created thing's secret tokens (a tracking token, a check-in's, a saved plan's, which
opens the person's place and phone), so it is sealed under the key-encryption key like
the help form's stored token, and ``api.housekeeping.idempotency_expire`` deletes it
after a day, whatever its scope.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError
from django.http import HttpRequest
from ninja import Status
from ninja.errors import HttpError

from spotline.api.models import IdempotentRequest
from spotline.audit.actions import atomic as audit_atomic
from spotline.privacy.crypto import SealError, seal, unseal

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200

# The header in an operation's OpenAPI (``openapi_extra=OPENAPI``). The schema is the
# printable ASCII a client should send; the server also takes other printable text and
# strips surrounding spaces.
OPENAPI: dict[str, Any] = {"parameters": [{
    "in": "header", "name": HEADER, "required": False,
    "description": (
        "Any string of yours, unique to this request (a UUID), to send it again safely "
        "after a lost answer: the same key with the same body within 24 hours gets the "
        "first answer again and creates nothing. The same key with a different body: "
        f"422. Over {MAX_KEY_LENGTH} characters, or not printable text: 400."),
    "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH, "pattern": "^[ -~]*$"},
}]}


def request_key(request: HttpRequest) -> str:
    """The request's key, "" for none; 400 for a value that cannot be one."""
    key = request.headers.get(HEADER, "").strip()
    if len(key) > MAX_KEY_LENGTH:
        raise HttpError(400, f"{HEADER} is longer than {MAX_KEY_LENGTH} characters")
    if not key.isprintable():
        raise HttpError(400, f"{HEADER} must be printable text")
    return key


SEALED = "sealed"


def stored_answer(row: IdempotentRequest, *, scope: str) -> dict[str, Any]:
    """The stored answer, unsealed. A row from before answers were sealed is plain."""
    response = row.response
    if not (isinstance(response, dict) and set(response) == {SEALED}):
        return dict(response)
    try:
        return dict(json.loads(unseal(response[SEALED], context=f"idempotency.{scope}")))
    except SealError:
        # Sealed under a key-encryption key since rotated away: the answer is gone.
        raise HttpError(409, f"the first answer to this {HEADER} can no longer be read; "
                             "send the request with a new key") from None


def answered(*, scope: str, key: str) -> IdempotentRequest | None:
    """The answer stored for ``key``, if there is one yet."""
    return IdempotentRequest.objects.filter(scope=scope, key=key).first()


def idempotent(request: HttpRequest, *, scope: str, payload: Mapping[str, Any],
               now: datetime,
               create: Callable[[], tuple[int, dict[str, Any]]]) -> Status[dict[str, Any]]:
    """Answer ``create()`` once per ``Idempotency-Key`` in ``scope`` (the operation).

    ``payload`` is the request's body as JSON values, what makes two requests the same;
    ``create`` makes the thing and returns the status and body of the answer. It runs
    inside the transaction that stores the answer, so everything it writes commits with
    the answer or not at all; it is not called for a request answered before.
    """
    key = request_key(request)
    if not key:
        return Status(*create())

    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()

    def replay(row: IdempotentRequest) -> Status[dict[str, Any]]:
        if row.request_digest != digest:
            raise HttpError(422, f"this {HEADER} was already used for a different request")
        return Status(row.status_code, stored_answer(row, scope=scope))

    existing = answered(scope=scope, key=key)
    if existing is not None:
        return replay(existing)
    try:
        with audit_atomic():
            status, body = create()
            # What a replay will send: the first answer is sent from the same JSON.
            stored = json.loads(json.dumps(body, cls=DjangoJSONEncoder))
            IdempotentRequest.objects.create(
                scope=scope, key=key, request_digest=digest, status_code=status,
                response={SEALED: seal(json.dumps(stored), context=f"idempotency.{scope}")},
                created_at=now)
    except IntegrityError:
        # A concurrent retry with the same key committed first: ours rolled back
        # whole (nothing created twice), and the answer is theirs.
        theirs = IdempotentRequest.objects.filter(scope=scope, key=key).first()
        if theirs is None:  # not the key's constraint: someone else's error
            raise
        return replay(theirs)
    return Status(status, stored)
