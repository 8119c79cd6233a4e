"""Versioned settings: read the active version, change it, roll it back, show the history.

One ``ConfigKind`` per settings document (say channel settings, or role membership) names
who may change it, its defaults and how to check a new value. Every change and rollback
adds a version with who, when, why and a diff, and writes the same diff to the audit
trail. Guardrails and prompt templates keep their own tables
(dunning.decisions.policy_settings.guardrails, dunning.actions.channels.prompts); all three
are written by ``dunning.governance.versioning``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder

from dunning.governance.versioning import (
    VersionChangedMeanwhile,
    VersionEditRefused,
    VersionedStore,
    version_rollback,
    version_save,
    versions_diff,
)
from dunning.models import ConfigVersion

# The one pair every versioned document raises (guardrails and prompts name it too).
ConfigEditRefused = VersionEditRefused
ConfigChangedMeanwhile = VersionChangedMeanwhile


@dataclass(frozen=True)
class ConfigKind:
    key: str
    label: str
    change_permission: str  # "app_label.codename"
    defaults: Callable[[], dict]
    # Returns the problems with a proposed document; empty when it may be saved.
    problems: Callable[[dict], list[str]] = field(default=lambda data: [])


CONFIG_KINDS: dict[str, ConfigKind] = {}


def config_kind_register(kind: ConfigKind) -> ConfigKind:
    CONFIG_KINDS[kind.key] = kind
    return kind


@dataclass(frozen=True)
class ConfigChange:
    path: str  # "quiet_hours.start", "members.alice"
    before: object
    after: object


@dataclass(frozen=True)
class ConfigVersionRow:
    version: ConfigVersion
    changes: list[ConfigChange]
    first: bool


def _plain(data: dict) -> dict:
    # What the JSON column will give back, so "nothing changed" compares like with like.
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder, sort_keys=True))


def config_changes(*, before: dict | None, after: dict) -> list[ConfigChange]:
    return [
        ConfigChange(path=path, before=change["from"], after=change["to"])
        for path, change in versions_diff(before=before, after=after).items()
    ]


# Inside ``config_snapshot``: every document's active version, read once.
_snapshot: ContextVar[dict[str, ConfigVersion] | None] = ContextVar("config_snapshot", default=None)


@contextmanager
def config_snapshot() -> Iterator[None]:
    """Read every document's active version in one query, for work that reads several of
    them (a decision reads channel settings, the reminder schedule, the final actions and
    the sequence). Read at the start of each unit of work, so a change saved by an admin
    applies to the next one."""
    if _snapshot.get() is not None:
        yield
        return
    token = _snapshot.set({row.key: row for row in ConfigVersion.objects.filter(active=True)})
    try:
        yield
    finally:
        _snapshot.reset(token)


def config_active(*, kind: ConfigKind) -> ConfigVersion | None:
    snapshot = _snapshot.get()
    if snapshot is None:
        return ConfigVersion.objects.filter(key=kind.key, active=True).first()
    row = snapshot.get(kind.key)
    if row is None:
        return None
    # Each reader gets its own copy, as it would from a query of its own.
    shared = copy.copy(row)
    shared.data = copy.deepcopy(row.data)
    return shared


def config_current(*, kind: ConfigKind) -> dict:
    """The active document, or the kind's defaults when nobody has saved one yet."""
    active = config_active(kind=kind)
    return dict(active.data) if active else _plain(kind.defaults())


def config_store(*, kind: ConfigKind) -> VersionedStore:
    """``kind``'s versions: one JSON document per key, in the table all documents share."""
    return VersionedStore(
        model=ConfigVersion,
        scope={"key": kind.key},
        values=lambda version: version.data,
        columns=lambda data: {"data": data},
        defaults=lambda: _plain(kind.defaults()),
    )


def _check_person(*, kind: ConfigKind, user, note: str) -> str:
    if user is None or not user.has_perm(kind.change_permission):
        raise PermissionDenied(f"you may not change {kind.label.lower()}")
    if not note.strip():
        raise ConfigEditRefused("say why it changes")
    return note.strip()


def config_update(
    *, kind: ConfigKind, data: dict, user, note: str, based_on: int | None = None
) -> ConfigVersion:
    """A person saves a new version of ``kind`` (permission and reason required)."""
    note = _check_person(kind=kind, user=user, note=note)
    if problems := kind.problems(data):
        raise ConfigEditRefused("; ".join(problems))
    return version_save(
        store=config_store(kind=kind),
        values=_plain(data),
        user=user,
        note=note,
        action="config.changed",
        based_on=based_on,
        unchanged="nothing changed",
    )


def config_rollback(*, kind: ConfigKind, version: int, user, note: str = "") -> ConfigVersion:
    """Make an earlier version current again, as a new version so the history stays whole."""
    note = _check_person(kind=kind, user=user, note=note or f"rolled back to version {version}")
    return version_rollback(
        store=config_store(kind=kind),
        version=version,
        user=user,
        note=note,
        action="config.rolled_back",
        unchanged="nothing changed",
        problems=kind.problems,
    )


def config_history(*, kind: ConfigKind, limit: int = 50) -> list[ConfigVersionRow]:
    versions = list(
        ConfigVersion.objects.filter(key=kind.key).select_related("created_by")[: limit + 1]
    )
    rows = []
    for index, version in enumerate(versions[:limit]):
        previous = versions[index + 1] if index + 1 < len(versions) else None
        rows.append(
            ConfigVersionRow(
                version=version,
                changes=config_changes(
                    before=previous.data if previous else None, after=version.data
                ),
                first=previous is None,
            )
        )
    return rows


def config_record_outside(*, kind: ConfigKind, data: dict, note: str) -> ConfigVersion:
    """Record a change made outside Dunwell's pages (Django's admin, a shell) as a version.

    No person is named (nobody here made it); the audit entry says where it was seen.
    """
    return version_save(
        store=config_store(kind=kind),
        values=_plain(data),
        user=None,
        note=note,
        action="config.changed_outside",
        unchanged="nothing changed",
    )
