"""The demo extract, imported once per test module into the test database, and the
phrasing table's figures printed at the end of the run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spotline.places.actions import places_import
from spotline.places.models import Landmark, Place
from spotline.places.tests.phrasings import LANDMARKS
from spotline.places.textsearch import fts_rebuild

DEMO = Path(__file__).resolve().parents[1] / "data" / "helsinki.osm.pbf"

# Figures the phrasing table leaves for the terminal summary (a test's prints are
# captured; the summary always shows).
FIGURES: dict[str, str] = {}


@pytest.fixture(scope="module")
def gazetteer(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """The demo extract and the table's landmarks, for every test of a module; taken
    away again after it, since they live outside each test's rolled-back transaction."""
    with django_db_blocker.unblock():
        places_import(path=DEMO, replace=True)
        for name, lat, lon, aliases in LANDMARKS:
            Landmark.objects.create(name=name, lat=lat, lon=lon, aliases=aliases)
        try:
            yield
        finally:
            Landmark.objects.filter(name__in=[row[0] for row in LANDMARKS]).delete()
            Place.objects.all().delete()
            fts_rebuild()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("places: the phrasing table")
        for line in FIGURES.values():
            terminalreporter.write_line(line)
