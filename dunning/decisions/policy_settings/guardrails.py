"""The guardrails in force, and changing them: every change is a new, audited version."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from dunning.decisions.plan import GuardrailSnapshot
from dunning.decisions.timing.exploration import MAX_EXPLORATION_SHARE
from dunning.governance.versioning import (
    VersionedStore,
    version_rollback,
    version_save,
    versions_diff,
)
from dunning.models import GuardrailPolicy

EDITABLE_FIELDS = tuple(
    name for name in GuardrailSnapshot.__dataclass_fields__ if name != "version"
)


def guardrails_values(policy: GuardrailPolicy) -> dict:
    return {name: getattr(policy, name) for name in EDITABLE_FIELDS}


def guardrails_stale(current: GuardrailPolicy | None, based_on: int) -> str:
    who = current.created_by.get_username() if current and current.created_by else "the system"
    return (
        f"{who} saved version {current.version if current else 0} while you were editing "
        f"version {based_on}; the form now shows their values: check them and save again."
    )


# One document in its own table. Each setting is diffed whole, so the segment modes are one
# change ("segment_modes"), which the history shows one line per segment.
GUARDRAILS = VersionedStore(
    model=GuardrailPolicy, values=guardrails_values, nested=False, stale=guardrails_stale
)


def guardrails_active() -> GuardrailPolicy:
    policy = GuardrailPolicy.objects.filter(active=True).first()
    if policy is None:  # a database flushed by a test, or a broken install: be safe
        policy = guardrails_update(changes={}, user=None, note="defaults restored (shadow mode)")
    return policy


_in_force: ContextVar[GuardrailSnapshot | None] = ContextVar("guardrails_in_force", default=None)


@contextmanager
def guardrails_snapshot() -> Iterator[None]:
    """Read the guardrails once for a unit of work that decides several times (a decision
    job's batch); a version saved meanwhile applies to the next one."""
    if _in_force.get() is not None:
        yield
        return
    token = _in_force.set(GuardrailSnapshot.of(guardrails_active()))
    try:
        yield
    finally:
        _in_force.reset(token)


def guardrails_in_force() -> GuardrailSnapshot:
    """The guardrails a decision is made under: the unit of work's snapshot, or read now."""
    return _in_force.get() or GuardrailSnapshot.of(guardrails_active())


def guardrails_diff(old: GuardrailPolicy | None, new: dict) -> dict:
    before = guardrails_values(old) if old else {}
    return versions_diff(before=before, after={**before, **new}, nested=False)


def guardrails_problems(changes: dict) -> list[str]:
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        return [f"not a guardrail: {', '.join(sorted(unknown))}"]
    share = changes.get("exploration_share", 0.0)
    if not 0.0 <= share <= MAX_EXPLORATION_SHARE:
        return [f"the exploration share is 0 to {MAX_EXPLORATION_SHARE:.0%}, not {share}"]
    return []


def guardrails_update(
    *,
    changes: dict,
    user,
    note: str = "",
    based_on: int | None = None,
    unchanged: str | None = None,
) -> GuardrailPolicy:
    """Add a version with ``changes`` applied to the active one, and make it active
    (``based_on`` and ``unchanged``: see ``version_save``)."""
    if problems := guardrails_problems(changes):
        raise ValueError(problems[0])
    return version_save(
        store=GUARDRAILS,
        values=changes,
        merge=True,
        user=user,
        note=note,
        action="guardrails.changed",
        based_on=based_on,
        unchanged=unchanged,
    )


def guardrails_rollback(
    *, version: int, user, note: str = "", unchanged: str | None = None
) -> GuardrailPolicy:
    """Make an earlier version's values current again (as a new version, so history stays)."""
    return version_rollback(
        store=GUARDRAILS,
        version=version,
        user=user,
        note=note or f"rollback to v{version}",
        action="guardrails.changed",
        unchanged=unchanged,
        problems=guardrails_problems,
    )
