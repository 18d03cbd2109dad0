"""The ``spotline`` command: Django's management entry point plus our own commands."""

from __future__ import annotations

import os
import sys

from django.core.management import execute_from_command_line

from spotline.envconf import exit_on_config_error


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spotline.settings")

    # A setting out of range stops every command with one line and status 2 (the
    # settings module raises ConfigError as Django loads it), not with a traceback.
    with exit_on_config_error():
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
