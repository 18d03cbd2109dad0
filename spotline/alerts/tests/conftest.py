"""Alert areas and people for the alert tests: two areas far enough apart (Helsinki's
centre and Vuosaari, 12 km east) that no H3 area cell is in both."""

from __future__ import annotations

from typing import Any

import pytest

from spotline.accounts.actions import user_create
from spotline.accounts.models import Role
from spotline.alerts.actions.areas import area_create
from spotline.alerts.models import Area
from spotline.conftest import T0


def box(west: float, south: float, east: float, north: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north],
                                                [west, north], [west, south]]]}


CENTRE_BOX = box(24.920, 60.160, 24.960, 60.180)  # holds conftest.CENTRE
VUOSAARI_BOX = box(25.120, 60.195, 25.170, 60.220)


@pytest.fixture
def centre_area(db: Any) -> Area:
    return area_create(name="Keskusta", geometry=CENTRE_BOX, aliases=["00100", "centre"],
                       now=T0)


@pytest.fixture
def vuosaari_area(db: Any) -> Area:
    return area_create(name="Vuosaari", geometry=VUOSAARI_BOX, aliases=["00980"], now=T0)


@pytest.fixture
def coordinators(db: Any) -> tuple[Any, Any]:
    """Two coordinators: an author and a second person."""
    return (user_create(name="coord_a", role=Role.COORDINATOR, password=None),
            user_create(name="coord_b", role=Role.COORDINATOR, password=None))
