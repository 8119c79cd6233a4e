"""The batch path (backfill, catch-up) leaves the mirror exactly as one-by-one processing does."""

from __future__ import annotations

import random

import pytest

from dunning.models import (
    ChargebeeEvent,
    Customer,
    EventState,
    Invoice,
    PaymentSource,
    Subscription,
    Transaction,
)
from dunning.sync.ingest import event_store
from dunning.sync.processing import event_process, events_process_batch
from sandbox.simulator.run import simulate_history
from sandbox.store import Sandbox
from tests.conftest import load_sample

pytestmark = pytest.mark.django_db

MIRROR = (Customer, PaymentSource, Subscription, Invoice, Transaction)
IGNORED_COLUMNS = {"id", "mirrored_at"}


def mirror_snapshot() -> dict:
    return {
        model.__name__: sorted(
            (
                {k: v for k, v in row.items() if k not in IGNORED_COLUMNS}
                for row in model.objects.values()
            ),
            key=lambda row: row["cb_id"],
        )
        for model in MIRROR
    }


def reset_mirror() -> None:
    for model in reversed(MIRROR):
        model.objects.all().delete()
    ChargebeeEvent.objects.update(state=EventState.RECEIVED, attempts=0, outcome={})


@pytest.fixture
def shuffled_history():
    """A small simulated business, delivered in a shuffled order with some duplicates."""
    sandbox = Sandbox()
    simulate_history(sandbox, customers=25, months=3, seed=11, end=1_790_000_000)
    events = list(sandbox.events)
    rng = random.Random(5)
    rng.shuffle(events)
    events += rng.sample(events, 20)
    for payload in events:
        event_store(payload=payload)
    return events


def test_batches_and_single_events_build_the_same_mirror(shuffled_history):
    pks = list(ChargebeeEvent.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(pks), 37):
        events_process_batch(event_pks=pks[start : start + 37])
    by_batch = mirror_snapshot()
    batch_states = dict(ChargebeeEvent.objects.values_list("pk", "state"))

    reset_mirror()
    for pk in pks:
        event_process(event_pk=pk)

    assert mirror_snapshot() == by_batch
    assert by_batch["Invoice"], "the history should have produced invoices"
    # Not every event's state has to match (a batch sees later events at once), but no
    # event may fail, and every event ends in a final state.
    assert set(batch_states.values()) <= {EventState.PROCESSED, EventState.STALE}


def test_batch_marks_an_older_event_stale():
    newer = event_store(payload=load_sample("invoice_updated")).event
    older = event_store(payload=load_sample("invoice_generated")).event
    events_process_batch(event_pks=[newer.pk])

    counts = events_process_batch(event_pks=[older.pk])

    older.refresh_from_db()
    assert counts == {EventState.STALE: 1}
    assert older.outcome == {"invoice:19": "stale"}
    assert Invoice.objects.get(cb_id="19").status == "payment_due"


def test_batch_skips_events_already_processed():
    event = event_store(payload=load_sample("payment_failed")).event
    event_process(event_pk=event.pk)

    assert events_process_batch(event_pks=[event.pk]) == {}
    event.refresh_from_db()
    assert event.attempts == 1


def test_one_bad_event_does_not_hold_back_its_batch():
    good = event_store(payload=load_sample("payment_failed")).event
    broken = load_sample("invoice_updated")
    del broken["content"]["invoice"]["id"]
    bad = event_store(payload=broken).event

    events_process_batch(event_pks=[good.pk, bad.pk])

    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.state == EventState.PROCESSED
    assert (bad.state, bad.last_error) == (
        EventState.FAILED,
        "content.invoice.id is missing: invoice not mirrored",
    )
