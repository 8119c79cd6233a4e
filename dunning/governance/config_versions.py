"""Versioned settings: read the active version, change it, roll it back, show the history.

One ``ConfigKind`` per settings document (say channel settings, or role membership) names
who may change it, its defaults and how to check a new value. Every change and rollback
adds a version with who, when, why and a diff, and writes the same diff to the audit
trail. Guardrails and prompt templates keep their own tables
(dunning.decisions.policy_settings.guardrails, dunning.actions.channels.prompts) but follow
the same rules.
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
from django.db import transaction
from django.db.models import Max

from dunning.governance.audit import audit_record
from dunning.helpers.errors import ApplicationConflict, ApplicationError
from dunning.models import ConfigVersion


class ConfigEditRefused(ApplicationError):
    """The change would not do what the person meant (bad value, nothing changed, no reason)."""


class ConfigChangedMeanwhile(ConfigEditRefused, ApplicationConflict):
    """Someone saved another version after the form was shown."""


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


def _flatten(data, prefix: str = "") -> dict:
    if isinstance(data, dict) and data:
        flat = {}
        for name, value in data.items():
            flat.update(_flatten(value, f"{prefix}.{name}" if prefix else str(name)))
        return flat
    return {prefix: data}


def config_changes(*, before: dict | None, after: dict) -> list[ConfigChange]:
    old, new = _flatten(before or {}), _flatten(after)
    return [
        ConfigChange(path=path, before=old.get(path), after=new.get(path))
        for path in sorted(set(old) | set(new))
        if old.get(path) != new.get(path)
    ]


# Inside ``config_snapshot``: every document's active version, read once.
_snapshot: ContextVar[dict[str, ConfigVersion] | None] = ContextVar("config_snapshot",
                                                                   default=None)  # fmt: skip


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


def _save(*, kind: ConfigKind, data: dict, user, note: str, action: str,
          based_on: int | None, extra: dict) -> ConfigVersion:  # fmt: skip
    data = _plain(data)
    with transaction.atomic():
        current = (
            ConfigVersion.objects.select_for_update().filter(key=kind.key, active=True).first()
        )
        current_number = current.version if current else 0
        if based_on is not None and based_on != current_number:
            raise ConfigChangedMeanwhile(
                f"version {current_number} was saved after you opened the page; "
                "your change was not saved over it"
            )
        before = current.data if current else _plain(kind.defaults())
        changes = config_changes(before=before, after=data)
        if not changes and current is not None:
            raise ConfigEditRefused("nothing changed")
        number = (
            ConfigVersion.objects.filter(key=kind.key).aggregate(n=Max("version"))["n"] or 0
        ) + 1
        ConfigVersion.objects.filter(key=kind.key, active=True).update(active=False)
        saved = ConfigVersion.objects.create(
            key=kind.key, version=number, data=data, active=True, created_by=user, note=note
        )
        audit_record(
            action=action,
            actor=user,
            actor_label="" if user else "system",
            target=saved,
            data={
                "key": kind.key,
                "version": number,
                "previous_version": current_number or None,
                "note": note,
                "diff": {c.path: {"from": c.before, "to": c.after} for c in changes},
                **extra,
            },
        )
    return saved


def _check_person(*, kind: ConfigKind, user, note: str) -> str:
    if user is None or not user.has_perm(kind.change_permission):
        raise PermissionDenied(f"you may not change {kind.label.lower()}")
    if not note.strip():
        raise ConfigEditRefused("say why it changes")
    return note.strip()


def config_update(*, kind: ConfigKind, data: dict, user, note: str,
                  based_on: int | None = None) -> ConfigVersion:  # fmt: skip
    """A person saves a new version of ``kind`` (permission and reason required)."""
    note = _check_person(kind=kind, user=user, note=note)
    if problems := kind.problems(data):
        raise ConfigEditRefused("; ".join(problems))
    return _save(
        kind=kind, data=data, user=user, note=note, action="config.changed",
        based_on=based_on, extra={},
    )  # fmt: skip


def config_rollback(*, kind: ConfigKind, version: int, user, note: str = "") -> ConfigVersion:
    """Make an earlier version current again, as a new version so the history stays whole."""
    old = ConfigVersion.objects.get(key=kind.key, version=version)
    note = _check_person(kind=kind, user=user, note=note or f"rolled back to version {version}")
    if problems := kind.problems(old.data):
        raise ConfigEditRefused("; ".join(problems))
    return _save(
        kind=kind, data=old.data, user=user, note=note, action="config.rolled_back",
        based_on=None, extra={"restored_version": version},
    )  # fmt: skip


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
    return _save(
        kind=kind, data=data, user=None, note=note, action="config.changed_outside",
        based_on=None, extra={},
    )  # fmt: skip
