from __future__ import annotations

import base64
import json
import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from spotline.privacy.rotation import rotate_kek


class Command(BaseCommand):
    help = ("Re-seal everything sealed under SPOTLINE_KEK_PREVIOUS with SPOTLINE_KEK. "
            "--new-key prints a fresh random key to start a rotation with.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--new-key", action="store_true",
                            help="print a new random 32-byte key (base64) and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["new_key"]:
            self.stdout.write(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
            return
        counts = rotate_kek()
        self.stdout.write(json.dumps({"resealed": counts}))
        if settings.SPOTLINE_KEK_PREVIOUS:
            self.stdout.write("Everything is sealed under SPOTLINE_KEK now: remove "
                              "SPOTLINE_KEK_PREVIOUS (and the old key's copies) and restart.")
