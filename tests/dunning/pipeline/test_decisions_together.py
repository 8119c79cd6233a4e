"""A decision job decides about a whole processed batch of events, as deciding them one
event at a time would: same decisions, same actions, one per event, failures kept apart."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from bench.synthetic_models import live_decline
from dunning.governance.audit import audit_verify
from dunning.models import AuditEntry, Decision
from dunning.pipeline.triggers import decisions_for_events
from dunning.sync.ingest import event_store
from dunning.sync.processing import events_process_batch
from tests.conftest import load_sample

pytestmark = pytest.mark.django_db


def _declines(count: int) -> list[dict]:
    sample = load_sample("payment_failed")
    start = int(timezone.now().timestamp()) - 3_600
    declines = [live_decline(sample, n, occurred_at=start + 60 * n) for n in range(count)]
    # The last one is a second invoice of the first customer, failing later with a new card.
    second = declines[-1]["content"]
    for resource in (second["invoice"], second["transaction"], second["subscription"]):
        resource["customer_id"] = "cus_live_0"
    second["customer"]["id"] = second["payment_source"]["customer_id"] = "cus_live_0"
    return declines


def refused_once(sandbox, decline: dict) -> dict:
    """The decline's invoice names an attempt the mirror lacks, and Chargebee refuses, once,
    to list the invoice's payments: deciding about it fails until it is asked again."""
    invoice = decline["content"]["invoice"]
    invoice["dunning_attempts"] = [
        {
            "attempt": 0,
            "transaction_id": "txn_elsewhere",
            "dunning_type": "auto_collect",
            "created_at": decline["occurred_at"],
            "txn_status": "failure",
        }
    ]
    sandbox.refuse_next(
        path=f"/api/v2/invoices/{invoice['id']}/payments",
        status=400,
        api_error_code="invalid_request",
        message="Refused for this test",
    )
    return invoice


def _stored(declines: list[dict]) -> list[int]:
    stored = [event_store(payload=decline).event.pk for decline in declines]
    events_process_batch(event_pks=stored)
    return stored


def _what_was_decided(decisions: list[Decision]) -> list[tuple]:
    return sorted(
        (
            d.invoice_id,
            d.trigger_event_id,
            d.as_of,
            d.customer_id,
            d.reasoning,
            d.recovery_score,
            d.retry_score,
            d.mode,
            tuple(d.rules_fired),
            repr(d.features),
            tuple(
                d.actions.order_by("kind", "scheduled_for").values_list(
                    "kind", "scheduled_for", "state"
                )
            ),
        )
        for d in decisions
    )


def test_a_batch_is_decided_as_its_events_one_at_a_time_would_be():
    stored = _stored(_declines(6))

    with transaction.atomic():
        one_at_a_time = [d for pk in stored for d in decisions_for_events(event_pks=[pk])]
        expected = _what_was_decided(one_at_a_time)
        transaction.set_rollback(True)
    assert not Decision.objects.exists()

    together = decisions_for_events(event_pks=stored)

    assert len(together) == 6
    assert _what_was_decided(together) == expected
    assert AuditEntry.objects.filter(action="decision.made").count() == 6
    assert audit_verify()[1] is None


def test_deciding_a_batch_again_or_with_a_duplicate_makes_no_second_decision():
    stored = _stored(_declines(4))
    first = decisions_for_events(event_pks=stored)

    again = decisions_for_events(event_pks=[stored[2], *stored, stored[1]])

    assert sorted(d.pk for d in again) == sorted(d.pk for d in first)
    assert Decision.objects.count() == 4
    assert AuditEntry.objects.filter(action="decision.made").count() == 4
    assert audit_verify()[1] is None


def test_an_invoice_that_cannot_be_decided_leaves_the_rest_of_its_batch_decided(sandbox):
    declines = _declines(4)
    unknown = refused_once(sandbox, declines[1])
    stored = _stored(declines)

    with pytest.raises(Exception, match="Refused for this test"):
        decisions_for_events(event_pks=stored)

    decided = set(Decision.objects.values_list("invoice_id", flat=True))
    assert decided == {d["content"]["invoice"]["id"] for d in declines} - {unknown["id"]}
    assert audit_verify()[1] is None
