"""The JSON API, version 1, put together. OpenAPI at /api/openapi.json.

The endpoints register themselves on ``base.api`` when their modules are imported
here; the smaller groups are routers of their own.
"""

from __future__ import annotations

# Imported for their endpoints, which register on base.api in this order.
from spotline.api import incidents, responders  # noqa: F401
from spotline.api.alerts import router as alerts_router
from spotline.api.base import api
from spotline.api.checkins import router as checkins_router
from spotline.api.duty import router as duty_router
from spotline.api.places import router as places_router
from spotline.api.push import router as push_router
from spotline.api.safety import router as safety_router

api.add_router("/v1/me/push", push_router)
api.add_router("/v1/me/duty", duty_router)
api.add_router("/v1/checkins", checkins_router)
api.add_router("/v1/me/safety", safety_router)
api.add_router("/v1/places", places_router)
api.add_router("/v1", alerts_router)

__all__ = ["api"]
