from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "spotline.ops"
    label = "ops"
    verbose_name = "Operations: health, readiness, metrics"
