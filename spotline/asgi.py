"""The ASGI application: Django for HTTP, Channels for the live WebSocket updates."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.asgi import get_asgi_application
from django.http.cookie import parse_cookie

from spotline.envconf import exit_on_config_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spotline.settings")
# Started by another server (uvicorn, daphne): a bad setting is one line, not a traceback.
with exit_on_config_error():
    django_application = get_asgi_application()

# Imported after Django is set up: the consumers import models.
from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator

from spotline.live.routing import websocket_urlpatterns

#: Multipart framing and the form's text fields around the file (the view allows less).
UPLOAD_SLACK = 1024 * 1024
_UPLOAD_PATH = "/planner/"


def _answer(status: int, text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    body = text.encode()
    return ({"type": "http.response.start", "status": status,
             "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                         (b"content-length", str(len(body)).encode()),
                         (b"cache-control", b"no-store")]},
            {"type": "http.response.body", "body": body})


def upload_guard(app: Any) -> Any:
    """Refuse a planner upload that is too large or not signed in from its headers.

    Django's ASGI handler receives the whole body (to a temporary file) before any
    middleware or view runs, so the view's own 413 would come after every byte, from
    anyone. Everything but ``POST /planner/`` passes through untouched.
    """

    async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" \
                or scope.get("path") != _UPLOAD_PATH:
            await app(scope, receive, send)
            return
        pairs = scope.get("headers") or []
        headers = dict(pairs)
        limit = int(settings.SPOTLINE_PLANNER_MAX_UPLOAD_MB) * 1024 * 1024 + UPLOAD_SLACK
        try:
            length = int(headers.get(b"content-length", b""))
        except ValueError:
            length = -1  # missing (chunked) or not a number: cannot be bounded first
        # HTTP/2 may send the cookies as several headers.
        cookies = parse_cookie("; ".join(v.decode("latin-1") for k, v in pairs
                                         if k == b"cookie"))
        answer = None
        if not 0 <= length <= limit:
            answer = _answer(413, f"request body too large: the limit is {limit} bytes\n")
        elif not cookies.get(settings.SESSION_COOKIE_NAME):
            answer = _answer(403, "sign in to upload to the planner\n")
        if answer is None:
            await app(scope, receive, send)
            return
        for message in answer:
            await send(message)

    return guarded


application = ProtocolTypeRouter(
    {
        "http": upload_guard(django_application),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
