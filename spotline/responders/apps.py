from __future__ import annotations

from django.apps import AppConfig


class RespondersConfig(AppConfig):
    name = "spotline.responders"
    label = "responders"
