"""Writing and checking the audit trail.

Entries are numbered and chained under a lock (a transaction-scoped advisory lock on
PostgreSQL; SQLite's IMMEDIATE transactions already admit one writer), so concurrent
writers can never fork the chain. Each entry's hash is an HMAC under a key from settings
(``AUDIT_HMAC_KEYS``), never stored in the database: someone who can rewrite the table
cannot write hashes that verify. Entries from before keys (``key_id`` "sha256") verify as
plain SHA-256, and only as the chain's beginning: one after a keyed entry is a forgery.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from dunning.models import AuditEntry

GENESIS = "0" * 64
UNKEYED = "sha256"  # the key id of entries written before keys
_LOCK_KEY = 0x44554E57  # "DUNW"
MAX_PROBLEMS = 20


class UnknownAuditKey(Exception):
    pass


def audit_signing_key_id() -> str:
    return next(iter(settings.AUDIT_HMAC_KEYS))


def audit_key(key_id: str) -> bytes:
    try:
        return settings.AUDIT_HMAC_KEYS[key_id].encode()
    except KeyError:
        raise UnknownAuditKey(key_id) from None


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
    if entry.key_id != UNKEYED:
        body["key_id"] = entry.key_id  # a keyed entry cannot pass for an unkeyed one
    return json.dumps(body, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder).encode()


def entry_hash(entry: AuditEntry) -> str:
    """The hash ``entry`` must carry; raises ``UnknownAuditKey`` for a key not configured."""
    if entry.key_id == UNKEYED:
        return hashlib.sha256(_canonical(entry)).hexdigest()
    return hmac.new(audit_key(entry.key_id), _canonical(entry), hashlib.sha256).hexdigest()


def entry_problem(entry: AuditEntry) -> str | None:
    """Why ``entry``'s own hash does not verify, or None."""
    try:
        expected = entry_hash(entry)
    except UnknownAuditKey:
        return f"was hashed with key {entry.key_id!r}, which is not configured"
    if not hmac.compare_digest(expected, entry.hash):
        return "was altered after it was written"
    return None


# Entries recorded inside ``audit_batch`` wait here, in order, to be chained together.
_pending: ContextVar[list[AuditEntry] | None] = ContextVar("audit_pending", default=None)


def audit_record(
    *,
    action: str,
    actor=None,
    actor_label: str = "",
    target: Model | None = None,
    data: dict | None = None,
) -> AuditEntry:
    """Append one entry. ``actor`` is a user; ``actor_label`` names a system actor instead.

    Inside ``audit_batch`` the entry is chained and written when the batch ends."""
    entry = AuditEntry(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=actor_label or (actor.get_username() if actor is not None else "system"),
        action=action,
        object_type=target._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        # Round-trip so the hash covers exactly what the database will return.
        data=json.loads(json.dumps(data or {}, cls=DjangoJSONEncoder)),
        key_id=audit_signing_key_id(),
    )
    pending = _pending.get()
    if pending is not None:
        pending.append(entry)
    else:
        _chain_and_write([entry])
    return entry


@contextmanager
def audit_batch() -> Iterator[None]:
    """Write the entries recorded inside together when the block ends: one lock, one read of
    the chain's head and one insert instead of those three for each entry. The entries are
    the same, in the same order, stamped with the time they are chained at. Only inside a
    transaction that commits them with the rest (an exception inside writes none)."""
    if _pending.get() is not None:  # already batching: the outer batch writes them
        yield
        return
    token = _pending.set([])
    try:
        yield
        entries = _pending.get()
    finally:
        _pending.reset(token)
    if entries:
        # Inside the caller's transaction (see above): a failure here rolls it all back.
        _chain_and_write(entries, savepoint=False)


@contextmanager
def audit_discarded_on_error() -> Iterator[None]:
    """Inside ``audit_batch``: the entries recorded in this block are dropped if it raises
    (its savepoint rolled back what they describe); the batch's others stay."""
    pending = _pending.get()
    mark = len(pending) if pending is not None else 0
    try:
        yield
    except BaseException:
        if pending is not None:
            del pending[mark:]
        raise


def _chain_and_write(entries: list[AuditEntry], *, savepoint: bool = True) -> None:
    with transaction.atomic(savepoint=savepoint):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        last = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
        now = timezone.now()  # under the lock: times rise with the sequence
        for entry in entries:
            entry.seq, entry.at, entry.prev_hash = seq, now, prev_hash
            entry.hash = entry_hash(entry)
            seq, prev_hash = seq + 1, entry.hash
        if len(entries) == 1:
            entries[0].save(force_insert=True)
        else:
            AuditEntry.objects.bulk_create(entries)


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    reason: str


@dataclass
class ChainReport:
    checked: int = 0  # entries intact before the first problem
    entries: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    problems: list[ChainProblem] = field(default_factory=list)
    checkpoint: Checkpoint | None = None  # the latest signed checkpoint found

    def add(self, seq: int, reason: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(ChainProblem(seq, reason))


def audit_chain_walk() -> ChainReport:
    """Walk the whole chain and report every gap, broken link and altered entry."""
    report = ChainReport()
    expected_prev, expected_seq, keyed_since = GENESIS, 1, None
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=2000):
        if entry.seq != expected_seq:
            missing = (
                f"#{expected_seq}"
                if entry.seq == expected_seq + 1
                else f"#{expected_seq}-#{entry.seq - 1}"
            )
            report.add(expected_seq, f"entry {missing} is missing (a gap before #{entry.seq})")
        elif entry.prev_hash != expected_prev:
            report.add(entry.seq, "does not follow the previous entry")
        if problem := entry_problem(entry):
            report.add(entry.seq, problem)
        elif entry.key_id == UNKEYED and keyed_since is not None:
            # Unkeyed hashes anyone can compute: after keyed entries, a recomputed chain.
            report.add(
                entry.seq,
                f"is unkeyed after keyed entries began (#{keyed_since}): the chain was recomputed",
            )
        if entry.key_id != UNKEYED and keyed_since is None:
            keyed_since = entry.seq
        if not report.problems:
            report.checked += 1
        report.entries += 1
        report.head_seq, report.head_hash = entry.seq, entry.hash
        expected_prev, expected_seq = entry.hash, entry.seq + 1
    return report


