from __future__ import annotations

from django.apps import AppConfig


class FiguresConfig(AppConfig):
    name = "spotline.figures"
    label = "figures"
    verbose_name = "program reports and the public dashboard"
