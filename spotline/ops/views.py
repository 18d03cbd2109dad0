"""Liveness, readiness and metrics, for the process supervisor, the load balancer and
Prometheus. JSON and text with counts and class names only; never cached.

Readiness answers one question: should the load balancer send *this web process*
requests? So it is 503 only when this process cannot serve them: its database does not
answer a trivial query within ``health.DB_TIMEOUT_SECONDS``. Two things are reported
but do not make it unready:

- Redis down: dispatch goes on without it (live clients fall back to polling; the rate
  limiter fails open), so taking web processes out of rotation would only turn a
  degraded service into none.
- Late timers (no ``spotline worker`` running, or all of them stuck): every web process
  shares the database, so they would all turn unready together and intake would stop,
  while what they acknowledge is durable and fires as soon as a worker is back. That
  is an alert (``timers.status`` "late" here, ``spotline_work_late`` in /metrics), not
  a reason to refuse help requests.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from spotline.ops import health
from spotline.ops.metrics import scrape
from spotline.ratelimit import client_ip

RETRY_AFTER_SECONDS = 5
LOOPBACK = frozenset({"127.0.0.1", "::1"})


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. No database: a database outage must not make a
    supervisor restart healthy web processes."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    db = health.check_database()
    body: dict[str, object] = {
        "status": "ready" if db.ok else "unready",
        "database": ({"status": "ok", "ms": round(db.seconds * 1000, 1)} if db.ok else
                     {"status": "down", "error": db.error}),
        "redis": health.check_redis(settings.REDIS_URL),
        "timers": _timers() if db.ok else {"status": "unknown"},
    }
    response = JsonResponse(body, status=200 if db.ok else 503)
    if not db.ok:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _timers() -> dict[str, object]:
    try:
        queues = health.due_work(now=timezone.now())
    except Exception as exc:
        return {"status": "unknown", "error": type(exc).__name__}
    late = {q.name: q.late for q in queues}
    failing = health.failing_timers()
    return {
        "status": "failing" if any(failing.values()) else "late" if any(late.values())
        else "ok",
        # Rows the engine retries with backoff after repeated failures: look at the log.
        "failing": failing,
        "late_after_seconds": int(health.LATE_AFTER.total_seconds()),
        "late": late,
        "oldest_lateness_seconds": round(max(q.oldest_lateness_seconds for q in queues), 1),
    }


@never_cache
@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _may_scrape(request):
        # The same answer as a page that does not exist: says nothing about metrics.
        raise Http404
    body, content_type = scrape(now=timezone.now(), accept=request.headers.get("Accept", ""))
    return HttpResponse(body, content_type=content_type)


def _may_scrape(request: HttpRequest) -> bool:
    token = settings.SPOTLINE_METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode())
    # No token: only this machine (a Prometheus or an agent beside the server). Behind
    # a proxy this is the client the proxy vouches for, not the proxy itself.
    return client_ip(request) in LOOPBACK
