from __future__ import annotations

from django.apps import AppConfig


class TallyConfig(AppConfig):
    name = "spotline.tally"
    label = "tally"
    verbose_name = "reporting store"
