from __future__ import annotations

from django.apps import AppConfig


class PlannerConfig(AppConfig):
    name = "spotline.planner"
    label = "planner"
    verbose_name = "the planner: calls for service, classified and simulated"
