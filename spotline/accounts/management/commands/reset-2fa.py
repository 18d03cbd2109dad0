from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from spotline.accounts.twofactor import twofactor_reset


class Command(BaseCommand):
    help = ("Remove a user's two-factor devices (authenticator app and recovery codes), "
            "e.g. after a lost phone: they set up a new authenticator at their next "
            "sign-in, with their password.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            removed = twofactor_reset(name=options["name"])
        except LookupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"removed {removed} two-factor device(s) of {options['name']}: "
                          "they set up an authenticator app again at their next sign-in")
