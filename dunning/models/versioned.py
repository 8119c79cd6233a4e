"""What every versioned settings table shares: who saved a version, when, why, and whether
it is the one in force.

Versions are never edited: a change or a rollback adds a version, and exactly one version
of each document is active (``dunning.governance.versioning`` writes them). Each table keeps
its own ``version`` column, because the guardrails' is unique across the whole table (one
document) while the others' are unique per document.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class VersionedDocument(models.Model):
    version: int  # declared by each table, see above

    active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        abstract = True
