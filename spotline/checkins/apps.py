from __future__ import annotations

from django.apps import AppConfig


class CheckinsConfig(AppConfig):
    name = "spotline.checkins"
    label = "checkins"
