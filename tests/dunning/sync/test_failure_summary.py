"""The per-invoice failure summary and each invoice's first payment attempt follow the
mirror, whatever order events arrive in."""

from __future__ import annotations

import random

import pytest
from django.core.management import call_command

from dunning.models import (
    ChargebeeEvent,
    EventState,
    InvoiceFailure,
    InvoiceFirstAttempt,
    Transaction,
)
from dunning.sync.ingest import event_store
from dunning.sync.mirror.failures import failure_summary_rebuild
from dunning.sync.processing import event_process, events_process_batch
from sandbox.simulator.run import simulate_history
from sandbox.store import Sandbox
from tests.dunning.sync.test_bulk_processing import reset_mirror

pytestmark = pytest.mark.django_db


def summary_snapshot() -> list[dict]:
    return sorted(
        (
            {k: v for k, v in row.items() if k not in {"id", "refreshed_at"}}
            for row in InvoiceFailure.objects.values()
        ),
        key=lambda row: row["invoice_cb_id"],
    )


def first_attempts_snapshot() -> list[dict]:
    return sorted(
        (
            {k: v for k, v in row.items() if k not in {"id", "refreshed_at"}}
            for row in InvoiceFirstAttempt.objects.values()
        ),
        key=lambda row: row["invoice_cb_id"],
    )


def history_events(seed: int = 11) -> list[dict]:
    sandbox = Sandbox()
    simulate_history(sandbox, customers=25, months=3, seed=seed, end=1_790_000_000)
    return list(sandbox.events)


def store(payloads: list[dict]) -> list[int]:
    return [event_store(payload=payload).event.pk for payload in payloads]


def reset() -> None:
    reset_mirror()
    InvoiceFailure.objects.all().delete()
    InvoiceFirstAttempt.objects.all().delete()
    ChargebeeEvent.objects.all().delete()


def test_shuffled_batches_one_by_one_and_a_rebuild_give_the_same_summary():
    events = history_events()
    for pk in store(events):
        event_process(event_pk=pk)
    in_order = summary_snapshot()
    assert any(row["is_recovered"] for row in in_order), "the history should recover some"
    assert any(not row["is_recovered"] for row in in_order)

    reset()
    shuffled = list(events)
    rng = random.Random(5)
    rng.shuffle(shuffled)
    shuffled += rng.sample(shuffled, 20)  # redelivered duplicates
    pks = store(shuffled)
    for start in range(0, len(pks), 37):
        events_process_batch(event_pks=pks[start : start + 37])
    assert summary_snapshot() == in_order

    reset()
    for pk in reversed(store(events)):
        event_process(event_pk=pk)
    assert summary_snapshot() == in_order

    assert failure_summary_rebuild() == len(in_order)
    assert summary_snapshot() == in_order


def _invoice_events(events: list[dict]) -> tuple[str, list[dict]]:
    """An invoice that failed and was then paid, with its payment events."""
    by_invoice: dict[str, list[dict]] = {}
    for event in events:
        invoice = (event["content"].get("invoice") or {}).get("id")
        if invoice and event["event_type"] in ("payment_failed", "payment_succeeded"):
            by_invoice.setdefault(invoice, []).append(event)
    for invoice, found in by_invoice.items():
        types = [e["event_type"] for e in found]
        if "payment_failed" in types and "payment_succeeded" in types:
            return invoice, found
    raise AssertionError("the history should have a recovered invoice")


def test_a_late_failure_does_not_undo_a_recovery_or_move_the_first_failure():
    invoice, events = _invoice_events(history_events())
    for pk in store(events):
        event_process(event_pk=pk)
    in_order = InvoiceFailure.objects.values().get(invoice_cb_id=invoice)
    assert in_order["is_recovered"]

    reset()
    # The success first, then the declines (newest first): each older event arrives late.
    late = sorted(events, key=lambda e: e["event_type"] != "payment_succeeded")
    late = [late[0], *reversed(late[1:])]
    for pk in store(late):
        result = event_process(event_pk=pk)
        assert result in (EventState.PROCESSED, EventState.STALE)
    out_of_order = InvoiceFailure.objects.values().get(invoice_cb_id=invoice)

    ignored = {"id", "refreshed_at"}
    assert {k: v for k, v in out_of_order.items() if k not in ignored} == {
        k: v for k, v in in_order.items() if k not in ignored
    }


