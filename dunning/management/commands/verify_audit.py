from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from dunning.audit import audit_verify


class Command(BaseCommand):
    help = "Walk the audit trail's hash chain and report the first altered or missing entry."

    def handle(self, *args, **options):
        checked, problem = audit_verify()
        if problem is not None:
            raise CommandError(
                f"Audit trail broken at entry #{problem.seq}: it {problem.reason} "
                f"({checked} entries before it are intact)."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit trail intact: {checked} entries."))
