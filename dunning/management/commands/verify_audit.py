from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from dunning.governance.audit import audit_report


class Command(BaseCommand):
    help = (
        "Walk the audit trail's keyed hash chain and hold it against the signed checkpoints "
        "kept outside the database; report gaps, altered or recomputed entries and truncation."
    )

    def handle(self, *args, **options):
        report = audit_report()
        checkpoint = report.checkpoint
        anchored = (
            f"latest checkpoint: #{checkpoint.seq} at {checkpoint.at}"
            if checkpoint
            else "no checkpoint yet: the end of the trail is not anchored "
            "(manage.py audit_checkpoint)"
        )
        if report.problems:
            for problem in report.problems:
                where = f"entry #{problem.seq}" if problem.seq else "checkpoints"
                self.stderr.write(f"{where}: {problem.reason}")
            first = report.problems[0]
            raise CommandError(
                f"Audit trail broken at entry #{first.seq}: it {first.reason} "
                f"({report.checked} entries before it are intact; {anchored})."
            )
        self.stdout.write(
            self.style.SUCCESS(f"Audit trail intact: {report.entries} entries; {anchored}.")
        )
