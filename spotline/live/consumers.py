"""WebSocket endpoints. Each connection joins one group and hears "something changed".

- ``/ws/console/``: dispatchers and coordinators (signed-in session).
- ``/ws/responder/``: the signed-in responder's own offers and incident.
- ``/ws/track/<token>/``: the person who asked for help, by tracking token.

Anything else is refused at the handshake (close code 4403 or 4404).
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from spotline.live.publish import CONSOLE, responder_group, track_group


class LiveConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    group: str | None = None

    async def connect(self) -> None:
        self.group = await database_sync_to_async(self._group_for)()
        if self.group is None:
            await self.close(code=4403)
            return
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "group": self.group.split(".", 1)[0]})

    def _group_for(self) -> str | None:
        from spotline.accounts.models import Role
        from spotline.dispatch.actions import incident_by_token
        from spotline.dispatch.errors import NotFound
        from spotline.responders.models import Responder

        kind = self.scope["url_route"]["kwargs"].get("kind")
        user = self.scope.get("user")
        if kind == "track":
            try:
                incident = incident_by_token(self.scope["url_route"]["kwargs"]["token"])
            except NotFound:
                return None
            return track_group(incident.pk)
        if user is None or not user.is_authenticated:
            return None
        from spotline.accounts import twofactor

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
        await self.send_json({"type": "changed", "what": event["what"], "id": event["id"]})
