"""Version-guarded upserts: an older Chargebee payload never overwrites a newer one."""

from __future__ import annotations

from enum import StrEnum

from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone


class Applied(StrEnum):
    APPLIED = "applied"
    UNCHANGED = "unchanged"  # the same version was applied before (a re-run, a duplicate)
    STALE = "stale"  # the mirror already holds a newer version


def mirror_stubs_ensure(*, model: type[Model], cb_ids: dict[str, dict]) -> None:
    """Make sure a row exists for each referenced id (a stub at version 0 if not yet sent).

    ``cb_ids`` maps each id to the stub's required fields (e.g. an invoice's customer).
    """
    if cb_ids:
        model._default_manager.bulk_create(
            [model(cb_id=cb_id, **fields) for cb_id, fields in cb_ids.items()],
            ignore_conflicts=True,
        )


def mirror_upsert(*, model: type[Model], cb_id: str, version: int, fields: dict) -> Applied:
    # A conditional UPDATE first (the common case, one query): of two workers racing on
    # one row, only a newer version lands.
    updated = model._default_manager.filter(cb_id=cb_id, resource_version__lt=version).update(
        **fields, resource_version=version, mirrored_at=timezone.now()
    )
    if updated:
        return Applied.APPLIED
    current = (
        model._default_manager.filter(cb_id=cb_id)
        .values_list("resource_version", flat=True)
        .first()
    )
    if current is not None:
        return Applied.UNCHANGED if current == version else Applied.STALE
    try:
        with transaction.atomic():
            model._default_manager.create(cb_id=cb_id, resource_version=version, **fields)
    except IntegrityError:
        # Created concurrently by another worker: compare versions again.
        return mirror_upsert(model=model, cb_id=cb_id, version=version, fields=fields)
    return Applied.APPLIED


class References:
    """Stubs for the objects a payload points at, skipping those this event already wrote."""

    def __init__(self) -> None:
        self.known: set[tuple[type, str]] = set()

    def ensure(self, model: type[Model], cb_id: str, stub_fields: dict) -> None:
        if (model, cb_id) not in self.known:
            mirror_stubs_ensure(model=model, cb_ids={cb_id: stub_fields})
            self.known.add((model, cb_id))

    def written(self, model: type[Model], cb_id: str) -> None:
        self.known.add((model, cb_id))
