"""Versioned settings that are not guardrails or prompts (roles, channel settings, ...).

Guardrails and prompt templates keep their own typed version tables; everything else an
admin may change from the UI is one JSON document per ``key``, versioned the same way:
versions are never edited, a change or a rollback adds a version, and exactly one
version per key is active.
"""

from __future__ import annotations

from django.db import models

from dunning.models.versioned import VersionedDocument


class ConfigVersion(VersionedDocument):
    key = models.CharField(max_length=40)
    version = models.PositiveIntegerField()
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["key", "-version"]
        permissions = [
            ("view_channel_settings", "Can see the channel settings"),
            ("change_channel_settings", "Can change the channel settings"),
            ("change_roles", "Can change who holds which role"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["key", "version"], name="config_version_unique"),
            models.UniqueConstraint(
                fields=["key"], condition=models.Q(active=True), name="one_active_config"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} v{self.version}{' (active)' if self.active else ''}"
