"""The audit trail: append-only, each entry chained to the one before by a keyed hash
(HMAC-SHA-256 under a key kept outside the database; plain SHA-256 for the entries written
before keys, whose ``key_id`` is ``sha256``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """One thing that happened and who (or what) did it.

    ``hash`` covers this entry's content and ``prev_hash``, so editing or deleting any entry
    breaks every hash after it (``manage.py verify_audit`` finds the first). The key is not
    in the database, so recomputing the chain takes more than database access; signed
    checkpoints of the head outside the database (``dunning.audit_checkpoints``) show
    entries cut off the end. On PostgreSQL, triggers also refuse UPDATE, DELETE and
    TRUNCATE on this table.
    """

    seq = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
    )
    actor_label = models.CharField(max_length=150)  # "ada.admin", "system", "model v3"
    action = models.CharField(max_length=80, db_index=True)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=100, blank=True)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # Which of settings.AUDIT_HMAC_KEYS keyed ``hash``; "sha256": unkeyed (before keys).
    key_id = models.CharField(max_length=20)

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} by {self.actor_label}"
