"""WebSocket endpoints. Each connection joins one group and hears "something changed".

- ``/ws/console/``: dispatchers and coordinators (signed-in session).
- ``/ws/responder/``: the signed-in responder's own offers and incident.
- ``/ws/track/<token>/``: the person who asked for help, by tracking token.

Anything else is refused at the handshake (close code 4403 or 4404); when the channel
layer (Redis) cannot be reached, every socket is refused (4503) and pages poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from spotline.accounts import twofactor
from spotline.accounts.models import Role
from spotline.dispatch.actions.opening import incident_by_token
from spotline.errors import NotFound
from spotline.live.publish import ALERTS, CONSOLE, PUSH_TIMEOUT, responder_group, track_group
from spotline.responders.models import Responder

log = logging.getLogger(__name__)


def _layer_failed(exc: BaseException) -> bool:
    """The channel layer's backend could not be reached (Redis down or restarting)."""
    return isinstance(exc, OSError | TimeoutError) or type(exc).__module__.startswith("redis")


class LiveConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    group: str | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # A consumer also listens on the layer for its own channel; when Redis goes
        # away that read fails. Close the socket with a code that says "try later"
        # (the page polls meanwhile and reconnects with backoff) instead of crashing
        # the connection with a traceback per client.
        try:
            await super().__call__(scope, receive, send)
        except Exception as exc:
            if not _layer_failed(exc):
                raise
            log.warning("live socket dropped: channel layer failed (%s)", type(exc).__name__)
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": 4503})

    async def connect(self) -> None:
        self.group = await database_sync_to_async(self._group_for)()
        if self.group is None:
            await self.close(code=4403)
            return
        try:
            await asyncio.wait_for(self.channel_layer.group_add(self.group, self.channel_name),
                                   PUSH_TIMEOUT)
        except Exception as exc:
            # No layer (Redis down): refuse at once rather than accept a socket that will
            # never hear anything; the page keeps polling and tries again later.
            log.warning("live socket refused: channel layer failed (%s)", type(exc).__name__)
            self.group = None
            await self.close(code=4503)
            return
        await self.accept()
        await self.send_json({"type": "hello", "group": self.group.split(".", 1)[0]})

    def _group_for(self) -> str | None:
        kind = self.scope["url_route"]["kwargs"].get("kind")
        user = self.scope.get("user")
        if kind == "track":
            try:
                incident = incident_by_token(self.scope["url_route"]["kwargs"]["token"])
            except NotFound:
                return None
            return track_group(incident.pk)
        if kind == "alerts":
            return ALERTS  # published alerts are public: the page only hears "changed"
        if user is None or not user.is_authenticated:
            return None
        # A session still waiting for its second factor hears nothing.
        if twofactor.needs_2fa(user) and not twofactor.session_verified(
                user, self.scope.get("session")):
            return None
        if kind == "console":
            profile = getattr(user, "profile", None)
            if profile is not None and profile.role in (Role.DISPATCHER, Role.COORDINATOR):
                return CONSOLE
            return None
        if kind == "responder":
            responder = Responder.objects.filter(user_id=user.pk).first()
            return responder_group(responder.pk) if responder else None
        return None

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # Clients only listen; a ping keeps proxies from closing an idle socket.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def live_changed(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "changed", "what": event["what"], "id": event["id"],
                              "at": event.get("at")})
