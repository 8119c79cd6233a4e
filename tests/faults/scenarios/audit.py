"""Someone who controls the database rewrites the audit trail (on PostgreSQL the superuser
with its append-only triggers off): ``manage.py verify_audit``, holding the keyed chain
against the signed checkpoint kept outside the database, names each rewrite."""

from __future__ import annotations

import io

from django.core.management import CommandError, call_command

from dunning.governance.audit import UNKEYED, audit_checkpoint_write, audit_record
from dunning.models import AuditEntry
from tests.dunning.governance.test_audit_anchoring import as_superuser, recompute_from, write
from tests.faults.scenarios.core import Env, Row, timed, vendor


def _verify_audit() -> str:
    """What ``manage.py verify_audit`` says: "" when intact, else the break it reports."""
    try:
        call_command("verify_audit", stdout=io.StringIO(), stderr=io.StringIO())
    except CommandError as error:
        return str(error)
    return ""


def _restore(snapshot: dict[int, dict], *, from_seq: int) -> None:
    """Put the trail back as it was from ``from_seq`` on, the same way it was rewritten."""
    as_superuser(("DELETE FROM dunning_auditentry WHERE seq >= %s", [from_seq]))
    AuditEntry.objects.bulk_create(
        AuditEntry(**row) for seq, row in sorted(snapshot.items()) if seq >= from_seq
    )


def _truncate(head: int, _round: int) -> tuple[int, str]:
    as_superuser(("DELETE FROM dunning_auditentry WHERE seq > %s", [head - 8]))
    return head - 7, "truncated"


def _alter_and_recompute(head: int, round_: int) -> tuple[int, str]:
    approval = AuditEntry.objects.filter(action="action.approved").order_by("seq")[round_]
    as_superuser(
        (
            "UPDATE dunning_auditentry SET data = %s WHERE seq = %s",
            ['{"amount": 4900}', approval.seq],
        )
    )
    recompute_from(approval.seq)
    return approval.seq, "altered"


def _cut_a_gap(head: int, round_: int) -> tuple[int, str]:
    first = head // 2 - 3 * round_
    as_superuser(("DELETE FROM dunning_auditentry WHERE seq IN (%s, %s)", [first, first + 1]))
    return first, "missing"


def _recompute_all_unkeyed(head: int, _round: int) -> tuple[int, str]:
    recompute_from(1, key_id=UNKEYED)
    return 1, "recomputed"


TAMPERINGS = (
    ("the last 8 entries deleted", _truncate),
    ("an approval altered, every later hash recomputed", _alter_and_recompute),
    ("two entries cut out of the middle", _cut_a_gap),
    ("the whole chain recomputed without the key", _recompute_all_unkeyed),
)


@timed
def audit_tampering(env: Env) -> Row:
    entries = env.n(test=40, bench=2_000)
    rounds = env.n(test=1, bench=5)
    row = Row(
        name="audit trail rewritten by the database's superuser",
        injected=f"{entries:,} entries and a signed checkpoint; then, {rounds} x each and "
        "undone between: "
        + "; ".join(name for name, _ in TAMPERINGS)
        + (
            " (PostgreSQL superuser, append-only triggers disabled)"
            if vendor() == "postgresql"
            else ""
        ),
        expected="manage.py verify_audit names every rewrite (truncation, alteration, gap, "
        "recomputation) and says intact once the trail is put back",
    )
    for n in range(entries // 10):
        write(9)
        audit_record(action="action.approved", actor_label="fault.manager", data={"amount": n})
    audit_checkpoint_write()
    baseline = _verify_audit()
    snapshot = {row["seq"]: row for row in AuditEntry.objects.values()}
    head = max(snapshot)
    found: dict[str, int] = {}
    undetected = false_alarms = 0
    for name, tamper in TAMPERINGS:
        for round_ in range(rounds):
            from_seq, kind = tamper(head, round_)
            said = _verify_audit()
            detected = kind in said
            found[name] = found.get(name, 0) + detected
            undetected += not detected
            _restore(snapshot, from_seq=from_seq)
            false_alarms += bool(_verify_audit())
    tampered = len(TAMPERINGS) * rounds
    row.other_zeros = {"rewrites undetected": undetected}
    row.behaved = not baseline and not undetected and not false_alarms
    row.happened = (
        f"intact before ({baseline or 'yes'}); {tampered - undetected}/{tampered} rewrites "
        "reported by verify_audit ("
        + ", ".join(f"{name}: {count}/{rounds}" for name, count in found.items())
        + f"); intact again after each undo: "
        f"{tampered - false_alarms}/{tampered}"
    )
    return row
