"""Every settings change, from the audit trail: guardrails, prompt templates, channel
settings, people and roles. Newest first, with who, when, why, the diff, and the page
where it can be rolled back."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Max, QuerySet
from django.urls import reverse

from dunning.decisions.policy_settings.channel_settings import CHANNEL_SETTINGS
from dunning.decisions.policy_settings.guardrail_edits import guardrail_changes
from dunning.decisions.policy_settings.offline_reminders import OFFLINE_REMINDERS
from dunning.decisions.views import VERSIONS_PER_PAGE
from dunning.governance.config_versions import CONFIG_KINDS
from dunning.governance.exchange_rates import EXCHANGE_RATES
from dunning.governance.versioned_pages import ChangeLine, diff_lines
from dunning.models import AuditEntry, Channel, GuardrailPolicy, Purpose
from dunning.operations.role_assignments import ROLES

ACTIONS = {
    "guardrails.changed": "changed",
    "prompt_template.changed": "changed",
    "config.changed": "changed",
    "config.rolled_back": "rolled back",
    "config.changed_outside": "changed outside Dunwell",
}
# What each filter choice shows: (audit actions, ConfigVersion key or None).
WHAT = {
    "guardrails": "Guardrails",
    "prompts": "Prompt templates",
    CHANNEL_SETTINGS.key: CHANNEL_SETTINGS.label,
    ROLES.key: ROLES.label,
    EXCHANGE_RATES.key: EXCHANGE_RATES.label,
}
PAGES = {
    CHANNEL_SETTINGS.key: "dunning:channel_settings",
    ROLES.key: "dunning:people",
    EXCHANGE_RATES.key: "dunning:exchange_rates",
    OFFLINE_REMINDERS.key: "dunning:offline_reminders",
}


@dataclass(frozen=True)
class HistoryRow:
    entry: AuditEntry
    what: str
    how: str  # "changed", "rolled back", "changed outside Dunwell"
    version: int | None
    note: str
    changes: list[ChangeLine]
    url: str


def settings_history_entries() -> QuerySet[AuditEntry]:
    """Every settings change the audit trail holds, newest first."""
    return AuditEntry.objects.filter(action__in=ACTIONS).order_by("-seq")


def settings_changes_of(entries: QuerySet[AuditEntry], *, what: str) -> QuerySet[AuditEntry]:
    """The ``entries`` about one kind of setting (a key of ``WHAT``): each kind is written
    under its own audit action, the versioned settings under one action with their key."""
    if what == "guardrails":
        return entries.filter(action="guardrails.changed")
    if what == "prompts":
        return entries.filter(action="prompt_template.changed")
    if what in CONFIG_KINDS:
        return entries.filter(action__startswith="config.", data__key=what)
    return entries


def _at_version(url: str, data: dict) -> str:
    """The page, opened at the version the entry is about (its row has that id)."""
    return f"{url}#version-{data['version']}" if data.get("version") else url


def _guardrails_at(version: int | None) -> str:
    """The guardrails page, on the page of its version history that lists ``version``."""
    url = reverse("dunning:guardrails")
    if not version:
        return url
    latest = GuardrailPolicy.objects.aggregate(n=Max("version"))["n"] or version
    page = (latest - version) // VERSIONS_PER_PAGE + 1
    return f"{url}?versions={page}#version-{version}"


def _row(entry: AuditEntry) -> HistoryRow:
    data = entry.data or {}
    how = ACTIONS[entry.action]
    if entry.action == "guardrails.changed":
        diff = data.get("diff") or {}
        changes = guardrail_changes(
            before={name: d.get("from") for name, d in diff.items()},
            after={name: d.get("to") for name, d in diff.items()},
        )
        lines = [ChangeLine(c.label, c.before, c.after) for c in changes]
        return HistoryRow(
            entry,
            "Guardrails",
            how,
            data.get("version"),
            data.get("note", ""),
            lines,
            _guardrails_at(data.get("version")),
        )
    if entry.action == "prompt_template.changed":
        purpose, channel = data.get("purpose", ""), data.get("channel", "")
        purposes, channels = dict(Purpose.choices), dict(Channel.choices)
        what = (
            f"Prompt template: {purposes.get(purpose, purpose)}, {channels.get(channel, channel)}"
        )
        before = f"v{data['previous_version']}" if data.get("previous_version") else "default"
        lines = [ChangeLine("text", before, f"v{data.get('version')}")]
        url = _at_version(
            f"{reverse('dunning:prompt_templates')}?purpose={purpose}&channel={channel}", data
        )
        return HistoryRow(entry, what, how, data.get("version"), data.get("note", ""), lines, url)
    key = data.get("key", "")
    kind = CONFIG_KINDS.get(key)
    if data.get("restored_version"):
        how = f"rolled back to v{data['restored_version']}"
    url = _at_version(reverse(PAGES[key]), data) if key in PAGES else ""
    return HistoryRow(
        entry,
        kind.label if kind else key,
        how,
        data.get("version"),
        data.get("note", ""),
        diff_lines(data.get("diff") or {}),
        url,
    )


def settings_history_rows(entries) -> list[HistoryRow]:
    return [_row(entry) for entry in entries]
