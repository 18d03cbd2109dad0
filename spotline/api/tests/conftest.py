from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import override_settings


@pytest.fixture
def no_rate_limits() -> Iterator[None]:
    """Thousands of generated requests from one address within a minute are a flood by
    design: the rate limits (spotline/tests/test_ratelimit.py) would answer most of
    them with 429 before they reach the code under test."""

    off = dict.fromkeys(settings.SPOTLINE_RATE_LIMITS, (0, 0))
    with override_settings(SPOTLINE_RATE_LIMITS=off):
        yield
