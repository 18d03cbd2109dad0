from __future__ import annotations

from django.apps import AppConfig


class FieldConfig(AppConfig):
    name = "spotline.field"
    label = "field"
