"""Counts and times every HTTP answer, by the URL pattern it matched (metrics.observe)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

from spotline.ops import metrics

UNMATCHED = "<unmatched>"  # any path no pattern matches: one label, however many paths
# Methods are labels too, and a client may send any word as one: the rest share one.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_of(request: HttpRequest) -> str:
    """The URL pattern (``t/<str:token>/``), never the path: paths carry tokens.

    A request answered before URL resolution (a 429 from the rate limiter, a 400 for a
    bad Host) has no match yet; it is resolved here, so it is counted under its route.
    """
    match = request.resolver_match
    if match is None and request.path_info.startswith(settings.STATIC_URL):
        return "static"  # WhiteNoise answers these before any URL pattern is tried
    if match is None:
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return UNMATCHED
    return match.route or UNMATCHED


class MetricsMiddleware:
    """First in MIDDLEWARE, so the time covers every other middleware too, and a 429, a
    413 or a 500 made further in is counted like any other answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in METHODS else "OTHER"
        metrics.observe(route_of(request), method, response.status_code,
                        time.perf_counter() - started)
        return response
