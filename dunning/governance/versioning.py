"""One way to change a versioned settings document, whichever table keeps it.

The JSON documents (``config_versions``: channel settings, roles, connections, ...), the
guardrails and the prompt templates each keep their own table (a ``VersionedDocument``), but
change the same way, here: a change is made on top of the version the person saw or is
refused; it adds a version and deactivates the one in force under a lock; its diff goes to
the audit trail; a rollback is a new version equal to an old one, so history stays whole.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from django.db import transaction
from django.db.models import Max, QuerySet

from dunning.governance.audit import audit_record
from dunning.helpers.errors import ApplicationConflict, ApplicationError
from dunning.models import VersionedDocument

# The table of one store: ConfigVersion, GuardrailPolicy or PromptTemplate.
Doc = TypeVar("Doc", bound=VersionedDocument)


class VersionEditRefused(ApplicationError):
    """The change would not do what the person meant (bad value, nothing changed, no reason)."""


class VersionChangedMeanwhile(VersionEditRefused, ApplicationConflict):
    """Someone saved another version after the form was shown."""


def stale_message(current: VersionedDocument | None, based_on: int) -> str:
    number = current.version if current else 0
    return (
        f"version {number} was saved after you opened the page; your change was not saved over it"
    )


def _as_is(values: dict) -> dict:
    return values


@dataclass(frozen=True)
class VersionedStore(Generic[Doc]):
    """Where one document's versions live, and what a version holds."""

    model: type[Doc]
    # A version's values, as compared and diffed.
    values: Callable[[Doc], dict]
    # The columns that pick the document out of a shared table ({"key": "channels"}); its
    # audit entries carry them too.
    scope: Mapping[str, object] = field(default_factory=dict)
    # The columns a new version is written with, from its values.
    columns: Callable[[dict], dict] = _as_is
    # The values in force before anybody saved a version.
    defaults: Callable[[], dict] = dict
    # What of the values the audit trail may hold (a prompt's text goes there as a hash).
    audited: Callable[[dict], dict] = _as_is
    # Diff nested documents key by key ("quiet_hours.start"), else each value whole.
    nested: bool = True
    # The defaults are shown as version 0 (prompt templates): saving them unchanged as the
    # first version changes nothing. Elsewhere a first version equal to the defaults is
    # allowed, since it keeps them in force when the built-in defaults change.
    defaults_are_version_0: bool = False
    # What a person is told when someone saved a version after their form was shown.
    stale: Callable[[Doc | None, int], str] = stale_message


def _flatten(data, prefix: str = "") -> dict:
    if isinstance(data, dict) and data:
        flat = {}
        for name, value in data.items():
            flat.update(_flatten(value, f"{prefix}.{name}" if prefix else str(name)))
        return flat
    return {prefix: data} if prefix else {}


def versions_diff(*, before: dict | None, after: dict, nested: bool = True) -> dict[str, dict]:
    """What differs between two versions' values: path -> {"from": old, "to": new}."""
    old = _flatten(before or {}) if nested else dict(before or {})
    new = _flatten(after) if nested else dict(after)
    return {
        path: {"from": old.get(path), "to": new.get(path)}
        for path in sorted(set(old) | set(new))
        if old.get(path) != new.get(path)
    }


def versions_of(*, store: VersionedStore[Doc]) -> QuerySet:
    return store.model._default_manager.filter(**store.scope)


def version_active(*, store: VersionedStore[Doc]) -> Doc | None:
    return versions_of(store=store).filter(active=True).first()


def version_values(*, store: VersionedStore[Doc], version: Doc | None) -> dict:
    """``version``'s values; the defaults when there is none."""
    return store.values(version) if version is not None else store.defaults()


def version_save(
    *,
    store: VersionedStore[Doc],
    values: dict,
    user,
    note: str,
    action: str,
    based_on: int | None = None,
    merge: bool = False,
    unchanged: str | None = None,
    extra: Mapping[str, object] | None = None,
) -> Doc:
    """Add a version holding ``values``, make it the one in force, and audit it with its diff.

    ``based_on`` is the version the person saw (0: the defaults); if another one is in force
    now, the change is refused with ``VersionChangedMeanwhile``. With ``merge``, ``values``
    are changes to the values in force. ``unchanged`` is the refusal when nothing would
    change (None: a new version anyway, as for a change the system makes).
    """
    with transaction.atomic():
        current = versions_of(store=store).select_for_update().filter(active=True).first()
        if based_on is not None and based_on != (current.version if current else 0):
            raise VersionChangedMeanwhile(store.stale(current, based_on))
        before = version_values(store=store, version=current)
        after = {**before, **values} if merge else dict(values)
        first = current is None and not store.defaults_are_version_0
        if (
            unchanged
            and not first
            and not versions_diff(before=before, after=after, nested=store.nested)
        ):
            raise VersionEditRefused(unchanged)
        number = (versions_of(store=store).aggregate(n=Max("version"))["n"] or 0) + 1
        versions_of(store=store).filter(active=True).update(active=False)
        saved = store.model._default_manager.create(
            **store.scope,
            version=number,
            active=True,
            created_by=user,
            note=note,
            **store.columns(after),
        )
        previous = current.version if current else (0 if store.defaults_are_version_0 else None)
        audit_record(
            action=action,
            actor=user,
            target=saved,
            data={
                **store.scope,
                "version": number,
                "previous_version": previous,
                "note": note,
                "diff": versions_diff(
                    before=store.audited(before), after=store.audited(after), nested=store.nested
                ),
                **(extra or {}),
            },
        )
    return saved


def version_rollback(
    *,
    store: VersionedStore[Doc],
    version: int,
    user,
    note: str,
    action: str,
    unchanged: str | None = None,
    problems: Callable[[dict], list[str]] | None = None,
) -> Doc:
    """Make ``version``'s values current again as a new version (its audit entry names the
    version restored). Raises the model's DoesNotExist for a version there never was, and
    ``VersionEditRefused`` when the old values have ``problems`` by today's rules."""
    values = store.values(versions_of(store=store).get(version=version))
    if problems and (found := problems(values)):
        raise VersionEditRefused("; ".join(found))
    return version_save(
        store=store,
        values=values,
        user=user,
        note=note,
        action=action,
        unchanged=unchanged,
        extra={"restored_version": version},
    )
