"""The audit trail: chained, verifiable, append-only on PostgreSQL, and written by actions."""

from __future__ import annotations

import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from dunning.governance.audit import GENESIS, audit_batch, audit_record, audit_verify
from dunning.models import AuditEntry
from dunning.sync.ingest import event_store
from tests.conftest import load_sample

pytestmark = pytest.mark.django_db


def write(n: int) -> list[AuditEntry]:
    return [audit_record(action="test.step", actor_label="tester", data={"n": i}) for i in range(n)]


def tamper(sql: str, params: list) -> None:
    """Change the table behind the application's back (on PostgreSQL, as a superuser who
    switches the triggers off for this transaction)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)


def test_entries_form_a_chain_that_verifies():
    entries = write(5)

    assert entries[0].prev_hash == GENESIS
    assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]
    assert audit_verify() == (5, None)


def test_entries_written_together_follow_the_chain_in_the_order_recorded():
    write(2)
    with transaction.atomic(), audit_batch():
        write(3)
        assert AuditEntry.objects.count() == 2  # written when the batch ends
    write(1)

    entries = list(AuditEntry.objects.order_by("seq"))
    assert [e.data.get("n") for e in entries] == [0, 1, 0, 1, 2, 0]
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
    assert audit_verify() == (6, None)


def test_entries_of_a_batch_that_failed_are_not_written():
    write(1)
    with pytest.raises(ValueError), transaction.atomic(), audit_batch():
        write(2)
        raise ValueError("the decision could not be recorded")

    assert AuditEntry.objects.count() == 1
    assert audit_verify() == (1, None)


def test_verify_reports_the_first_altered_entry():
    write(5)
    tamper("UPDATE dunning_auditentry SET data = %s WHERE seq = 3", ['{"n": 99}'])

    checked, problem = audit_verify()

    assert (checked, problem.seq) == (2, 3)
    assert "altered" in problem.reason
    with pytest.raises(CommandError, match="broken at entry #3"):
        call_command("verify_audit")


def test_verify_reports_a_missing_entry():
    write(4)
    tamper("DELETE FROM dunning_auditentry WHERE seq = 2", [])

    _checked, problem = audit_verify()

    assert problem.seq == 2 and "missing" in problem.reason


def test_verify_audit_command_says_intact(capsys):
    write(3)
    call_command("verify_audit")
    assert "intact: 3 entries" in capsys.readouterr().out


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the triggers are PostgreSQL's")
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE dunning_auditentry SET action = 'nothing happened'",
        "DELETE FROM dunning_auditentry",
        "TRUNCATE dunning_auditentry",
    ],
)
def test_database_refuses_to_change_or_remove_entries(statement):
    write(2)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL dunwell.allow_audit_purge = 'off'")
        cursor.execute(statement)
    assert AuditEntry.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain():
    errors: list[Exception] = []

    def writer(n: int) -> None:
        try:
            for i in range(5):
                audit_record(action="test.concurrent", actor_label=f"writer-{n}", data={"i": i})
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert list(AuditEntry.objects.values_list("seq", flat=True)) == list(range(1, 21))
    assert audit_verify() == (20, None)


def test_reprocessing_an_event_is_audited_with_the_admin_as_actor(client, admin_user):
    event = event_store(payload=load_sample("payment_failed")).event
    client.force_login(admin_user)

    client.post(reverse("dunning:event_reprocess", args=[event.pk]))

    entry = AuditEntry.objects.get(action="event.reprocess")
    assert (entry.actor, entry.actor_label) == (admin_user, "ada.admin")
    assert entry.data == {
        "event_id": "ev_3Nl7oGgQqGG8UK4s",
        "previous_state": "received",
        "result": "processed",
    }


def test_admin_reads_and_verifies_the_audit_trail_and_agents_cannot(client, admin_user, agent):
    write(2)
    client.force_login(admin_user)
    body = client.get(reverse("dunning:audit_list"), {"verify": 1}).content.decode()
    assert "Intact: 2 entries checked" in body and "test.step" in body

    client.force_login(agent)
    assert client.get(reverse("dunning:audit_list")).status_code == 403
