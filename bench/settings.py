"""Settings for benchmark servers only: production settings plus the floor endpoint.

Start a server with ``DJANGO_SETTINGS_MODULE=bench.settings`` and the repository root on
``PYTHONPATH``. Everything comes from ``spotline.settings`` (and so from the
environment); only the URL configuration differs, so the floor endpoint can never exist
in a production server.
"""

from __future__ import annotations

from spotline.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
