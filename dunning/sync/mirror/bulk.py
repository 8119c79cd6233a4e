"""Apply many resources to the mirror at once: the backfill and catch-up path.

The same rule as one event at a time (a newer ``resource_version`` wins), with a handful of
statements per model instead of several per event.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.utils import timezone

from dunning.sync.mirror.resources import MODEL_ORDER, Reference
from dunning.sync.mirror.upsert import mirror_stubs_ensure, mirror_upsert

CHUNK = 500

# One resource from one event: (model, Chargebee id, version, fields, references).
Item = tuple[type[Model], str, int, dict, list[Reference]]


def _chunks(values: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _versions(model: type[Model], cb_ids: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(cb_ids):
        found.update(
            model._default_manager.filter(cb_id__in=chunk).values_list("cb_id", "resource_version")
        )
    return found


def mirror_apply_bulk(*, items: list[Item]) -> dict[tuple[type[Model], str], int | None]:
    """Write the newest version of every resource in ``items``.

    Returns the version each row had before (None if it did not exist), so callers can tell
    an applied event from a stale one.
    """
    latest: dict[type[Model], dict[str, tuple[int, dict]]] = defaultdict(dict)
    stubs: dict[type[Model], dict[str, dict]] = defaultdict(dict)
    for model, cb_id, version, fields, references in items:
        current = latest[model].get(cb_id)
        if current is None or version > current[0]:
            latest[model][cb_id] = (version, fields)
        for ref_model, ref_id, stub_fields in references:
            stubs[ref_model].setdefault(ref_id, stub_fields)

    before: dict[tuple[type[Model], str], int | None] = {}
    for model in MODEL_ORDER:
        rows = latest.get(model, {})
        wanted = {cb_id: f for cb_id, f in stubs.get(model, {}).items() if cb_id not in rows}
        if wanted:
            mirror_stubs_ensure(model=model, cb_ids=wanted)
        if not rows:
            continue
        existing = _versions(model, list(rows))
        for cb_id in rows:
            before[(model, cb_id)] = existing.get(cb_id)
        new = [
            model(cb_id=cb_id, resource_version=version, **fields)
            for cb_id, (version, fields) in rows.items()
            if cb_id not in existing
        ]
        try:
            with transaction.atomic():
                for chunk in _chunks(new):
                    model._default_manager.bulk_create(chunk)
        except IntegrityError:
            # Someone created some of these meanwhile: fall back to one guarded upsert each.
            for obj in new:
                version, fields = rows[obj.cb_id]
                mirror_upsert(model=model, cb_id=obj.cb_id, version=version, fields=fields)
        newer = [
            (cb_id, version, fields)
            for cb_id, (version, fields) in rows.items()
            if cb_id in existing and existing[cb_id] < version
        ]
        mirror_update_many(model=model, rows=newer)
    return before


def mirror_update_many(*, model: type[Model], rows: list[tuple[str, int, dict]]) -> None:
    """The version-guarded UPDATE of ``mirror_upsert``, prepared once and run for every row.

    Rows are grouped by the fields they set (the ``card`` and ``payment_source`` resources
    fill different columns of the same table).
    """
    groups: dict[tuple[str, ...], list[tuple[str, int, dict]]] = defaultdict(list)
    for row in rows:
        groups[tuple(sorted(row[2]))].append(row)
    now = timezone.now()
    table = connection.ops.quote_name(model._meta.db_table)
    for names, group in groups.items():
        fields = [(name, model._meta.get_field(name)) for name in names]
        version_field = model._meta.get_field("resource_version")
        mirrored_field = model._meta.get_field("mirrored_at")
        assignments = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for _, f in fields)
        sql = (
            f"UPDATE {table} SET {assignments}, resource_version = %s, mirrored_at = %s "  # noqa: S608
            "WHERE cb_id = %s AND resource_version < %s"
        )
        mirrored = mirrored_field.get_db_prep_save(now, connection)
        params = [
            [
                *(f.get_db_prep_save(values[name], connection) for name, f in fields),
                version_field.get_db_prep_save(version, connection),
                mirrored,
                cb_id,
                version,
            ]
            for cb_id, version, values in group
        ]
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)
