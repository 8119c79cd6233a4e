"""The guardrails in force, and changing them: every change is a new, audited version."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max

from dunning.decisions.policy import GuardrailSnapshot
from dunning.decisions.timing.exploration import MAX_EXPLORATION_SHARE
from dunning.governance.audit import audit_record
from dunning.models import GuardrailPolicy

EDITABLE_FIELDS = tuple(
    name for name in GuardrailSnapshot.__dataclass_fields__ if name != "version"
)


def guardrails_active() -> GuardrailPolicy:
    policy = GuardrailPolicy.objects.filter(active=True).first()
    if policy is None:  # a database flushed by a test, or a broken install: be safe
        policy = guardrails_update(changes={}, user=None, note="defaults restored (shadow mode)")
    return policy


def guardrails_diff(old: GuardrailPolicy | None, new: dict) -> dict:
    return {
        name: {"from": getattr(old, name, None), "to": value}
        for name, value in new.items()
        if old is None or getattr(old, name) != value
    }


def guardrails_update(*, changes: dict, user, note: str = "") -> GuardrailPolicy:
    """Add a version with ``changes`` applied to the active one, and make it active."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not a guardrail: {', '.join(sorted(unknown))}")
    share = changes.get("exploration_share", 0.0)
    if not 0.0 <= share <= MAX_EXPLORATION_SHARE:
        raise ValueError(f"the exploration share is 0 to {MAX_EXPLORATION_SHARE:.0%}, not {share}")
    with transaction.atomic():
        current = GuardrailPolicy.objects.select_for_update().filter(active=True).first()
        values = {name: getattr(current, name) for name in EDITABLE_FIELDS} if current else {}
        values.update(changes)
        number = (GuardrailPolicy.objects.aggregate(n=Max("version"))["n"] or 0) + 1
        GuardrailPolicy.objects.filter(active=True).update(active=False)
        policy = GuardrailPolicy.objects.create(
            version=number, active=True, created_by=user, note=note, **values
        )
        audit_record(
            action="guardrails.changed",
            actor=user,
            actor_label="" if user else "system",
            target=policy,
            data={"version": number, "previous_version": current.version if current else None,
                  "note": note, "diff": guardrails_diff(current, values)},
        )  # fmt: skip
    return policy


def guardrails_rollback(*, version: int, user, note: str = "") -> GuardrailPolicy:
    """Make an earlier version's values current again (as a new version, so history stays)."""
    old = GuardrailPolicy.objects.get(version=version)
    values = {name: getattr(old, name) for name in EDITABLE_FIELDS}
    return guardrails_update(changes=values, user=user, note=note or f"rollback to v{version}")
