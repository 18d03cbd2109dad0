from __future__ import annotations

import sys
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from spotline.accounts.actions import AccountError, user_create
from spotline.accounts.models import Role
from spotline.core.geo import Mode


class Command(BaseCommand):
    help = "Create a responder, dispatcher or coordinator."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("name")
        parser.add_argument("--role", required=True, choices=[r.value for r in Role])
        parser.add_argument("--skills", default="",
                            help="comma-separated: naloxone,crisis_intervention,...")
        parser.add_argument("--mode", default="walk", choices=[m.value for m in Mode],
                            help="how a responder travels (ranks offers by travel time)")
        parser.add_argument("--alias", default="", help="the first name people see")
        parser.add_argument("--phone", default="",
                            help="any role: a responder's phone gets offers by SMS or "
                                 "call, a dispatcher's is rung by the hotline while on "
                                 "duty (stored encrypted)")
        parser.add_argument("--password-stdin", action="store_true",
                            help="read the password from standard input")

    def handle(self, *args: Any, **options: Any) -> None:
        password = None
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
            if not password:
                raise CommandError("no password on standard input")
            try:
                validate_password(password)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
        try:
            user_create(name=options["name"], role=Role(options["role"]), password=password,
                        skills=options["skills"].split(","), alias=options["alias"],
                        mode=Mode(options["mode"]), phone=options["phone"])
        except AccountError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"created {options['role']} {options['name']}")
        if password is None:
            self.stdout.write("no password set: use 'spotline token NAME' for API access, "
                              "or 'spotline changepassword NAME' to allow signing in")
