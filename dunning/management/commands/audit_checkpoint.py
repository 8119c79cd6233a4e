from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from dunning.governance.audit import audit_checkpoint_write


class Command(BaseCommand):
    help = (
        "Sign the audit trail's head (sequence, hash, time) and append it to the checkpoint "
        "file outside the database (the schedule does this every AUDIT_CHECKPOINT_SECONDS)."
    )

    def handle(self, *args, **options):
        checkpoint = audit_checkpoint_write()
        self.stdout.write(
            f"Checkpoint #{checkpoint.seq} ({checkpoint.head[:12]}...) at {checkpoint.at}, "
            f"key {checkpoint.key_id}, appended to {settings.AUDIT_CHECKPOINT_PATH}."
        )
