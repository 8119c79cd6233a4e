"""The audit trail against someone who controls its database: a superuser with the
append-only triggers switched off deletes, edits and recomputes entries. The keyed hashes
and the signed checkpoints outside the database show each of it (SQLite: the same edits
with no triggers to switch off)."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from dunning.governance.audit import (
    GENESIS,
    UNKEYED,
    _canonical,
    audit_checkpoint_job,
    audit_checkpoint_write,
    audit_record,
    audit_report,
    audit_verify,
)
from dunning.models import AuditEntry

pytestmark = pytest.mark.django_db


def write(n: int, action: str = "test.step") -> list[AuditEntry]:
    return [audit_record(action=action, actor_label="tester", data={"n": i}) for i in range(n)]


def as_superuser(*statements: tuple[str, list]) -> None:
    """Rewrite the table with its triggers off: on PostgreSQL as the superuser the tests
    connect as (``ALTER TABLE ... DISABLE TRIGGER``, then on again)."""
    with transaction.atomic(), connection.cursor() as cursor:
        postgres = connection.vendor == "postgresql"
        if postgres:
            cursor.execute("SET LOCAL dunwell.allow_audit_purge = 'off'")
            cursor.execute("ALTER TABLE dunning_auditentry DISABLE TRIGGER USER")
        for sql, params in statements:
            cursor.execute(sql, params)
        if postgres:
            cursor.execute("ALTER TABLE dunning_auditentry ENABLE TRIGGER USER")


def recompute_from(seq: int, *, key_id: str | None = None) -> None:
    """What an attacker can do without the key: recompute every hash from ``seq`` on with
    plain SHA-256 (keeping or relabelling the key id)."""
    entries = list(AuditEntry.objects.filter(seq__gte=seq - 1).order_by("seq"))
    prev_hash = entries[0].hash if entries[0].seq < seq else GENESIS
    statements = []
    for entry in entries:
        if entry.seq < seq:
            continue
        entry.prev_hash = prev_hash
        entry.key_id = key_id or entry.key_id
        entry.hash = hashlib.sha256(_canonical(entry)).hexdigest()
        statements.append(
            (
                "UPDATE dunning_auditentry SET prev_hash = %s, hash = %s, key_id = %s "
                "WHERE seq = %s",
                [entry.prev_hash, entry.hash, entry.key_id, entry.seq],
            )
        )
        prev_hash = entry.hash
    as_superuser(*statements)


def reasons() -> list[str]:
    return [problem.reason for problem in audit_report().problems]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the triggers are PostgreSQL's")
def test_the_append_only_triggers_are_really_off_while_the_superuser_tampers():
    write(3)
    as_superuser(("DELETE FROM dunning_auditentry WHERE seq = 3", []))
    assert AuditEntry.objects.count() == 2


def test_new_entries_are_keyed_with_a_key_that_is_not_in_the_database(settings):
    entry = write(1)[0]

    assert entry.key_id == next(iter(settings.AUDIT_HMAC_KEYS))
    assert entry.hash != hashlib.sha256(_canonical(entry)).hexdigest()
    assert audit_verify() == (1, None)


def test_deleting_the_last_eight_entries_after_a_checkpoint_is_reported_as_truncation():
    write(20)
    audit_checkpoint_write()
    as_superuser(("DELETE FROM dunning_auditentry WHERE seq > 12", []))

    checked, problem = audit_verify()

    assert (checked, problem.seq) == (12, 20)
    assert "truncated" in problem.reason and "ends at #12" in problem.reason
    with pytest.raises(CommandError, match="truncated"):
        call_command("verify_audit")


def test_truncated_then_refilled_to_the_same_length_is_reported_as_recomputed():
    write(10)
    audit_checkpoint_write()
    as_superuser(("DELETE FROM dunning_auditentry WHERE seq > 6", []))
    write(4, action="test.replacement")  # keyed by the application itself, with the real key

    assert any("recomputed" in reason for reason in reasons())


def test_an_altered_approval_with_every_later_hash_recomputed_is_found():
    write(5)
    approval = audit_record(action="action.approved", actor_label="mona", data={"amount": 49})
    write(5)
    as_superuser(
        (
            "UPDATE dunning_auditentry SET data = %s WHERE seq = %s",
            ['{"amount": 4900}', approval.seq],
        )
    )
    recompute_from(approval.seq)

    checked, problem = audit_verify()

    assert (checked, problem.seq) == (5, approval.seq)
    assert "altered" in problem.reason


def test_a_chain_recomputed_as_unkeyed_entries_is_found_as_a_downgrade():
    write(8)
    as_superuser(("UPDATE dunning_auditentry SET data = %s WHERE seq = 5", ['{"n": 99}']))
    recompute_from(5, key_id=UNKEYED)

    _checked, problem = audit_verify()

    assert problem.seq == 5 and "unkeyed after keyed entries" in problem.reason


def test_the_whole_chain_rewritten_unkeyed_is_caught_by_the_checkpoint():
    write(6)
    audit_checkpoint_write()
    recompute_from(1, key_id=UNKEYED)

    problems = audit_report().problems

    assert [problem.seq for problem in problems] == [6]
    assert "differs from the checkpoint" in problems[0].reason
    assert "recomputed" in problems[0].reason


def test_an_entry_cut_out_of_the_middle_is_reported_as_a_gap():
    write(10)
    as_superuser(("DELETE FROM dunning_auditentry WHERE seq IN (4, 5)", []))

    checked, problem = audit_verify()

    assert (checked, problem.seq) == (3, 4)
    assert "#4-#5 is missing" in problem.reason


def test_a_forged_checkpoint_line_is_reported(settings):
    write(2)
    audit_checkpoint_write()
    line = json.loads(settings.AUDIT_CHECKPOINT_PATH.read_text())
    with settings.AUDIT_CHECKPOINT_PATH.open("a") as file:
        file.write(json.dumps({**line, "seq": 1, "signature": "0" * 64}) + "\n")

    assert any("checkpoint line 2 is not signed" in reason for reason in reasons())


def test_entries_from_before_keys_still_verify_and_keyed_ones_follow_them(settings):
    with transaction.atomic():
        prev = GENESIS
        for seq in (1, 2):
            legacy = AuditEntry(
                seq=seq,
                at="2026-11-01T00:00:00+00:00",
                actor_label="system",
                action="legacy.step",
                data={"n": seq},
                prev_hash=prev,
                key_id=UNKEYED,
            )
            legacy.at = AuditEntry._meta.get_field("at").to_python(legacy.at)
            legacy.hash = hashlib.sha256(_canonical(legacy)).hexdigest()  # as before keys
            legacy.save(force_insert=True)
            prev = legacy.hash
    write(3)

    assert audit_verify() == (5, None)
    assert list(AuditEntry.objects.values_list("key_id", flat=True)) == [
        UNKEYED,
        UNKEYED,
        *[next(iter(settings.AUDIT_HMAC_KEYS))] * 3,
    ]


def test_rotating_the_key_keeps_old_entries_and_checkpoints_verifying(settings):
    settings.AUDIT_HMAC_KEYS = {"k1": "first secret"}
    write(3)
    audit_checkpoint_write()
    settings.AUDIT_HMAC_KEYS = {"k2": "second secret", "k1": "first secret"}
    write(2)
    audit_checkpoint_job()

    assert audit_verify() == (5, None)
    assert list(AuditEntry.objects.values_list("key_id", flat=True)) == ["k1"] * 3 + ["k2"] * 2

    settings.AUDIT_HMAC_KEYS = {"k2": "second secret"}  # k1 dropped too early
    assert "'k1', which is not configured" in reasons()[0]


def test_verify_audit_names_the_latest_checkpoint(capsys):
    write(3)
    call_command("audit_checkpoint")
    call_command("verify_audit")

    out = capsys.readouterr().out
    assert "Checkpoint #3" in out
    assert "intact: 3 entries; latest checkpoint: #3" in out
