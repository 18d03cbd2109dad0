"""A responder's Web Push subscriptions (their browsers): the one write path.

At most ``MAX_SUBSCRIPTIONS`` per responder (a phone, a tablet, a laptop...); the oldest
go first. A push service answering 404 or 410 has forgotten one: the transport deletes
it then.
"""

from __future__ import annotations

from datetime import datetime

from spotline.notify.models import PushSubscription
from spotline.responders.models import Responder

MAX_SUBSCRIPTIONS = 5


def subscription_save(*, responder: Responder, endpoint: str, p256dh: str, auth: str,
                      now: datetime) -> bool:
    """Register a browser's subscription; the same endpoint again updates it.

    An endpoint belongs to one browser: if another responder signed in on it before,
    it is now this responder's. Returns whether it was new.
    """
    _, created = PushSubscription.objects.update_or_create(
        endpoint=endpoint,
        defaults={"responder": responder, "p256dh": p256dh, "auth": auth},
        create_defaults={"responder": responder, "p256dh": p256dh, "auth": auth,
                         "created_at": now},
    )
    stale = list(PushSubscription.objects.filter(responder=responder)
                 .order_by("-created_at", "-id").values_list("pk", flat=True)[MAX_SUBSCRIPTIONS:])
    if stale:
        PushSubscription.objects.filter(pk__in=stale).delete()
    return created


def subscription_delete(*, responder: Responder, endpoint: str) -> None:
    PushSubscription.objects.filter(responder=responder, endpoint=endpoint).delete()
