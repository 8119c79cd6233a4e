"""Version-guarded upserts: an older Chargebee payload never overwrites a newer one."""

from __future__ import annotations

from enum import StrEnum

from django.db.models import Model
from django.utils import timezone


class Applied(StrEnum):
    APPLIED = "applied"
    UNCHANGED = "unchanged"  # the same version was applied before (a re-run, a duplicate)
    STALE = "stale"  # the mirror already holds a newer version


def mirror_stub(*, model: type[Model], cb_id: str) -> Model:
    """The row for ``cb_id``, created as a stub (version 0) if Chargebee has not sent it yet."""
    obj, _ = model.objects.get_or_create(cb_id=cb_id)
    return obj


def mirror_upsert(*, model: type[Model], cb_id: str, version: int, fields: dict) -> Applied:
    obj, created = model.objects.get_or_create(
        cb_id=cb_id, defaults={**fields, "resource_version": version}
    )
    if created:
        return Applied.APPLIED
    # A conditional UPDATE: of two workers racing on one row, only a newer version lands.
    updated = model.objects.filter(pk=obj.pk, resource_version__lt=version).update(
        **fields, resource_version=version, mirrored_at=timezone.now()
    )
    if updated:
        return Applied.APPLIED
    current = model.objects.filter(pk=obj.pk).values_list("resource_version", flat=True).first()
    return Applied.UNCHANGED if current == version else Applied.STALE