def audit_verify() -> tuple[int, ChainProblem | None]:
    """How many entries verify before the first problem, and that problem (or None): the
    chain and the signed checkpoints kept outside the database."""
    report = audit_report()
    return report.checked, (report.problems[0] if report.problems else None)


def audit_report() -> ChainReport:
    report = audit_chain_walk()
    checkpoints_check(report=report)
    return report


# --- signed checkpoints, kept outside the database ----------------------------------------
# A keyed chain cannot be rewritten, but its end can be cut off: deleting the last entries
# leaves a shorter chain that verifies. A checkpoint (sequence number, head hash, time,
# signed with the same keys) written where the database's users cannot reach shows that.
@dataclass(frozen=True)
class Checkpoint:
    seq: int
    head: str
    at: str
    key_id: str
    signature: str

    @property
    def signed_text(self) -> bytes:
        return f"dunwell-audit-checkpoint|{self.seq}|{self.head}|{self.at}".encode()


def _sign(key_id: str, text: bytes) -> str:
    return hmac.new(audit_key(key_id), text, hashlib.sha256).hexdigest()


class CheckpointFile:
    """Checkpoints as JSON lines appended to a file (opened O_APPEND, fsynced). Make it
    append-only for the web and worker users too (``chattr +a``, or a path only a separate
    writer may change); docs/operations.md describes an object-locked bucket instead."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def append(self, checkpoint: Checkpoint) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(checkpoint.__dict__, sort_keys=True) + "\n"
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(descriptor, line.encode())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def lines(self) -> list[str]:
        if not self.path.exists():
            return []
        return [line for line in self.path.read_text().splitlines() if line.strip()]


def checkpoint_store() -> CheckpointFile:
    return CheckpointFile(settings.AUDIT_CHECKPOINT_PATH)


def audit_checkpoint_write() -> Checkpoint:
    """Sign the current head (seq 0 and GENESIS for an empty trail) and append it."""
    head = AuditEntry.objects.order_by("-seq").values_list("seq", "hash").first() or (0, GENESIS)
    key_id = audit_signing_key_id()
    unsigned = Checkpoint(head[0], head[1], timezone.now().isoformat(), key_id, "")
    checkpoint = Checkpoint(
        **{**unsigned.__dict__, "signature": _sign(key_id, unsigned.signed_text)}
    )
    checkpoint_store().append(checkpoint)
    return checkpoint


def _checkpoint_read(line: str) -> Checkpoint | None:
    """The checkpoint on ``line`` if it parses and its signature verifies, else None."""
    try:
        fields = json.loads(line)
        checkpoint = Checkpoint(
            seq=int(fields["seq"]),
            head=str(fields["head"]),
            at=str(fields["at"]),
            key_id=str(fields["key_id"]),
            signature=str(fields["signature"]),
        )
        expected = _sign(checkpoint.key_id, checkpoint.signed_text)
    except (ValueError, KeyError, TypeError, UnknownAuditKey):
        return None
    return checkpoint if hmac.compare_digest(expected, checkpoint.signature) else None


def checkpoints_check(*, report: ChainReport) -> None:
    """Hold the walked chain against every signed checkpoint: an entry a checkpoint saw
    must still exist (else the trail was truncated) with the hash it saw (else the chain
    was recomputed). Adds what it finds to ``report``; sets ``report.checkpoint``."""
    checkpoints: list[Checkpoint] = []
    for number, line in enumerate(checkpoint_store().lines(), start=1):
        checkpoint = _checkpoint_read(line)
        if checkpoint is None:
            report.add(
                0, f"checkpoint line {number} is not signed by a configured key (forged or damaged)"
            )
        else:
            checkpoints.append(checkpoint)
    report.checkpoint = max(checkpoints, key=lambda c: (c.seq, c.at), default=None)
    seen = {c.seq for c in checkpoints if c.seq}
    stored = dict(AuditEntry.objects.filter(seq__in=seen).values_list("seq", "hash"))
    latest = report.checkpoint
    if latest is not None and latest.seq > report.head_seq:
        report.add(
            latest.seq,
            f"is missing: the checkpoint of {latest.at} saw the trail up to "
            f"#{latest.seq}, it now ends at #{report.head_seq} (truncated)",
        )
    for checkpoint in sorted(checkpoints, key=lambda c: c.seq):
        hash_now = stored.get(checkpoint.seq)
        if hash_now is not None and not hmac.compare_digest(hash_now, checkpoint.head):
            report.add(
                checkpoint.seq,
                f"differs from the checkpoint of {checkpoint.at}: the chain was recomputed",
            )


def audit_checkpoint_job() -> int:
    """Anchor the audit trail's head outside the database; returns the sequence signed."""
    return audit_checkpoint_write().seq
