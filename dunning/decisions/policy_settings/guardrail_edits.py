"""Admins editing the guardrails from the UI: permission, the edit itself, and its history.

``guardrails_update`` / ``guardrails_rollback`` (guardrails.py) write versions for anyone,
the system included; the functions here are what a person goes through, so the
permission is checked here as well as in the page.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied

from dunning.decisions.policy_settings.guardrails import (
    guardrails_active,
    guardrails_rollback,
    guardrails_update,
    guardrails_values,
)
from dunning.decisions.policy_settings.segments import SEGMENT_LABELS, SEGMENTS
from dunning.governance.versioning import VersionChangedMeanwhile, VersionEditRefused
from dunning.models import AutomationMode, GuardrailPolicy

CHANGE_PERMISSION = "dunning.change_guardrails"

FIELD_LABELS = {
    "default_mode": "Mode for other segments",
    "review_threshold": "Review when recovery score is below",
    "review_amount": "Review invoices from",
    "review_ltv": "Review customers with lifetime value from",
    "contacts_per_week": "Contacts per customer per week",
    "confidence_floor": "Smallest chance worth a retry",
    "max_retries": "Dunwell retries per failed payment",
    "dunning_window_days": "Dunning window",
    "exploration_share": "Auto-mode retries explored at a random allowed slot",
}
PERCENT_FIELDS = ("review_threshold", "confidence_floor", "exploration_share")
MONEY_FIELDS = ("review_amount", "review_ltv")  # minor units of the main currency


# The pair every versioned document raises, under the names the guardrails' callers know.
GuardrailEditRefused = VersionEditRefused
GuardrailsChangedMeanwhile = VersionChangedMeanwhile


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class VersionRow:
    policy: GuardrailPolicy
    changes: list[Change]
    first: bool  # no version before it: ``changes`` lists its starting values


def guardrail_value_label(name: str, value) -> str:
    if value is None:
        return "—"
    if name in PERCENT_FIELDS:
        return f"{value * 100:g}%"
    if name in MONEY_FIELDS:
        return f"{value / 100:,.2f}"
    if name == "dunning_window_days":
        return f"{value} days"
    if name in ("default_mode", "mode"):
        return AutomationMode(value).label.split(":")[0] if value else "same as other segments"
    return str(value)


def _values(policy: GuardrailPolicy | None) -> dict:
    return guardrails_values(policy) if policy else {}


def guardrail_changes(*, before: dict, after: dict) -> list[Change]:
    """What differs, one line per setting; automation modes one line per segment."""
    changes = []
    old_modes, new_modes = before.get("segment_modes") or {}, after.get("segment_modes") or {}
    for segment in sorted(set(SEGMENTS) | set(old_modes) | set(new_modes)):
        old, new = old_modes.get(segment, ""), new_modes.get(segment, "")
        if old != new:
            label = f"Mode for {SEGMENT_LABELS.get(segment, segment)}"
            changes.append(
                Change(
                    label,
                    guardrail_value_label("mode", old) if before else "—",
                    guardrail_value_label("mode", new),
                )
            )
    for name, label in FIELD_LABELS.items():
        old, new = before.get(name), after.get(name)
        if old != new:
            changes.append(
                Change(label, guardrail_value_label(name, old), guardrail_value_label(name, new))
            )
    return changes


def guardrail_versions(*, policies: list[GuardrailPolicy]) -> list[VersionRow]:
    """``policies`` newest first (one page of the history), each with its diff."""
    if not policies:
        return []
    oldest = policies[-1].version
    predecessor = GuardrailPolicy.objects.filter(version__lt=oldest).order_by("-version").first()
    chain = [*policies, predecessor]
    return [
        VersionRow(
            policy,
            guardrail_changes(before=_values(chain[i + 1]), after=_values(policy)),
            first=chain[i + 1] is None,
        )
        for i, policy in enumerate(policies)
    ]


def _require_permission(user) -> None:
    if user is None or not user.has_perm(CHANGE_PERMISSION):
        raise PermissionDenied("Only admins may change the guardrails.")


def guardrails_edit(*, user, changes: dict, note: str, based_on: int) -> GuardrailPolicy:
    """A person's edit of the version they were shown (``based_on``), with their reason."""
    _require_permission(user)
    note = note.strip()
    if not note:
        raise GuardrailEditRefused("Say why you are changing the guardrails.")
    guardrails_active()  # the defaults, as a version to edit on top of
    return guardrails_update(
        changes=changes,
        user=user,
        note=note,
        based_on=based_on,
        unchanged="Nothing changed: these are the guardrails in force.",
    )


def guardrails_restore(*, user, version: int, note: str = "") -> GuardrailPolicy:
    """Make an old version's values current again (raises DoesNotExist for an unknown one)."""
    _require_permission(user)
    guardrails_active()
    return guardrails_rollback(
        version=version,
        user=user,
        note=note,
        unchanged=f"Version {version}'s values are already in force.",
    )