def test_processing_an_event_twice_changes_nothing():
    invoice, events = _invoice_events(history_events())
    pks = store(events)
    for pk in pks:
        event_process(event_pk=pk)
    before = summary_snapshot()

    ChargebeeEvent.objects.update(state=EventState.RECEIVED)
    events_process_batch(event_pks=pks)

    assert summary_snapshot() == before
    assert InvoiceFailure.objects.filter(invoice_cb_id=invoice).count() == 1


def test_rebuild_command_summarises_a_mirror_loaded_some_other_way(capsys):
    for pk in store(history_events()):
        event_process(event_pk=pk)
    expected = summary_snapshot()
    InvoiceFailure.objects.all().delete()

    call_command("rebuild_failure_summary")

    assert summary_snapshot() == expected
    assert f"{len(expected)} failed invoices summarised" in capsys.readouterr().out


def test_first_attempts_from_shuffled_batches_one_by_one_and_a_rebuild_agree():
    events = history_events()
    for pk in store(events):
        event_process(event_pk=pk)
    in_order = first_attempts_snapshot()
    statuses = {row["status"] for row in in_order}
    assert statuses == {"success", "failure"}, "the history should fail some first attempts"
    assert len(in_order) > len(summary_snapshot()), "invoices paid at once have a row too"

    reset()
    shuffled = list(events)
    rng = random.Random(8)
    rng.shuffle(shuffled)
    shuffled += rng.sample(shuffled, 20)  # redelivered duplicates
    pks = store(shuffled)
    for start in range(0, len(pks), 29):
        events_process_batch(event_pks=pks[start : start + 29])
    assert first_attempts_snapshot() == in_order

    reset()
    for pk in reversed(store(events)):
        event_process(event_pk=pk)
    assert first_attempts_snapshot() == in_order

    InvoiceFirstAttempt.objects.all().delete()
    failure_summary_rebuild()
    assert first_attempts_snapshot() == in_order


def test_each_first_attempt_is_the_invoices_earliest_payment_attempt_then_lowest_id():
    for pk in store(history_events()):
        event_process(event_pk=pk)
    earliest: dict[str, Transaction] = {}
    attempts = Transaction.objects.filter(
        type="payment", status__in=["success", "failure"], date__isnull=False
    ).exclude(invoice_id=None)
    for attempt in sorted(attempts, key=lambda t: (t.date, t.cb_id)):
        earliest.setdefault(attempt.invoice_id, attempt)

    rows = {row.invoice_cb_id: row for row in InvoiceFirstAttempt.objects.all()}

    assert earliest and set(rows) == set(earliest)
    for invoice, attempt in earliest.items():
        row = rows[invoice]
        assert (row.transaction_cb_id, row.attempted_at, row.status) == (
            attempt.cb_id,
            attempt.date,
            attempt.status,
        )
        assert (row.currency_code, row.gateway) == (attempt.currency_code, attempt.gateway)


def test_an_earlier_attempt_arriving_late_becomes_the_first():
    invoice, events = _invoice_events(history_events())
    for pk in store(events):
        event_process(event_pk=pk)
    in_order = InvoiceFirstAttempt.objects.values().get(invoice_cb_id=invoice)
    assert in_order["status"] == "failure"

    reset()
    # The success first, then the declines (newest first): the first attempt arrives last.
    late = sorted(events, key=lambda e: e["event_type"] != "payment_succeeded")
    late = [late[0], *reversed(late[1:])]
    pks = store(late)
    event_process(event_pk=pks[0])
    assert InvoiceFirstAttempt.objects.get(invoice_cb_id=invoice).status == "success"
    for pk in pks[1:]:
        event_process(event_pk=pk)
    out_of_order = InvoiceFirstAttempt.objects.values().get(invoice_cb_id=invoice)

    ignored = {"id", "refreshed_at"}
    assert {k: v for k, v in out_of_order.items() if k not in ignored} == {
        k: v for k, v in in_order.items() if k not in ignored
    }


def test_rebuild_command_restores_the_first_attempts(capsys):
    for pk in store(history_events()):
        event_process(event_pk=pk)
    expected = first_attempts_snapshot()
    InvoiceFirstAttempt.objects.all().delete()

    call_command("rebuild_failure_summary")

    assert first_attempts_snapshot() == expected
    assert f"{len(expected)} first payment attempts" in capsys.readouterr().out
