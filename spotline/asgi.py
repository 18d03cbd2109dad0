"""The ASGI application: Django for HTTP, Channels for the live WebSocket updates."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

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

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
