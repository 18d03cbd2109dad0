from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from spotline.accounts.actions import AccountError, token_create


class Command(BaseCommand):
    help = "Print a new API token for a user (shown once; only a digest is stored)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            raw = token_create(name=options["name"], now=timezone.now())
        except AccountError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(raw)
