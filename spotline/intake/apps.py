from __future__ import annotations

from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "spotline.intake"
    label = "intake"

    def ready(self) -> None:
        # An incident's purge deletes the SMS conversations that led to it. Imported here,
        # as Django asks: models cannot be imported before every app is loaded.
        from spotline.dispatch.signals import incident_purged  # noqa: PLC0415
        from spotline.intake.sms import conversations_purge  # noqa: PLC0415
        from spotline.intake.submissions import submissions_purge  # noqa: PLC0415

        incident_purged.connect(conversations_purge, dispatch_uid="intake.conversations_purge")
        incident_purged.connect(submissions_purge, dispatch_uid="intake.submissions_purge")
