"""Writing and checking the audit trail.

Entries are numbered and chained under a lock (a transaction-scoped advisory lock on
PostgreSQL; SQLite's IMMEDIATE transactions already admit one writer), so concurrent
writers can never fork the chain.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from dunning.models import AuditEntry

GENESIS = "0" * 64
_LOCK_KEY = 0x44554E57  # "DUNW"


def _canonical(entry: AuditEntry) -> bytes:
    body = {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor_id": entry.actor_id,
        "actor": entry.actor_label,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "data": entry.data,
        "prev_hash": entry.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder).encode()


def entry_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(_canonical(entry)).hexdigest()


def audit_record(
    *,
    action: str,
    actor=None,
    actor_label: str = "",
    target: Model | None = None,
    data: dict | None = None,
) -> AuditEntry:
    """Append one entry. ``actor`` is a user; ``actor_label`` names a system actor instead."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        last = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
        entry = AuditEntry(
            seq=seq,
            at=timezone.now(),
            actor=actor if actor is not None and actor.is_authenticated else None,
            actor_label=actor_label or (actor.get_username() if actor is not None else "system"),
            action=action,
            object_type=target._meta.label_lower if target is not None else "",
            object_id=str(target.pk) if target is not None else "",
            # Round-trip so the hash covers exactly what the database will return.
            data=json.loads(json.dumps(data or {}, cls=DjangoJSONEncoder)),
            prev_hash=prev_hash,
        )
        entry.hash = entry_hash(entry)
        entry.save(force_insert=True)
    return entry


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    reason: str


def audit_verify() -> tuple[int, ChainProblem | None]:
    """Walk the chain; return how many entries were checked and the first problem, if any."""
    expected_prev, expected_seq, checked = GENESIS, 1, 0
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
        if entry.seq != expected_seq:
            return checked, ChainProblem(expected_seq, f"entry #{expected_seq} is missing")
        if entry.prev_hash != expected_prev:
            return checked, ChainProblem(entry.seq, "does not follow the previous entry")
        if entry_hash(entry) != entry.hash:
            return checked, ChainProblem(entry.seq, "was altered after it was written")
        expected_prev, expected_seq, checked = entry.hash, entry.seq + 1, checked + 1
    return checked, None
