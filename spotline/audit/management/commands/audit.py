"""``spotline audit verify``: recompute the audit log's hash chain.

Exits 0 and prints "audit log OK: N entries" when the chain is intact; otherwise exits
1 and names the first broken entry and why.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from spotline.audit.models import AuditEntry
from spotline.audit.verify import verify

_KNOWN = re.compile(r"(\d+):([0-9a-f]{64})")


class Command(BaseCommand):
    help = "The audit log: 'verify' recomputes its hash chain and names the first broken entry."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="{verify}")
        check = sub.add_parser("verify",
                               help="recompute the chain; exit 1 at the first broken entry")
        check.add_argument("--known", metavar="ID:SHA256", action="append", default=[],
                           help="a head printed by an earlier verify and kept off the "
                                "server: that entry must still have that hash")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "verify":
            self.verify(options["known"])

    def verify(self, known: list[str]) -> None:
        verdict = verify()
        if not verdict.ok:
            self.broken(verdict.broken_id, verdict.reason, verdict.count)
        for head in known:
            match = _KNOWN.fullmatch(head.strip().lower())
            if match is None:
                raise CommandError(f"--known takes ID:SHA256, got {head!r}", returncode=2)
            entry_id, digest = int(match[1]), match[2]
            stored = AuditEntry.objects.filter(id=entry_id).values_list("hash", flat=True)
            if entry_id and list(stored) != [digest]:
                # The chain is consistent but not the one seen before: rewritten from
                # this entry or earlier, head included (or cut back before it).
                self.broken(entry_id, "does not match the head written down earlier "
                                      "(the log was rewritten up to here)", verdict.count)
        self.stdout.write(f"audit log OK: {verdict.count} entries")
        # Written down somewhere else, this line lets a later verify (--known) prove
        # that nobody rewrote the log up to here.
        self.stdout.write(f"head: {verdict.head_id}:{verdict.head_hash}")

    def broken(self, entry_id: int | None, reason: str, count: int) -> None:
        raise CommandError(f"audit log BROKEN at entry {entry_id}: {reason} "
                           f"({count} entries intact before it)", returncode=1)
