from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse, RawPostDataException
from django.template.loader import render_to_string
from django.utils import translation

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class BodySizeLimitMiddleware:
    """Refuse oversized or mistyped API bodies with a clear answer before parsing.

    1. A declared Content-Length over the limit: 413 at once, nothing read.
    2. An API body that is not declared as JSON: 415. A ``text/plain`` POST is a
       "simple" cross-site request a browser sends without asking, so accepting it
       would let any web page file help requests from its visitors' browsers.
    3. A chunked body (no Content-Length) is read here, bounded by the limit, so an
       oversized one is a 413 too rather than a generic error page (and an error in
       the log). A page's form gets a page back: what happened, and that help is still
       a call away.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path in settings.SPOTLINE_STREAMED_UPLOADS:
            # A file its view streams to disk under a limit of its own (the planner's
            # export, up to hundreds of MB): reading it here would hold it in memory.
            return self.get_response(request)
        limit = settings.SPOTLINE_MAX_BODY_BYTES
        if request.path.startswith("/hooks/"):
            # A provider's webhook: the longest text a carrier delivers (1600 emoji)
            # is about 20 KiB form-encoded, and a person must never get silence back.
            limit = max(limit, settings.SPOTLINE_MAX_HOOK_BODY_BYTES)
        raw = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw)
        except ValueError:
            return JsonResponse({"detail": "Content-Length is not a number"}, status=400)
        api = request.path.startswith(("/api/", "/hooks/"))
        if length > limit:
            return _too_big(request, limit, api=api)
        body = b""
        if request.method in BODY_METHODS:
            try:
                body = request.body
            except RequestDataTooBig:
                return _too_big(request, limit, api=api)
            except RawPostDataException:
                # A middleware before us parsed the form already (the rate limiter reads
                # an SMS webhook's sender), bounded by DATA_UPLOAD_MAX_MEMORY_SIZE.
                pass
            if len(body) > limit:  # a chunked body has no Content-Length to check first
                return _too_big(request, limit, api=api)
        if request.path.startswith("/api/") and request.method in BODY_METHODS:
            content_type = request.content_type or ""
            if body and content_type != "application/json":
                return JsonResponse(
                    {"detail": "send the body as JSON, with Content-Type: application/json"},
                    status=415,
                )
        return self.get_response(request)


def _too_big(request: HttpRequest, limit: int, *, api: bool) -> HttpResponse:
    if api:
        return JsonResponse(
            {"detail": f"request body too large: the limit is {limit} bytes"}, status=413
        )
    # Before LocaleMiddleware runs: pick the language the same way it would.
    language = translation.get_language_from_request(request)
    with translation.override(language):
        html = render_to_string("413.html", {
            "hotline": settings.SPOTLINE_HOTLINE, "org": settings.SPOTLINE_ORG_NAME,
            "LANGUAGE_CODE": language,
        })
    response = HttpResponse(html, status=413)
    response["Content-Language"] = language
    response["Cache-Control"] = "no-store"
    return response
