"""Exporting decided actions: one record per action, as JSON Lines or CSV.

Times are UTC in ISO 8601 with a trailing ``Z`` (``2026-11-03T08:00:00Z``); scores are
probabilities from 0 to 1 (null when no model scored); a record's ``decided_at`` is the
decision's as-of time, the moment whose knowledge it used, which ``--since`` filters on.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TextIO

from django.db.models import QuerySet

from dunning.models import Action

FORMATS = ("jsonl", "csv")
# export field -> Action column it comes from
_COLUMNS = {
    "invoice_id": "invoice_id",
    "customer_id": "customer_id",
    "action_id": "id",
    "action_type": "kind",
    "scheduled_for": "scheduled_for",
    "channel": "channel",
    "recovery_score": "decision__recovery_score",
    "retry_score": "decision__retry_score",
    "model_version": "decision__model_version",
    "mode": "mode",
    "state": "state",
    "risk": "risk",
    "needs_approval": "needs_approval",
    "segment": "decision__segment",
    "guardrail_version": "decision__guardrail_version",
    "decision_id": "decision_id",
    "decided_at": "decision__as_of",
}
FIELDS = tuple(_COLUMNS)
CHUNK = 2000


def utc_iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _record(row: dict) -> dict:
    record = {name: row[column] for name, column in _COLUMNS.items()}
    record["scheduled_for"] = utc_iso(record["scheduled_for"])
    record["decided_at"] = utc_iso(record["decided_at"])
    return record


def export_records(
    *, since: datetime, until: datetime | None = None, actions: QuerySet[Action] | None = None
) -> Iterator[dict]:
    """Actions of decisions as of ``since`` or later (before ``until``), oldest first;
    ``actions`` narrows the export (to what one person may see)."""
    actions = (Action.objects.all() if actions is None else actions).filter(
        decision__as_of__gte=since
    )
    if until is not None:
        actions = actions.filter(decision__as_of__lt=until)
    rows = actions.order_by("decision__as_of", "decision_id", "id").values(*_COLUMNS.values())
    for row in rows.iterator(chunk_size=CHUNK):
        yield _record(row)


def export_write(*, records: Iterator[dict], fmt: str, out: TextIO) -> int:
    """Write ``records`` to ``out``; returns how many were written."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    written = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=FIELDS)
        writer.writeheader()
        for record in records:
            writer.writerow(record)
            written += 1
        return written
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        written += 1
    return written
