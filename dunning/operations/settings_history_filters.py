"""The settings history's filter: one kind of setting, or everything."""

from __future__ import annotations

from django.db.models import QuerySet
from django_filters import ChoiceFilter, FilterSet

from dunning.models import AuditEntry
from dunning.operations.settings_history import WHAT, settings_changes_of


class SettingsHistoryFilter(FilterSet):
    what = ChoiceFilter(
        choices=list(WHAT.items()), empty_label="everything", label="What", method="of_kind"
    )

    def of_kind(self, entries: QuerySet[AuditEntry], name: str, value: str) -> QuerySet[AuditEntry]:
        return settings_changes_of(entries, what=value)
