from __future__ import annotations

from django.urls import path

from spotline.live.consumers import LiveConsumer

websocket_urlpatterns = [
    path("ws/console/", LiveConsumer.as_asgi(), {"kind": "console"}),
    path("ws/responder/", LiveConsumer.as_asgi(), {"kind": "responder"}),
    path("ws/alerts/", LiveConsumer.as_asgi(), {"kind": "alerts"}),
    path("ws/track/<str:token>/", LiveConsumer.as_asgi(), {"kind": "track"}),
]
