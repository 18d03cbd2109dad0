from __future__ import annotations

from pathlib import Path
from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created

from spotline.datadir import private_sqlite


def _private_database(sender: Any, connection: Any, **kwargs: Any) -> None:
    # SQLite has just opened (maybe created) its file with the umask's mode: make it,
    # and its WAL and shared-memory files, the owner's only (spotline/datadir.py).
    if connection.vendor == "sqlite":
        name = str(connection.settings_dict["NAME"])
        if name and name != ":memory:" and not name.startswith("file:"):
            private_sqlite(Path(name))


class PrivacyConfig(AppConfig):
    name = "spotline.privacy"

    def ready(self) -> None:
        connection_created.connect(_private_database, dispatch_uid="privacy.private_database")
