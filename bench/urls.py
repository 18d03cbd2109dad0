"""URLs of benchmark servers: the floor endpoint, then every production URL.

The floor is what the cheapest durable request costs on this machine, measured in the
same run as the real one: the same server, middleware stack, sync-view thread, JSON
parsing and one committed insert of a row as big as a real incident row. The ratio of
request-to-offers latency to it says how much dispatching itself adds.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

# The size of a real dispatch_incident row as stored (sealed fields included), which
# the driver measures before it starts the servers.
ROW_BYTES = int(os.environ.get("BENCH_FLOOR_ROW_BYTES", "1000"))


@csrf_exempt
@require_POST
def floor(request: HttpRequest) -> JsonResponse:
    try:
        body = json.loads(request.body)
    except ValueError:
        return JsonResponse({"detail": "not JSON"}, status=400)
    if not isinstance(body, dict):
        return JsonResponse({"detail": "not an object"}, status=400)
    # A row of the real size, built from the request so it cannot be optimised away.
    text = json.dumps(body, sort_keys=True)
    payload = (text * (ROW_BYTES // max(len(text), 1) + 1))[:ROW_BYTES]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_floor (payload, created_at) VALUES (%s, %s)",
                       [payload, datetime.now(UTC).isoformat()])
        row_id = cursor.lastrowid if connection.vendor == "sqlite" else None
    return JsonResponse({"id": row_id, "status": "stored"}, status=201)


urlpatterns = [
    path("bench/floor", floor, name="bench-floor"),
    path("", include("spotline.urls")),
]

handler500 = "spotline.ops.unavailable.server_error"
