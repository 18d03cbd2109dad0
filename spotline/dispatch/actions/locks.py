"""Row locks in the one global order (see the package docstring), and deadlock retry."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import ParamSpec, TypeVar

from django.db import OperationalError, connection

from spotline.core.policy import OfferStatus
from spotline.dispatch.models import Incident, Offer
from spotline.errors import NotFound
from spotline.responders.models import Responder

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


def lock(incident_id: int) -> Incident:
    """The incident, locked until the transaction ends (re-reading a held row is safe)."""
    try:
        return Incident.objects.select_for_update().get(pk=incident_id)
    except Incident.DoesNotExist:
        raise NotFound("no such incident") from None


def lock_many(ids: Iterable[int]) -> dict[int, Incident]:
    """Lock several incidents in ascending id order (the global lock order)."""
    return {
        i.pk: i
        for i in Incident.objects.select_for_update().filter(pk__in=set(ids)).order_by("pk")
    }


def lock_responder(responder_id: int) -> Responder:
    try:
        return Responder.objects.select_for_update().get(pk=responder_id)
    except Responder.DoesNotExist:
        raise NotFound("no such responder") from None


def pending_offer_incidents(responder_id: int) -> set[int]:
    """The incidents this responder has a pending offer for (to lock before changing)."""
    return set(Offer.objects.filter(responder_id=responder_id, status=OfferStatus.PENDING)
               .values_list("incident_id", flat=True))


def retry_on_deadlock(fn: Callable[P, R]) -> Callable[P, R]:
    """Run a whole action again if the database broke a deadlock by failing it.

    Actions are safe to repeat, and each attempt is its own transaction. If the
    conflict persists the error propagates; the API answers it with 503.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(3):
            try:
                return fn(*args, **kwargs)
            except OperationalError as exc:
                code = getattr(exc.__cause__, "sqlstate", None)
                if code not in ("40P01", "40001") or attempt == 2 or connection.in_atomic_block:
                    raise
                log.warning("deadlock in %s; retrying", fn.__name__)
        raise AssertionError("unreachable")

    return wrapper
